// Package sim is a simulated Asterisk 22 PBX that speaks ARI: the same REST
// paths, parameters, status codes, JSON shapes and event order as the golden
// traces captured from Asterisk 22.10.1 (shared/asterisk-traces), with
// scripted callers and endpoints instead of SIP phones and real audio through
// hotline/pbx/sim/media.
//
// Stable API (other packages test against it):
//
//	srv, err := sim.New(sim.Config{Username: "hotline", Password: "secret",
//	        SoundsDir: dir, RecordingsDir: dir2})
//	err = srv.Start("127.0.0.1:0")        // or srv.Listen(ln)
//	srv.URL()                             // "http://127.0.0.1:PORT" (ARI is under /ari)
//	defer srv.Close()
//
//	// A caller dials the hotline (dialplan: NoOp, Stasis(App), Hangup).
//	call, err := srv.Call(ctx, sim.CallSpec{From: "13800000001", Steps: "m200 1 w1 h"})
//	call.ChannelID(); <-call.Answered(); <-call.Done(); call.Result()
//	call.Heard()     // what the caller heard (8 kHz samples)
//
//	// Endpoints that originate (POST /channels) can reach.
//	ep := srv.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/agent-1001",
//	        AnswerAfter: 100 * time.Millisecond, Steps: "T880:3 h"})
//	c := <-ep.Calls()  // each call that reached it, a *Call
//
//	srv.EmitRaw("hotline", json.RawMessage(`{"type":"ChannelToneDetected",...}`))
//	srv.DropAppSockets("hotline")         // server-side close, as a network drop
//	srv.FailedStasisCalls()               // calls declined while the app was down
//	srv.OriginateLocal(ctx, "Wait 15")    // CLI "channel originate Local/<exten>@<ctx> application ..."
//	// ARI: POST /channels?endpoint=Local/12315@hotline&app=A&channelId=ID1&otherChannelId=ID2
//	// makes a Local pair: ;2 dials in as a caller, ;1 enters app A once answered;
//	// audio and DTMF cross the pair (how pbx/pbxtest drives a real Asterisk).
//	srv.Stats(); srv.Routes()
//	sc, _ := sim.ParseScenario(file); srv.RunScenario(ctx, sc) // people from a text file
//
// The control API (no ARI auth) is served beside ARI: POST /sim/calls
// {from,to,steps}, GET /sim/calls, GET /sim/stats, POST /sim/endpoints.
//
// Steps (the trace rig's syntax, run once the call is answered): "wN" pause N
// s, "mN" pause N ms, a digit, "#" or "*" one DTMF (reported duration_ms 280)
// then 400 ms pause, "tN" a 440 Hz tone for N s, "h" hang up; extensions:
// "p" wait until the current prompt finishes, "fFILE" speak a WAV file (path
// without spaces), "sN" silence for N s, "TF:N" a tone of F Hz for N s. With
// no "h" the party waits for the PBX to hang up.
//
// Differences from Asterisk that are known and deliberate are listed in
// DIFFERENCES.md beside this file.
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"hotline/pbx/sim/media"
)

