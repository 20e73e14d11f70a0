package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/media"
	"hotline/audit"
	"hotline/callflow"
	"hotline/cases"
	"hotline/deskcalls"
	"hotline/pbx"
)

// agentDesk is the agents' side of the controller: sign-in, the WebRTC seats, the desk
// and the line that rings agents on their seats (or SIP phones when no seat is up).
type agentDesk struct {
	auth     *auth.Service
	seats    *media.Seats
	line     *deskcalls.Line
	desk     *agentdesk.Desk
	auditLog *audit.Log
	accounts *accounts.Store
	store    *cases.Store
	log      *slog.Logger
	deskRef  atomic.Pointer[agentdesk.Desk] // for the seats' events
}

// newAgentDesk makes sign-in, the seats and the line; the desk comes with openDesk, once
// the ACD store it drives exists (the call path needs the line first). The seats are
// loopback-only: a single-host deployment.
func newAgentDesk(pool *pgxpool.Pool, client *pbx.Client, store *cases.Store, log *slog.Logger) (*agentDesk, error) {
	hasher, err := accounts.NewHasher(accounts.DefaultParams, 0)
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	a := &agentDesk{auditLog: audit.New(pool), store: store, log: log}
	a.accounts = accounts.NewStore(pool, hasher, a.auditLog)
	a.auth, err = auth.New(pool, a.accounts, a.auditLog, auth.DefaultConfig(), log.With("component", "auth"))
	if err != nil {
		return nil, err
	}
	a.seats, err = media.New(media.LoopbackOnly(), media.WithLogger(log.With("component", "seats")),
		media.WithEventHandler(func(e media.Event) {
			if d := a.deskRef.Load(); d != nil {
				d.SeatEvent(e)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("seats: %w", err)
	}
	deadlines, err := callflow.NewCalendarDeadlines()
	if err != nil {
		return nil, errors.Join(err, a.seats.Shutdown(context.Background()))
	}
	a.line, err = deskcalls.New(deskcalls.Config{Seats: a.seats, PBX: client, Cases: store, Deadlines: deadlines,
		Fallback: callflow.SIPLine{PBX: client}, Log: log.With("component", "deskcalls")})
	if err != nil {
		return nil, errors.Join(err, a.seats.Shutdown(context.Background()))
	}
	return a, nil
}

// openDesk makes the desk on the ACD store agents move in, and points the line at it.
func (a *agentDesk) openDesk(agents agentdesk.AgentStates) error {
	d, err := agentdesk.NewDesk(agentdesk.Config{Auth: a.auth, Agents: agents, Calls: a.line, Cases: a.store,
		Audit: a.auditLog, Seats: a.seats, Accounts: a.accounts, Log: a.log.With("component", "desk")})
	if err != nil {
		return err
	}
	a.desk = d
	a.deskRef.Store(d)
	a.line.SetDesk(d)
	return nil
}

// shutdown closes the desk's connections and then the seats.
func (a *agentDesk) shutdown(ctx context.Context) error {
	var errs []error
	if a.desk != nil {
		errs = append(errs, a.desk.Shutdown(ctx))
	}
	errs = append(errs, a.seats.Shutdown(ctx))
	return errors.Join(errs...)
}
