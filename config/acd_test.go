package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"hotline/acd"
)

func TestACDDefaultsAreTheBuiltInSetup(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"no acd section", ""},
		{"the example file", "../hotline.example.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			if p == "" {
				p = write(t, minimal)
			}
			cfg, err := load(p, env(map[string]string{"HOTLINE_ARI_PASSWORD": "x"}))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.ACD.Distributor()
			if err != nil {
				t.Fatal(err)
			}
			if want := acd.DefaultConfig(); !reflect.DeepEqual(got, want) {
				t.Errorf("distributor config:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestACDSection(t *testing.T) {
	p := write(t, minimal+`
acd:
  strategy: round_robin
  ring_timeout: 20s
  groups: [general, night]
  queues:
    - name: price
      skills: [{skill: price, level: 3}]
      wrap_up: 30s
      max_length: 40
      max_wait: 10m
      service_level: 15s
      overflow_group: night
      relax:
        - after: 45s
          lower_levels: 1
        - after: 90s
          overflow: true
        - after: 4m
          offer: callback
`)
	cfg, err := load(p, env(map[string]string{
		"HOTLINE_ACD_RESERVE_TIMEOUT": "3s",
		"HOTLINE_ACD_SKILLS":          "price, zh, english",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.ACD.Distributor()
	if err != nil {
		t.Fatal(err)
	}
	want := acd.DefaultConfig()
	want.Strategy, want.RingTimeout, want.ReserveTimeout = acd.RoundRobin, 20*time.Second, 3*time.Second
	want.Skills = []acd.SkillName{"price", "zh", "english"}
	want.Groups = []acd.GroupName{"general", "night"}
	want.Queues = []acd.Queue{{Name: "price", Skills: []acd.SkillReq{{Skill: "price", Min: 3}}, WrapUp: 30 * time.Second,
		MaxLength: 40, MaxWait: 10 * time.Minute, ServiceLevel: 15 * time.Second, OverflowGroup: "night",
		Relax: []acd.RelaxStep{{After: 45 * time.Second, LowerLevels: 1}, {After: 90 * time.Second, Overflow: true},
			{After: 4 * time.Minute, Offer: acd.FallbackCallback}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("distributor config:\n got %+v\nwant %+v", got, want)
	}
	if _, err := acd.NewRouter(got); err != nil {
		t.Errorf("router: %v", err)
	}

	// The queues from the environment, as YAML text.
	cfg, err = load(write(t, minimal), env(map[string]string{
		"HOTLINE_ACD_QUEUES": "[{name: only, service_level: 30s}]",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cfg.ACD.Distributor(); err != nil || len(got.Queues) != 1 || got.Queues[0].Name != "only" ||
		got.Queues[0].ServiceLevel != 30*time.Second {
		t.Errorf("queues from the environment: %+v, %v", got.Queues, err)
	}
}

func TestBadACDConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // each problem line, exactly as users see it
	}{
		{
			name: "unknown strategy and zero timeouts",
			yaml: "acd:\n  strategy: fifo\n  ring_timeout: 0s\n  reserve_timeout: 0s\n",
			want: []string{
				"acd.ring_timeout: 0s must be above zero",
				"acd.reserve_timeout: 0s must be above zero",
			},
		},
		{
			name: "unknown strategy",
			yaml: "acd:\n  strategy: fifo\n",
			want: []string{`acd.strategy: strategy "fifo" is not one of longest_idle, least_occupied, round_robin`},
		},
		{
			name: "timeout without a unit",
			yaml: "acd:\n  ring_timeout: 15\n",
			want: []string{`acd.ring_timeout: "15" is not a duration (write it like 500ms, 10s or 1m30s, with the unit) (from file)`},
		},
		{
			name: "queue entry keys and values",
			yaml: `acd:
  queues:
    - name: general
      wrapup: 1m
      max_length: many
      skills: [{skill: price, level: 9}]
      relax:
        - after: 1m
          offer: sms
    - service_level: 20s
    - just a name
`,
			want: []string{
				"acd.queues[0].max_length: \"many\" is not a whole number",
				"acd.queues[0].relax[0].offer: \"sms\" is not one of none, voicemail, callback, voicemail_or_callback",
				"acd.queues[0].skills[0].level: 9 is out of range (1 to 5)",
				"acd.queues[0].wrapup: unknown key; known: name, skills, wrap_up, max_length, max_wait, service_level, overflow_group, relax (did you mean wrap_up?)",
				"acd.queues[1].name: missing",
				"acd.queues[2]: is a string, not a mapping",
			},
		},
		{
			name: "checked as a whole by the distributor",
			yaml: `acd:
  groups: [general]
  queues:
    - name: general
      skills: [{skill: prices, level: 2}]
      relax:
        - after: 2m
          lower_levels: 1
        - after: 1m
          overflow: true
`,
			want: []string{
				`acd.queues[0].skills[0]: queue "general": skill "prices": acd: unknown skill`,
				`acd.queues[0].relax[1].after: queue "general": relaxation step 2: steps are in increasing order of after`,
				`acd.queues[0].relax[1].overflow: queue "general": relaxation step 2 overflows but the queue has no overflow group`,
			},
		},
		{
			name: "no queues",
			yaml: "acd:\n  skills: [zh]\n  languages: [zh, english]\n  queues: []\n",
			want: []string{"acd.queues: is empty; list at least one queue"},
		},
		{
			name: "language not a skill, default queue's skill missing",
			yaml: "acd:\n  skills: [zh]\n  languages: [zh, english]\n",
			want: []string{
				`acd.languages[1]: language "english": acd: unknown skill`,
				`acd.queues[1].skills[0]: queue "emergency": skill "emergency": acd: unknown skill`,
			},
		},
		{
			name: "a mapping where a list belongs, from the environment",
			yaml: "acd:\n  queues: {name: general}\n",
			env:  map[string]string{"HOTLINE_ACD_GROUPS": "[general, duty"},
			want: []string{
				"acd.queues.name: unknown key in FILE",
				`acd.groups: "[general, duty" is not a YAML list (yaml: line 1: did not find expected ',' or ']') (from HOTLINE_ACD_GROUPS)`,
				`acd.queues: "map[name:general]" is a mapping, not a list (from file)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, minimal+tt.yaml)
			_, err := load(p, env(tt.env))
			if err == nil {
				t.Fatal("config accepted")
			}
			got := strings.Split(err.Error(), "\n")
			var problems []string
			for _, l := range got[1:] {
				problems = append(problems, strings.TrimPrefix(l, "  "))
			}
			for i := range tt.want {
				tt.want[i] = strings.ReplaceAll(tt.want[i], "FILE", p)
			}
			if strings.Join(problems, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