// Config configures a Server. Zero values take the documented defaults,
// which match the golden-trace rig.
type Config struct {
	// Username and Password are the ARI credentials (Basic auth or
	// api_key=user:pass). Default "hotline" / "hotline".
	Username, Password string
	// App is the Stasis application the dialplan sends calls to. Default "hotline".
	App string
	// Context and Exten are the dialplan's context and the hotline number.
	// Default "hotline" and "12315".
	Context, Exten string
	// Extensions are more numbers in Context, each sent to its own Stasis app
	// (number -> app): several controllers on one PBX, one app name each.
	Extensions map[string]string
	// Language is the default channel language. Default "en".
	Language string
	// SoundsDir holds prompts: sound:NAME resolves to
	// SoundsDir/<lang>/NAME.wav, then SoundsDir/NAME.wav. Empty: no sounds.
	SoundsDir string
	// RecordingsDir is where recordings are written (NAME.wav). Default: a
	// temporary directory removed by Close.
	RecordingsDir string
	// AsteriskID is the entity id in events. Default "02:fc:00:00:00:01".
	AsteriskID string
	// OriginateTimeout is the default ring timeout of POST /channels when
	// the request has no timeout. Default 30 s, as Asterisk.
	OriginateTimeout time.Duration
	// RTPBindHost is the address ExternalMedia legs bind. Default "127.0.0.1".
	RTPBindHost string
	// Endpoints are registered at start, as with RegisterEndpoint.
	Endpoints []EndpointSpec
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Username == "" {
		c.Username = "hotline"
	}
	if c.Password == "" {
		c.Password = "hotline"
	}
	if c.App == "" {
		c.App = "hotline"
	}
	if c.Context == "" {
		c.Context = "hotline"
	}
	if c.Exten == "" {
		c.Exten = "12315"
	}
	if c.Language == "" {
		c.Language = "en"
	}
	if c.AsteriskID == "" {
		c.AsteriskID = "02:fc:00:00:00:01"
	}
	if c.OriginateTimeout == 0 {
		c.OriginateTimeout = 30 * time.Second
	}
	if c.RTPBindHost == "" {
		c.RTPBindHost = "127.0.0.1"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is the simulated PBX. All state lives behind one mutex: events are
// queued to sockets while it is held, so their order is the order of the
// state changes, as Asterisk's per-channel topics guarantee.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	tmpDir  string

	engine *media.Engine

	mu          sync.Mutex
	channels    map[string]*channel
	bridges     map[string]*bridge
	playbacks   map[string]*playback
	recordings  map[string]*liveRecording   // live, by name
	unfinalized map[*liveRecording]struct{} // files the engine has not finalized
	wavCache    map[string]cachedWAV
	globals     map[string]string
	apps        map[string]*app
	endpoints   map[string]*Endpoint
	calls       []*Call // every party, for the control API
	nextChan    int64   // channel id sequence
	nextName    int64   // PJSIP name sequence
	nextSnoop   int64
	nextLocal   int64
	closed      bool

	// bridgeHistory (history.go) is guarded by mu.
	bridgeHistory []BridgeEvent

	failedStasis atomic.Int64

	ctx      context.Context
	cancel   context.CancelFunc
	wgMu     sync.Mutex
	wgClosed bool
	wg       sync.WaitGroup

	httpSrv *http.Server
	ln      net.Listener

	// paramAudit, set by tests before Start, sees every parameter an
	// operation reads ("METHOD /path/{var}", name).
	paramAudit func(op, name string)
	// observe, if set, sees every ARI request as it arrives (ObserveRequests).
	observe atomic.Pointer[func(*http.Request, time.Time)]
}

// ObserveRequests has f called with every ARI request as it arrives, before it is
// authorised or handled, and the time it arrived: a benchmark times a controller's
// requests from the PBX's side. f must not keep r or read its body. nil stops it.
func (s *Server) ObserveRequests(f func(r *http.Request, at time.Time)) {
	if f == nil {
		s.observe.Store(nil)
		return
	}
	s.observe.Store(&f)
}

// New builds a server; Start or Listen makes it serve.
func New(cfg Config) (*Server, error) {
	cfg.defaults()
	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "pbx-sim"),
		started:     time.Now(),
		channels:    map[string]*channel{},
		bridges:     map[string]*bridge{},
		playbacks:   map[string]*playback{},
		recordings:  map[string]*liveRecording{},
		unfinalized: map[*liveRecording]struct{}{},
		wavCache:    map[string]cachedWAV{},
		globals:     map[string]string{},
		apps:        map[string]*app{},
		endpoints:   map[string]*Endpoint{},
		nextChan:    time.Now().UnixNano() % 100000,
	}
	if s.cfg.RecordingsDir == "" {
		dir, err := os.MkdirTemp("", "pbx-sim-recordings-")
		if err != nil {
			return nil, fmt.Errorf("create recordings dir: %w", err)
		}
		s.tmpDir, s.cfg.RecordingsDir = dir, dir
	} else if err := os.MkdirAll(s.cfg.RecordingsDir, 0o755); err != nil {
		return nil, fmt.Errorf("create recordings dir: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.engine = media.NewEngine(media.WithLogger(s.log))
	for _, ep := range cfg.Endpoints {
		s.RegisterEndpoint(ep)
	}
	s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Start listens on addr (use "127.0.0.1:0" in tests) and serves in the background.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Listen(ln)
}

// Listen serves on ln in the background.
func (s *Server) Listen(ln net.Listener) error {
	s.mu.Lock()
	if s.ln != nil {
		s.mu.Unlock()
		return errors.New("sim: already serving")
	}
	s.ln = ln
	s.mu.Unlock()
	s.goTracked(func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	})
	return nil
}

