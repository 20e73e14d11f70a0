package callflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchCalls is how many callers are in the menu at once.
const benchCalls = 500

// benchKeys is how many keys each caller presses after the welcome; each barges into a
// menu and makes the next playback: 5 (the lines menu), * (back to the main menu), ...
const benchKeys = 10

// benchArrivals is the time over which the callers arrive.
const benchArrivals = 2 * time.Second

// BenchmarkKeyToPrompt measures, with 500 callers in the simulated PBX at once, how long a
// caller's key takes to become the next prompt's playback: the barge-in's stop and the new
// play, both ARI requests, in flight at once. It reports, in milliseconds, the median, p99
// and maximum of
//
//   - written: from the DTMF event's frame arriving from the PBX (read off the event
//     socket, pbx.Event.Received) to the play request written out to the PBX's connection
//     (httptrace's WroteRequest, after the flush): the controller's whole share, "DTMF
//     received -> next playback requested";
//   - at-pbx: from the same frame arriving to the play request arriving at the PBX (the
//     simulator's HTTP server handing it to its handler, sim.Server.ObserveRequests), so
//     with the PBX's own delay in reading it off its socket;
//   - received: from the same frame arriving to the play accepted by the PBX (its
//     response read), so with the PBX's own work on the play and the way back: an upper
//     bound;
//   - requested: from the same frame arriving to the call goroutine making the request;
//   - dispatch: from the frame arriving to the event reaching the call goroutine (the
//     guard relay, the ARI library, the per-channel mailbox);
//   - in-call: from the event reaching the call goroutine to the play accepted, of which
//   - ari: waiting for the ARI requests, and
//   - own: the call goroutine's own work (the machine, bookkeeping, scheduling);
//   - from-event: from the event's own timestamp, so with the simulator's socket writer
//     and the trip over the WebSocket (millisecond timestamps: an upper bound by 1 ms).
//
// It runs twice. pbx=in-process: the simulated PBX and its 500 scripted callers run in
// this process and share its Go scheduler. pbx=own-process: they run in a process of their
// own (childpbx_test.go), as Asterisk does in production; the two processes share the
// machine's CPUs.
//
//	go test -run '^$' -bench KeyToPrompt -benchtime 1x ./callflow/
func BenchmarkKeyToPrompt(b *testing.B) {
	b.Run("pbx=in-process", func(b *testing.B) { benchKeyToPrompt(b, false) })
	b.Run("pbx=own-process", func(b *testing.B) { benchKeyToPrompt(b, true) })
}

// benchKeyToPrompt runs the benchmark with the simulated PBX in this process or in a
// process of its own (childpbx_test.go).
func benchKeyToPrompt(b *testing.B, ownProcess bool) {
	for range b.N {
		var mu sync.Mutex
		var received, written, requested, dispatch, inCall, ari, own, sinceEvent []time.Duration
		frames := map[string]time.Time{} // play id -> its key's frame arrival
		var p testPBX
		var child *childPBX
		if ownProcess {
			p, child = startChildPBX(b)
		} else {
			p = startTestPBX(b)
		}
		h := startHotlineOn(b, p, friday, func(r *Runner) {
			r.keyToPrompt = func(l keyLatency) {
				mu.Lock()
				inCall, ari, own = append(inCall, l.InCall), append(ari, l.ARI), append(own, l.InCall-l.ARI)
				sinceEvent = append(sinceEvent, l.SinceEvent)
				if l.Received > 0 {
					received, requested = append(received, l.Received), append(requested, l.Requested)
					if l.Written > 0 {
						written = append(written, l.Written)
					}
					dispatch = append(dispatch, l.Received-l.InCall)
					frames[l.Playback] = l.Frame
				}
				mu.Unlock()
			}
		})
		// arrivals: play id -> its request's arrival at the PBX, once the calls are done.
		var arrivals func() (map[string]time.Time, error)
		switch {
		case child != nil:
			arrivals = func() (map[string]time.Time, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return child.arrivals(ctx)
			}
		case h.pbx.sim != nil:
			plays := observePlays(h.pbx.sim)
			arrivals = func() (map[string]time.Time, error) {
				h.pbx.sim.ObserveRequests(nil)
				return plays.all(), nil
			}
		}
		steps := "m300 2 p m300 " + strings.Repeat("5 * ", benchKeys/2) + "h"
		callers := make([]testCaller, benchCalls)
		froms := make([]string, benchCalls)
		// Callers arrive over 2 s, as independent callers would, rather than pressing their
		// keys in lockstep every 540 ms.
		tick := time.NewTicker(benchArrivals / benchCalls)
		for i := range callers {
			<-tick.C
			froms[i] = fmt.Sprintf("1380100%04d", i)
			callers[i] = h.dial(b, froms[i], steps)
		}
		tick.Stop()
		deadline := time.Now().Add(3 * time.Minute)
		for i, c := range callers {
			h.wait(b, c, froms[i], deadline)
		}
		b.StopTimer()
		mu.Lock()
		// Fewer samples than keys means keys were taken as type-ahead: the machine was
		// late with the end of the welcome.
		b.ReportMetric(float64(len(inCall)), "samples")
		if len(received) != len(inCall) {
			b.Errorf("%d of %d keys came without the time their event arrived", len(inCall)-len(received), len(inCall))
		}
		if arrivals != nil {
			arrived, err := arrivals()
			if err != nil {
				b.Fatal(err)
			}
			var atPBX []time.Duration
			for id, f := range frames {
				if at, ok := arrived[id]; ok {
					atPBX = append(atPBX, at.Sub(f))
				}
			}
			if len(atPBX) != len(frames) {
				b.Errorf("%d of %d plays were not seen arriving at the PBX", len(frames)-len(atPBX), len(frames))
			}
			report(b, "at-pbx", atPBX)
		}
		report(b, "received", received)
		if len(written) != len(received) {
			b.Errorf("%d of %d plays came without the time their request was written", len(received)-len(written), len(received))
		}
		report(b, "written", written)
		report(b, "requested", requested)
		report(b, "dispatch", dispatch)
		report(b, "in-call", inCall)
		report(b, "ari", ari)
		report(b, "own", own)
		report(b, "from-event", sinceEvent)
		mu.Unlock()
		b.StartTimer()
	}
}

func report(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ds[len(ds)/2]), name+"-p50-ms")
	b.ReportMetric(ms(ds[min(len(ds)-1, len(ds)*99/100)]), name+"-p99-ms")
	b.ReportMetric(ms(ds[len(ds)-1]), name+"-max-ms")
}
