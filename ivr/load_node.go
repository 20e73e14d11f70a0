package ivr

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fields each kind of node accepts, beyond kind and prompts.
var (
	inputFields  = []string{"timeout", "retries", "invalid_prompt", "no_input_prompt", "fallback", "barge_in"}
	digitsFields = []string{"digits", "min_digits", "max_digits", "terminator", "inter_digit_timeout"}
	kindFields   = map[Kind][]string{
		KindPlay:         {"next", "barge_in"},
		KindMenu:         append([]string{"choices"}, inputFields...),
		KindLanguage:     append([]string{"choices", "next"}, inputFields...),
		KindCollect:      append(append([]string{"next", "var"}, inputFields...), digitsFields...),
		KindStatusLookup: append(append([]string{"next", "lookup_timeout", "statuses", "other_status_prompt", "not_found_prompt", "failed_prompt"}, inputFields...), digitsFields...),
		KindHours:        {"open", "closed", "holiday"},
		KindQueue:        {"queue", "skills", "priority", "case_kind"},
		KindEmergency:    {"queue", "skills", "case_kind"},
		KindVoicemail:    {"case_kind", "max_length", "max_silence", "beep"},
		KindTransfer:     {"number", "case_kind"},
		KindHangup:       {"case_kind"},
	}
)

func (l *loader) nodes(n *yaml.Node) {
	pairs, ok := l.mapping(n, "nodes", func(key string, line, first int) {
		l.ps.add(line, "node %q defined twice (first at line %d)", key, first)
	})
	if !ok {
		return
	}
	if len(pairs) == 0 {
		l.ps.add(n.Line, "nodes: no nodes")
	}
	for _, p := range pairs {
		id := NodeID(p.key)
		if !nameRe.MatchString(p.key) {
			l.ps.node(p.line, id, "bad name: use letters, digits, '-', '_' or '.'")
			l.m.broken[id] = true
			continue
		}
		node := l.node(id, p.line, p.value)
		if node == nil {
			l.m.broken[id] = true
			continue
		}
		l.m.Nodes[id] = node
		l.m.order = append(l.m.order, id)
	}
}

// node reads one node. It returns nil when the node's kind is unknown: nothing else about
// it can be checked.
func (l *loader) node(id NodeID, line int, n *yaml.Node) *Node {
	ctx := fmt.Sprintf("node %q", id)
	pairs, ok := l.mapping(n, ctx, nil)
	if !ok {
		return nil
	}
	fields := map[string]pair{}
	for _, p := range pairs {
		fields[p.key] = p
	}
	kp, ok := fields["kind"]
	if !ok {
		l.ps.node(line, id, "missing kind")
		return nil
	}
	ks, ok := l.scalar(kp.value, ctx, "kind")
	if !ok {
		return nil
	}
	kind, ok := parseKind(ks)
	if !ok {
		l.ps.node(kp.value.Line, id, "unknown kind %q", ks)
		return nil
	}
	node := &Node{
		ID: id, Kind: kind, Line: line,
		lines: map[string]int{}, promptAt: map[PromptName]int{}, defaulted: map[string]struct{}{},
		// Keys may cut short what asks for them; what the caller must hear may not.
		BargeIn: kind.waitsForInput(),
	}
	allowed := map[string]bool{"kind": true}
	if kind != KindHours {
		allowed["prompts"] = true
	}
	for _, f := range kindFields[kind] {
		allowed[f] = true
	}
	for _, p := range pairs {
		node.lines[p.key] = p.value.Line
		if !allowed[p.key] {
			l.ps.node(p.line, id, "unknown field %q for a %s node", p.key, kind)
		}
	}
	get := func(field string) *yaml.Node {
		if p, ok := fields[field]; ok && allowed[field] {
			return p.value
		}
		return nil
	}
	if v := get("prompts"); v != nil {
		node.Prompts = l.promptList(v, ctx, node.promptAt)
	}
	if v := get("barge_in"); v != nil {
		node.BargeIn, _ = l.boolean(v, ctx, "barge_in")
	}
	for _, f := range []struct {
		field string
		dst   *NodeID
	}{{"next", &node.Next}, {"open", &node.Open}, {"closed", &node.Closed}, {"holiday", &node.Holiday}} {
		if v := get(f.field); v != nil {
			*f.dst, _ = l.target(v, ctx, f.field)
		}
	}
	if kind.waitsForInput() {
		l.listening(node, ctx, get)
	}
	if kind == KindCollect || kind == KindStatusLookup {
		l.digits(node, ctx, get)
	}
	switch kind {
	case KindMenu:
		l.menuChoices(node, ctx, get("choices"))
	case KindLanguage:
		l.languageChoices(node, ctx, get("choices"))
	case KindCollect:
		if v := get("var"); v != nil {
			if s, ok := l.scalar(v, ctx, "var"); ok {
				if nameRe.MatchString(s) {
					node.Var = s
				} else {
					l.ps.node(v.Line, id, "var %q is not a name of letters, digits, '-', '_' or '.'", s)
				}
			}
		} else {
			node.Var = string(id)
		}
	case KindStatusLookup:
		l.lookup(node, ctx, get)
	case KindQueue, KindEmergency:
		l.queue(node, ctx, get)
	case KindVoicemail:
		node.Voicemail = Voicemail{MaxLength: 3 * time.Minute, MaxSilence: 10 * time.Second, Beep: true}
		if v := get("max_length"); v != nil {
			node.Voicemail.MaxLength, _ = l.duration(v, ctx, "max_length", maxLengthRange)
		}
		if v := get("max_silence"); v != nil {
			node.Voicemail.MaxSilence, _ = l.duration(v, ctx, "max_silence", maxSilenceRange)
		}
		if v := get("beep"); v != nil {
			node.Voicemail.Beep, _ = l.boolean(v, ctx, "beep")
		}
		if node.Voicemail.MaxLength > 0 && node.Voicemail.MaxSilence > node.Voicemail.MaxLength {
			l.ps.node(node.line("max_silence"), id, "max_silence %v is longer than max_length %v", node.Voicemail.MaxSilence, node.Voicemail.MaxLength)
		}
	case KindTransfer:
		if v := get("number"); v != nil {
			if s, ok := l.scalar(v, ctx, "number"); ok {
				if numberRe.MatchString(s) {
					node.Number = s
				} else {
					l.ps.node(v.Line, id, "number %q is not a phone number (digits, optionally a leading +)", s)
				}
			}
		} else {
			l.ps.node(line, id, "missing number")
		}
	}
	if kind.terminal() {
		l.caseKind(node, ctx, get("case_kind"))
	}
	return node
}

