package media

import (
	"fmt"
	"testing"
)

// A supervisor snoops on the agent of a caller-agent call. Caller sends
// 440, agent 880, the snoop's source (the supervisor) 1300.
func TestSnoopRouting(t *testing.T) {
	tests := []struct {
		spy, whisper Direction
		snoopHears   []float64
		agentHears   []float64
		callerHears  []float64
	}{
		{None, None, nil, []float64{callerHz}, []float64{agentHz}},
		{In, None, []float64{agentHz}, []float64{callerHz}, []float64{agentHz}},
		{Out, None, []float64{callerHz}, []float64{callerHz}, []float64{agentHz}},
		{Both, None, []float64{callerHz, agentHz}, []float64{callerHz}, []float64{agentHz}},
		// Coaching: only the agent hears the supervisor.
		{Both, Out, []float64{callerHz, agentHz}, []float64{callerHz, supervisorHz}, []float64{agentHz}},
		// Whisper in: mixed into what the agent sends, so the caller hears it.
		{Both, In, []float64{callerHz, agentHz}, []float64{callerHz}, []float64{agentHz, supervisorHz}},
		// Barge: both hear the supervisor; the spy never returns the whisper.
		{Both, Both, []float64{callerHz, agentHz}, []float64{callerHz, supervisorHz}, []float64{agentHz, supervisorHz}},
		{None, Both, nil, []float64{callerHz, supervisorHz}, []float64{agentHz, supervisorHz}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("spy %v whisper %v", tc.spy, tc.whisper), func(t *testing.T) {
			e := manualEngine(t)
			b := e.NewBridge("call")
			caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
			caller.SetSource(Tone(callerHz, amp))
			agent.SetSource(Tone(agentHz, amp))
			b.Add(caller)
			b.Add(agent)
			snoop := e.NewSnoopLeg("snoop", agent, tc.spy, tc.whisper)
			snoop.SetSource(Tone(supervisorHz, amp))
			rs, ra, rc := listenTo(snoop), listenTo(agent), listenTo(caller)
			tick(e, 50)
			checkTones(t, "snoop", rs.heard(), tc.snoopHears...)
			checkTones(t, "agent", ra.heard(), tc.agentHears...)
			checkTones(t, "caller", rc.heard(), tc.callerHears...)
		})
	}
}

// How the hotline uses snoop: the supervisor's own leg (here a plain leg;
// in production an ExternalMedia leg to the supervisor's browser) is bridged
// with a snoop on the agent. The supervisor hears both sides; what he says
// reaches the agent only (whisper out), or both (whisper both).
func TestSnoopBridgedWithSupervisor(t *testing.T) {
	tests := []struct {
		whisper     Direction
		callerHears []float64
	}{
		{Out, []float64{agentHz}},
		{Both, []float64{agentHz, supervisorHz}},
	}
	for _, tc := range tests {
		t.Run(tc.whisper.String(), func(t *testing.T) {
			e := manualEngine(t)
			call := e.NewBridge("call")
			caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
			caller.SetSource(Tone(callerHz, amp))
			agent.SetSource(Tone(agentHz, amp))
			call.Add(caller)
			call.Add(agent)

			snoop := e.NewSnoopLeg("snoop", agent, Both, tc.whisper)
			supervisor := e.NewLeg("supervisor")
			supervisor.SetSource(Tone(supervisorHz, amp))
			watch := e.NewBridge("watch")
			watch.Add(snoop)
			watch.Add(supervisor)
			rsup, ra, rc := listenTo(supervisor), listenTo(agent), listenTo(caller)
			tick(e, 50)
			checkTones(t, "supervisor", rsup.heard(), callerHz, agentHz)
			checkTones(t, "agent", ra.heard(), callerHz, supervisorHz)
			checkTones(t, "caller", rc.heard(), tc.callerHears...)

			// The agent hangs up: the snoop stays, hearing silence.
			agent.Close()
			tick(e, 1) // the last spied frame is still in flight
			rsup.reset()
			tick(e, 25)
			checkTones(t, "supervisor after the agent left", rsup.heard())
			// Closing the snoop stops the whisper for good.
			snoop.Close()
			tick(e, 2)
		})
	}
}

// A snoop on a snoop, and a snoop in its own target's bridge, do not loop.
func TestSnoopOddTopologies(t *testing.T) {
	e := manualEngine(t)
	b := e.NewBridge("b")
	caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
	caller.SetSource(Tone(callerHz, amp))
	agent.SetSource(Tone(agentHz, amp))
	b.Add(caller)
	b.Add(agent)
	s1 := e.NewSnoopLeg("s1", agent, In, None)
	b.Add(s1) // the caller now also hears the agent's voice through s1
	s2 := e.NewSnoopLeg("s2", s1, Both, None)
	r2, rc := listenTo(s2), listenTo(caller)
	tick(e, 50)
	checkTones(t, "snoop on snoop", r2.heard(), callerHz, agentHz)
	checkTones(t, "caller", rc.heard(), agentHz)
	if dead := e.NewSnoopLeg("dead", nil, Both, Both); dead == nil {
		t.Fatal("nil snoop")
	}
	tick(e, 1)
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{None: "none", In: "in", Out: "out", Both: "both", 9: "Direction(9)"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
}
