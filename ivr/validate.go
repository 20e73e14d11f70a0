package ivr

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// edge is a way from one node to another.
type edge struct {
	label     string // what leads there: `next`, `digit "2"`, `fallback`, `open`, ...
	to        NodeID
	line      int
	silent    bool // taken by a caller who presses no key (or only wrong ones)
	defaulted bool // from the menu's defaults, reported there
}

// edges lists where a node leads, in file order.
func (n *Node) edges() []edge {
	var out []edge
	add := func(label string, to NodeID, silent bool) {
		if to == "" {
			return
		}
		field := label
		if strings.HasPrefix(label, "digit ") {
			field = "digit " + strings.Trim(strings.TrimPrefix(label, "digit "), `"`)
		}
		_, defaulted := n.defaulted[field]
		out = append(out, edge{label: label, to: to, line: n.line(field), silent: silent, defaulted: defaulted})
	}
	switch n.Kind {
	case KindPlay:
		add("next", n.Next, true)
	case KindHours:
		add("open", n.Open, true)
		add("closed", n.Closed, true)
		add("holiday", n.Holiday, true)
	case KindMenu:
		for _, d := range n.choiceDigits() {
			add(fmt.Sprintf("digit %q", d.String()), n.Choices[d], false)
		}
	case KindLanguage, KindCollect, KindStatusLookup:
		add("next", n.Next, false)
	}
	if n.Kind.waitsForInput() {
		add("fallback", n.Input.Fallback, true)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].line < out[j].line })
	return out
}

// choiceDigits returns a menu node's digits in a stable order.
func (n *Node) choiceDigits() []Digit {
	ds := make([]Digit, 0, len(n.Choices))
	for d := range n.Choices {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}

// validate checks what a menu's parts cannot check alone: that every reference resolves,
// every node is reachable, no loop runs without the caller, and every prompt has its texts.
func validate(m *Menu, ps *problems) {
	if m.Start != "" && !m.known(m.Start) {
		ps.add(m.startLine, "start: unknown node %q", m.Start)
	}
	if f := m.defaultFallback; f != "" && !m.known(f) {
		ps.add(m.defaultFallbackLine, "defaults: fallback goes to unknown node %q", f)
	}
	for _, id := range m.order {
		n := m.Nodes[id]
		requireFields(n, ps)
		for _, e := range n.edges() {
			if !m.known(e.to) && !e.defaulted {
				ps.node(e.line, id, "%s goes to unknown node %q", e.label, e.to)
			}
		}
	}
	reachability(m, ps)
	loops(m, ps)
	promptChecks(m, ps)
}

// known reports whether a node exists, or was written but could not be read (its own
// problem is reported; references to it are not wrong).
func (m *Menu) known(id NodeID) bool {
	_, ok := m.Nodes[id]
	return ok || m.broken[id]
}

func requireFields(n *Node, ps *problems) {
	need := func(field string, v NodeID) {
		if v == "" {
			ps.node(n.Line, n.ID, "missing %s", field)
		}
	}
	switch n.Kind {
	case KindPlay:
		need("next", n.Next)
	case KindHours:
		need("open", n.Open)
		need("closed", n.Closed)
	case KindLanguage, KindCollect, KindStatusLookup:
		need("next", n.Next)
	}
	if n.Kind.waitsForInput() && n.Input.Fallback == "" {
		ps.node(n.Line, n.ID, "missing fallback (set it on the node or in defaults)")
	}
	if (n.Kind == KindPlay || n.Kind.waitsForInput()) && len(n.Prompts) == 0 {
		ps.node(n.Line, n.ID, "missing prompts: a %s node must tell the caller something", n.Kind)
	}
}

func reachability(m *Menu, ps *problems) {
	if _, ok := m.Nodes[m.Start]; !ok {
		return
	}
	seen := map[NodeID]bool{m.Start: true}
	todo := []NodeID{m.Start}
	for len(todo) > 0 {
		id := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, e := range m.Nodes[id].edges() {
			if _, ok := m.Nodes[e.to]; ok && !seen[e.to] {
				seen[e.to] = true
				todo = append(todo, e.to)
			}
		}
	}
	for _, id := range m.order {
		if !seen[id] {
			ps.node(m.Nodes[id].Line, id, "unreachable from start node %q", m.Start)
		}
	}
}

// loops finds cycles of silent edges: a loop with no node that waits for a key would spin
// without the caller; a loop through nodes that wait would hold a caller who presses nothing
// forever, since each fallback starts the next node's retries afresh.
func loops(m *Menu, ps *problems) {
	pos := map[NodeID]int{}
	for i, id := range m.order {
		pos[id] = i
	}
	succ := func(id NodeID) []NodeID {
		var out []NodeID
		for _, e := range m.Nodes[id].edges() {
			if _, ok := m.Nodes[e.to]; ok && e.silent {
				out = append(out, e.to)
			}
		}
		return out
	}
	for _, scc := range components(m.order, succ) {
		first := scc[0]
		for _, id := range scc {
			if pos[id] < pos[first] {
				first = id
			}
		}
		in := map[NodeID]bool{}
		waits := false
		for _, id := range scc {
			in[id] = true
			waits = waits || m.Nodes[id].Kind.waitsForInput()
		}
		if len(scc) == 1 && !contains(succ(first), first) {
			continue
		}
		cycle := strings.Join(idStrings(cycleFrom(first, in, succ)), " -> ")
		if waits {
			ps.node(m.Nodes[first].Line, first, "a caller who presses no key goes round %s forever", cycle)
		} else {
			ps.node(m.Nodes[first].Line, first, "loop %s never waits for caller input", cycle)
		}
	}
}

// components returns the strongly connected components of a graph (Tarjan).
func components(nodes []NodeID, succ func(NodeID) []NodeID) [][]NodeID {
	index := map[NodeID]int{}
	low := map[NodeID]int{}
	onStack := map[NodeID]bool{}
	var stack []NodeID
	var out [][]NodeID
	next := 0
	var visit func(v NodeID)
	visit = func(v NodeID) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range succ(v) {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []NodeID
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			out = append(out, scc)
		}
	}
	for _, v := range nodes {
		if _, seen := index[v]; !seen {
			visit(v)
		}
	}
	return out
}

