package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline/acd"
	"hotline/acd/redisstore"
	"hotline/calendar"
	"hotline/callflow"
	"hotline/cases"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/recordstore"
)

// callPath is the controller's side of every call: the call flow and, behind it, the ACD
// with its dispatcher. serve and demo build it the same way.
type callPath struct {
	runner *callflow.Runner
	queue  *callflow.ACDQueue
	acd    acd.Store
}

// newCallPath wires the default menu, the shipped calendar and rule sets, the case and
// voicemail stores, and the ACD kept in Redis under acdPrefix (shared by every controller
// of the centre). Agents are rung through line; nil: on their SIP phones.
func newCallPath(client *pbx.Client, store *cases.Store, voicemails *recordstore.Store, rdb redis.UniversalClient,
	acdPrefix string, line callflow.AgentLine, reg prometheus.Registerer, log *slog.Logger) (*callPath, error) {
	if line == nil {
		line = callflow.SIPLine{PBX: client}
	}
	menu, err := ivr.Default()
	if err != nil {
		return nil, fmt.Errorf("menu: %w", err)
	}
	cal, err := calendar.Default()
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	machine, err := ivr.NewMachine(menu, cal)
	if err != nil {
		return nil, fmt.Errorf("menu: %w", err)
	}
	deadlines, err := callflow.NewCalendarDeadlines()
	if err != nil {
		return nil, err
	}
	acdCfg := acd.DefaultConfig()
	router, err := acd.NewRouter(acdCfg)
	if err != nil {
		return nil, fmt.Errorf("acd: %w", err)
	}
	acdStore := redisstore.New(rdb, acdPrefix, router, acd.SystemClock{})
	queue, err := callflow.NewACDQueue(callflow.ACDConfig{Store: acdStore, ACD: acdCfg,
		Line: line, Bridges: client, RecordConversations: true,
		Logger: log.With("component", "acd")})
	if err != nil {
		return nil, err
	}
	runner, err := callflow.New(callflow.Config{
		Calls: client, PBX: client, Cases: callflow.NewCaseStore(store), Recordings: voicemails,
		Machine: machine, Deadlines: deadlines, Queue: queue,
		Logger: log.With("component", "callflow"), Registerer: reg,
	})
	if err != nil {
		return nil, err
	}
	return &callPath{runner: runner, queue: queue, acd: acdStore}, nil
}

// run runs the dispatcher and the call flow until ctx ends; the first to fail ends both.
func (p *callPath) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- wrap("acd dispatcher", p.queue.Run(ctx)) }()
	go func() { errc <- wrap("call flow", p.runner.Run(ctx)) }()
	first := <-errc
	cancel()
	second := <-errc
	if ctx.Err() != nil && first == nil {
		return second
	}
	return first
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
