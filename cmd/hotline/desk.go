package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/media"
	"hotline/audit"
	"hotline/callflow"
	"hotline/cases"
	"hotline/config"
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
	lineRef  atomic.Pointer[deskcalls.Line]
	// callbacks carries out the desk's "call back" (callbacks.go); nil: refused.
	callbacks *callflow.Callbacks
}

// defaultMedia is the media section's defaults (hotline.example.yaml): a single-host
// deployment, loopback only.
var defaultMedia = config.Media{LoopbackOnly: true, RTPHost: "127.0.0.1", SeatReconnectGrace: callflow.DefaultSeatGrace}

// newAgentDesk makes sign-in, the seats and the line with the default media settings.
func newAgentDesk(pool *pgxpool.Pool, client *pbx.Client, store *cases.Store, log *slog.Logger) (*agentDesk, error) {
	return newAgentDeskWith(defaultMedia, pool, client, store, log)
}

// seatOptions are the seats' options from the media section.
func seatOptions(m config.Media) ([]media.Option, error) {
	host, err := netip.ParseAddr(m.RTPHost)
	if err != nil {
		return nil, fmt.Errorf("media.rtp_host: %w", err)
	}
	var opts []media.Option
	if m.LoopbackOnly {
		opts = append(opts, media.LoopbackOnly())
	}
	opts = append(opts, media.WithRTPHost(host))
	if ips := m.PublicIPs(); len(ips) > 0 {
		opts = append(opts, media.WithPublicIPs(ips...))
	}
	if m.ICEPortMax > 0 {
		opts = append(opts, media.WithICEPortRange(uint16(m.ICEPortMin), uint16(m.ICEPortMax)))
	}
	if m.RTPPortMax > 0 {
		opts = append(opts, media.WithRTPPortRange(uint16(m.RTPPortMin), uint16(m.RTPPortMax)))
	}
	return opts, nil
}

// newAgentDeskWith makes sign-in, the seats and the line; the desk comes with openDesk, once
// the ACD store it drives exists (the call path needs the line first). The seats' events
// go to the line (a seat that drops mid-call puts the caller on hold) and to the desk.
func newAgentDeskWith(m config.Media, pool *pgxpool.Pool, client *pbx.Client, store *cases.Store, log *slog.Logger) (*agentDesk, error) {
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
	opts, err := seatOptions(m)
	if err != nil {
		return nil, err
	}
	opts = append(opts, media.WithLogger(log.With("component", "seats")),
		media.WithEventHandler(func(e media.Event) {
			if l := a.lineRef.Load(); l != nil {
				l.SeatEvent(e)
			}
			if d := a.deskRef.Load(); d != nil {
				d.SeatEvent(e)
			}
		}))
	a.seats, err = media.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("seats: %w", err)
	}
	deadlines, err := callflow.NewCalendarDeadlines()
	if err != nil {
		return nil, errors.Join(err, a.seats.Shutdown(context.Background()))
	}
	a.line, err = deskcalls.New(deskcalls.Config{Seats: a.seats, PBX: client, Cases: store, Deadlines: deadlines,
		Fallback: callflow.SIPLine{PBX: client}, SeatGrace: m.SeatReconnectGrace, Log: log.With("component", "deskcalls")})
	if err != nil {
		return nil, errors.Join(err, a.seats.Shutdown(context.Background()))
	}
	a.lineRef.Store(a.line)
	return a, nil
}

// openDesk makes the desk on the ACD store agents move in, with the configured queues as
// transfer targets, and points the line at it.
func (a *agentDesk) openDesk(agents agentdesk.AgentStates, queues []acd.Queue) error {
	names := make([]string, 0, len(queues))
	for _, q := range queues {
		names = append(names, string(q.Name))
	}
	d, err := agentdesk.NewDesk(agentdesk.Config{Auth: a.auth, Agents: agents, Calls: a.deskCalls(), Cases: a.store.WithAudit(a.auditLog),
		Audit: a.auditLog, Seats: a.seats, Accounts: a.accounts, TransferQueues: names, Log: a.log.With("component", "desk")})
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
