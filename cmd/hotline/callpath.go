package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline/acd"
	"hotline/acd/acdchanges"
	"hotline/acd/acdmetrics"
	"hotline/acd/redisbus"
	"hotline/acd/redisstore"
	"hotline/callflow"
	"hotline/cases"
	"hotline/config"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/recordstore"
)

// callPath is the controller's side of every call: the call flow and, behind it, the ACD
// with its dispatcher. serve and demo build it the same way.
type callPath struct {
	runner *callflow.Runner
	queue  *callflow.ACDQueue
	// emergency decides who takes an emergency: the queue, or the duty officers once
	// escalation.go gives it an Escalator.
	emergency *callflow.EmergencyDesk
	acd       acd.Store
	// acdCfg is the distributor's configuration; changes tells every controller's
	// wallboard of the store's changes (wallboard.go).
	acdCfg  acd.Config
	changes *acdchanges.Publisher
	// callbacks takes the reservations of callback tasks (callbacks.go).
	callbacks *callbackHook
}

// newCallPath wires the default menu, the calendar (the shipped one, or the opening hours
// of hoursFile), the shipped rule sets, the case and voicemail stores, and the ACD (configured
// by acdSection) kept in
// Redis under acdPrefix (shared by every controller of the centre, with the reservation
// bus between them). Agents are rung through line; nil: on their SIP phones.
func newCallPath(client *pbx.Client, store *cases.Store, voicemails *recordstore.Store, rdb redis.UniversalClient,
	acdPrefix, hoursFile string, acdSection config.ACD, line callflow.AgentLine, reg prometheus.Registerer, log *slog.Logger) (*callPath, error) {
	if line == nil {
		line = callflow.SIPLine{PBX: client}
	}
	menu, err := ivr.Default()
	if err != nil {
		return nil, fmt.Errorf("menu: %w", err)
	}
	cal, err := loadCalendar(hoursFile)
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
	acdCfg, err := acdSection.Distributor()
	if err != nil {
		return nil, fmt.Errorf("acd: %w", err)
	}
	router, err := acd.NewRouter(acdCfg)
	if err != nil {
		return nil, fmt.Errorf("acd: %w", err)
	}
	acdStore, changes := publishChanges(redisstore.New(rdb, acdPrefix, router, acd.SystemClock{}), rdb, acdPrefix, log)
	if reg != nil {
		// The queue gauges describe the shared state: every controller reports the same.
		shared := acdStore
		errs, err := acdmetrics.Register(reg, func(ctx context.Context) (acd.Wallboard, error) {
			return acd.BuildWallboard(ctx, shared, acdCfg, time.Now(), time.Hour)
		}, 2*time.Second)
		if err != nil {
			return nil, fmt.Errorf("acd metrics: %w", err)
		}
		acdStore = acdmetrics.Count(acdStore, errs)
	}
	bus, err := redisbus.New(rdb, acdPrefix, log.With("component", "acd-bus"))
	if err != nil {
		return nil, err
	}
	hook := &callbackHook{store: acdStore, log: log.With("component", "acd")}
	queue, err := callflow.NewACDQueue(callflow.ACDConfig{Store: acdStore, ACD: acdCfg, Bus: bus,
		Line: line, Bridges: client, RecordConversations: true, Callbacks: hook.take,
		Logger: log.With("component", "acd")})
	if err != nil {
		return nil, err
	}
	emergency := &callflow.EmergencyDesk{Queue: queue, Hours: cal, Agents: acdStore, Bridges: client}
	runner, err := callflow.New(callflow.Config{
		Calls: client, PBX: client, Cases: callflow.NewCaseStore(store), Recordings: voicemails,
		Machine: machine, Deadlines: deadlines, Queue: emergency,
		Logger: log.With("component", "callflow"), Registerer: reg,
	})
	if err != nil {
		return nil, err
	}
	return &callPath{runner: runner, queue: queue, emergency: emergency, acd: acdStore, acdCfg: acdCfg, changes: changes,
		callbacks: hook}, nil
}

// run runs the dispatcher and the call flow until ctx ends; the first to fail ends both.
func (p *callPath) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { _ = p.changes.Run(ctx) }() // ends with ctx
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
