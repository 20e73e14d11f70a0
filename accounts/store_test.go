package accounts

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/audit"
	"hotline/cases/casestest"
)

func newStore(t *testing.T) (*Store, *pgxpool.Pool, *audit.Log) {
	t.Helper()
	pool := casestest.NewPool(t)
	log := audit.New(pool)
	return NewStore(pool, newFastHasher(t), log), pool, log
}

func TestCreateGetList(t *testing.T) {
	ctx := context.Background()
	s, _, log := newStore(t)
	a, err := s.Create(ctx, "cli:root", NewAccount{Login: "wang.li", DisplayName: "王丽", Role: RoleAgent,
		Skills: []Skill{{"zh", 5}, {"complaint", 3}}, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Login != "wang.li" || a.DisplayName != "王丽" || a.Role != RoleAgent || a.Disabled || !a.HasPassword || a.CreatedAt.IsZero() {
		t.Errorf("created account %+v", a)
	}
	if len(a.Skills) != 2 || a.Skills[0] != (Skill{"complaint", 3}) || a.Skills[1] != (Skill{"zh", 5}) {
		t.Errorf("skills %v, want complaint:3 zh:5 (by name)", a.Skills)
	}
	if _, err := s.Create(ctx, "cli:root", NewAccount{Login: "chen", DisplayName: "Chen", Role: RoleSupervisor}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "chen")
	if err != nil || got.Role != RoleSupervisor || got.HasPassword || len(got.Skills) != 0 || got.Skills == nil {
		t.Errorf("Get(chen) = %+v, %v; want a supervisor without password and an empty skill list", got, err)
	}
	byID, err := s.GetByID(ctx, a.ID)
	if err != nil || byID.Login != "wang.li" {
		t.Errorf("GetByID(%d) = %+v, %v", a.ID, byID, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Login != "chen" || list[1].Login != "wang.li" {
		t.Errorf("List = %+v, %v; want chen, wang.li", list, err)
	}
	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, ErrNotFound) || HTTPStatus(err) != http.StatusNotFound {
		t.Errorf("Get(nobody) = %v, want ErrNotFound (404)", err)
	}

	entries, err := log.Find(ctx, audit.Query{Target: audit.AgentTarget("wang.li")})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit entries for wang.li: %v, %v", entries, err)
	}
	e := entries[0]
	if e.Actor != "cli:root" || e.Action != audit.AccountCreated || e.Detail["role"] != "agent" || e.Detail["password_set"] != true {
		t.Errorf("audit entry %+v", e)
	}
	for k, v := range e.Detail {
		if s, ok := v.(string); ok && strings.Contains(s, "correct horse") {
			t.Errorf("audit detail %s holds the password", k)
		}
	}
}

func TestCreateRejects(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := newStore(t)
	if _, err := s.Create(ctx, "cli:root", NewAccount{Login: "taken", DisplayName: "T", Role: RoleAgent}); err != nil {
		t.Fatal(err)
	}
	good := NewAccount{Login: "new.agent", DisplayName: "New Agent", Role: RoleAgent, Skills: []Skill{{"zh", 3}}, Password: "0123456789"}
	for _, tc := range []struct {
		name   string
		edit   func(*NewAccount)
		is     error
		status int
		msg    string
	}{
		{"duplicate login", func(n *NewAccount) { n.Login = "taken" }, ErrLoginTaken, 409, "login already taken: taken"},
		{"short password", func(n *NewAccount) { n.Password = "short" }, ErrWeakPassword, 400, "5 characters, at least 10"},
		{"password is the login", func(n *NewAccount) { n.Login, n.Password = "agent.0042", "agent.0042" }, ErrWeakPassword, 400, "must not be the login"},
		{"unknown role", func(n *NewAccount) { n.Role = "root" }, ErrInvalid, 400, `role "root" is not one of agent, supervisor, admin`},
		{"empty role", func(n *NewAccount) { n.Role = "" }, ErrInvalid, 400, `role "" is not one of`},
		{"skill level 0", func(n *NewAccount) { n.Skills = []Skill{{"zh", 0}} }, ErrInvalid, 400, "skill zh has level 0, levels go from 1 to 5"},
		{"skill level 6", func(n *NewAccount) { n.Skills = []Skill{{"complaint", 6}} }, ErrInvalid, 400, "skill complaint has level 6"},
		{"skill twice", func(n *NewAccount) { n.Skills = []Skill{{"zh", 1}, {"zh", 2}} }, ErrInvalid, 400, "listed twice"},
		{"upper-case login", func(n *NewAccount) { n.Login = "Alice" }, ErrInvalid, 400, `login "Alice" must be 2 to 64 characters`},
		{"one-letter login", func(n *NewAccount) { n.Login = "a" }, ErrInvalid, 400, `login "a"`},
		{"empty display name", func(n *NewAccount) { n.DisplayName = "  " }, ErrInvalid, 400, "display name is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := good
			tc.edit(&n)
			_, err := s.Create(ctx, "cli:root", n)
			if !errors.Is(err, tc.is) || HTTPStatus(err) != tc.status || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Create: %v; want %v (%d) saying %q", err, tc.is, tc.status, tc.msg)
			}
		})
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM agents`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d accounts after refused creations (%v), want only the first", n, err)
	}
	var entries int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&entries); err != nil || entries != 1 {
		t.Errorf("%d audit entries after refused creations (%v), want 1", entries, err)
	}
	if _, err := s.Create(ctx, "cli:root", good); err != nil {
		t.Errorf("the good account itself: %v", err)
	}
}

func TestVerifyAndDisable(t *testing.T) {
	ctx := context.Background()
	s, _, log := newStore(t)
	const pw = "correct horse battery"
	if _, err := s.Create(ctx, "cli:root", NewAccount{Login: "alice", DisplayName: "Alice", Role: RoleAgent, Password: pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "cli:root", NewAccount{Login: "nopass", DisplayName: "No Password", Role: RoleAgent}); err != nil {
		t.Fatal(err)
	}
	check := func(step, login, password string, want error, reason string) {
		t.Helper()
		a, err := s.Verify(ctx, login, password)
		switch {
		case want == nil && (err != nil || a.Login != login):
			t.Errorf("%s: Verify(%s) = %+v, %v; want the account", step, login, a, err)
		case want != nil && (!errors.Is(err, want) || !strings.Contains(err.Error(), reason)):
			t.Errorf("%s: Verify(%s) = %v; want %v (%s)", step, login, err, want, reason)
		}
	}
	check("right password", "alice", pw, nil, "")
	check("wrong password", "alice", pw+"!", ErrBadCredentials, "wrong password")
	check("unknown login", "bob", pw, ErrBadCredentials, "unknown login")
	check("no password set", "nopass", pw, ErrBadCredentials, "no password set")
	check("over-long password", "alice", strings.Repeat("x", MaxPasswordLen+1), ErrBadCredentials, "longer than")

	a, err := s.SetDisabled(ctx, "cli:root", "alice", true)
	if err != nil || !a.Disabled {
		t.Fatalf("disable: %+v, %v", a, err)
	}
	check("disabled, right password", "alice", pw, ErrDisabled, "account disabled")
	check("disabled, wrong password", "alice", "0123456789", ErrBadCredentials, "wrong password")
	if HTTPStatus(ErrDisabled) != http.StatusForbidden {
		t.Errorf("ErrDisabled maps to %d", HTTPStatus(ErrDisabled))
	}
	if _, err := s.SetDisabled(ctx, "cli:root", "alice", false); err != nil {
		t.Fatal(err)
	}
	check("enabled again", "alice", pw, nil, "")
	if _, err := s.SetDisabled(ctx, "cli:root", "bob", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("disable an unknown login: %v", err)
	}

	entries, err := log.Find(ctx, audit.Query{Target: audit.AgentTarget("alice")})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, string(e.Action))
	}
	if got := strings.Join(actions, " "); got != "account.enabled account.disabled account.created" {
		t.Errorf("audit trail of alice (newest first): %s", got)
	}
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	s, _, log := newStore(t)
	if _, err := s.Create(ctx, "cli:root", NewAccount{Login: "alice", DisplayName: "Alice", Role: RoleAgent, Password: "first password"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "cli:root", "alice", "second password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, "alice", "first password"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password after the change: %v", err)
	}
	if _, err := s.Verify(ctx, "alice", "second password"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := s.SetPassword(ctx, "cli:root", "alice", "alice"); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("weak password: %v", err)
	}
	if err := s.SetPassword(ctx, "cli:root", "nobody", "0123456789"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown login: %v", err)
	}
	entries, err := log.Find(ctx, audit.Query{Action: audit.AccountPasswordSet})
	if err != nil || len(entries) != 1 || entries[0].Target != "agent:alice" {
		t.Errorf("password changes audited: %+v, %v", entries, err)
	}
}

// After the parameters are raised, the next sign-in replaces the old hash.
func TestVerifyUpgradesStaleHash(t *testing.T) {
	ctx := context.Background()
	old, pool, log := newStore(t)
	if _, err := old.Create(ctx, "cli:root", NewAccount{Login: "alice", DisplayName: "Alice", Role: RoleAgent, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	stronger, err := NewHasher(Params{MemoryKiB: 512, Iterations: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(pool, stronger, log)
	if _, err := s.Verify(ctx, "alice", "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	hash := func() string {
		var h string
		if err := pool.QueryRow(ctx, `SELECT password_hash FROM agents WHERE login = 'alice'`).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := hash(); !strings.Contains(h, "m=256,t=1,p=1") {
		t.Fatalf("a failed sign-in changed the hash: %s", h)
	}
	if _, err := s.Verify(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if h := hash(); !strings.Contains(h, "$m=512,t=2,p=1$") {
		t.Errorf("hash after sign-in with stronger parameters: %s", h)
	}
	if _, err := s.Verify(ctx, "alice", "correct horse battery"); err != nil {
		t.Errorf("sign-in with the upgraded hash: %v", err)
	}
}