// cycleFrom returns a cycle through start within a strongly connected set, start repeated
// at its end.
func cycleFrom(start NodeID, in map[NodeID]bool, succ func(NodeID) []NodeID) []NodeID {
	seen := map[NodeID]bool{}
	var path []NodeID
	var walk func(v NodeID) bool
	walk = func(v NodeID) bool {
		path = append(path, v)
		seen[v] = true
		for _, w := range succ(v) {
			if w == start {
				path = append(path, w)
				return true
			}
			if in[w] && !seen[w] && walk(w) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	walk(start)
	return path
}

func contains(ids []NodeID, id NodeID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func idStrings(ids []NodeID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

func promptChecks(m *Menu, ps *problems) {
	for _, id := range m.order {
		n := m.Nodes[id]
		for _, name := range sortedPrompts(n.promptAt) {
			if _, ok := m.prompts[name]; !ok {
				ps.node(n.promptAt[name], id, "unknown prompt %q", name)
			}
		}
	}
	for _, name := range sortedPrompts(m.defaultPrompts) {
		if _, ok := m.prompts[name]; !ok {
			ps.add(m.defaultPrompts[name], "defaults: unknown prompt %q", name)
		}
	}
	for _, p := range m.Prompts() {
		for _, lang := range m.Languages {
			if _, ok := p.Text[string(lang)]; !ok {
				ps.add(m.prompts[PromptName(p.Name)].line, "prompt %q: no text for language %q", p.Name, lang)
			}
		}
	}
}

func sortedPrompts(uses map[PromptName]int) []PromptName {
	out := make([]PromptName, 0, len(uses))
	for name := range uses {
		out = append(out, name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// SoundFormats are the file formats Asterisk can play a prompt from, in the order checked.
var SoundFormats = []string{"wav", "ulaw", "alaw", "sln", "sln16", "g722", "gsm"}

// checkSounds reports prompts without a sound file for one of the menu's languages.
func checkSounds(m *Menu, fsys fs.FS, ps *problems) {
	for _, p := range m.Prompts() {
		for _, lang := range m.Languages {
			base := path.Join(string(lang), p.Name)
			found := false
			for _, ext := range SoundFormats {
				if st, err := fs.Stat(fsys, base+"."+ext); err == nil && !st.IsDir() {
					found = true
					break
				}
			}
			if !found {
				ps.add(m.prompts[PromptName(p.Name)].line, "prompt %q: no sound file for language %q (looked for %s.{%s})",
					p.Name, lang, base, strings.Join(SoundFormats, ","))
			}
		}
	}
}