// URL is the server's base URL, e.g. "http://127.0.0.1:8088"; ARI is under
// URL()+"/ari" and the event socket is ws://HOST/ari/events.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Addr is the listening address ("127.0.0.1:PORT").
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Close stops serving, hangs up every party and closes every socket.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var conns []*wsConn
	for _, a := range s.apps {
		conns = append(conns, a.conns...)
	}
	for _, ch := range s.channels {
		s.destroyQuietly(ch)
	}
	s.mu.Unlock()
	s.cancel()
	for _, c := range conns {
		c.close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.httpSrv.Close()
	}
	s.wgMu.Lock()
	s.wgClosed = true
	s.wgMu.Unlock()
	s.wg.Wait()
	s.engine.Close()
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
	return err
}

// FailedStasisCalls counts channels that reached Stasis() while their app
// had no socket (STASISSTATUS=FAILED): inbound callers, declined by the
// dialplan's fallback, and answered originates, hung up.
func (s *Server) FailedStasisCalls() int64 { return s.failedStasis.Load() }

// EmitRaw sends one raw event to app's current socket, unchanged. It reports
// whether a socket took it. Tests use it for types the client library does
// not know (ChannelToneDetected, ...).
func (s *Server) EmitRaw(appName string, event json.RawMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appName]
	if a == nil || a.active == nil {
		return false
	}
	a.active.enqueue(append([]byte(nil), event...))
	return true
}

// DropAppSockets closes, from the server side and without a close
// handshake, every socket subscribed to app, as a network drop would. It
// returns how many it closed.
func (s *Server) DropAppSockets(appName string) int {
	s.mu.Lock()
	a := s.apps[appName]
	var conns []*wsConn
	if a != nil {
		conns = append(conns, a.conns...)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
	return len(conns)
}

// Stats is a snapshot of the PBX for the control API and tests.
type Stats struct {
	Channels          int   `json:"channels"`
	Bridges           int   `json:"bridges"`
	Playbacks         int   `json:"playbacks"`
	LiveRecordings    int   `json:"live_recordings"`
	ActiveApps        int   `json:"active_apps"`
	Calls             int   `json:"calls"`
	FailedStasisCalls int64 `json:"failed_stasis_calls"`
}

// Stats returns current counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Channels:          len(s.channels),
		Bridges:           len(s.bridges),
		Playbacks:         len(s.playbacks),
		LiveRecordings:    len(s.recordings),
		Calls:             len(s.calls),
		FailedStasisCalls: s.failedStasis.Load(),
	}
	for _, a := range s.apps {
		if a.active != nil {
			st.ActiveApps++
		}
	}
	return st
}

// goTracked runs fn in a goroutine that Close waits for; after Close it
// does nothing. fn must return once s.ctx is done.
func (s *Server) goTracked(fn func()) {
	s.wgMu.Lock()
	defer s.wgMu.Unlock()
	if s.wgClosed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}
