package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"hotline/acd"
)

// ACD is the distributor's configuration (package acd): the queues, how an agent is chosen,
// and its timeouts. Every key is optional: what the file leaves out is taken from
// acd.DefaultConfig(), so a file without the section routes as before. A list given in the
// file (skills, languages, groups, queues) replaces the default list whole. Read the checked
// configuration with Distributor.
type ACD struct {
	// Strategy chooses among the agents eligible for a call: longest_idle, least_occupied
	// or round_robin.
	Strategy string `key:"strategy" default:"longest_idle"`
	// RingTimeout is how long an offer rings on an agent before the call goes back to the
	// front of its queue and the agent to not ready (RONA).
	RingTimeout time.Duration `key:"ring_timeout" default:"15s"`
	// ReserveTimeout is how long a reservation may wait to be offered before it lapses
	// (the controller that made it died).
	ReserveTimeout time.Duration `key:"reserve_timeout" default:"5s"`
	// Skills lists every skill agents and queues may name (lines, languages, emergency).
	Skills rawList `key:"skills"`
	// Languages lists which of the skills are languages: never relaxed, always required.
	Languages rawList `key:"languages"`
	// Groups lists the agent groups queues may overflow to.
	Groups rawList `key:"groups"`
	// Queues lists the queues (see hotline.example.yaml for an entry's keys).
	Queues rawList `key:"queues"`
}

// rawList keeps a list as the file wrote it (the environment gives it as YAML text, or names
// separated by commas); ACD parses it, so that each problem names the entry and key it is in.
// nil: not set.
type rawList []any

func (l *rawList) setRaw(raw any) error {
	if s, ok := raw.(string); ok {
		if t := strings.TrimSpace(s); !strings.HasPrefix(t, "[") && !strings.HasPrefix(t, "-") {
			raw = nil
			var names []any
			for n := range strings.SplitSeq(s, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
			raw = names
		} else if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
			return fmt.Errorf("is not a YAML list (%v)", err)
		}
	}
	switch v := raw.(type) {
	case nil:
		*l = rawList{}
	case []any:
		*l = append(rawList{}, v...)
	default:
		return fmt.Errorf("is a %s, not a list", yamlKind(raw))
	}
	return nil
}

// Distributor returns the distributor's configuration: the defaults of acd.DefaultConfig()
// with what the section sets, checked by acd.Config.Validate. Every problem names its key.
func (a ACD) Distributor() (acd.Config, error) {
	c, errs := a.distributor()
	if len(errs) > 0 {
		return acd.Config{}, errors.Join(errs...)
	}
	return c, nil
}

func (a ACD) problems() []error {
	_, errs := a.distributor()
	return errs
}

func (a ACD) distributor() (acd.Config, []error) {
	c := acd.DefaultConfig()
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c.Strategy = acd.StrategyName(a.Strategy)
	c.RingTimeout, c.ReserveTimeout = a.RingTimeout, a.ReserveTimeout
	if a.RingTimeout <= 0 {
		fail("acd.ring_timeout: %s must be above zero", a.RingTimeout)
	}
	if a.ReserveTimeout <= 0 {
		fail("acd.reserve_timeout: %s must be above zero", a.ReserveTimeout)
	}
	if a.Skills != nil {
		c.Skills = nil
		for _, s := range names(a.Skills, "acd.skills", fail) {
			c.Skills = append(c.Skills, acd.SkillName(s))
		}
	}
	if a.Languages != nil {
		c.Languages = nil
		for _, s := range names(a.Languages, "acd.languages", fail) {
			c.Languages = append(c.Languages, acd.SkillName(s))
		}
	}
	if a.Groups != nil {
		c.Groups = nil
		for _, s := range names(a.Groups, "acd.groups", fail) {
			c.Groups = append(c.Groups, acd.GroupName(s))
		}
	}
	if a.Queues != nil {
		c.Queues = nil
		for i, e := range a.Queues {
			if q, ok := queue(e, fmt.Sprintf("acd.queues[%d]", i), fail); ok {
				c.Queues = append(c.Queues, q)
			}
		}
		if len(a.Queues) == 0 {
			fail("acd.queues: is empty; list at least one queue")
		}
	}
	if len(errs) > 0 {
		// Checking the whole would report the same problems again, less precisely.
		return c, errs
	}
	if err := c.Validate(); err != nil {
		for _, e := range leaves(err) {
			if !errors.Is(e, acd.ErrInvalid) || e.Error() != acd.ErrInvalid.Error() {
				errs = append(errs, fmt.Errorf("%s: %w", validateKey(e.Error(), c), e))
			}
		}
	}
	return c, errs
}

