package ivr

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a menu file, located by line.
type Problem struct {
	File string
	Line int    // 0 when the problem has no line (e.g. an empty file)
	What string // e.g. `node "main": digit "2" goes to unknown node "complain"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.What)
	}
	return fmt.Sprintf("%s: %s", p.File, p.What)
}

// InvalidMenuError lists every problem found in a menu, in line order.
type InvalidMenuError struct {
	Problems []Problem
}

func (e *InvalidMenuError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects problems of one file.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) add(line int, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Line: line, What: fmt.Sprintf(format, args...)})
}

// node adds a problem about a node, prefixed with its name.
func (ps *problems) node(line int, id NodeID, format string, args ...any) {
	ps.add(line, "node %q: %s", id, fmt.Sprintf(format, args...))
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sort.SliceStable(ps.list, func(i, j int) bool { return ps.list[i].Line < ps.list[j].Line })
	return &InvalidMenuError{Problems: ps.list}
}
