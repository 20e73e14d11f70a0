package wallboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/memstore"
)

// board is the part of the JSON a wallboard reads.
type board struct {
	Window float64 `json:"window_seconds"`
	Queues []struct {
		Queue                string   `json:"queue"`
		Waiting              int      `json:"waiting"`
		LongestWait          float64  `json:"longest_wait_seconds"`
		Answered             int      `json:"answered"`
		Abandoned            int      `json:"abandoned"`
		ServiceLevel         *float64 `json:"service_level"`
		ServiceLevelAbandons *float64 `json:"service_level_with_abandons"`
		AbandonRate          *float64 `json:"abandon_rate"`
		ASA                  float64  `json:"asa_seconds"`
		EstimatedWait        *float64 `json:"estimated_wait_seconds"`
	} `json:"queues"`
	Agents map[string]int `json:"agents"`
}

// general: one call answered after 10 s (within the 20 s target), one abandoned after
// 5 s, one waiting for 40 s; one agent logged in.
func scenario(t *testing.T) (*memstore.Store, acd.Config, *acdtest.Clock) {
	t.Helper()
	cfg := acdtest.Config()
	r, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := acdtest.NewClock(acdtest.Epoch)
	s := memstore.New(r, clock)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	call := func(id acd.ItemID) acd.Item {
		return acd.Item{ID: id, Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh"}
	}
	must(s.Login(ctx, acd.Agent{ID: "a1", Skills: map[acd.SkillName]acd.Level{"zh": 3}, Groups: []acd.GroupName{"general"}}, acd.StateReady, ""))
	must(s.Enqueue(ctx, call("c1")))
	clock.Advance(10 * time.Second)
	rs, err := s.ReserveBest(ctx, 1)
	if err != nil || len(rs) != 1 {
		t.Fatalf("reserve: %v %v", rs, err)
	}
	must(s.Offer(ctx, rs[0]))
	must(s.Answer(ctx, rs[0]))
	must(s.Enqueue(ctx, call("c2")))
	clock.Advance(5 * time.Second)
	must(s.Remove(ctx, "c2", acd.RemoveAbandoned))
	must(s.Enqueue(ctx, call("c3")))
	clock.Advance(40 * time.Second)
	return s, cfg, clock
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestWallboard(t *testing.T) {
	s, cfg, clock := scenario(t)
	h := &Handler{Source: s, Config: cfg, Clock: clock}
	rec := get(t, h, "/wallboard")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v: want 200, JSON, not cached", rec.Code, rec.Header())
	}
	var b board
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("%s: %v", rec.Body, err)
	}
	if b.Window != DefaultWindow.Seconds() || len(b.Queues) != len(cfg.Queues) {
		t.Fatalf("window %v, %d queues; want %v and every configured queue", b.Window, len(b.Queues), DefaultWindow.Seconds())
	}
	for i, q := range cfg.Queues {
		if b.Queues[i].Queue != string(q.Name) {
			t.Errorf("queue %d is %q, want %q (configuration order)", i, b.Queues[i].Queue, q.Name)
		}
	}
	g := b.Queues[0]
	if g.Waiting != 1 || g.LongestWait != 40 || g.Answered != 1 || g.Abandoned != 1 || g.ASA != 10 {
		t.Errorf("general %+v: want 1 waiting for 40 s, 1 answered after 10 s, 1 abandoned", g)
	}
	ratios := []struct {
		name string
		got  *float64
		want float64
	}{{"service level", g.ServiceLevel, 1}, {"service level with abandons", g.ServiceLevelAbandons, 0.5},
		{"abandon rate", g.AbandonRate, 0.5}, {"estimated wait", g.EstimatedWait, 10}}
	for _, r := range ratios {
		if r.got == nil || *r.got != r.want {
			t.Errorf("general %s %v, want %v", r.name, r.got, r.want)
		}
	}
	if p := b.Queues[1]; p.ServiceLevel != nil || p.EstimatedWait != nil {
		t.Errorf("price (no calls) %+v: want null service level and estimate", p)
	}
	logged := 0
	for _, n := range b.Agents {
		logged += n
	}
	if logged != 1 {
		t.Errorf("agents %v, want the one logged in", b.Agents)
	}
}

func TestWallboardWindow(t *testing.T) {
	s, cfg, clock := scenario(t)
	h := &Handler{Source: s, Config: cfg, Clock: clock}
	// The answer was 45 s ago and the abandon 40 s ago: a 30 s window has neither.
	var b board
	rec := get(t, h, "/wallboard?window=30s")
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	if g := b.Queues[0]; b.Window != 30 || g.Answered != 0 || g.Abandoned != 0 || g.ServiceLevel != nil || g.Waiting != 1 {
		t.Errorf("window %v, general %+v: want no outcomes, still one waiting", b.Window, g)
	}
	for _, bad := range []string{"soon", "-5m", "500ms", "48h"} {
		if rec := get(t, h, "/wallboard?window="+bad); rec.Code != http.StatusBadRequest {
			t.Errorf("window=%s: status %d, want 400", bad, rec.Code)
		}
	}
}

func TestWallboardMethod(t *testing.T) {
	s, cfg, clock := scenario(t)
	rec := httptest.NewRecorder()
	(&Handler{Source: s, Config: cfg, Clock: clock}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wallboard", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("POST: status %d, Allow %q; want 405 with Allow", rec.Code, rec.Header().Get("Allow"))
	}
}

// failing is a store whose outcomes cannot be read.
type failing struct{ acd.WallboardSource }

func (failing) Outcomes(context.Context, acd.QueueName, time.Time) ([]acd.Outcome, error) {
	return nil, errors.New("connection refused")
}

func TestWallboardStoreDown(t *testing.T) {
	s, cfg, clock := scenario(t)
	rec := get(t, &Handler{Source: failing{s}, Config: cfg, Clock: clock}, "/wallboard")
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	var e map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == "" {
		t.Errorf("body %s: want a JSON error", rec.Body)
	}
}
