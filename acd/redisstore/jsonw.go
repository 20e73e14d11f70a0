package redisstore

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"hotline/acd"
)

// jsonw appends a JSON object field by field: records are written on every reservation, and
// encoding/json's reflection (and its sorting of map keys) was a good part of a commit's
// cost. The output is exactly what encoding/json writes for the record types (see
// TestEncodersMatchJSON), so stored records read back either way.
type jsonw struct {
	b     []byte
	comma bool
}

func (w *jsonw) key(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// anyKey appends a key that may need escaping (a map key).
func (w *jsonw) anyKey(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = true
	w.str(k)
	w.b = append(w.b, ':')
}

// str appends a JSON string as encoding/json does: plain printable ASCII as is, anything
// else (escapes, HTML characters, non-ASCII) through encoding/json.
func (w *jsonw) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			w.b = append(w.b, q...)
			return
		}
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
}

func (w *jsonw) strField(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	w.key(k)
	w.str(v)
}

func (w *jsonw) intField(k string, v int64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// object starts a nested object under key k and returns the writer to go on with after it.
func (w *jsonw) object(k string) jsonw {
	w.key(k)
	w.b = append(w.b, '{')
	return jsonw{b: w.b}
}

func (w *jsonw) end() []byte { return append(w.b, '}') }

func appendAgentRec(b []byte, r *agentRec) []byte {
	w := jsonw{b: append(b, '{')}
	w.strField("i", string(r.ID), false)
	w.strField("n", r.Name, true)
	if len(r.Skills) > 0 {
		type skill struct {
			name  acd.SkillName
			level acd.Level
		}
		var buf [16]skill // an agent has a handful: sorted on the stack
		skills := buf[:0]
		for s, l := range r.Skills {
			skills = append(skills, skill{s, l})
		}
		slices.SortFunc(skills, func(a, b skill) int { return strings.Compare(string(a.name), string(b.name)) })
		sw := w.object("s")
		for _, s := range skills {
			sw.anyKey(string(s.name))
			sw.b = strconv.AppendUint(sw.b, uint64(s.level), 10)
		}
		w.b = sw.end()
	}
	if len(r.Groups) > 0 {
		w.key("g")
		w.b = append(w.b, '[')
		for i, g := range r.Groups {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.str(string(g))
		}
		w.b = append(w.b, ']')
	}
	w.intField("st", int64(r.State), true)
	w.strField("rs", string(r.Reason), true)
	w.intField("t", r.Since, true)
	w.intField("li", r.LoginAt, true)
	w.intField("rd", r.ReadySince, true)
	w.intField("lo", r.LastOfferAt, true)
	w.intField("b", r.Busy, true)
	if k := r.Work; k != nil {
		ww := w.object("w")
		ww.strField("r", string(k.Reservation), true)
		ww.strField("i", string(k.Item), true)
		ww.strField("q", string(k.Queue), true)
		ww.intField("k", int64(k.Kind), true)
		ww.intField("c", int64(k.Class), true)
		ww.intField("d", k.Due, true)
		ww.intField("a", k.AnsweredAt, true)
		ww.intField("e", k.EndedAt, true)
		w.b = ww.end()
	}
	return w.end()
}

func appendItemRec(b []byte, r *itemRec) []byte {
	w := jsonw{b: append(b, '{')}
	w.strField("i", string(r.ID), false)
	w.intField("k", int64(r.Kind), false)
	w.strField("q", string(r.Queue), false)
	w.intField("c", int64(r.Class), false)
	w.strField("l", string(r.Language), true)
	if len(r.Skills) > 0 {
		w.key("s")
		w.b = append(w.b, '[')
		for i, s := range r.Skills {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			sw := jsonw{b: append(w.b, '{')}
			sw.strField("s", string(s.Skill), false)
			sw.intField("m", int64(s.Min), false)
			w.b = sw.end()
		}
		w.b = append(w.b, ']')
	}
	w.intField("e", r.EnqueuedAt, false)
	w.intField("ci", int64(r.CaseID), true)
	w.strField("cn", string(r.CaseNumber), true)
	w.strField("n", r.Number, true)
	w.intField("o", int64(r.Origin), true)
	w.intField("st", int64(r.Status), false)
	w.strField("a", string(r.Agent), true)
	w.strField("r", string(r.Reservation), true)
	w.intField("at", int64(r.Attempts), true)
	w.intField("hb", r.Bonus, true)
	return w.end()
}
