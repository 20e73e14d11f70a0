package pbxtest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"hotline/pbx"
	"hotline/pbx/sim"
)

// simPBX is the simulated Asterisk, serving on loopback for one test.
type simPBX struct {
	srv    *sim.Server
	cfg    pbx.Config
	sounds string

	mu    sync.Mutex
	calls []*sim.Call // to report steps that failed
}

func newSim(t testing.TB, opts Options) *simPBX {
	t.Helper()
	if opts.SoundsDir == "" {
		opts.SoundsDir = t.TempDir()
	}
	if opts.RecordingsDir == "" {
		opts.RecordingsDir = t.TempDir()
	}
	log := orDiscard(opts.Logger)
	srv, err := sim.New(sim.Config{SoundsDir: opts.SoundsDir, RecordingsDir: opts.RecordingsDir, Endpoints: opts.Endpoints, Logger: log})
	if err != nil {
		t.Fatalf("pbxtest: %v", err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("pbxtest: %v", err)
	}
	c := srv.Config()
	p := &simPBX{srv: srv, sounds: opts.SoundsDir, cfg: testConfig(srv.URL()+"/ari", c.App, c.Username, c.Password, log)}
	t.Cleanup(func() {
		_ = srv.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.calls {
			if err := c.Result().Err; err != nil {
				t.Errorf("pbxtest: caller %s: %v", c.ChannelID(), err)
			}
		}
	})
	return p
}

func (p *simPBX) Config() pbx.Config { return p.cfg }
func (p *simPBX) SoundsDir() string  { return p.sounds }
func (p *simPBX) Real() bool         { return false }

// Sim is the simulated server, for what only it can do (endpoints' calls,
// socket drops, stats): test code may type-assert interface{ Sim() *sim.Server }.
func (p *simPBX) Sim() *sim.Server { return p.srv }

func (p *simPBX) Call(ctx context.Context, spec CallSpec) (Call, error) {
	c, err := p.srv.Call(ctx, sim.CallSpec{From: spec.From, Language: spec.Language, Steps: spec.Steps, Listen: spec.Listen})
	if err != nil {
		return nil, fmt.Errorf("pbxtest: %w", err)
	}
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	return simCall{c}, nil
}

// simCall is a simulated caller.
type simCall struct{ c *sim.Call }

func (c simCall) ChannelID() string         { return c.c.ChannelID() }
func (c simCall) Answered() <-chan struct{} { return c.c.Answered() }
func (c simCall) Done() <-chan struct{}     { return c.c.Done() }
func (c simCall) Heard() []int16            { return c.c.Heard() }

// Sim is the simulated party (its Result: who hung up, DTMF sent to it...).
func (c simCall) Sim() *sim.Call { return c.c }

// Err is the first step that failed, if any (also reported to the test at
// cleanup).
func (c simCall) Err() error { return c.c.Result().Err }

func (c simCall) Hangup(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pbxtest: hang up: %w", err)
	}
	c.c.Hangup()
	return nil
}
