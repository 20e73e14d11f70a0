package wallboard

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"hotline/accounts"
	"hotline/agentdesk/auth"
)

// Roles may see the wallboard.
var Roles = []accounts.Role{accounts.RoleSupervisor, accounts.RoleAdmin}

// Close codes of the wallboard socket (the application's range, as the agent desk's).
const (
	closeSessionEnded websocket.StatusCode = 4001
	closeShutdown     websocket.StatusCode = 4003
)

const (
	pingEvery    = 30 * time.Second
	writeTimeout = 10 * time.Second
	// recheckEvery is how often an open wallboard rechecks its session and role (a sign-out
	// or a changed role elsewhere closes it); it keeps the session alive too.
	recheckEvery = time.Minute
)

// Server serves the wallboard's live socket and its snapshot to supervisors and admins.
type Server struct {
	Hub  *Hub
	Auth *auth.Service
	Log  *slog.Logger
	// Stats, when set, also serves the windowed statistics (Handler) at /api/wallboard/stats.
	Stats *Handler
}

// Route is a pattern and its handler, for agentdesk.WithRoute.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Routes returns the wallboard's endpoints, each behind sign-in with one of Roles (401
// without a session, 403 for another role):
//
//	GET /api/wallboard/ws     WebSocket: {"type":"board","board":Board} on every change
//	GET /api/wallboard        the board now (JSON)
//	GET /api/wallboard/stats  the statistics over a window (?window=15m), when Stats is set
func (s *Server) Routes() []Route {
	rs := []Route{
		{"GET /api/wallboard/ws", s.Auth.RequireWebSocket(Roles...)(http.HandlerFunc(s.serveWS))},
		{"GET /api/wallboard", s.Auth.RequireRole(Roles...)(http.HandlerFunc(s.serveBoard))},
	}
	if s.Stats != nil {
		rs = append(rs, Route{"GET /api/wallboard/stats", s.Auth.RequireRole(Roles...)(s.Stats)})
	}
	return rs
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// serveBoard answers with a board built for the request.
func (s *Server) serveBoard(w http.ResponseWriter, r *http.Request) {
	boards, cancel := s.Hub.Subscribe()
	defer cancel()
	ctx, stop := context.WithTimeout(r.Context(), 10*time.Second)
	defer stop()
	select {
	case b, ok := <-boards:
		if !ok {
			writeError(w, http.StatusServiceUnavailable, "the controller is shutting down")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(b, '\n'))
	case <-ctx.Done():
		writeError(w, http.StatusServiceUnavailable, "the distributor's store is unavailable")
	}
}

func boardMessage(b []byte) []byte {
	m := make([]byte, 0, len(b)+32)
	m = append(m, `{"type":"board","board":`...)
	m = append(m, b...)
	return append(m, '}')
}

// serveWS pushes every board to the browser until it goes, the session ends or the role
// is taken away. The browser sends nothing.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, auth.ErrNoSession.Error())
		return
	}
	// RequireWebSocket has checked the Origin.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log().Warn("wallboard: websocket upgrade", "agent", p.Login, "err", err)
		return
	}
	log := s.log().With("agent", p.Login)
	log.Info("wallboard opened")
	ctx := ws.CloseRead(r.Context()) // ends when the browser closes
	boards, cancel := s.Hub.Subscribe()
	defer cancel()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	recheck := time.NewTicker(recheckEvery)
	defer recheck.Stop()
	expiry := time.NewTimer(time.Until(p.ExpiresAt))
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			ws.CloseNow()
			log.Info("wallboard closed")
			return
		case b, ok := <-boards:
			if !ok {
				ws.Close(closeShutdown, "controller shutting down")
				return
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := ws.Write(wctx, websocket.MessageText, boardMessage(b))
			cancel()
			if err != nil {
				ws.CloseNow()
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := ws.Ping(pctx)
			cancel()
			if err != nil {
				ws.CloseNow()
				return
			}
		case <-recheck.C:
			np, err := s.Auth.Recheck(ctx, p)
			if err == nil && !np.HasRole(Roles...) {
				err = auth.ErrForbidden
			}
			switch {
			case err == nil:
				p = np
			case auth.HTTPStatus(err) == http.StatusInternalServerError:
				log.Warn("wallboard: recheck session", "err", err) // the database hiccuped: keep going
			default:
				ws.Close(closeSessionEnded, "session ended")
				return
			}
		case <-expiry.C:
			ws.Close(closeSessionEnded, "session expired")
			return
		}
	}
}
