package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
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
	t.Setenv("HOTLINE_DATABASE_URL", casestest.NewDatabase(t))
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
			if resp.StatusCode == 200 && strings.Contains(string(body), `"postgres":"ok"`) && strings.Contains(string(body), `"redis":"ok"`) {
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
	resp, err := http.Get("http://" + addr + "/api/cases/620000-20261127-000001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("case API on an empty database: %d", resp.StatusCode)
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