func (l *loader) promptList(n *yaml.Node, ctx string, uses map[PromptName]int) []PromptName {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []PromptName
	for _, item := range items {
		if p, ok := l.promptName(item, ctx, "prompt", uses); ok {
			out = append(out, p)
		}
	}
	return out
}

// listening reads how a node listens, falling back to the menu's defaults.
func (l *loader) listening(node *Node, ctx string, get func(string) *yaml.Node) {
	in := l.input
	for _, f := range []string{"timeout", "retries", "invalid_prompt", "no_input_prompt", "fallback"} {
		v := get(f)
		if v == nil {
			node.defaulted[f] = struct{}{}
			continue
		}
		switch f {
		case "timeout":
			in.Timeout, _ = l.duration(v, ctx, f, timeoutRange)
		case "retries":
			in.Retries, _ = l.integer(v, ctx, f, 0, maxRetries)
		case "invalid_prompt":
			in.InvalidPrompt, _ = l.promptName(v, ctx, f, node.promptAt)
		case "no_input_prompt":
			in.NoInputPrompt, _ = l.promptName(v, ctx, f, node.promptAt)
		case "fallback":
			in.Fallback, _ = l.target(v, ctx, f)
		}
	}
	node.Input = in
}

func (l *loader) digits(node *Node, ctx string, get func(string) *yaml.Node) {
	d := Digits{InterDigit: l.inter}
	exact, min, max := get("digits"), get("min_digits"), get("max_digits")
	switch {
	case exact != nil && (min != nil || max != nil):
		l.ps.node(exact.Line, node.ID, "set digits or min_digits/max_digits, not both")
	case exact != nil:
		d.Min, _ = l.integer(exact, ctx, "digits", 1, maxDigits)
		d.Max = d.Min
	case max != nil:
		d.Max, _ = l.integer(max, ctx, "max_digits", 1, maxDigits)
		d.Min = 1
		if min != nil {
			d.Min, _ = l.integer(min, ctx, "min_digits", 1, maxDigits)
		}
		if d.Min > d.Max && d.Max > 0 {
			l.ps.node(min.Line, node.ID, "min_digits %d is more than max_digits %d", d.Min, d.Max)
		}
	default:
		l.ps.node(node.Line, node.ID, "missing digits (set digits, or max_digits)")
	}
	if v := get("terminator"); v != nil {
		if s, ok := l.scalar(v, ctx, "terminator"); ok {
			if s == "#" || s == "*" {
				d.Terminator = Digit(s[0])
			} else {
				l.ps.node(v.Line, node.ID, "terminator %q must be \"#\" or \"*\"", s)
			}
		}
	}
	if v := get("inter_digit_timeout"); v != nil {
		d.InterDigit, _ = l.duration(v, ctx, "inter_digit_timeout", interDigitRange)
	}
	node.Digits = d
}

// digitKey reads a choice's key, which must be one menu digit.
func (l *loader) digitKey(node *Node, p pair) (Digit, bool) {
	if len(p.key) != 1 || !Digit(p.key[0]).menuDigit() {
		l.ps.node(p.line, node.ID, "choice %q is not a digit (0-9, * or #)", p.key)
		return 0, false
	}
	d := Digit(p.key[0])
	node.lines["digit "+p.key] = p.value.Line
	return d, true
}

