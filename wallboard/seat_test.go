package wallboard

import (
	"testing"
	"time"

	"hotline/acd"
)

// TestSeatHealthOnTheBoard: an agent whose seat this controller holds shows its health;
// one whose seat is elsewhere (or who has none) shows none.
func TestSeatHealthOnTheBoard(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, loc)
	b := Assemble(acd.DefaultConfig(), loc, Inputs{At: now,
		Agents: []acd.Agent{{ID: "amy", State: acd.StateOnCall, Since: now}, {ID: "ben", State: acd.StateReady, Since: now}},
		Seats:  map[acd.AgentID]SeatView{"amy": {State: "disconnected", ICEState: "disconnected", Loss: 0.2, JitterMs: 80}}})
	if len(b.Agents) != 2 {
		t.Fatalf("agents %+v", b.Agents)
	}
	amy, ben := b.Agents[0], b.Agents[1]
	if amy.Seat == nil || amy.Seat.State != "disconnected" || amy.Seat.Loss != 0.2 || amy.Seat.JitterMs != 80 {
		t.Errorf("amy's seat %+v", amy.Seat)
	}
	if ben.Seat != nil {
		t.Errorf("ben's seat %+v, want none shown", ben.Seat)
	}
}