// leaves unwraps the joined problems of acd.Config.Validate.
func leaves(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if m, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range m.Unwrap() {
				walk(x)
			}
			return
		}
		out = append(out, e)
	}
	walk(err)
	return out
}

var (
	validateQueue = regexp.MustCompile(`^queue "((?:[^"\\]|\\.)*)"(.*)$`)
	validateSkill = regexp.MustCompile(`^: skill "((?:[^"\\]|\\.)*)"`)
	validateStep  = regexp.MustCompile(`^:? ?relaxation step (\d+)(.*)$`)
	validateName  = regexp.MustCompile(`^(skill|language|group) "((?:[^"\\]|\\.)*)"`)
)

// validateKey names the key an acd.Config.Validate problem is about, as precisely as the
// message allows (problems are reported once per key).
func validateKey(msg string, c acd.Config) string {
	if m := validateName.FindStringSubmatch(msg); m != nil {
		key := map[string]string{"skill": "skills", "language": "languages", "group": "groups"}[m[1]]
		var list []string
		switch m[1] {
		case "skill":
			for _, s := range c.Skills {
				list = append(list, string(s))
			}
		case "language":
			for _, s := range c.Languages {
				list = append(list, string(s))
			}
		default:
			for _, g := range c.Groups {
				list = append(list, string(g))
			}
		}
		name, _ := strconv.Unquote(`"` + m[2] + `"`)
		if i := slices.Index(list, name); i >= 0 {
			return fmt.Sprintf("acd.%s[%d]", key, i)
		}
		return "acd." + key
	}
	m := validateQueue.FindStringSubmatch(msg)
	if m == nil {
		if strings.HasPrefix(msg, "strategy ") {
			return "acd.strategy"
		}
		if strings.HasPrefix(msg, "no queues") {
			return "acd.queues"
		}
		return "acd"
	}
	name, _ := strconv.Unquote(`"` + m[1] + `"`)
	i := slices.IndexFunc(c.Queues, func(q acd.Queue) bool { return string(q.Name) == name })
	if i < 0 {
		return "acd.queues"
	}
	key, rest := fmt.Sprintf("acd.queues[%d]", i), m[2]
	if sm := validateSkill.FindStringSubmatch(rest); sm != nil {
		skill, _ := strconv.Unquote(`"` + sm[1] + `"`)
		j := slices.IndexFunc(c.Queues[i].Skills, func(r acd.SkillReq) bool { return string(r.Skill) == skill })
		return fmt.Sprintf("%s.skills[%d]", key, j)
	}
	if st := validateStep.FindStringSubmatch(rest); st != nil {
		n, _ := strconv.Atoi(st[1])
		step := fmt.Sprintf("%s.relax[%d]", key, n-1)
		for _, f := range []string{"after", "lower_levels", "overflow", "offer"} {
			if strings.Contains(st[2], f) {
				return step + "." + f
			}
		}
		if strings.Contains(st[2], "fallback") {
			return step + ".offer"
		}
		return step
	}
	for _, f := range []string{"overflow group", "names are", "listed twice", "max_length"} {
		if strings.Contains(rest, f) {
			return key + "." + map[string]string{"overflow group": "overflow_group", "names are": "name",
				"listed twice": "name", "max_length": "max_length"}[f]
		}
	}
	return key
}

// listOf reads a list inside an entry.
func listOf(x any, key string, fail func(string, ...any)) []any {
	switch v := x.(type) {
	case []any:
		return v
	case nil:
		return nil
	}
	fail("%s: is a %s, not a list", key, yamlKind(x))
	return nil
}

