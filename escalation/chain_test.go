package escalation

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC) // 23:00 in Asia/Shanghai

// rig drives a Chain with a manual clock: timers the machine starts fire when the test
// advances past them, as Timeout events stamped with their deadline.
type rig struct {
	t      *testing.T
	c      *Chain
	now    time.Time
	timers map[TimerID]time.Time
	log    []string
}

func newRig(t *testing.T, p Policy) *rig {
	c, err := NewChain(p)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, c: c, now: t0, timers: map[TimerID]time.Time{}}
}

// feed steps the machine; the log separates the actions of each event with "|".
func (r *rig) feed(e Event) {
	acts := r.c.Step(e)
	if len(acts) > 0 && len(r.log) > 0 {
		r.log = append(r.log, "|")
	}
	for _, a := range acts {
		switch a := a.(type) {
		case StartTimer:
			r.timers[a.Timer] = r.now.Add(a.After)
		case CancelTimer:
			delete(r.timers, a.Timer)
		case Note:
			s := string(a.Kind)
			if a.Officer != nil {
				s += "(" + a.Officer.Name + ")"
			}
			if a.At != r.now {
				r.t.Errorf("note %s stamped %s, now is %s", a.Kind, a.At, r.now)
			}
			r.log = append(r.log, strings.TrimPrefix(s, "escalation_"))
		case Dial:
			r.log = append(r.log, fmt.Sprintf("DIAL#%d %s", a.Attempt, a.Officer.Phone))
		case PlaySummary:
			r.log = append(r.log, fmt.Sprintf("PLAY#%d", a.Attempt))
		case HangupOfficer:
			r.log = append(r.log, fmt.Sprintf("HANGUP#%d", a.Attempt))
		case Accept:
			r.log = append(r.log, fmt.Sprintf("ACCEPT#%d %s", a.Attempt, a.Officer.Name))
		case Alert:
			r.log = append(r.log, fmt.Sprintf("ALERT r%d final=%v", a.Round, a.Final))
		case ReloadRoster:
			r.log = append(r.log, fmt.Sprintf("RELOAD r%d", a.Round))
		case Finished:
			r.log = append(r.log, "FINISHED "+a.Outcome.String())
		default:
			r.t.Fatalf("unexpected action %T", a)
		}
	}
}

// advance moves the clock by d, firing due timers in deadline order.
func (r *rig) advance(d time.Duration) {
	end := r.now.Add(d)
	for {
		var due []TimerID
		for id, at := range r.timers {
			if !at.After(end) {
				due = append(due, id)
			}
		}
		if len(due) == 0 {
			break
		}
		sort.Slice(due, func(i, j int) bool { return r.timers[due[i]].Before(r.timers[due[j]]) })
		id := due[0]
		r.now = r.timers[id]
		delete(r.timers, id)
		r.feed(Timeout{At: r.now, Timer: id})
	}
	r.now = end
}

var (
	alice = Entry{ID: 1, Name: "alice", Phone: "13900000001", Order: 1, Active: true}
	bob   = Entry{ID: 2, Name: "bob", Phone: "13900000002", Order: 2, Active: true}
	carol = Entry{ID: 3, Name: "carol", Phone: "13900000003", Order: 3, Active: true}
)

var testPolicy = Policy{RingTimeout: 30 * time.Second, RingGrace: 5 * time.Second, AckTimeout: 20 * time.Second,
	MaxSummary: time.Minute, Retries: 1, RetryPause: 2 * time.Minute}

