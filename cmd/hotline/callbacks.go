package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"hotline/acd"
	"hotline/agentdesk"
	"hotline/callflow"
	"hotline/cases"
	"hotline/config"
	"hotline/deskcalls"
	"hotline/pbx"
)

// callbackHook hands the queue's reservations of callback tasks to the callbacks, which
// are made after the queue (they need the desk's line and the ACD store the call path
// makes). Until they are set (the demo has none), a reservation is released with the agent
// not ready, as the queue does without a handler.
type callbackHook struct {
	store acd.Store
	log   *slog.Logger
	cb    atomic.Pointer[callflow.Callbacks]
}

func (h *callbackHook) take(ctx context.Context, r acd.Reservation) {
	if cb := h.cb.Load(); cb != nil {
		cb.Take(ctx, r)
		return
	}
	h.log.Warn("acd: callback task reserved but no desk takes callbacks; agent set not ready", "task", r.Item.ID, "agent", r.Agent)
	if _, err := h.store.Release(ctx, r, acd.StateNotReady, callflow.ReasonCallbackTask); err != nil && !errors.Is(err, acd.ErrStateConflict) {
		h.log.Error("acd: release failed", "task", r.Item.ID, "agent", r.Agent, "err", err)
	}
}

// deskCallbacks is the callbacks of serve: worked on the agents' desks and seats.
type deskCallbacks struct {
	cb *callflow.Callbacks
}

// startCallbacks makes the callbacks of the callbacks section on the call path's ACD and
// the desk's line, and points the queue's callback reservations and the desk's "call back"
// button at them. Call before agents.openDesk; run the scheduler with run.
func startCallbacks(cfg config.Callbacks, calls *callPath, agents *agentDesk, client *pbx.Client, store *cases.Store,
	log *slog.Logger) (*deskCallbacks, error) {
	cb, err := callflow.NewCallbacks(callflow.CallbackConfig{ACD: calls.acd, Tasks: store, Line: agents.line, PBX: client,
		Bridges: client, DialString: cfg.DialString, CallerID: cfg.CallerID, DialTimeout: cfg.DialTimeout,
		OfferTimeout: cfg.OfferTimeout, Distributor: calls.acdCfg, Retry: callflow.RetryPolicy{MaxAttempts: cfg.MaxAttempts, Backoff: []time.Duration{cfg.RetryAfter}},
		Poll: cfg.Poll, Kick: calls.queue.Kick, Logger: log.With("component", "callbacks")})
	if err != nil {
		return nil, fmt.Errorf("callbacks: %w", err)
	}
	calls.callbacks.cb.Store(cb)
	agents.callbacks = cb
	return &deskCallbacks{cb: cb}, nil
}

// run is the scheduler, until ctx ends (then the callbacks in progress are hung up).
func (d *deskCallbacks) run(ctx context.Context) {
	_ = d.cb.Run(ctx) // returns nil when ctx ends
}

// deskCalls is what the desk drives: the line, with the "call back" button when the
// callbacks are set.
func (a *agentDesk) deskCalls() agentdesk.Calls {
	if a.callbacks != nil {
		return deskcalls.WithCallbacks{Line: a.line, Callbacks: a.callbacks}
	}
	return a.line
}
