package media

import (
	"fmt"
	"testing"
)

// Each member hears every other member and never itself.
func TestBridgeRouting(t *testing.T) {
	tests := []struct {
		name  string
		tones []float64
	}{
		{"caller and agent", []float64{callerHz, agentHz}},
		{"three parties", []float64{callerHz, agentHz, supervisorHz}},
		{"alone", []float64{callerHz}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := manualEngine(t)
			b := e.NewBridge("b")
			ears := make([]*ear, len(tc.tones))
			for i, f := range tc.tones {
				l := e.NewLeg(fmt.Sprint("leg", i))
				l.SetSource(Tone(f, amp))
				ears[i] = listenTo(l)
				b.Add(l)
			}
			tick(e, 50)
			for i, f := range tc.tones {
				var others []float64
				for j, g := range tc.tones {
					if j != i {
						others = append(others, g)
					}
				}
				checkTones(t, fmt.Sprintf("party %v Hz", f), ears[i].heard(), others...)
			}
		})
	}
}

func TestBridgeMembership(t *testing.T) {
	e := manualEngine(t)
	b1, b2 := e.NewBridge("b1"), e.NewBridge("b2")
	caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
	caller.SetSource(Tone(callerHz, amp))
	agent.SetSource(Tone(agentHz, amp))
	callerEar, agentEar := listenTo(caller), listenTo(agent)

	steps := []struct {
		name        string
		do          func()
		callerHears []float64
		agentHears  []float64
	}{
		{"not bridged", func() {}, nil, nil},
		{"both in b1", func() { b1.Add(caller); b1.Add(agent); b1.Add(agent) }, []float64{agentHz}, []float64{callerHz}},
		{"agent moved to b2", func() { b2.Add(agent) }, nil, nil},
		{"caller joins b2", func() { b2.Add(caller) }, []float64{agentHz}, []float64{callerHz}},
		{"agent removed", func() { b2.Remove(agent); b1.Remove(caller) }, nil, nil},
		{"agent back, then bridge closed", func() { b2.Add(agent); b2.Close(); b2.Add(caller) }, nil, nil},
		{"source cleared", func() { b1.Add(caller); b1.Add(agent); agent.SetSource(nil) }, nil, []float64{callerHz}},
		{"caller hangs up", func() { agent.SetSource(Tone(agentHz, amp)); caller.Close() }, nil, nil},
	}
	for _, s := range steps {
		s.do()
		callerEar.reset()
		agentEar.reset()
		tick(e, 25)
		t.Run(s.name, func(t *testing.T) {
			if s.name != "caller hangs up" {
				checkTones(t, "caller", callerEar.heard(), s.callerHears...)
			} else if n := len(callerEar.heard()); n != 0 {
				t.Errorf("a closed leg's tap got %d samples", n)
			}
			checkTones(t, "agent", agentEar.heard(), s.agentHears...)
		})
	}
}

// Sums that overflow 16 bits clip instead of wrapping around.
func TestBridgeClips(t *testing.T) {
	e := manualEngine(t)
	b := e.NewBridge("b")
	loud := make([]int16, 4*FrameSamples)
	for i := range loud {
		loud[i] = 30000
	}
	var l [3]*Leg
	for i := range l {
		l[i] = e.NewLeg(fmt.Sprint(i))
		b.Add(l[i])
	}
	l[0].SetSource(Samples(loud))
	l[1].SetSource(Samples(loud))
	r := listenTo(l[2])
	tick(e, 2)
	for i, v := range r.heard() {
		if v != 32767 {
			t.Fatalf("sample %d = %d, want 32767", i, v)
		}
	}
}
