package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"hotline/accounts"
	"hotline/acd"
	"hotline/acd/acdchanges"
	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/media"
	"hotline/cases"
	"hotline/pbx"
	"hotline/wallboard"
)

// publishChanges wraps the ACD store so that each change it makes is published to the
// wallboards of every controller of the centre; the publisher runs with the call path.
func publishChanges(s acd.Store, rdb redis.UniversalClient, prefix string, log *slog.Logger) (acd.Store, *acdchanges.Publisher) {
	p := acdchanges.NewPublisher(rdb, acdchanges.Channel(prefix), log.With("component", "acd-changes"))
	return acdchanges.Wrap(s, p), p
}

// liveWallboard is this controller's supervisors' wallboard: a hub that rebuilds the board
// from the ACD store whenever any controller publishes a change, and its endpoints.
type liveWallboard struct {
	hub     *wallboard.Hub
	server  *wallboard.Server
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
}

// newWallboard makes the wallboard of the call path's ACD store (under prefix in rdb), the
// day in loc, for the supervisors a signs in.
func newWallboard(calls *callPath, rdb redis.UniversalClient, prefix string, loc *time.Location, a *auth.Service, seats *media.Seats, log *slog.Logger) (*liveWallboard, error) {
	log = log.With("component", "wallboard")
	hub, err := wallboard.NewHub(wallboard.HubConfig{Source: calls.acd, ACD: calls.acdCfg, Location: loc, Log: log,
		Seats: func() map[acd.AgentID]wallboard.SeatView { return seatViews(seats) }})
	if err != nil {
		return nil, err
	}
	srv := &wallboard.Server{Hub: hub, Auth: a, Log: log,
		Stats: &wallboard.Handler{Source: calls.acd, Config: calls.acdCfg, Logger: log}}
	return &liveWallboard{hub: hub, server: srv, rdb: rdb, channel: acdchanges.Channel(prefix), log: log}, nil
}

// mount returns the server options that mount the wallboard, after opts.
func (w *liveWallboard) mount(opts ...agentdesk.Option) []agentdesk.Option {
	for _, r := range w.server.Routes() {
		opts = append(opts, agentdesk.WithRoute(r.Pattern, r.Handler))
	}
	return opts
}

// run builds boards and listens for the changes until ctx ends; a lost subscription is
// made again (the hub's refresh bridges the gap).
func (w *liveWallboard) run(ctx context.Context) {
	go func() { _ = w.hub.Run(ctx) }()
	for ctx.Err() == nil {
		err := acdchanges.Listen(ctx, w.rdb, w.channel, func(string) { w.hub.Changed() })
		if err != nil {
			w.log.Warn("listen for acd changes", "channel", w.channel, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// demoSupervisor is the account the demo signs supervisors in with.
const demoSupervisor = "supervisor"

// demoWallboard gives the demo the agent desk's sign-in and the wallboard, with a
// supervisor account whose fresh password it prints. It returns the server options and a
// function that shuts the desk down.
func demoWallboard(ctx context.Context, out io.Writer, pool *pgxpool.Pool, client *pbx.Client, store *cases.Store,
	calls *callPath, rdb redis.UniversalClient, prefix string, loc *time.Location, log *slog.Logger) ([]agentdesk.Option, func(), error) {
	desk, err := newAgentDesk(pool, client, store, log)
	if err != nil {
		return nil, nil, err
	}
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := desk.shutdown(sctx); err != nil {
			log.Error("agent desk shutdown", "err", err)
		}
	}
	fail := func(err error) ([]agentdesk.Option, func(), error) {
		shutdown()
		return nil, nil, err
	}
	if err := desk.openDesk(calls.acd, calls.acdCfg.Queues); err != nil {
		return fail(err)
	}
	secret := make([]byte, 8)
	_, _ = rand.Read(secret)
	password := hex.EncodeToString(secret)
	_, err = desk.accounts.Create(ctx, "demo", accounts.NewAccount{Login: demoSupervisor, DisplayName: "值班班长 Supervisor",
		Role: accounts.RoleSupervisor, Password: password})
	if errors.Is(err, accounts.ErrLoginTaken) {
		err = desk.accounts.SetPassword(ctx, "demo", demoSupervisor, password)
	}
	if err != nil {
		return fail(fmt.Errorf("demo supervisor account: %w", err))
	}
	wb, err := newWallboard(calls, rdb, prefix, loc, desk.auth, desk.seats, log)
	if err != nil {
		return fail(err)
	}
	go wb.run(ctx)
	fmt.Fprintf(out, "wallboard at /wallboard: sign in as %s with password %s\n", demoSupervisor, password)
	return wb.mount(agentdesk.WithDesk(desk.desk)), shutdown, nil
}

// seatViews is the health of the seats this controller holds, for the wallboard.
func seatViews(seats *media.Seats) map[acd.AgentID]wallboard.SeatView {
	if seats == nil {
		return nil
	}
	all := seats.HealthAll()
	out := make(map[acd.AgentID]wallboard.SeatView, len(all))
	for _, h := range all {
		loss := 0.0
		if n := float64(h.FromAgent.Packets) + float64(max(h.FromAgent.Lost, 0)); n > 0 {
			loss = float64(max(h.FromAgent.Lost, 0)) / n
		}
		out[acd.AgentID(h.Agent)] = wallboard.SeatView{State: h.State.String(), ICEState: h.ICEState, Loss: loss,
			JitterMs: float64(h.FromAgent.Jitter) / float64(time.Millisecond)}
	}
	return out
}
