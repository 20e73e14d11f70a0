package supervise

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/auth"
)

// Guard puts a handler behind sign-in with one of the given roles (auth.Service.RequireRole:
// session, role and CSRF checks).
type Guard func(roles ...accounts.Role) func(http.Handler) http.Handler

// Handler is the supervisors' API (documented in agentdesk/API.md):
//
//	GET    /api/supervise   the supervisions in progress
//	POST   /api/supervise   {"agent": "li.na", "mode": "listen"|"whisper"|"barge"}: join (or switch)
//	DELETE /api/supervise   leave
//
// The audio goes to the signed-in supervisor's own seat, which the desk opens.
func Handler(svc *Service, guard Guard, log *slog.Logger) http.Handler {
	h := &api{svc: svc, log: log}
	mux := http.NewServeMux()
	// Supervisors only: the audio goes to the supervisor's own seat, and admins open no desk.
	only := guard(accounts.RoleSupervisor)
	mux.Handle("GET /api/supervise", only(http.HandlerFunc(h.list)))
	mux.Handle("POST /api/supervise", only(http.HandlerFunc(h.join)))
	mux.Handle("DELETE /api/supervise", only(http.HandlerFunc(h.leave)))
	return mux
}

type api struct {
	svc *Service
	log *slog.Logger
}

type joinBody struct {
	Agent string `json:"agent"`
	Mode  string `json:"mode"`
}

func (h *api) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"supervisions": h.svc.Active()})
}

func (h *api) join(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, "sign in first")
		return
	}
	var b joinBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("request body: %v", err))
		return
	}
	if strings.TrimSpace(b.Agent) == "" {
		writeError(w, http.StatusBadRequest, "agent: missing (the login of the agent whose call to join)")
		return
	}
	if _, err := ParseMode(b.Mode); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	info, err := h.svc.Join(r.Context(), Request{Supervisor: acd.AgentID(p.Login), SupervisorName: p.DisplayName,
		Agent: acd.AgentID(b.Agent), Mode: Mode(b.Mode)})
	if err != nil {
		h.fail(w, "join", err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (h *api) leave(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, "sign in first")
		return
	}
	if err := h.svc.Leave(r.Context(), acd.AgentID(p.Login)); err != nil {
		h.fail(w, "leave", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *api) fail(w http.ResponseWriter, what string, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeError(w, e.Status, e.Msg)
		return
	}
	h.log.Error("supervise: "+what+" failed", "err", err)
	writeError(w, http.StatusBadGateway, "the PBX did not set up the supervision; try again")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
