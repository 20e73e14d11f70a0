package ivr

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxMenuBytes is the largest menu file Load reads.
const MaxMenuBytes = 1 << 20

// Built-in defaults, used when neither a node nor the menu's defaults section sets a value.
const (
	builtinTimeout    = 6 * time.Second
	builtinInterDigit = 5 * time.Second
	builtinRetries    = 2
	builtinLookup     = 10 * time.Second
	builtinMaxPrompt  = 5 * time.Minute
)

// Ranges of values a menu may set. Outside them a caller would wait absurdly long, or not at
// all.
var (
	timeoutRange    = durationRange{500 * time.Millisecond, 2 * time.Minute}
	interDigitRange = durationRange{500 * time.Millisecond, time.Minute}
	lookupRange     = durationRange{time.Second, time.Minute}
	maxPromptRange  = durationRange{10 * time.Second, 30 * time.Minute}
	maxLengthRange  = durationRange{5 * time.Second, 30 * time.Minute}
	maxSilenceRange = durationRange{time.Second, 5 * time.Minute}
)

const (
	maxRetries    = 9
	maxDigits     = 32
	maxSkillLevel = 10
)

type durationRange struct{ min, max time.Duration }

// Option adjusts Load.
type Option func(*options)

type options struct {
	sounds fs.FS
}

// WithSounds makes Load also check that every prompt has a sound file for every language of
// the menu in fsys, laid out as Asterisk looks for them: <language>/<name>.<format>, e.g.
// zh/hotline/welcome.wav.
func WithSounds(fsys fs.FS) Option {
	return func(o *options) { o.sounds = fsys }
}

// Load parses and validates a menu. file names the menu in messages (e.g.
// "ivr/menus/12315.yaml"). The error, when there is one, is an *InvalidMenuError listing
// every problem found.
func Load(file string, data []byte, opts ...Option) (*Menu, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	l := &loader{
		ps:    problems{file: file},
		m:     &Menu{File: file, Nodes: map[NodeID]*Node{}, prompts: map[PromptName]promptDef{}, broken: map[NodeID]bool{}},
		input: Input{Timeout: builtinTimeout, Retries: builtinRetries},
		inter: builtinInterDigit, lookupTimeout: builtinLookup,
	}
	l.m.MaxPrompt = builtinMaxPrompt
	if len(data) > MaxMenuBytes {
		l.ps.add(0, "menu is %d bytes, more than the %d allowed", len(data), MaxMenuBytes)
		return nil, l.ps.err()
	}
	root, ok := l.parse(data)
	if !ok {
		return nil, l.ps.err()
	}
	l.menu(root)
	validate(l.m, &l.ps)
	if o.sounds != nil {
		checkSounds(l.m, o.sounds, &l.ps)
	}
	if err := l.ps.err(); err != nil {
		return nil, err
	}
	l.m.validated = true
	return l.m, nil
}

// yamlErrLine takes yaml.v3's messages apart; it names the line of the enclosing block,
// which is where to look.
var yamlErrLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parse reads the YAML document into a node tree.
func (l *loader) parse(data []byte) (root *yaml.Node, ok bool) {
	var doc yaml.Node
	err := func() (err error) {
		// The YAML parser is third-party code fed untrusted bytes: a panic in it must become
		// a problem with the file, not bring down the controller.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("yaml: parser failed: %v", r)
			}
		}()
		return yaml.Unmarshal(data, &doc)
	}()
	if err != nil {
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1]) // 0 when the parser names no line
			l.ps.add(line, "%s", m[2])
		} else {
			l.ps.add(0, "%v", err)
		}
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		l.ps.add(0, "empty menu")
		return nil, false
	}
	root = doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.ps.add(root.Line, "a menu must be a mapping with start, languages, nodes and prompts")
		return nil, false
	}
	return root, true
}

// loader turns a YAML tree into a Menu, collecting problems.
type loader struct {
	ps problems
	m  *Menu

	// The defaults section, already merged over the built-in defaults.
	input         Input
	inter         time.Duration
	lookupTimeout time.Duration
}

type pair struct {
	key   string
	line  int
	value *yaml.Node
}

// mapping returns the key/value pairs of a mapping in file order. Duplicate keys are
// reported through dup and dropped: yaml.v3 keeps them in its node tree, and a menu where
// "2" appears twice must not silently take either.
func (l *loader) mapping(n *yaml.Node, ctx string, dup func(key string, line, first int)) ([]pair, bool) {
	if n.Kind == yaml.AliasNode {
		l.ps.add(n.Line, "%saliases are not supported", prefix(ctx))
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil, true
		}
		l.ps.add(n.Line, "%sexpected a mapping", prefix(ctx))
		return nil, false
	}
	first := map[string]int{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			l.ps.add(k.Line, "%skeys must be plain strings", prefix(ctx))
			continue
		}
		if at, seen := first[k.Value]; seen {
			if dup != nil {
				dup(k.Value, k.Line, at)
			} else {
				l.ps.add(k.Line, "%skey %q defined twice (first at line %d)", prefix(ctx), k.Value, at)
			}
			continue
		}
		first[k.Value] = k.Line
		out = append(out, pair{key: k.Value, line: k.Line, value: v})
	}
	return out, true
}

