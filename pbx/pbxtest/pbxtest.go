package pbxtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/pbx"
	"hotline/pbx/sim"
)

// PBX is a phone system the end-to-end tests place callers into.
type PBX interface {
	// Config is how the controller under test connects: URL, app, user,
	// password, and short timeouts fit for tests.
	Config() pbx.Config
	// Call places a caller who dials 12315 and, once answered, does what
	// spec.Steps say.
	Call(ctx context.Context, spec CallSpec) (Call, error)
	// SoundsDir is where sound:NAME resolves (DIR/<lang>/NAME.wav, then
	// DIR/NAME.wav): tests may add their own prompts there. "" when the
	// PBX is a real Asterisk and HOTLINE_TEST_SOUNDS_DIR is not set.
	SoundsDir() string
	// Real reports whether this is a real Asterisk.
	Real() bool
}

// CallSpec describes a caller.
type CallSpec struct {
	From     string // caller number; default "13800000001"
	Language string // channel language; default the PBX's
	// Steps is what the caller does once answered, in the simulated
	// caller's syntax: "wN" pause N s, "mN" pause N ms, a digit (or # * A-D)
	// one DTMF key then 400 ms, "tN" 440 Hz for N s, "TF:N" F Hz for N s,
	// "sN" silence for N s, "fFILE" speak a WAV file, "p" wait until the
	// current prompt finishes, "h" hang up. Without "h" the caller waits
	// for the PBX to hang up.
	Steps string
	// Listen keeps what the caller hears, for Call.Heard.
	Listen bool
}

// Call is a placed caller.
type Call interface {
	// ChannelID is the channel that enters the hotline's Stasis app: what
	// the controller under test sees.
	ChannelID() string
	// Answered is closed once the controller answered the call.
	Answered() <-chan struct{}
	// Done is closed once the call has ended, whoever ended it.
	Done() <-chan struct{}
	// Heard is what the caller heard (CallSpec.Listen): on the simulated
	// PBX exactly and as it happens; on a real Asterisk once Done is
	// closed, from the harness's own recording (nil before, and nil
	// without Listen).
	Heard() []int16
	// Hangup hangs up from the caller's side.
	Hangup(ctx context.Context) error
}

// Options configure New.
type Options struct {
	// SoundsDir holds the prompts of the simulated PBX (a temporary
	// directory when empty). A real Asterisk uses its own sounds: see the
	// package doc.
	SoundsDir string
	// RecordingsDir is where the simulated PBX stores recordings (a
	// temporary directory when empty). A real Asterisk keeps its own; read
	// them over ARI.
	RecordingsDir string
	// Endpoints are scripted phones the controller can originate to
	// (agents, officers). Only the simulated PBX has them: with a real
	// Asterisk a test that needs them is skipped, saying so.
	Endpoints []sim.EndpointSpec
	// Logger for the PBX and the harness; nil discards.
	Logger *slog.Logger
}

// Environment that selects and configures a real Asterisk.
const (
	EnvURL       = "HOTLINE_TEST_ARI_URL"      // ARI root, e.g. http://127.0.0.1:8088/ari
	EnvUser      = "HOTLINE_TEST_ARI_USER"     // ARI user
	EnvPassword  = "HOTLINE_TEST_ARI_PASSWORD" // its password
	EnvApp       = "HOTLINE_TEST_ARI_APP"      // the controller's Stasis app; default "hotline"
	EnvSoundsDir = "HOTLINE_TEST_SOUNDS_DIR"   // Asterisk's sounds directory, writable by the tests; optional
)

// HarnessApp is the Stasis app the real harness holds its callers' ;1 legs in.
const HarnessApp = "hotline-test"

// New returns the simulated PBX, or a real Asterisk when HOTLINE_TEST_ARI_URL
// is set. Everything is released when the test ends. Tests that call New
// for a real Asterisk run one at a time (they share its app names), even
// when marked parallel.
func New(t testing.TB, opts Options) PBX {
	t.Helper()
	if os.Getenv(EnvURL) == "" {
		return newSim(t, opts)
	}
	rc, err := configFromEnv(os.Getenv)
	if err != nil {
		t.Fatalf("pbxtest: %v", err)
	}
	if len(opts.Endpoints) > 0 {
		t.Skipf("pbxtest: this test scripts endpoints %s, which only the simulated PBX has; unset %s to run it", endpointNames(opts.Endpoints), EnvURL)
	}
	rc.Logger = opts.Logger
	lockReal(t)
	return newReal(t, rc)
}

// realAsterisk admits one test at a time to a real Asterisk: two
// controllers (or harnesses) on one app name would replace each other.
var realAsterisk = make(chan struct{}, 1)

func lockReal(t testing.TB) {
	t.Helper()
	select {
	case realAsterisk <- struct{}{}:
		t.Cleanup(func() { <-realAsterisk })
	case <-time.After(10 * time.Minute):
		t.Fatal("pbxtest: waited 10 minutes for another test to release the real Asterisk")
	}
}

func endpointNames(eps []sim.EndpointSpec) string {
	names := make([]string, len(eps))
	for i, ep := range eps {
		names[i] = ep.Name
	}
	return strings.Join(names, ", ")
}

// configFromEnv reads the real Asterisk's settings.
func configFromEnv(getenv func(string) string) (realConfig, error) {
	rc := realConfig{
		URL:       strings.TrimRight(getenv(EnvURL), "/"),
		Username:  getenv(EnvUser),
		Password:  getenv(EnvPassword),
		App:       getenv(EnvApp),
		SoundsDir: getenv(EnvSoundsDir),
	}
	u, err := url.Parse(rc.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return rc, fmt.Errorf("%s=%q: want the ARI root, e.g. http://127.0.0.1:8088/ari", EnvURL, rc.URL)
	}
	if u.Path == "" {
		rc.URL += "/ari"
	}
	if rc.Username == "" || rc.Password == "" {
		return rc, fmt.Errorf("%s is set: %s and %s are required too", EnvURL, EnvUser, EnvPassword)
	}
	return rc, nil
}

// testConfig is the controller's pbx.Config with timeouts fit for tests.
func testConfig(url, app, user, password string, log *slog.Logger) pbx.Config {
	return pbx.Config{
		URL: url, Application: app, Username: user, Password: password,
		RequestTimeout: 5 * time.Second, DialTimeout: 2 * time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Logger: log,
	}
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
