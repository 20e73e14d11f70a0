package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/audit"
	"hotline/cases/casestest"
)

func TestAgentCommand(t *testing.T) {
	url := casestest.NewDatabase(t)
	t.Setenv("HOTLINE_DATABASE_URL", url)
	t.Setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0") // read by config, never dialled here
	t.Setenv("HOTLINE_CONFIG", "")
	ctx := context.Background()
	if err := runMigrate(ctx, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hasher, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	store := accounts.NewStore(pool, hasher, audit.New(pool))

	run := func(stdin string, secret func(string) (string, error), args ...string) (string, error) {
		var out bytes.Buffer
		err := agentIO{in: strings.NewReader(stdin), out: &out, readSecret: secret}.run(ctx, args)
		return out.String(), err
	}
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		out, err := run(stdin, nil, args...)
		if err != nil {
			t.Fatalf("hotline agent %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	out := mustRun("correct horse battery\n", "add", "-login", "wang.li", "-name", "王丽", "-role", "agent", "-skills", "zh:5,complaint:3", "-password-stdin")
	if !strings.HasPrefix(out, "created agent wang.li (id ") {
		t.Errorf("add said %q", out)
	}
	if _, err := store.Verify(ctx, "wang.li", "correct horse battery"); err != nil {
		t.Errorf("sign-in with the password given on stdin: %v", err)
	}
	out = mustRun("", "add", "-login", "chen", "-name", "Chen Supervisor", "-role", "supervisor")
	if !strings.Contains(out, "no password yet") {
		t.Errorf("add without a password said %q", out)
	}

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		usage bool
		want  string
	}{
		{"no subcommand", "", nil, true, "hotline agent add"},
		{"unknown subcommand", "", []string{"remove", "-login", "x"}, true, `unknown agent command "remove"`},
		{"no login", "", []string{"disable"}, true, "-login is required"},
		{"password on the command line", "", []string{"passwd", "-login", "chen", "-password", "0123456789"}, true, "flag provided but not defined: -password"},
		{"stray argument", "", []string{"passwd", "-login", "chen", "0123456789"}, true, "never taken from the command line"},
		{"duplicate login", "", []string{"add", "-login", "chen", "-name", "C", "-role", "agent"}, false, "login already taken: chen"},
		{"unknown role", "", []string{"add", "-login", "lin", "-name", "Lin", "-role", "root"}, false, `role "root" is not one of agent, supervisor, admin`},
		{"skill level", "", []string{"add", "-login", "lin", "-name", "Lin", "-role", "agent", "-skills", "zh:7"}, false, "skill zh has level 7, levels go from 1 to 5"},
		{"weak password", "short\n", []string{"add", "-login", "lin", "-name", "Lin", "-role", "agent", "-password-stdin"}, false, "at least 10"},
		{"password is the login", "lin.xiaoming\n", []string{"passwd", "-login", "lin.xiaoming", "-password-stdin"}, false, "must not be the login"},
		{"two lines on stdin", "first password\nsecond line\n", []string{"passwd", "-login", "chen", "-password-stdin"}, false, "more than one line"},
		{"no terminal, no -password-stdin", "", []string{"passwd", "-login", "chen"}, true, "-password-stdin"},
		{"unknown login", "0123456789\n", []string{"passwd", "-login", "nobody", "-password-stdin"}, false, "account not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(tc.stdin, nil, tc.args...)
			if err == nil || errors.Is(err, errUsage) != tc.usage || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want usage=%v saying %q", err, tc.usage, tc.want)
			}
		})
	}
	if _, err := store.Get(ctx, "lin"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("a refused add left an account: %v", err)
	}

	// passwd at a terminal: asked twice, without echo.
	answers := []string{"new chen password", "new chen passwort"}
	prompt := func(string) (string, error) { a := answers[0]; answers = answers[1:]; return a, nil }
	if _, err := run("", prompt, "passwd", "-login", "chen"); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("two different passwords: %v", err)
	}
	answers = []string{"new chen password", "new chen password"}
	if out, err := run("", prompt, "passwd", "-login", "chen"); err != nil || !strings.Contains(out, "password of chen changed") {
		t.Errorf("passwd at a terminal: %q, %v", out, err)
	}
	if _, err := store.Verify(ctx, "chen", "new chen password"); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}

	// disable ends the account's sessions; enable does not bring them back.
	chen, err := store.Get(ctx, "chen")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at)
		VALUES (sha256('x'), $1, 'csrf', $2, $2, $3)`, chen.ID, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if out := mustRun("", "disable", "-login", "chen"); out != "chen disabled; 1 session(s) signed out\n" {
		t.Errorf("disable said %q", out)
	}
	if _, err := store.Verify(ctx, "chen", "new chen password"); !errors.Is(err, accounts.ErrDisabled) {
		t.Errorf("sign-in to the disabled account: %v", err)
	}
	out = mustRun("", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "chen") || !strings.Contains(lines[1], "supervisor") || !strings.Contains(lines[1], "disabled") ||
		!strings.Contains(lines[2], "wang.li") || !strings.Contains(lines[2], "complaint:3,zh:5") || !strings.Contains(lines[2], "王丽") {
		t.Errorf("list:\n%s", out)
	}
	mustRun("", "enable", "-login", "chen")
	if _, err := store.Verify(ctx, "chen", "new chen password"); err != nil {
		t.Errorf("sign-in after enable: %v", err)
	}

	// Every change is in the audit log, by the operator's OS account.
	entries, err := audit.New(pool).Find(ctx, audit.Query{Target: audit.AgentTarget("chen")})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Actor, "cli") {
			t.Errorf("entry %s by %q, want the cli operator", e.Action, e.Actor)
		}
		actions = append(actions, string(e.Action))
	}
	if got := strings.Join(actions, " "); got != "account.enabled account.disabled account.password_set account.created" {
		t.Errorf("audit trail of chen: %s", got)
	}
}

// The entry point main calls: a bare "hotline agent" is a usage error that shows the usage.
func TestRunAgentUsage(t *testing.T) {
	var out bytes.Buffer
	err := runAgent(context.Background(), &out, nil)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "hotline agent passwd -login L [-password-stdin]") {
		t.Errorf("runAgent without arguments: %v", err)
	}
}