func prefix(ctx string) string {
	if ctx == "" {
		return ""
	}
	return ctx + ": "
}

// scalar returns a non-empty scalar's text.
func (l *loader) scalar(n *yaml.Node, ctx, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		l.ps.add(n.Line, "%s%s must be a single value", prefix(ctx), field)
		return "", false
	}
	if n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
		l.ps.add(n.Line, "%s%s is empty", prefix(ctx), field)
		return "", false
	}
	return n.Value, true
}

func (l *loader) duration(n *yaml.Node, ctx, field string, r durationRange) (time.Duration, bool) {
	s, ok := l.scalar(n, ctx, field)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		l.ps.add(n.Line, "%s%s %q is not a duration like 5s", prefix(ctx), field, s)
		return 0, false
	}
	if d < r.min || d > r.max {
		l.ps.add(n.Line, "%s%s %v is out of range %v..%v", prefix(ctx), field, d, r.min, r.max)
		return 0, false
	}
	return d, true
}

func (l *loader) integer(n *yaml.Node, ctx, field string, min, max int) (int, bool) {
	s, ok := l.scalar(n, ctx, field)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		l.ps.add(n.Line, "%s%s %q is not a whole number", prefix(ctx), field, s)
		return 0, false
	}
	if i < min || i > max {
		l.ps.add(n.Line, "%s%s %d is out of range %d..%d", prefix(ctx), field, i, min, max)
		return 0, false
	}
	return i, true
}

func (l *loader) boolean(n *yaml.Node, ctx, field string) (bool, bool) {
	s, ok := l.scalar(n, ctx, field)
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	l.ps.add(n.Line, "%s%s %q is not true or false", prefix(ctx), field, s)
	return false, false
}

