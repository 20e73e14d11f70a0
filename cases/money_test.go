package cases

import "testing"

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0.1", "0.10", true}, {"0.30", "0.30", true}, {"12", "12.00", true}, {"1234.56", "1234.56", true},
		{"-3.5", "-3.50", true}, {" 7.05 ", "7.05", true},
		{"1.234", "", false}, {"1.", "", false}, {".5", "", false}, {"abc", "", false}, {"1e3", "", false},
		{"", "", false}, {"+-1", "", false}, {"9999999999999999", "", false},
	}
	for _, tt := range tests {
		m, err := ParseMoney(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseMoney(%q) err = %v", tt.in, err)
			continue
		}
		if tt.ok && m.String() != tt.want {
			t.Errorf("ParseMoney(%q) = %s, want %s", tt.in, m, tt.want)
		}
	}
	if got := Fen(10).Add(Fen(20)).String(); got != "0.30" {
		t.Errorf("0.10 + 0.20 = %s", got)
	}
}

func TestPhone(t *testing.T) {
	tests := []struct{ in, norm, masked string }{
		{"138 0000 0001", "13800000001", "138****0001"},
		{"+86-138-0000-0001", "+8613800000001", "+86*******0001"},
		{"(0931) 1234567", "09311234567", "093****4567"},
		{"12315", "12315", "12*15"},
		{"110", "110", "***"},
		{"", "", ""},
	}
	for _, tt := range tests {
		p, err := ParsePhone(tt.in)
		if err != nil {
			t.Fatalf("ParsePhone(%q): %v", tt.in, err)
		}
		if string(p) != tt.norm || p.Masked() != tt.masked {
			t.Errorf("ParsePhone(%q) = %q masked %q, want %q %q", tt.in, p, p.Masked(), tt.norm, tt.masked)
		}
	}
	for _, bad := range []string{"13x", "1+3", "12#"} {
		if _, err := ParsePhone(bad); err == nil {
			t.Errorf("ParsePhone(%q) accepted", bad)
		}
	}
}