// names reads a list of names.
func names(l rawList, key string, fail func(string, ...any)) []string {
	out := make([]string, 0, len(l))
	for i, x := range l {
		switch v := x.(type) {
		case string:
			out = append(out, v)
		case int, int64, float64, bool:
			out = append(out, fmt.Sprint(v))
		default:
			fail("%s[%d]: is a %s, not a name", key, i, yamlKind(x))
		}
	}
	return out
}

// object reads a mapping whose keys must be among known; each value is passed to use.
func object(x any, where string, known []string, fail func(string, ...any), use func(key string, v any)) bool {
	m, ok := x.(map[string]any)
	if !ok {
		fail("%s: is a %s, not a mapping", where, yamlKind(x))
		return false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			hint := ""
			for _, c := range known {
				if distance(k, c) < 3 {
					hint = fmt.Sprintf(" (did you mean %s?)", c)
					break
				}
			}
			fail("%s.%s: unknown key; known: %s%s", where, k, strings.Join(known, ", "), hint)
			continue
		}
		use(k, m[k])
	}
	return true
}

// scalar stores a YAML scalar in dst as the top-level keys are read.
func scalar(dst any, v any, key string, fail func(string, ...any)) {
	if err := set(reflect.ValueOf(dst).Elem(), v); err != nil {
		fail("%s: %q %v", key, fmt.Sprint(v), err)
	}
}

var queueKeys = []string{"name", "skills", "wrap_up", "max_length", "max_wait", "service_level", "overflow_group", "relax"}

func queue(x any, where string, fail func(string, ...any)) (acd.Queue, bool) {
	var q acd.Queue
	var name, overflow string
	n := 0
	bad := func(format string, args ...any) { n++; fail(format, args...) }
	ok := object(x, where, queueKeys, bad, func(k string, v any) {
		key := where + "." + k
		switch k {
		case "name":
			scalar(&name, v, key, bad)
		case "skills":
			for i, e := range listOf(v, key, bad) {
				var r acd.SkillReq
				var skill string
				level := 0
				ek := fmt.Sprintf("%s[%d]", key, i)
				object(e, ek, []string{"skill", "level"}, bad, func(k string, v any) {
					if k == "skill" {
						scalar(&skill, v, ek+".skill", bad)
					} else {
						scalar(&level, v, ek+".level", bad)
					}
				})
				if level < 0 || level > int(acd.MaxLevel) {
					bad("%s.level: %d is out of range (1 to %d)", ek, level, acd.MaxLevel)
					level = 0
				}
				r.Skill, r.Min = acd.SkillName(skill), acd.Level(level)
				q.Skills = append(q.Skills, r)
			}
		case "wrap_up":
			scalar(&q.WrapUp, v, key, bad)
		case "max_length":
			scalar(&q.MaxLength, v, key, bad)
		case "max_wait":
			scalar(&q.MaxWait, v, key, bad)
		case "service_level":
			scalar(&q.ServiceLevel, v, key, bad)
		case "overflow_group":
			scalar(&overflow, v, key, bad)
		case "relax":
			for i, e := range listOf(v, key, bad) {
				q.Relax = append(q.Relax, relaxStep(e, fmt.Sprintf("%s[%d]", key, i), bad))
			}
		}
	})
	if ok && name == "" {
		bad("%s.name: missing", where)
	}
	q.Name, q.OverflowGroup = acd.QueueName(name), acd.GroupName(overflow)
	return q, ok && n == 0
}

func relaxStep(x any, where string, fail func(string, ...any)) acd.RelaxStep {
	var s acd.RelaxStep
	object(x, where, []string{"after", "lower_levels", "overflow", "offer"}, fail, func(k string, v any) {
		key := where + "." + k
		switch k {
		case "after":
			scalar(&s.After, v, key, fail)
		case "lower_levels":
			scalar(&s.LowerLevels, v, key, fail)
		case "overflow":
			scalar(&s.Overflow, v, key, fail)
		case "offer":
			var name string
			scalar(&name, v, key, fail)
			if err := s.Offer.UnmarshalText([]byte(name)); err != nil {
				fail("%s: %q is not one of none, voicemail, callback, voicemail_or_callback", key, name)
			}
		}
	})
	return s
}
