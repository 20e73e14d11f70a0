package agentdesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/cases"
	"hotline/escalation"
)

// RosterStore keeps the on-duty roster: (*cases.RosterStore). Its writes are audited.
type RosterStore interface {
	List(ctx context.Context) ([]escalation.Entry, error)
	Add(ctx context.Context, actor string, e escalation.Entry) (escalation.Entry, error)
	Update(ctx context.Context, actor string, e escalation.Entry) (escalation.Entry, error)
	Delete(ctx context.Context, actor string, id escalation.EntryID) error
}

// EmergencyFlagger starts the escalation chain of a case with nobody on the line (the
// duty desk). ErrAlreadyEscalating when one runs for the case.
type EmergencyFlagger interface {
	FlagEmergency(ctx context.Context, number cases.Number, actor string) error
}

// ErrAlreadyEscalating is what an EmergencyFlagger returns for a case with a chain running.
var ErrAlreadyEscalating = errors.New("an escalation is already running for this case")

// RoleGuard is the sign-in check: (*auth.Service).RequireRole.
type RoleGuard interface {
	RequireRole(roles ...accounts.Role) func(http.Handler) http.Handler
}

// RosterAPI is the administrators' roster API and the desk's emergency flag:
//
//	GET    /api/admin/roster          every entry                        (admin)
//	POST   /api/admin/roster          add {name, phone, from, to, order, active}  (admin)
//	PUT    /api/admin/roster/{id}     replace an entry                   (admin)
//	DELETE /api/admin/roster/{id}     remove an entry                    (admin)
//	POST   /api/cases/{number}/emergency  start the escalation chain  (agent, supervisor)
//
// 401 without a session, 403 for another role or without the CSRF token; writes are in
// the audit log with the signed-in login as actor (the store writes them in the same
// transaction).
type RosterAPI struct {
	Auth   RoleGuard
	Store  RosterStore
	Flag   EmergencyFlagger // nil: no flag route
	Logger *slog.Logger
}

// Routes are the API's routes for New.
func (a *RosterAPI) Routes() []Option {
	admin := a.Auth.RequireRole(accounts.RoleAdmin)
	opts := []Option{
		WithRoute("GET /api/admin/roster", admin(http.HandlerFunc(a.list))),
		WithRoute("POST /api/admin/roster", admin(http.HandlerFunc(a.add))),
		WithRoute("PUT /api/admin/roster/{id}", admin(http.HandlerFunc(a.update))),
		WithRoute("DELETE /api/admin/roster/{id}", admin(http.HandlerFunc(a.remove))),
	}
	if a.Flag != nil {
		opts = append(opts, WithRoute("POST /api/cases/{number}/emergency",
			a.Auth.RequireRole(deskRoles...)(http.HandlerFunc(a.flag))))
	}
	return opts
}

func (a *RosterAPI) log() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

func rosterActor(r *http.Request) string {
	p, _ := auth.PrincipalFrom(r.Context())
	return p.Login
}

func (a *RosterAPI) list(w http.ResponseWriter, r *http.Request) {
	es, err := a.Store.List(r.Context())
	if err != nil {
		a.log().Error("roster: list failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "roster unavailable"})
		return
	}
	if es == nil {
		es = []escalation.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
}

// rosterEntryBody is an entry as an administrator sends it; Active defaults to true.
type rosterEntryBody struct {
	Name   string    `json:"name"`
	Phone  string    `json:"phone"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Order  int       `json:"order"`
	Active *bool     `json:"active"`
}

func readRosterEntry(w http.ResponseWriter, r *http.Request) (escalation.Entry, error) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return escalation.Entry{}, fmt.Errorf("content type %q: want application/json", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	var b rosterEntryBody
	if err := dec.Decode(&b); err != nil {
		return escalation.Entry{}, fmt.Errorf("roster entry: %w", err)
	}
	e := escalation.Entry{Name: strings.TrimSpace(b.Name), Phone: b.Phone, From: b.From, To: b.To, Order: b.Order, Active: true}
	if b.Active != nil {
		e.Active = *b.Active
	}
	if err := e.Validate(); err != nil {
		return escalation.Entry{}, fmt.Errorf("roster entry: %w", err)
	}
	return e, nil
}

func (a *RosterAPI) add(w http.ResponseWriter, r *http.Request) {
	e, err := readRosterEntry(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	e, err = a.Store.Add(r.Context(), rosterActor(r), e)
	if err != nil {
		a.log().Error("roster: add failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "roster entry not stored"})
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func rosterEntryID(r *http.Request) (escalation.EntryID, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("roster entry id %q: want a positive number", r.PathValue("id"))
	}
	return escalation.EntryID(id), nil
}

func (a *RosterAPI) update(w http.ResponseWriter, r *http.Request) {
	id, err := rosterEntryID(r)
	if err == nil {
		var e escalation.Entry
		if e, err = readRosterEntry(w, r); err == nil {
			e.ID = id
			e, err = a.Store.Update(r.Context(), rosterActor(r), e)
			switch {
			case errors.Is(err, cases.ErrNotFound):
				writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no roster entry %d", id)})
			case err != nil:
				a.log().Error("roster: update failed", "entry", id, "err", err)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "roster entry not stored"})
			default:
				writeJSON(w, http.StatusOK, e)
			}
			return
		}
	}
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}

func (a *RosterAPI) remove(w http.ResponseWriter, r *http.Request) {
	id, err := rosterEntryID(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	err = a.Store.Delete(r.Context(), rosterActor(r), id)
	switch {
	case errors.Is(err, cases.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no roster entry %d", id)})
	case err != nil:
		a.log().Error("roster: delete failed", "entry", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "roster entry not deleted"})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// flag starts the escalation of a case: 202 started, 404 no such case, 409 one runs.
func (a *RosterAPI) flag(w http.ResponseWriter, r *http.Request) {
	number := cases.Number(r.PathValue("number"))
	err := a.Flag.FlagEmergency(r.Context(), number, rosterActor(r))
	switch {
	case errors.Is(err, cases.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no case " + string(number)})
	case errors.Is(err, ErrAlreadyEscalating):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		a.log().Error("emergency flag failed", "case", number, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "escalation not started"})
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"case": string(number), "escalation": "started"})
	}
}
