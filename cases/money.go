package cases

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount of CNY held exactly, in fen (0.01 yuan). Amounts go to and from
// PostgreSQL numeric(14,2) as decimal text, never through a float.
type Money struct {
	fen int64
}

// Fen makes an amount from a count of fen.
func Fen(n int64) Money { return Money{fen: n} }

// Fen returns the amount in fen.
func (m Money) Fen() int64 { return m.fen }

// Add returns m + o.
func (m Money) Add(o Money) Money { return Money{fen: m.fen + o.fen} }

// maxFen is the largest amount numeric(14,2) holds.
const maxFen = 99_999_999_999_999

// ParseMoney reads a decimal amount of yuan such as "12", "0.3" or "1234.56".
func ParseMoney(s string) (Money, error) {
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")
	whole, frac, hasDot := strings.Cut(t, ".")
	if whole == "" || (hasDot && (frac == "" || len(frac) > 2)) || strings.ContainsAny(whole+frac, "+-") {
		return Money{}, fmt.Errorf("amount %q: want yuan with at most two decimals, like 12.30", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q: want yuan with at most two decimals, like 12.30", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q: want yuan with at most two decimals, like 12.30", s)
	}
	if w > maxFen/100 {
		return Money{}, fmt.Errorf("amount %q: too large", s)
	}
	fen := w*100 + f
	if neg {
		fen = -fen
	}
	return Money{fen: fen}, nil
}

// String writes the amount as yuan with two decimals: "0.30".
func (m Money) String() string {
	sign := ""
	n := m.fen
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// MarshalJSON writes the amount as a JSON string, so that no client reads it as a float.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

// UnmarshalJSON reads "12.30" or 12.30.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := ParseMoney(strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
