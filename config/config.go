// Package config loads the controller's typed configuration from a YAML file plus HOTLINE_*
// environment variables (the environment wins), rejects unknown keys and checks every value,
// naming the key, the bad value and what is allowed.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// Config is the whole controller configuration. Field tags:
// key is the YAML path below the section, default the value used when neither the file nor
// the environment sets it, required marks values without a sensible default, and secret marks
// values that must come from the environment or a file, never the config file itself.
type Config struct {
	HTTP       HTTP       `key:"http"`
	Database   Database   `key:"database"`
	Redis      Redis      `key:"redis"`
	Log        Log        `key:"log"`
	Cases      Cases      `key:"cases"`
	ARI        ARI        `key:"ari"`
	Recordings Recordings `key:"recordings"`
	Calendar   Calendar   `key:"calendar"`
	Media      Media      `key:"media"`
	Escalation Escalation `key:"escalation"`
	Callbacks  Callbacks  `key:"callbacks"`
	Reports    Reports    `key:"reports"`
	Incident   Incident   `key:"incident"`
	ACD        ACD        `key:"acd"`
}

// Recordings is where call audio is kept (voicemails, conversations).
type Recordings struct {
	// Dir holds the files, by day; set an absolute path in production.
	Dir string `key:"dir" default:".run/recordings"`
}

// HTTP is the controller's own HTTP server (health, metrics, APIs).
type HTTP struct {
	// Listen is host:port; loopback by default so nothing is exposed by accident.
	Listen string `key:"listen" default:"127.0.0.1:8080"`
	// ReadHeaderTimeout bounds slow clients.
	ReadHeaderTimeout time.Duration `key:"read_header_timeout" default:"10s"`
	// ShutdownTimeout is how long SIGTERM waits for requests in flight.
	ShutdownTimeout time.Duration `key:"shutdown_timeout" default:"20s"`
	// TLSCertFile and TLSKeyFile (PEM) make the server speak HTTPS only; session cookies
	// are then Secure. Both or neither.
	TLSCertFile string `key:"tls_cert_file"`
	TLSKeyFile  string `key:"tls_key_file"`
}

// Database is the PostgreSQL system of record.
type Database struct {
	URL      string `key:"url" required:"true"`
	MaxConns int    `key:"max_conns" default:"20"`
	// MigrateOnStart applies pending migrations when serve starts.
	MigrateOnStart bool `key:"migrate_on_start" default:"true"`
}

// Redis holds the state several controllers share.
type Redis struct {
	URL string `key:"url" required:"true"`
	// ACDPrefix is the key prefix of the distributor's state and reservation bus: the same
	// for every controller of one centre.
	ACDPrefix string `key:"acd_prefix" default:"hotline:acd"`
}

// Log configures log/slog.
type Log struct {
	Level  string `key:"level" default:"info"`
	Format string `key:"format" default:"text"`
}

// Cases configures case numbering and time keeping.
type Cases struct {
	// RegionCode is the six-digit administrative division code of the centre (GB/T 2260),
	// the first part of every case number.
	RegionCode string `key:"region_code" default:"620000"`
	// TimeZone is where the case number's date and working days are counted.
	TimeZone string `key:"time_zone" default:"Asia/Shanghai"`
}

// ARI is the connection to Asterisk's REST interface.
type ARI struct {
	URL         string `key:"url" default:"http://127.0.0.1:8088/ari"`
	Application string `key:"application" default:"hotline"`
	Username    string `key:"username" default:"hotline"`
	// Password comes from HOTLINE_ARI_PASSWORD or the file named by password_file.
	Password       string        `key:"password" secret:"true"`
	PasswordFile   string        `key:"password_file"`
	ConnectTimeout time.Duration `key:"connect_timeout" default:"10s"`
	RequestTimeout time.Duration `key:"request_timeout" default:"5s"`
	// DrainTimeout is how long SIGTERM lets calls in progress finish (new calls go back to
	// the dialplan meanwhile) before hanging up the rest. Match systemd's TimeoutStopSec.
	DrainTimeout time.Duration `key:"drain_timeout" default:"5m"`
}

// EnvPrefix is the prefix of every environment variable the config reads.
const EnvPrefix = "HOTLINE"

// EnvName is the environment variable that sets a key: database.url -> HOTLINE_DATABASE_URL.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// field is one leaf of the Config tree.
type field struct {
	key      string
	def      string
	hasDef   bool
	required bool
	secret   bool
	path     []int
	typ      reflect.Type
}

var fields = collect(reflect.TypeOf(Config{}), "", nil)

