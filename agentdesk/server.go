// Package agentdesk is the controller's HTTP surface: health and readiness for operators,
// Prometheus metrics, the case API, and with a Desk (WithDesk) the agents' side: sign-in,
// the agent WebSocket (API.md), the case form and the embedded web app.
package agentdesk

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline/cases"
)

// CaseReader is what the case API needs from the case store.
type CaseReader interface {
	FindByNumber(ctx context.Context, number cases.Number) (cases.Detail, error)
	FindByCaller(ctx context.Context, caller cases.Phone, limit int) ([]cases.Case, error)
}

// Check reports whether a dependency is usable; Name is shown in /readyz.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Server serves the controller's HTTP endpoints.
type Server struct {
	cases    CaseReader
	checks   []Check
	log      *slog.Logger
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	mux      *http.ServeMux
	desk     *Desk
	routes   []route

	mu       sync.Mutex
	draining bool
}

// Option configures a Server.
type Option func(*Server)

// WithDesk mounts the agent desk: sign-in, the agent WebSocket, the case form and the web
// app; and puts the case API behind sign-in, with every case read audited.
func WithDesk(d *Desk) Option { return func(s *Server) { s.desk = d } }

type route struct {
	pattern string
	h       http.Handler
}

// WithRoute mounts h at pattern (an http.ServeMux pattern) beside the server's own routes,
// for features of their own packages (the wallboard). h guards itself; it is not counted in
// the request metrics (it may be a WebSocket).
func WithRoute(pattern string, h http.Handler) Option {
	return func(s *Server) { s.routes = append(s.routes, route{pattern, h}) }
}

// New builds the server. reg collects the metrics served at /metrics; the server registers
// its own collectors there. Without WithDesk the case API is open: only for tests and
// tools on a trusted host.
func New(caseReader CaseReader, checks []Check, reg *prometheus.Registry, log *slog.Logger, opts ...Option) *Server {
	s := &Server{cases: caseReader, checks: checks, log: log, registry: reg, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_http_requests_total",
		Help: "HTTP requests served, by route and status code.",
	}, []string{"route", "code"})
	reg.MustRegister(s.requests)
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.handle("GET /api/cases/{number}", s.signedIn(s.getCase))
	s.handle("GET /api/cases", s.signedIn(s.searchCases))
	if s.desk != nil {
		reg.MustRegister(s.desk.Collectors()...)
		s.desk.mount(s.mux, s.handle)
	}
	for _, r := range s.routes {
		s.mux.Handle(r.pattern, r.h)
	}
	return s
}

// signedIn requires an agent's or a supervisor's session for h when the server has a desk.
func (s *Server) signedIn(h http.HandlerFunc) http.HandlerFunc {
	if s.desk == nil {
		return h
	}
	return s.desk.cfg.Auth.RequireRole(deskRoles...)(h).ServeHTTP
}

// audited records that the request read cases, when the server has a desk; an error means
// the answer must not be given.
func (s *Server) audited(r *http.Request, via string, numbers ...cases.Number) error {
	if s.desk == nil || len(numbers) == 0 {
		return nil
	}
	return s.desk.auditRead(r, via, numbers...)
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Drain makes /readyz fail so that a load balancer stops sending work while the process
// finishes what it has.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h(sw, r)
		s.requests.WithLabelValues(pattern, strconv.Itoa(sw.code)).Inc()
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := map[string]string{}
	code := http.StatusOK
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		out["controller"] = "draining"
		code = http.StatusServiceUnavailable
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range s.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out[c.Name] = "down: " + err.Error()
				code = http.StatusServiceUnavailable
				s.log.Warn("readiness check failed", "check", c.Name, "err", err)
				return
			}
			out[c.Name] = "ok"
		}()
	}
	wg.Wait()
	writeJSON(w, code, out)
}

// caseView is a case as the API shows it: caller numbers masked (PIPL: agents see masked
// numbers unless they need the full one).
func caseView(c cases.Case) cases.Case {
	c.CallerNumber = cases.Phone(c.CallerNumber.Masked())
	return c
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	number := cases.Number(r.PathValue("number"))
	d, err := s.cases.FindByNumber(r.Context(), number)
	if errors.Is(err, cases.ErrNotFound) {
		writeError(w, http.StatusNotFound, "case "+string(number)+" not found")
		return
	}
	if err != nil {
		s.log.Error("get case", "case", number, "err", err)
		writeError(w, http.StatusInternalServerError, "could not read the case")
		return
	}
	if err := s.audited(r, "case_api", d.Case.Number); err != nil {
		s.log.Error("get case: audit", "case", number, "err", err)
		writeError(w, http.StatusInternalServerError, "could not read the case")
		return
	}
	d.Case = caseView(d.Case)
	for i := range d.Calls {
		d.Calls[i].CallerNumber = cases.Phone(d.Calls[i].CallerNumber.Masked())
	}
	for i := range d.Tasks {
		d.Tasks[i].CallerNumber = cases.Phone(d.Tasks[i].CallerNumber.Masked())
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) searchCases(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("caller")
	if raw == "" {
		writeError(w, http.StatusBadRequest, "query parameter caller is required, e.g. /api/cases?caller=13800000001")
		return
	}
	caller, err := cases.ParsePhone(raw)
	if err != nil || caller == "" {
		writeError(w, http.StatusBadRequest, "query parameter caller: not a phone number")
		return
	}
	limit := 50
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "query parameter limit: want a whole number from 1 to 500")
			return
		}
		limit = n
	}
	found, err := s.cases.FindByCaller(r.Context(), caller, limit)
	if err != nil {
		s.log.Error("search cases", "caller", caller.Masked(), "err", err)
		writeError(w, http.StatusInternalServerError, "could not search cases")
		return
	}
	numbers := make([]cases.Number, len(found))
	views := make([]cases.Case, len(found))
	for i, c := range found {
		numbers[i] = c.Number
		views[i] = caseView(c)
	}
	if err := s.audited(r, "case_search", numbers...); err != nil {
		s.log.Error("search cases: audit", "caller", caller.Masked(), "err", err)
		writeError(w, http.StatusInternalServerError, "could not search cases")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": views})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