var (
	promptNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$`)
	languageRe   = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
	nameRe       = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	numberRe     = regexp.MustCompile(`^\+?[0-9]{3,20}$`)
)

// promptName reads a prompt reference and remembers where it was used.
func (l *loader) promptName(n *yaml.Node, ctx, field string, uses map[PromptName]int) (PromptName, bool) {
	s, ok := l.scalar(n, ctx, field)
	if !ok {
		return "", false
	}
	if !promptNameRe.MatchString(s) {
		l.ps.add(n.Line, "%s%s %q is not a prompt name like hotline/welcome", prefix(ctx), field, s)
		return "", false
	}
	p := PromptName(s)
	if _, seen := uses[p]; !seen {
		uses[p] = n.Line
	}
	return p, true
}

func (l *loader) target(n *yaml.Node, ctx, field string) (NodeID, bool) {
	s, ok := l.scalar(n, ctx, field)
	return NodeID(s), ok
}

func (l *loader) menu(root *yaml.Node) {
	pairs, _ := l.mapping(root, "", nil)
	top := map[string]pair{}
	for _, p := range pairs {
		switch p.key {
		case "start", "languages", "language_skills", "defaults", "nodes", "prompts", "description":
			top[p.key] = p
		default:
			l.ps.add(p.line, "unknown top-level field %q", p.key)
		}
	}
	// Languages first: nodes and prompts are checked against them.
	if p, ok := top["languages"]; ok {
		l.languages(p.value)
	} else {
		l.ps.add(root.Line, "missing languages")
	}
	if p, ok := top["language_skills"]; ok {
		l.languageSkills(p.value)
	}
	if p, ok := top["start"]; ok {
		if id, ok := l.target(p.value, "", "start"); ok {
			l.m.Start = id
			l.m.startLine = p.value.Line
		}
	} else {
		l.ps.add(root.Line, "missing start")
	}
	if p, ok := top["defaults"]; ok {
		l.defaults(p.value)
	}
	if p, ok := top["nodes"]; ok {
		l.nodes(p.value)
	} else {
		l.ps.add(root.Line, "missing nodes")
	}
	if p, ok := top["prompts"]; ok {
		l.prompts(p.value)
	} else {
		l.ps.add(root.Line, "missing prompts")
	}
}

func (l *loader) languages(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		l.ps.add(n.Line, "languages must be a list of language codes, the default first")
		return
	}
	seen := map[Language]bool{}
	for _, item := range n.Content {
		s, ok := l.scalar(item, "languages", "a language")
		if !ok {
			continue
		}
		lang := Language(s)
		if !languageRe.MatchString(s) {
			l.ps.add(item.Line, "languages: %q is not a language code like zh or en", s)
			continue
		}
		if seen[lang] {
			l.ps.add(item.Line, "languages: %q listed twice", s)
			continue
		}
		seen[lang] = true
		l.m.Languages = append(l.m.Languages, lang)
	}
}

func (l *loader) languageSkills(n *yaml.Node) {
	pairs, _ := l.mapping(n, "language_skills", nil)
	l.m.LanguageSkills = map[Language][]Skill{}
	for _, p := range pairs {
		lang := Language(p.key)
		if !l.m.offers(lang) {
			l.ps.add(p.line, "language_skills: language %q is not offered (languages: %s)", p.key, l.languageList())
			continue
		}
		l.m.LanguageSkills[lang] = l.skills(p.value, "language_skills")
	}
}

func (l *loader) languageList() string {
	names := make([]string, len(l.m.Languages))
	for i, x := range l.m.Languages {
		names[i] = string(x)
	}
	return strings.Join(names, ", ")
}

func (l *loader) skills(n *yaml.Node, ctx string) []Skill {
	pairs, _ := l.mapping(n, ctx, func(key string, line, first int) {
		l.ps.add(line, "%sskill %q defined twice (first at line %d)", prefix(ctx), key, first)
	})
	var out []Skill
	for _, p := range pairs {
		if !nameRe.MatchString(p.key) {
			l.ps.add(p.line, "%sskill %q is not a name of letters, digits, '-', '_' or '.'", prefix(ctx), p.key)
			continue
		}
		level, ok := l.integer(p.value, ctx, fmt.Sprintf("skill %q level", p.key), 1, maxSkillLevel)
		if ok {
			out = append(out, Skill{Name: p.key, Level: level})
		}
	}
	return out
}

func (l *loader) defaults(n *yaml.Node) {
	const ctx = "defaults"
	pairs, _ := l.mapping(n, ctx, nil)
	for _, p := range pairs {
		switch p.key {
		case "timeout":
			if d, ok := l.duration(p.value, ctx, p.key, timeoutRange); ok {
				l.input.Timeout = d
			}
		case "retries":
			if i, ok := l.integer(p.value, ctx, p.key, 0, maxRetries); ok {
				l.input.Retries = i
			}
		case "invalid_prompt":
			if name, ok := l.promptName(p.value, ctx, p.key, l.defaultUses()); ok {
				l.input.InvalidPrompt = name
			}
		case "no_input_prompt":
			if name, ok := l.promptName(p.value, ctx, p.key, l.defaultUses()); ok {
				l.input.NoInputPrompt = name
			}
		case "fallback":
			if id, ok := l.target(p.value, ctx, p.key); ok {
				l.input.Fallback = id
				l.m.defaultFallback = id
				l.m.defaultFallbackLine = p.value.Line
			}
		case "inter_digit_timeout":
			if d, ok := l.duration(p.value, ctx, p.key, interDigitRange); ok {
				l.inter = d
			}
		case "lookup_timeout":
			if d, ok := l.duration(p.value, ctx, p.key, lookupRange); ok {
				l.lookupTimeout = d
			}
		case "max_prompt":
			if d, ok := l.duration(p.value, ctx, p.key, maxPromptRange); ok {
				l.m.MaxPrompt = d
			}
		default:
			l.ps.add(p.line, "defaults: unknown field %q", p.key)
		}
	}
}

func (l *loader) defaultUses() map[PromptName]int {
	if l.m.defaultPrompts == nil {
		l.m.defaultPrompts = map[PromptName]int{}
	}
	return l.m.defaultPrompts
}

func (l *loader) prompts(n *yaml.Node) {
	pairs, _ := l.mapping(n, "prompts", func(key string, line, first int) {
		l.ps.add(line, "prompt %q defined twice (first at line %d)", key, first)
	})
	for _, p := range pairs {
		ctx := fmt.Sprintf("prompt %q", p.key)
		if !promptNameRe.MatchString(p.key) {
			l.ps.add(p.line, "%s: bad name: use letters, digits, '-' and '_', in parts separated by /", ctx)
			continue
		}
		def := promptDef{text: map[Language]string{}, line: p.line}
		texts, _ := l.mapping(p.value, ctx, func(key string, line, first int) {
			l.ps.add(line, "%s: language %q defined twice (first at line %d)", ctx, key, first)
		})
		for _, t := range texts {
			if len(l.m.Languages) > 0 && !l.m.offers(Language(t.key)) {
				l.ps.add(t.line, "%s: language %q is not offered (languages: %s)", ctx, t.key, l.languageList())
				continue
			}
			if s, ok := l.scalar(t.value, ctx, fmt.Sprintf("text for %q", t.key)); ok {
				def.text[Language(t.key)] = strings.TrimSpace(s)
			}
		}
		l.m.prompts[PromptName(p.key)] = def
	}
}
