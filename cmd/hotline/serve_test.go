package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/pbx/sim"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeReadyAndGracefulStop runs `hotline serve` in process against the real services:
// it migrates, turns ready, answers the case API, and stops cleanly on cancellation (SIGTERM).
func TestServeReadyAndGracefulStop(t *testing.T) {
	if os.Getenv("HOTLINE_REDIS_URL") == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`")
	}
	addr := freeAddr(t)
	pbxSim, err := sim.New(sim.Config{Password: "serve-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pbxSim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pbxSim.Close() })
	t.Setenv("HOTLINE_ARI_URL", pbxSim.URL()+"/ari")
	t.Setenv("HOTLINE_ARI_PASSWORD", "serve-test")
	t.Setenv("HOTLINE_RECORDINGS_DIR", t.TempDir())
	dbURL := casestest.NewDatabase(t)
	t.Setenv("HOTLINE_DATABASE_URL", dbURL)
	t.Setenv("HOTLINE_HTTP_LISTEN", addr)
	t.Setenv("HOTLINE_LOG_LEVEL", "warn")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, io.Discard, []string{"-config", "../../hotline.example.yaml"}) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), `"postgres":"ok"`) && strings.Contains(string(body), `"redis":"ok"`) &&
				strings.Contains(string(body), `"asterisk":"ok"`) {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The case API is behind sign-in.
	resp, err := http.Get("http://" + addr + "/api/cases/620000-20261127-000001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("case API without a session: %d, want 401", resp.StatusCode)
	}
	agent := signIn(t, "http://"+addr, dbURL)
	resp, err = agent.Get("http://" + addr + "/api/cases/620000-20261127-000001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("case API on an empty database: %d", resp.StatusCode)
	}
	// A caller who hangs up in the menu gets a case through the whole call path.
	call, err := pbxSim.Call(context.Background(), sim.CallSpec{From: "13800000042", Steps: "w1 h"})
	if err != nil {
		t.Fatal(err)
	}
	<-call.Done()
	deadline = time.Now().Add(20 * time.Second)
	for {
		resp, err := agent.Get("http://" + addr + "/api/cases?caller=13800000042")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"kind":"invalid"`) && strings.Contains(string(body), `"status":"closed"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no closed invalid case for the caller: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// signIn creates an agent in the database at dbURL and signs in at base: the returned
// client carries the session cookie.
func signIn(t *testing.T, base, dbURL string) *http.Client {
	t.Helper()
	createAgent(t, dbURL)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Post(base+"/api/auth/login", "application/json",
		strings.NewReader(`{"login":"li.na","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return c
}

// createAgent creates the agent li.na in the database at dbURL.
func createAgent(t *testing.T, dbURL string) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	hasher, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.NewStore(pool, hasher, audit.New(pool)).Create(ctx, "test", accounts.NewAccount{
		Login: "li.na", DisplayName: "李娜", Role: accounts.RoleAgent, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigCheckCommand(t *testing.T) {
	var out bytes.Buffer
	if err := runConfig(context.Background(), &out, []string{"check", "../../hotline.example.yaml"}); err != nil {
		t.Fatalf("example config: %v", err)
	}
	err := runConfig(context.Background(), &out, []string{"check"})
	if err == nil || !strings.Contains(err.Error(), "hotline config check FILE") {
		t.Fatalf("usage error: %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Setenv("HOTLINE_DATABASE_URL", casestest.NewDatabase(t))
	t.Setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0")
	var out bytes.Buffer
	if err := runMigrate(context.Background(), &out, []string{"-config", ""}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("schema version %d\n", cases.SchemaVersion()); !strings.HasSuffix(out.String(), want) {
		t.Fatalf("output %q", out.String())
	}
}
