package accounts

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fastParams keep tests quick; production uses DefaultParams.
var fastParams = Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newFastHasher(t testing.TB) *Hasher {
	t.Helper()
	h, err := NewHasher(fastParams, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := newFastHasher(t)
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=256,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with the parameters", enc)
	}
	again, _ := h.Hash(ctx, "correct horse battery")
	if again == enc {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
		{"correct horse battery ", false},
	} {
		ok, stale, err := h.Verify(ctx, enc, tc.password)
		if err != nil || ok != tc.want || stale {
			t.Errorf("Verify(%q) = %v, stale %v, %v; want %v, fresh", tc.password, ok, stale, err, tc.want)
		}
	}

	// A hasher with other parameters still verifies the old hash, and says it is stale.
	other, err := NewHasher(Params{MemoryKiB: 512, Iterations: 2, Threads: 2, SaltLen: 16, KeyLen: 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ok, stale, err := other.Verify(ctx, enc, "correct horse battery")
	if err != nil || !ok || !stale {
		t.Errorf("other parameters: ok %v stale %v err %v; want ok and stale", ok, stale, err)
	}
}

func TestDecodePHCRejects(t *testing.T) {
	h := newFastHasher(t)
	good, err := h.Hash(context.Background(), "0123456789")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuuVv2a4Tn2P1k8y3V4m0Q9Yb5r5y1w2K",
		"argon2i":        strings.Replace(good, "argon2id", "argon2i", 1),
		"other version":  strings.Replace(good, "v=19", "v=16", 1),
		"no threads":     strings.Join([]string{"", "argon2id", "v=19", "m=256,t=1,p=0", parts[4], parts[5]}, "$"),
		"huge memory":    strings.Join([]string{"", "argon2id", "v=19", "m=99999999,t=1,p=1", parts[4], parts[5]}, "$"),
		"bad salt":       strings.Join([]string{"", "argon2id", "v=19", parts[3], "!!!", parts[5]}, "$"),
		"short key":      strings.Join([]string{"", "argon2id", "v=19", parts[3], parts[4], "AAAA"}, "$"),
		"missing fields": strings.Join(parts[:5], "$"),
	} {
		if _, _, err := h.Verify(context.Background(), enc, "0123456789"); !errors.Is(err, errBadHash) {
			t.Errorf("%s: Verify(%q) error %v, want errBadHash", name, enc, err)
		}
	}
}

func TestNewHasherRejectsWeakParams(t *testing.T) {
	for name, p := range map[string]Params{
		"no threads":      {MemoryKiB: 64, Iterations: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		"no iterations":   {MemoryKiB: 64, Iterations: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		"too little mem":  {MemoryKiB: 8, Iterations: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"short salt":      {MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 8, KeyLen: 32},
		"short key":       {MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		"zero parameters": {},
	} {
		if _, err := NewHasher(p, 1); err == nil {
			t.Errorf("%s: NewHasher(%+v) accepted", name, p)
		}
	}
	if _, err := NewHasher(DefaultParams, 0); err != nil {
		t.Errorf("DefaultParams refused: %v", err)
	}
}

// A burst of sign-ins waits for a hashing slot; a request that gives up stops waiting.
func TestHasherWaitsForSlot(t *testing.T) {
	h, err := NewHasher(fastParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "0123456789"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with every slot taken and a cancelled context: %v", err)
	}
	if _, _, err := h.Verify(ctx, encodePHC(fastParams, make([]byte, 16), make([]byte, 32)), "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with every slot taken and a cancelled context: %v", err)
	}
	h.release()
	if _, err := h.Hash(context.Background(), "0123456789"); err != nil {
		t.Errorf("Hash after the slot was freed: %v", err)
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		login, password string
		want            string // part of the error; "" for accepted
	}{
		{"alice", "0123456789", ""},
		{"alice", "密码密码密码密码密码", ""}, // ten characters, thirty bytes
		{"alice", "012345678", "9 characters, at least 10"},
		{"alice", "", "0 characters"},
		{"alice.wang", "alice.wang", "must not be the login"},
		{"alice.wang", "ALICE.WANG", "must not be the login"},
		{"alice.wang", " alice.wang ", "must not be the login"},
		{"alice", strings.Repeat("x", MaxPasswordLen+1), "longer than 1024 bytes"},
		{"alice", "0123456789\xff", "not valid UTF-8"},
	} {
		err := CheckPassword(tc.login, tc.password)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckPassword(%q, %q) = %v, want accepted", tc.login, tc.password, err)
		case tc.want != "" && (!errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckPassword(%q, %q) = %v, want ErrWeakPassword saying %q", tc.login, tc.password, err, tc.want)
		}
	}
}

func TestParseSkills(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Skill
		err  string
	}{
		{in: "zh:5,complaint:3", want: []Skill{{"zh", 5}, {"complaint", 3}}},
		{in: " zh:1 , en:2 ", want: []Skill{{"zh", 1}, {"en", 2}}},
		{in: "", want: nil},
		{in: "zh", err: "not name:level"},
		{in: "zh:five", err: "not a whole number"},
		{in: "zh:0", err: "level 0, levels go from 1 to 5"},
		{in: "zh:6", err: "level 6, levels go from 1 to 5"},
		{in: "zh:3,zh:4", err: "listed twice"},
		{in: "Zh:3", err: "skill name \"Zh\""},
		{in: ":3", err: "skill name \"\""},
	} {
		got, err := ParseSkills(tc.in)
		if tc.err != "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSkills(%q) error %v, want ErrInvalid saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("ParseSkills(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseSkills(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

// BenchmarkHashDefault measures what one sign-in costs with DefaultParams; tune them so this
// stays within 50-100 ms on the production machine.
func BenchmarkHashDefault(b *testing.B) {
	h, err := NewHasher(DefaultParams, 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
}
