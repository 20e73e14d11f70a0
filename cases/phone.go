package cases

import (
	"fmt"
	"strings"
)

// Phone is a caller's number, kept as digits (with a leading + for international numbers)
// so that it can be searched and shown masked.
type Phone string

// ParsePhone normalises a number as a caller id or a person gives it: spaces, dashes and
// brackets go; anything else that is not a digit is an error. An empty number (withheld
// caller id) is allowed.
func ParsePhone(s string) (Phone, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("phone number %q: unexpected %q", s, r)
		}
	}
	if b.Len() > 32 {
		return "", fmt.Errorf("phone number %q: longer than 32 digits", s)
	}
	return Phone(b.String()), nil
}

// Masked hides the middle of the number, as agents and reports see it: 138****0001.
func (p Phone) Masked() string {
	s := string(p)
	n := len(s)
	switch {
	case n == 0:
		return ""
	case n <= 4:
		return strings.Repeat("*", n)
	case n <= 7:
		return s[:2] + strings.Repeat("*", n-4) + s[n-2:]
	default:
		return s[:3] + strings.Repeat("*", n-7) + s[n-4:]
	}
}
