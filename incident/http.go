package incident

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"hotline/accounts"
	"hotline/agentdesk/auth"
)

// Guard wraps a handler so that only a signed-in principal with one of roles reaches it
// ((*auth.Service).RequireRole, which also checks the CSRF token of a POST).
type Guard func(roles ...accounts.Role) func(http.Handler) http.Handler

// Handler serves the switch: GET /api/incident (supervisors and admins) returns the state;
// POST /api/incident (admins) with {"active": true|false, "reason": "...", "prompt": "...",
// "message": "..."} switches it, audited. A switch to the state it is in answers 409.
func Handler(store *Store, guard Guard, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/incident", guard(accounts.RoleSupervisor, accounts.RoleAdmin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := store.Get(r.Context())
		if err != nil {
			log.Error("incident: read", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "incident mode could not be read"})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})))
	mux.Handle("POST /api/incident", guard(accounts.RoleAdmin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first"})
			return
		}
		var body struct {
			Active  *bool  `json:"active"`
			Reason  string `json:"reason"`
			Prompt  string `json:"prompt"`
			Message string `json:"message"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Active == nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"active": true|false, "reason": "...", "prompt": "...", "message": "..."}`})
			return
		}
		st, err := store.Switch(r.Context(), Change{Active: *body.Active, Reason: body.Reason, Prompt: body.Prompt,
			Message: body.Message, Actor: p.Login})
		var e *Error
		switch {
		case errors.As(err, &e):
			writeJSON(w, e.HTTPStatus(), map[string]string{"error": e.Error()})
			return
		case err != nil:
			log.Error("incident: switch", "agent", p.Login, "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "incident mode could not be switched"})
			return
		}
		log.Info("incident mode switched", "agent", p.Login, "active", st.Active, "reason", st.Reason)
		writeJSON(w, http.StatusOK, st)
	})))
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
