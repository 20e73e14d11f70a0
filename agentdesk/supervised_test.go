package agentdesk_test

import (
	"testing"

	"hotline/supervise"
)

// TestSupervisedNotice: the agent's desk shows a supervisor who whispers or barges, and
// that they left; an agent without a desk open is simply not told.
func TestSupervisedNotice(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl, _ := e.connect(e.signIn("alice"))
	e.desk.Supervised("alice", supervise.Notice{Mode: supervise.Whisper, Supervisor: "Sam", Call: "call-1"})
	m := cl.await("supervisor", nil)
	if m.str("mode") != "whisper" || m.str("supervisor") != "Sam" || m.str("call") != "call-1" {
		t.Errorf("joined notice %v", m)
	}
	e.desk.Supervised("alice", supervise.Notice{Supervisor: "Sam", Call: "call-1"})
	if m := cl.await("supervisor", nil); m.str("mode") != "" || m.str("supervisor") != "Sam" {
		t.Errorf("left notice %v", m)
	}
	e.desk.Supervised("nobody", supervise.Notice{Mode: supervise.Barge, Supervisor: "Sam"}) // no hub: no panic, no message
}
