package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters. They are written into every hash, so changing
// them affects new hashes only; older hashes keep verifying and are upgraded on the next
// successful sign-in.
type Params struct {
	// MemoryKiB is the memory cost in KiB (at least 8 per thread).
	MemoryKiB uint32
	// Iterations is the number of passes over the memory.
	Iterations uint32
	// Threads is the parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams cost about 50-70 ms per hash on a 2-core machine (measured with
// BenchmarkHashDefault): RFC 9106's 64 MiB memory with one pass, both cores. Re-tune with that
// benchmark on the production hardware.
var DefaultParams = Params{MemoryKiB: 64 * 1024, Iterations: 1, Threads: 2, SaltLen: 16, KeyLen: 32}

func (p Params) check() error {
	switch {
	case p.Threads < 1:
		return errors.New("argon2id threads must be at least 1")
	case p.Iterations < 1:
		return errors.New("argon2id iterations must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads):
		return fmt.Errorf("argon2id memory must be at least %d KiB for %d thread(s)", 8*uint32(p.Threads), p.Threads)
	case p.SaltLen < 16:
		return errors.New("argon2id salt must be at least 16 bytes")
	case p.KeyLen < 16:
		return errors.New("argon2id key must be at least 16 bytes")
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id. Each hash takes Params.MemoryKiB of
// memory, so at most a few run at once: a burst of sign-ins queues instead of exhausting memory.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a hasher with params, running at most concurrent hashes at a time
// (0: one per CPU).
func NewHasher(params Params, concurrent int) (*Hasher, error) {
	if err := params.check(); err != nil {
		return nil, err
	}
	if concurrent <= 0 {
		concurrent = runtime.NumCPU()
	}
	return &Hasher{params: params, slots: make(chan struct{}, concurrent)}, nil
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of password:
// $argon2id$v=19$m=65536,t=1,p=2$<salt>$<key>, salt and key in unpadded standard base64.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded, and whether the hash was
// made with other parameters than the hasher's and should be replaced.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	stale = p.MemoryKiB != h.params.MemoryKiB || p.Iterations != h.params.Iterations ||
		p.Threads != h.params.Threads || uint32(len(salt)) != h.params.SaltLen || uint32(len(key)) != h.params.KeyLen
	return ok, stale, nil
}

// burn spends the time of one verification, so that an unknown login or an account without
// a password answers as slowly as a wrong password and cannot be told apart by timing.
func (h *Hasher) burn(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		salt := make([]byte, h.params.SaltLen)
		key := make([]byte, h.params.KeyLen)
		h.dummy = encodePHC(h.params, salt, key)
	})
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

var b64 = base64.RawStdEncoding

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// errBadHash is a stored hash this package cannot read: a data problem, not a wrong password.
var errBadHash = errors.New("stored password hash is not an argon2id PHC string")

// maxMemoryKiB bounds the memory a stored hash may ask for (4 GiB), so that a tampered row
// cannot make a verification allocate without limit.
const maxMemoryKiB = 4 * 1024 * 1024

func decodePHC(s string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version %q", errBadHash, parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", errBadHash, parts[3])
	}
	if threads < 1 || threads > 255 || p.Iterations < 1 || p.MemoryKiB < 8*threads || p.MemoryKiB > maxMemoryKiB {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", errBadHash, parts[3])
	}
	p.Threads = uint8(threads)
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", errBadHash)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, fmt.Errorf("%w: key", errBadHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// MinPasswordLen is the shortest password accepted, in characters.
const MinPasswordLen = 10

// MaxPasswordLen bounds the work one sign-in can ask for, in bytes.
const MaxPasswordLen = 1024

// CheckPassword applies the minimum password rules for the account login.
func CheckPassword(login, password string) error {
	if !utf8.ValidString(password) {
		return fmt.Errorf("%w: it is not valid UTF-8 text", ErrWeakPassword)
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return fmt.Errorf("%w: it has %d characters, at least %d are required", ErrWeakPassword, n, MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return fmt.Errorf("%w: it is longer than %d bytes", ErrWeakPassword, MaxPasswordLen)
	}
	if strings.EqualFold(strings.TrimSpace(password), login) {
		return fmt.Errorf("%w: it must not be the login", ErrWeakPassword)
	}
	return nil
}