func (l *loader) choicePairs(node *Node, ctx string, n *yaml.Node) []pair {
	if n == nil {
		l.ps.node(node.Line, node.ID, "missing choices")
		return nil
	}
	pairs, _ := l.mapping(n, ctx+": choices", func(key string, line, first int) {
		l.ps.node(line, node.ID, "digit %q defined twice (first at line %d)", key, first)
	})
	if len(pairs) == 0 && n.Kind == yaml.MappingNode {
		l.ps.node(n.Line, node.ID, "no choices")
	}
	return pairs
}

func (l *loader) menuChoices(node *Node, ctx string, n *yaml.Node) {
	node.Choices = map[Digit]NodeID{}
	for _, p := range l.choicePairs(node, ctx, n) {
		d, ok := l.digitKey(node, p)
		if !ok {
			continue
		}
		if id, ok := l.target(p.value, ctx, fmt.Sprintf("digit %q", p.key)); ok {
			node.Choices[d] = id
		}
	}
}

func (l *loader) languageChoices(node *Node, ctx string, n *yaml.Node) {
	node.Languages = map[Digit]Language{}
	for _, p := range l.choicePairs(node, ctx, n) {
		d, ok := l.digitKey(node, p)
		if !ok {
			continue
		}
		s, ok := l.scalar(p.value, ctx, fmt.Sprintf("digit %q", p.key))
		if !ok {
			continue
		}
		if !l.m.offers(Language(s)) {
			l.ps.node(p.value.Line, node.ID, "digit %q chooses language %q, which the menu does not offer (languages: %s)", p.key, s, l.languageList())
			continue
		}
		node.Languages[d] = Language(s)
	}
}

func (l *loader) lookup(node *Node, ctx string, get func(string) *yaml.Node) {
	lk := Lookup{Timeout: l.lookupTimeout, Statuses: map[string]PromptName{}}
	if v := get("lookup_timeout"); v != nil {
		lk.Timeout, _ = l.duration(v, ctx, "lookup_timeout", lookupRange)
	}
	if v := get("statuses"); v != nil {
		pairs, _ := l.mapping(v, ctx+": statuses", func(key string, line, first int) {
			l.ps.node(line, node.ID, "status %q defined twice (first at line %d)", key, first)
		})
		for _, p := range pairs {
			if name, ok := l.promptName(p.value, ctx, fmt.Sprintf("status %q", p.key), node.promptAt); ok {
				lk.Statuses[p.key] = name
			}
		}
	}
	for _, f := range []struct {
		field string
		dst   *PromptName
	}{{"other_status_prompt", &lk.OtherStatus}, {"not_found_prompt", &lk.NotFound}, {"failed_prompt", &lk.Failed}} {
		v := get(f.field)
		if v == nil {
			l.ps.node(node.Line, node.ID, "missing %s", f.field)
			continue
		}
		*f.dst, _ = l.promptName(v, ctx, f.field, node.promptAt)
	}
	node.Lookup = lk
}

func (l *loader) queue(node *Node, ctx string, get func(string) *yaml.Node) {
	q := Queue{Priority: PriorityEmergency}
	if v := get("queue"); v != nil {
		if s, ok := l.scalar(v, ctx, "queue"); ok {
			if nameRe.MatchString(s) {
				q.Name = s
			} else {
				l.ps.node(v.Line, node.ID, "queue %q is not a name of letters, digits, '-', '_' or '.'", s)
			}
		}
	} else {
		l.ps.node(node.Line, node.ID, "missing queue")
	}
	if v := get("skills"); v != nil {
		q.Skills = l.skills(v, ctx)
	}
	if node.Kind == KindQueue {
		if v := get("priority"); v != nil {
			if s, ok := l.scalar(v, ctx, "priority"); ok {
				p, known := parsePriority(s)
				if !known {
					l.ps.node(v.Line, node.ID, "unknown priority %q (emergency, complaint, report, consult or callback)", s)
				}
				q.Priority = p
			}
		} else {
			l.ps.node(node.Line, node.ID, "missing priority")
		}
	}
	node.Queue = q
}

func (l *loader) caseKind(node *Node, ctx string, v *yaml.Node) {
	if v == nil {
		if node.Kind == KindHangup {
			node.CaseKind = CaseInvalid
			return
		}
		l.ps.node(node.Line, node.ID, "missing case_kind")
		return
	}
	s, ok := l.scalar(v, ctx, "case_kind")
	if !ok {
		return
	}
	k := CaseKind(s)
	if !k.valid() {
		l.ps.node(v.Line, node.ID, "unknown case_kind %q (consult, complaint, report, suggestion, opinion, help or invalid)", s)
		return
	}
	if k == CaseInvalid && node.Kind != KindHangup {
		l.ps.node(v.Line, node.ID, "case_kind invalid is only for hangup nodes: a %s node gives the call content", node.Kind)
		return
	}
	node.CaseKind = k
}
