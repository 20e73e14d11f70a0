package callflow

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/acd"
)

func TestDecideEmergency(t *testing.T) {
	tests := []struct {
		open     bool
		ready    int
		err      error
		escalate bool
		reason   string
	}{
		{false, 3, nil, true, "after hours"},
		{true, 0, nil, true, "no emergency agent ready"},
		{true, 0, errors.New("redis down"), true, "agent states unavailable"},
		{true, 1, nil, false, "emergency agent ready"},
	}
	for _, tc := range tests {
		esc, why := decideEmergency(tc.open, tc.ready, tc.err)
		if esc != tc.escalate || why != tc.reason {
			t.Errorf("decideEmergency(%v, %d, %v) = %v %q, want %v %q", tc.open, tc.ready, tc.err, esc, why, tc.escalate, tc.reason)
		}
	}
}

type emergencyHours bool

func (h emergencyHours) IsOpen(time.Time) bool { return bool(h) }

type emergencyAgentList []acd.Agent

func (a emergencyAgentList) Agents(context.Context) ([]acd.Agent, error) { return a, nil }

type emergencyEscalatorFunc func(ctx context.Context, o Offer) (*Escalation, error)

func (f emergencyEscalatorFunc) Escalate(ctx context.Context, o Offer) (*Escalation, error) {
	return f(ctx, o)
}

func TestEmergencyDeskOffer(t *testing.T) {
	ready := acd.Agent{ID: "1", State: acd.StateReady, Skills: map[acd.SkillName]acd.Level{"emergency": 1}}
	busy := acd.Agent{ID: "2", State: acd.StateOnCall, Skills: map[acd.SkillName]acd.Level{"emergency": 1}}
	other := acd.Agent{ID: "3", State: acd.StateReady, Skills: map[acd.SkillName]acd.Level{"complaint": 1}}
	started := func(context.Context, Offer) (*Escalation, error) { return NewEscalation(make(chan OfficerLeg)), nil }
	failing := func(context.Context, Offer) (*Escalation, error) { return nil, errors.New("no PBX") }
	tests := []struct {
		name      string
		emergency bool
		hours     emergencyHours
		agents    emergencyAgentList
		esc       emergencyEscalatorFunc
		want      Decision
		reason    string
	}{
		{"ordinary call", false, false, nil, started, DecideVoicemail, "all agents busy"},
		{"night", true, false, emergencyAgentList{ready}, started, DecideEscalate, "escalated: after hours"},
		{"open, ready agent", true, true, emergencyAgentList{busy, ready}, started, DecideVoicemail, "emergency desk not connected"},
		{"open, agents busy or unskilled", true, true, emergencyAgentList{busy, other}, started, DecideEscalate, "escalated: no emergency agent ready"},
		{"chain cannot start", true, false, nil, failing, DecideVoicemail, "escalation failed (no PBX): emergency desk not connected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &EmergencyDesk{Queue: BusyQueue{}, Escalator: tc.esc, Hours: tc.hours, Agents: tc.agents}
			res, err := d.Offer(context.Background(), Offer{ChannelID: "c1", Emergency: tc.emergency, At: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != tc.want || res.Reason != tc.reason || (tc.want == DecideEscalate) != (res.Escalation != nil) {
				t.Errorf("Offer = %s %q (escalation %v), want %s %q", res.Decision, res.Reason, res.Escalation != nil, tc.want, tc.reason)
			}
		})
	}
}
