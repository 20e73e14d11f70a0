package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const minimal = `
database:
  url: postgres://hotline@127.0.0.1:5432/hotline
redis:
  url: redis://127.0.0.1:6379/0
`

func TestLoadDefaultsAndEnvOverride(t *testing.T) {
	p := write(t, minimal+"http:\n  listen: 127.0.0.1:9000\n")
	cfg, err := load(p, env(map[string]string{
		"HOTLINE_HTTP_LISTEN":        "127.0.0.1:9100",
		"HOTLINE_ARI_PASSWORD":       "s3cret",
		"HOTLINE_DATABASE_MAX_CONNS": "7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9100" {
		t.Errorf("env must win over the file: listen = %q", cfg.HTTP.Listen)
	}
	if cfg.Database.MaxConns != 7 {
		t.Errorf("max_conns = %d", cfg.Database.MaxConns)
	}
	if cfg.HTTP.ShutdownTimeout != 20*time.Second || cfg.Cases.RegionCode != "620000" || cfg.Cases.TimeZone != "Asia/Shanghai" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if cfg.ARI.Password != "s3cret" {
		t.Errorf("password from env not read")
	}
}

func TestLoadFromEnvironmentOnly(t *testing.T) {
	cfg, err := load("", env(map[string]string{
		"HOTLINE_DATABASE_URL": "postgres://x@127.0.0.1/hotline",
		"HOTLINE_REDIS_URL":    "redis://127.0.0.1:1/0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Redis.URL != "redis://127.0.0.1:1/0" {
		t.Errorf("redis url = %q", cfg.Redis.URL)
	}
}

func TestPasswordFile(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "ari.pw")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(write(t, minimal+"ari:\n  password_file: "+pw+"\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ARI.Password != "from-file" {
		t.Errorf("password = %q", cfg.ARI.Password)
	}
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // each problem line, exactly as users see it
	}{
		{
			name: "unknown key with a suggestion",
			yaml: minimal + "http:\n  listn: 127.0.0.1:80\n",
			want: []string{"http.listn: unknown key in FILE (did you mean http.listen?)"},
		},
		{
			name: "unknown section",
			yaml: minimal + "routing:\n  strategy: fifo\n",
			want: []string{"routing.strategy: unknown key in FILE"},
		},
		{
			name: "wrong type: text for a number",
			yaml: "redis:\n  url: redis://127.0.0.1:6379/0\ndatabase:\n  url: postgres://h@127.0.0.1/hotline\n  max_conns: lots\n",
			want: []string{`database.max_conns: "lots" is not a whole number (from file)`},
		},
		{
			name: "wrong type: number for a duration",
			yaml: minimal + "http:\n  shutdown_timeout: 20\n",
			want: []string{`http.shutdown_timeout: "20" is not a duration (write it like 500ms, 10s or 1m30s, with the unit) (from file)`},
		},
		{
			name: "wrong type from the environment",
			yaml: minimal,
			env:  map[string]string{"HOTLINE_DATABASE_MIGRATE_ON_START": "maybe"},
			want: []string{`database.migrate_on_start: "maybe" is not true or false (from HOTLINE_DATABASE_MIGRATE_ON_START)`},
		},
		{
			name: "missing required values",
			yaml: "log:\n  level: debug\n",
			want: []string{
				"database.url: missing; set it in the file or HOTLINE_DATABASE_URL",
				"redis.url: missing; set it in the file or HOTLINE_REDIS_URL",
			},
		},
		{
			name: "bad URLs",
			yaml: "database:\n  url: mysql://u:pw@127.0.0.1/x\nredis:\n  url: redis://\n",
			want: []string{
				`database.url: "mysql://u:xxxxx@127.0.0.1/x" has scheme "mysql", want postgres or postgresql (e.g. postgres://user@127.0.0.1:5432/hotline)`,
				`redis.url: "redis:" has no host (e.g. redis://127.0.0.1:6379/0)`,
			},
		},
		{
			name: "secret in the file",
			yaml: minimal + "ari:\n  password: hunter2\n",
			want: []string{"ari.password: secrets may not be written in the config file; set HOTLINE_ARI_PASSWORD or ari.password_file"},
		},
		{
			name: "values out of range",
			yaml: minimal + "log:\n  level: loud\ncases:\n  region_code: 62\n  time_zone: Mars/Olympus\n",
			want: []string{
				`log.level: "loud" is not one of debug, info, warn, error`,
				`cases.region_code: "62" is not a six-digit region code (e.g. 620000)`,
				`cases.time_zone: "Mars/Olympus" is not a known time zone (e.g. Asia/Shanghai)`,
			},
		},
		{
			name: "listen is not host:port",
			yaml: minimal + "http:\n  listen: 8080\n",
			want: []string{`http.listen: "8080" is not host:port (e.g. 127.0.0.1:8080)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.yaml)
			_, err := load(p, env(tt.env))
			if err == nil {
				t.Fatal("config accepted")
			}
			got := strings.Split(err.Error(), "\n")
			wantHead := "config " + p + ":"
			if !strings.HasPrefix(got[0], wantHead) {
				t.Errorf("first line %q does not name the file", got[0])
			}
			var problems []string
			for _, l := range got[1:] {
				problems = append(problems, strings.TrimPrefix(l, "  "))
			}
			for i := range tt.want {
				tt.want[i] = strings.ReplaceAll(tt.want[i], "FILE", p)
			}
			if strings.Join(problems, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := load(filepath.Join(t.TempDir(), "nope.yaml"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestSyntaxError(t *testing.T) {
	p := write(t, "http:\n  listen: [\n")
	_, err := load(p, env(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "config "+p) {
		t.Fatalf("err = %v", err)
	}
}

func TestExampleFileIsValidAndComplete(t *testing.T) {
	b, err := os.ReadFile("../hotline.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := load("../hotline.example.yaml", env(map[string]string{"HOTLINE_ARI_PASSWORD": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	_ = cfg
	// Every key is documented in the example, commented out or not.
	for _, k := range Keys() {
		leaf := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(b), leaf+":") {
			t.Errorf("hotline.example.yaml does not document %s", k)
		}
	}
}