func collect(t reflect.Type, prefix string, path []int) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("key")
		if prefix != "" {
			key = prefix + "." + key
		}
		p := append(slices.Clone(path), i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, collect(f.Type, key, p)...)
			continue
		}
		def, hasDef := f.Tag.Lookup("default")
		out = append(out, field{key: key, def: def, hasDef: hasDef, required: f.Tag.Get("required") == "true",
			secret: f.Tag.Get("secret") == "true", path: p, typ: f.Type})
	}
	return out
}

// Keys lists every configuration key, in declaration order.
func Keys() []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// Load reads the YAML file at path (empty: no file) and the environment, and returns the
// checked configuration. Every problem found is reported, one per line.
func Load(path string) (*Config, error) {
	return load(path, os.LookupEnv)
}

func load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	where := "environment"
	if path != "" {
		where = path
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	known := map[string]bool{}
	for _, f := range fields {
		known[f.key] = true
	}
	keys := v.AllKeys()
	slices.Sort(keys)
	for _, key := range keys {
		if known[key] {
			continue
		}
		if hint := closest(key); hint != "" {
			fail("%s: unknown key in %s (did you mean %s?)", key, where, hint)
		} else {
			fail("%s: unknown key in %s", key, where)
		}
	}

	var cfg Config
	root := reflect.ValueOf(&cfg).Elem()
	for _, f := range fields {
		raw, src, ok := lookup(v, f, lookupEnv)
		if f.secret && src == "file" {
			fail("%s: secrets may not be written in the config file; set %s or %s_file", f.key, EnvName(f.key), f.key)
			continue
		}
		if !ok {
			if f.required {
				fail("%s: missing; set it in the file or %s", f.key, EnvName(f.key))
				continue
			}
			if !f.hasDef {
				continue
			}
			raw, src = f.def, "default"
		}
		if err := set(root.FieldByIndex(f.path), raw); err != nil {
			shown := raw
			if f.secret {
				shown = "(hidden)"
			}
			fail("%s: %q %v (from %s)", f.key, fmt.Sprint(shown), err, src)
		}
	}
	if err := cfg.readSecretFiles(); err != nil {
		errs = append(errs, err)
	}
	// Check values too, except those already reported (a missing URL is not also malformed).
	for _, e := range cfg.validate() {
		key, _, _ := strings.Cut(e.Error(), ":")
		if !reported(errs, key) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, &Error{Source: where, Problems: errs}
	}
	return &cfg, nil
}

func reported(errs []error, key string) bool {
	for _, e := range errs {
		if strings.HasPrefix(e.Error(), key+":") {
			return true
		}
	}
	return false
}

// Error lists every problem of one configuration.
type Error struct {
	Source   string
	Problems []error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s):", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() []error { return e.Problems }

// lookup finds a key's raw value: the environment first, then the file.
func lookup(v *viper.Viper, f field, lookupEnv func(string) (string, bool)) (any, string, bool) {
	if s, ok := lookupEnv(EnvName(f.key)); ok {
		return s, EnvName(f.key), true
	}
	if v.InConfig(f.key) {
		return v.Get(f.key), "file", true
	}
	return nil, "", false
}

var durationType = reflect.TypeOf(time.Duration(0))

// set stores raw (a YAML scalar or an environment string) in dst, or says why it cannot.
func set(dst reflect.Value, raw any) error {
	if l, ok := dst.Addr().Interface().(interface{ setRaw(any) error }); ok {
		return l.setRaw(raw) // a list, parsed by its section
	}
	if raw == nil {
		return errors.New("is empty")
	}
	switch {
	case dst.Type() == durationType:
		switch r := raw.(type) {
		case string:
			d, err := time.ParseDuration(strings.TrimSpace(r))
			if err != nil {
				return errors.New("is not a duration (write it like 500ms, 10s or 1m30s)")
			}
			if d < 0 {
				return errors.New("is negative")
			}
			dst.SetInt(int64(d))
		default:
			return errors.New("is not a duration (write it like 500ms, 10s or 1m30s, with the unit)")
		}
	case dst.Kind() == reflect.String:
		switch r := raw.(type) {
		case string:
			dst.SetString(r)
		case int, int64, float64, bool:
			// YAML reads 620000 as a number; a code or name written bare is still meant as text.
			dst.SetString(fmt.Sprint(r))
		default:
			return fmt.Errorf("is a %s, not text", yamlKind(raw))
		}
	case dst.Kind() == reflect.Int:
		switch r := raw.(type) {
		case int:
			dst.SetInt(int64(r))
		case int64:
			dst.SetInt(r)
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(r))
			if err != nil {
				return errors.New("is not a whole number")
			}
			dst.SetInt(int64(n))
		default:
			return fmt.Errorf("is a %s, not a whole number", yamlKind(raw))
		}
	case dst.Kind() == reflect.Bool:
		switch r := raw.(type) {
		case bool:
			dst.SetBool(r)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(r))
			if err != nil {
				return errors.New("is not true or false")
			}
			dst.SetBool(b)
		default:
			return fmt.Errorf("is a %s, not true or false", yamlKind(raw))
		}
	default:
		return fmt.Errorf("has unsupported type %s", dst.Type())
	}
	return nil
}

func yamlKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	case bool:
		return "boolean"
	case int, int64, float64:
		return "number"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// closest suggests a known key for a mistyped one: the same section with the nearest leaf.
func closest(key string) string {
	best, bestDist := "", 3
	for _, f := range fields {
		if d := distance(key, f.key); d < bestDist {
			best, bestDist = f.key, d
		}
	}
	return best
}

// distance is the Levenshtein distance, enough for catching typos.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (c *Config) readSecretFiles() error {
	if c.ARI.Password == "" && c.ARI.PasswordFile != "" {
		b, err := os.ReadFile(c.ARI.PasswordFile)
		if err != nil {
			return fmt.Errorf("ari.password_file: %w", err)
		}
		c.ARI.Password = strings.TrimSpace(string(b))
	}
	return nil
}

var regionCode = regexp.MustCompile(`^[1-9][0-9]{5}$`)

func (c *Config) validate() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		fail("http.listen: %q is not host:port (e.g. 127.0.0.1:8080)", c.HTTP.Listen)
	}
	if err := checkURL(c.Database.URL, "postgres", "postgresql"); err != nil {
		fail("database.url: %q %v (e.g. postgres://user@127.0.0.1:5432/hotline)", Redact(c.Database.URL), err)
	}
	if (c.HTTP.TLSCertFile == "") != (c.HTTP.TLSKeyFile == "") {
		fail("http.tls_cert_file and http.tls_key_file: set both or neither")
	} else if c.HTTP.TLSCertFile != "" {
		if _, err := tls.LoadX509KeyPair(c.HTTP.TLSCertFile, c.HTTP.TLSKeyFile); err != nil {
			fail("http.tls_cert_file %q, http.tls_key_file %q: %v", c.HTTP.TLSCertFile, c.HTTP.TLSKeyFile, err)
		}
	}
	if c.Database.MaxConns < 1 || c.Database.MaxConns > 1000 {
		fail("database.max_conns: %d is out of range (1 to 1000)", c.Database.MaxConns)
	}
	if err := checkURL(c.Redis.URL, "redis", "rediss"); err != nil {
		fail("redis.url: %q %v (e.g. redis://127.0.0.1:6379/0)", Redact(c.Redis.URL), err)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		fail("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		fail("log.format: %q is not one of text, json", c.Log.Format)
	}
	if !regionCode.MatchString(c.Cases.RegionCode) {
		fail("cases.region_code: %q is not a six-digit region code (e.g. 620000)", c.Cases.RegionCode)
	}
	if _, err := time.LoadLocation(c.Cases.TimeZone); err != nil {
		fail("cases.time_zone: %q is not a known time zone (e.g. Asia/Shanghai)", c.Cases.TimeZone)
	}
	if err := checkURL(c.ARI.URL, "http", "https"); err != nil {
		fail("ari.url: %q %v (e.g. http://127.0.0.1:8088/ari)", c.ARI.URL, err)
	}
	if c.Recordings.Dir == "" {
		fail("recordings.dir: is empty")
	}
	if c.ARI.Application == "" {
		fail("ari.application: is empty")
	}
	if c.ARI.ConnectTimeout <= 0 {
		fail("ari.connect_timeout: must be above zero")
	}
	if c.ARI.RequestTimeout <= 0 {
		fail("ari.request_timeout: must be above zero")
	}
	if c.ARI.DrainTimeout < 0 {
		fail("ari.drain_timeout: must not be negative (0 hangs up calls in progress at once)")
	}
	errs = append(errs, c.Media.problems()...)
	errs = append(errs, c.Escalation.problems()...)
	errs = append(errs, c.Callbacks.problems()...)
	errs = append(errs, c.Reports.problems()...)
	errs = append(errs, c.Incident.problems()...)
	errs = append(errs, c.ACD.problems()...)
	return errs
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a URL")
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("has scheme %q, want %s", u.Scheme, strings.Join(schemes, " or "))
	}
	if u.Host == "" {
		return errors.New("has no host")
	}
	return nil
}

// Redact hides the password of a URL so it can be shown in errors and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