func TestChain(t *testing.T) {
	three := []Entry{alice, bob, carol}
	tests := []struct {
		name     string
		officers []Entry
		script   func(r *rig)
		want     string
		outcome  Outcome
	}{
		{
			name: "first officer accepts after the summary", officers: three,
			script: func(r *rig) {
				r.advance(3 * time.Second)
				r.feed(Answered{At: r.now, Attempt: 1})
				r.advance(10 * time.Second)
				r.feed(SummaryDone{At: r.now, Attempt: 1})
				r.advance(2 * time.Second)
				r.feed(Key{At: r.now, Attempt: 1, Digit: "1"})
			},
			want:    "started dialing(alice) DIAL#1 13900000001 | answered(alice) PLAY#1 | summary_played(alice) | accepted(alice) ACCEPT#1 alice FINISHED accepted",
			outcome: Accepted,
		},
		{
			name: "no answer, decline, then accept during the summary", officers: three,
			script: func(r *rig) {
				r.advance(30 * time.Second)
				r.feed(DialFailed{At: r.now, Attempt: 1, Reason: "NOANSWER"})
				r.feed(Answered{At: r.now, Attempt: 2})
				r.feed(SummaryDone{At: r.now, Attempt: 2})
				r.feed(Key{At: r.now, Attempt: 2, Digit: "2"})
				r.feed(Answered{At: r.now, Attempt: 3})
				r.feed(Key{At: r.now, Attempt: 3, Digit: "1"})
			},
			want: "started dialing(alice) DIAL#1 13900000001 | no_answer(alice) dialing(bob) DIAL#2 13900000002 | answered(bob) PLAY#2 | " +
				"summary_played(bob) | declined(bob) HANGUP#2 dialing(carol) DIAL#3 13900000003 | answered(carol) PLAY#3 | accepted(carol) ACCEPT#3 carol FINISHED accepted",
			outcome: Accepted,
		},
		{
			name: "ring timeout guard, ack timeout, hang-up: exhausted, alert, retry, gave up", officers: []Entry{alice, bob},
			script: func(r *rig) {
				r.advance(35 * time.Second) // the PBX never said: the guard hangs up
				r.feed(Answered{At: r.now, Attempt: 2})
				r.feed(SummaryDone{At: r.now, Attempt: 2})
				r.advance(20 * time.Second) // no key
				r.advance(2 * time.Minute)  // the pause
				r.feed(Roster{At: r.now, Officers: []Entry{carol}})
				r.feed(Answered{At: r.now, Attempt: 3})
				r.feed(OfficerGone{At: r.now, Attempt: 3})
			},
			want: "started dialing(alice) DIAL#1 13900000001 | no_answer(alice) HANGUP#1 dialing(bob) DIAL#2 13900000002 | answered(bob) PLAY#2 | " +
				"summary_played(bob) | ack_timeout(bob) HANGUP#2 exhausted ALERT r1 final=false | RELOAD r2 | retry dialing(carol) DIAL#3 13900000003 | " +
				"answered(carol) PLAY#3 | officer_hung_up(carol) exhausted ALERT r2 final=true gave_up FINISHED gave_up",
			outcome: GaveUp,
		},
		{
			name: "summary end never reported: the guard starts the wait for a key", officers: []Entry{alice},
			script: func(r *rig) {
				r.feed(Answered{At: r.now, Attempt: 1})
				r.advance(time.Minute)
				r.advance(10 * time.Second)
				r.feed(Key{At: r.now, Attempt: 1, Digit: "1"})
			},
			want:    "started dialing(alice) DIAL#1 13900000001 | answered(alice) PLAY#1 | summary_played(alice) | accepted(alice) ACCEPT#1 alice FINISHED accepted",
			outcome: Accepted,
		},
		{
			name: "empty roster: alert at once, and again after the retry", officers: nil,
			script: func(r *rig) {
				r.advance(2 * time.Minute)
				r.feed(Roster{At: r.now})
			},
			want:    "started exhausted ALERT r1 final=false | RELOAD r2 | retry exhausted ALERT r2 final=true gave_up FINISHED gave_up",
			outcome: GaveUp,
		},
		{
			name: "late and stray events are ignored", officers: []Entry{alice, bob},
			script: func(r *rig) {
				r.feed(Key{At: r.now, Attempt: 1, Digit: "1"}) // ringing: no key yet
				r.feed(Answered{At: r.now, Attempt: 1})
				r.feed(Key{At: r.now, Attempt: 1, Digit: "5"}) // not a choice
				r.feed(SummaryDone{At: r.now, Attempt: 1})
				r.advance(20 * time.Second)
				r.feed(Key{At: r.now, Attempt: 1, Digit: "1"})         // too late: alice was hung up
				r.feed(OfficerGone{At: r.now, Attempt: 1})             // her hang-up arrives
				r.feed(Timeout{At: r.now, Timer: "ack-1"})             // a timeout already on its way
				r.feed(DialFailed{At: r.now, Attempt: 1, Reason: "x"}) // stale
				r.feed(Answered{At: r.now, Attempt: 2})
				r.feed(Answered{At: r.now, Attempt: 2}) // twice
				r.feed(Key{At: r.now, Attempt: 2, Digit: "1"})
				r.feed(Key{At: r.now, Attempt: 2, Digit: "2"}) // after the end
			},
			want: "started dialing(alice) DIAL#1 13900000001 | answered(alice) PLAY#1 | summary_played(alice) | ack_timeout(alice) HANGUP#1 dialing(bob) DIAL#2 13900000002 | " +
				"answered(bob) PLAY#2 | accepted(bob) ACCEPT#2 bob FINISHED accepted",
			outcome: Accepted,
		},
		{
			name: "stop while ringing hangs up", officers: []Entry{alice},
			script: func(r *rig) {
				r.feed(Stop{At: r.now, Reason: "shutdown"})
				r.advance(time.Hour)
			},
			want:    "started dialing(alice) DIAL#1 13900000001 | HANGUP#1 stopped FINISHED stopped",
			outcome: Stopped,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, testPolicy)
			r.feed(Start{At: r.now, Officers: tc.officers})
			tc.script(r)
			got := strings.Join(r.log, " ")
			if got != tc.want {
				t.Errorf("steps\n got: %s\nwant: %s", got, tc.want)
			}
			if r.c.Outcome() != tc.outcome || !r.c.Done() {
				t.Errorf("outcome %s done %v, want %s done", r.c.Outcome(), r.c.Done(), tc.outcome)
			}
			if len(r.timers) != 0 {
				t.Errorf("timers left running: %v", r.timers)
			}
		})
	}
}
