-- The directory of handling offices (承办机构) that cases are handed over (转办) to, and
-- the second callback a dissatisfied survey (回访) triggers.

-- One row per office. regions lists the administrative division codes (GB/T 2260) it
-- covers: a province code (620000) covers the province, a city code (620100) its counties,
-- a county code (620102) itself; the most specific code wins (cases.ResolveOffice). The
-- provincial centre (centre) keeps the cases no office covers.
CREATE TABLE offices (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    name_zh    text NOT NULL CHECK (name_zh <> ''),
    name_en    text NOT NULL CHECK (name_en <> ''),
    regions    text[] NOT NULL DEFAULT '{}'
        CHECK (array_position(regions, NULL) IS NULL
            AND array_to_string(regions, ',') ~ '^([1-9][0-9]{5}(,[1-9][0-9]{5})*)?$'),
    centre     boolean NOT NULL DEFAULT false,
    active     boolean NOT NULL DEFAULT true,
    -- example marks the demonstration directory below: replace it with the real one.
    example    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- At most one active provincial centre.
CREATE UNIQUE INDEX offices_one_centre ON offices (centre) WHERE centre AND active;

-- EXAMPLE DATA for the demo province (Gansu, 62xxxx): the provincial centre and a few city
-- offices, one county office. Not an official directory.
INSERT INTO offices (code, name_zh, name_en, regions, centre, example) VALUES
    ('gs-centre',    '甘肃省12315指挥中心（示例）',   'Gansu 12315 centre (example)',           '{620000}', true,  true),
    ('gs-lanzhou',   '兰州市市场监管局（示例）',       'Lanzhou market regulation (example)',    '{620100}', false, true),
    ('gs-chengguan', '兰州市城关区市场监管局（示例）', 'Chengguan district, Lanzhou (example)',  '{620102}', false, true),
    ('gs-baiyin',    '白银市市场监管局（示例）',       'Baiyin market regulation (example)',     '{620400}', false, true),
    ('gs-tianshui',  '天水市市场监管局（示例）',       'Tianshui market regulation (example)',   '{620500}', false, true),
    ('gs-jiuquan',   '酒泉市市场监管局（示例）',       'Jiuquan market regulation (example)',    '{620900}', false, true);

-- A dissatisfied survey reopens the case and asks for a second callback (reason survey).
ALTER TABLE callback_tasks DROP CONSTRAINT callback_tasks_reason_check;
ALTER TABLE callback_tasks ADD CONSTRAINT callback_tasks_reason_check
    CHECK (reason IN ('voicemail', 'abandoned', 'requested', 'missed', 'survey'));
