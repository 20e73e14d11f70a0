// Package wallboard is the supervisors' live view of the distributor. A Hub builds the
// Board (every queue's waiting calls, longest wait, service level in both definitions,
// abandon rate and ASA of the day so far, the agents one by one with their state, time in
// state and current case, and the day in 15-minute intervals) whenever the shared ACD
// state changes, told by acd/acdchanges over Redis pub/sub from whichever controller made
// the change, and pushes it to the supervisors' browsers over a WebSocket (Server). It
// never polls Asterisk, and reads the store only when told or every few seconds.
//
// "Today" is the calendar day in the centre's time zone; the stores must keep outcomes for
// a day (acd.Config.OutcomeRetention, default 24h).
//
// Handler also serves the statistics over a chosen window (acd.BuildWallboard) as JSON,
// for tools.
package wallboard

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"hotline/acd"
)

// DefaultWindow is the span of outcomes the statistics count when the request names none:
// long enough to smooth a quiet hour, short enough to show a morning's trouble.
const DefaultWindow = time.Hour

// MaxWindow bounds ?window=: the stores keep outcomes for acd.Config.OutcomeRetention
// (default 24h), and a longer window would silently count less than it says.
const MaxWindow = 24 * time.Hour

// Handler answers GET with the JSON snapshot of acd.BuildWallboard. The query parameter
// window (a Go duration, e.g. 15m) chooses the span of outcomes.
type Handler struct {
	Source acd.WallboardSource // every acd.Store is one
	Config acd.Config          // the queues shown, in this order
	Clock  acd.Clock           // the store's clock; default acd.SystemClock
	Window time.Duration       // default DefaultWindow
	Logger *slog.Logger        // default slog.Default()
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	window, ok := h.window(r.URL.Query().Get("window"))
	if !ok {
		writeError(w, http.StatusBadRequest, "window must be a duration between 1s and "+MaxWindow.String()+", e.g. 15m")
		return
	}
	clock := h.Clock
	if clock == nil {
		clock = acd.SystemClock{}
	}
	board, err := acd.BuildWallboard(r.Context(), h.Source, h.Config, clock.Now(), window)
	if err != nil {
		log := h.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Error("wallboard: build failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the distributor's store is unavailable")
		return
	}
	// A tool polls: a cached snapshot would show stale queues.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, board)
}

// window parses the requested window; "" is the handler's default.
func (h *Handler) window(s string) (time.Duration, bool) {
	if s == "" {
		if h.Window > 0 {
			return h.Window, true
		}
		return DefaultWindow, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d > MaxWindow {
		return 0, false
	}
	return d, true
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
