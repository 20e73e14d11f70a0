package sim

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// benchApp is a minimal ARI application over plain HTTP and WebSocket: it
// answers every call and plays a prompt, and measures how late each event
// arrives (receive time minus the event's timestamp, which has millisecond
// precision, so each figure is an upper bound by up to 1 ms).
type benchApp struct {
	srv    *Server
	client *http.Client

	mu        sync.Mutex
	latencies []time.Duration
	endedN    atomic.Int64
	dtmf      atomic.Int64
	errs      atomic.Int64
	allEnded  chan struct{}
	want      int
}

func (a *benchApp) post(path string) {
	req, _ := http.NewRequest("POST", a.srv.URL()+"/ari"+path, nil)
	req.SetBasicAuth(a.srv.cfg.Username, a.srv.cfg.Password)
	resp, err := a.client.Do(req)
	if err != nil {
		a.errs.Add(1)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		a.errs.Add(1)
	}
}

func (a *benchApp) run(ws *websocket.Conn) {
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		// Only the type, timestamp and channel id are needed: cut them out
		// rather than decode whole events, so the client costs little.
		typ, ts, id := benchField(msg, `"type":"`), benchField(msg, `"timestamp":"`), benchField(msg, `"channel":{"id":"`)
		at, err := time.Parse(tsLayout, ts)
		if err != nil {
			a.errs.Add(1)
			continue
		}
		a.mu.Lock()
		a.latencies = append(a.latencies, now.Sub(at))
		a.mu.Unlock()
		ev := struct {
			Type    string
			Channel struct{ ID string }
		}{Type: typ}
		ev.Channel.ID = id
		switch ev.Type {
		case "StasisStart":
			id := ev.Channel.ID
			go func() {
				a.post("/channels/" + id + "/answer")
				a.post("/channels/" + id + "/play?media=sound:hotline-beep")
			}()
		case "ChannelDtmfReceived":
			a.dtmf.Add(1)
		case "StasisEnd":
			if a.endedN.Add(1) == int64(a.want) {
				close(a.allEnded)
			}
		}
	}
}

// benchField returns the string value after key in an event.
func benchField(msg []byte, key string) string {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return ""
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConcurrentCalls: 1,000 simultaneous callers, each answered,
// played a 1 s prompt, pressing a key after it and hanging up a second
// later, all over real HTTP and one WebSocket. Run with:
//
//	go test ./pbx/sim -run '^$' -bench ConcurrentCalls -benchtime 1x
func BenchmarkConcurrentCalls(b *testing.B) {
	const calls = 1000
	for range b.N {
		srv := startServer(b, Config{})
		app := &benchApp{srv: srv, allEnded: make(chan struct{}), want: calls,
			client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}}
		u := "ws://" + srv.Addr() + "/ari/events?app=hotline&api_key=" + url.QueryEscape("hotline:hotline")
		ws, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			b.Fatal(err)
		}
		go app.run(ws)

		runtime.GC()
		var peak uint64
		stopSampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak {
					peak = ms.HeapInuse
				}
				select {
				case <-stopSampling:
					return
				case <-t.C:
				}
			}
		}()
		cpu0, t0 := cpuTime(), time.Now()
		b.ResetTimer()
		// Arrivals are spread over 1 s (one per millisecond); each call then
		// lasts about 2.5 s, so all 1,000 are up at the same time.
		tick := time.NewTicker(time.Millisecond)
		for i := range calls {
			<-tick.C
			if _, err := srv.Call(context.Background(), CallSpec{From: fmt.Sprintf("1380%07d", i), Steps: "p 1 w1 h"}); err != nil {
				b.Fatal(err)
			}
		}
		tick.Stop()
		if up := srv.Stats().Channels; up < calls*9/10 {
			b.Errorf("only %d calls up at once after the ramp", up)
		}
		select {
		case <-app.allEnded:
		case <-time.After(60 * time.Second):
			b.Fatalf("only %d of %d calls ended", app.endedN.Load(), calls)
		}
		b.StopTimer()
		wall, cpu := time.Since(t0), cpuTime()-cpu0
		close(stopSampling)
		<-sampled
		ws.Close()

		app.mu.Lock()
		lat := append([]time.Duration(nil), app.latencies...)
		app.mu.Unlock()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 {
			return float64(lat[int(float64(len(lat)-1)*p)]) / float64(time.Millisecond)
		}
		if app.errs.Load() != 0 || app.dtmf.Load() != calls {
			b.Errorf("%d REST/event errors, %d DTMF events for %d calls", app.errs.Load(), app.dtmf.Load(), calls)
		}
		b.ReportMetric(pct(0.50), "p50-event-ms")
		b.ReportMetric(pct(0.99), "p99-event-ms")
		b.ReportMetric(pct(1), "max-event-ms")
		b.ReportMetric(float64(len(lat)), "events")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(cpu)/float64(time.Millisecond)/calls, "cpu-ms/call")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		srv.Close()
	}
}
