package redisstore

import (
	"encoding/json"
	"errors"
	"fmt"
)

// jsonr reads the stored records, the counterpart of jsonw: every routing snapshot decodes
// the agents that became ready and the items new to the page, and a general decoder's
// reflection and map building were most of the snapshot's cost in Go. It reads any JSON
// object of the record types (fields in any order, unknown fields skipped, null as the zero
// value), not only what jsonw writes.
type jsonr struct {
	b   []byte
	i   int
	err error
}

func (r *jsonr) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: %s", r.i, fmt.Sprintf(format, a...))
	}
	r.i = len(r.b)
}

func (r *jsonr) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (r *jsonr) peek() byte {
	r.space()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *jsonr) want(c byte) bool {
	if r.peek() != c {
		r.fail("want %q", c)
		return false
	}
	r.i++
	return true
}

// null consumes a null and reports whether there was one.
func (r *jsonr) null() bool {
	if r.peek() == 'n' && len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "null" {
		r.i += 4
		return true
	}
	return false
}

// object reads an object, calling field for each member with the reader at its value;
// field must consume the value. null reads as an empty object.
func (r *jsonr) object(field func(key string)) {
	r.list('{', '}', func() {
		k := r.str()
		if r.want(':') {
			field(k)
		}
	})
}

// array reads an array, calling elem with the reader at each element. null reads as empty.
func (r *jsonr) array(elem func()) { r.list('[', ']', elem) }

// list reads open, elements separated by commas, and close; elem reads one element.
func (r *jsonr) list(open, close byte, elem func()) {
	if r.null() || !r.want(open) {
		return
	}
	if r.peek() == close {
		r.i++
		return
	}
	for r.err == nil {
		elem()
		switch r.peek() {
		case ',':
			r.i++
		case close:
			r.i++
			return
		default:
			r.fail("want ',' or %q", close)
		}
	}
}

// str reads a string; one with escapes or beyond ASCII goes through encoding/json, which
// also turns invalid UTF-8 into U+FFFD as the encoder does.
func (r *jsonr) str() string {
	if r.null() {
		return ""
	}
	if !r.want('"') {
		return ""
	}
	start := r.i
	plain := true
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			r.i++
			if plain {
				return string(r.b[start : r.i-1])
			}
			var s string
			if err := json.Unmarshal(r.b[start-1:r.i], &s); err != nil {
				r.fail("string: %v", err)
			}
			return s
		case c == '\\':
			plain = false
			r.i++ // the escaped byte cannot end the string
		case c >= 0x80:
			plain = false
		case c < 0x20:
			r.fail("control character in string")
			return ""
		}
	}
	r.fail("unterminated string")
	return ""
}

var errRange = errors.New("out of range")

// int reads an integer within [lo, hi].
func (r *jsonr) int(lo, hi int64) int64 {
	if r.null() {
		return 0
	}
	r.space()
	neg := r.i < len(r.b) && r.b[r.i] == '-'
	if neg {
		r.i++
	}
	start := r.i
	var v uint64
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		if v > (1<<63)/10 {
			r.fail("integer: %v", errRange)
			return 0
		}
		v = v*10 + uint64(r.b[r.i]-'0')
		r.i++
	}
	if r.i == start {
		r.fail("want an integer")
		return 0
	}
	if r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.fail("want an integer, not a fraction")
		return 0
	}
	if v > 1<<63 || !neg && v == 1<<63 {
		r.fail("integer: %v", errRange)
		return 0
	}
	n := int64(v)
	if neg {
		n = -n
	}
	if n < lo || n > hi {
		r.fail("integer %d: %v", n, errRange)
		return 0
	}
	return n
}

func (r *jsonr) u8() uint8 { return uint8(r.int(0, 255)) }

func (r *jsonr) i64() int64 { return r.int(-1<<63, 1<<63-1) }

// skip reads past any value: a field this version does not know.
func (r *jsonr) skip() {
	switch c := r.peek(); {
	case c == '{':
		r.object(func(string) { r.skip() })
	case c == '[':
		r.array(r.skip)
	case c == '"':
		r.str()
	case c == 'n':
		if !r.null() {
			r.fail("want a value")
		}
	case c == 't' && len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "true":
		r.i += 4
	case c == 'f' && len(r.b)-r.i >= 5 && string(r.b[r.i:r.i+5]) == "false":
		r.i += 5
	case c == '-' || c >= '0' && c <= '9':
		r.i++
		for r.i < len(r.b) && (r.b[r.i] >= '0' && r.b[r.i] <= '9' || r.b[r.i] == '.' || r.b[r.i] == 'e' ||
			r.b[r.i] == 'E' || r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
	default:
		r.fail("want a value")
	}
}

// end checks that nothing but white space follows the value read.
func (r *jsonr) end() error {
	if r.err == nil && r.peek() != 0 {
		r.fail("data after the record")
	}
	return r.err
}
