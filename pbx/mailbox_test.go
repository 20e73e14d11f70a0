package pbx

import (
	"testing"
	"time"
)

// Items come out in order and whole whether the reader waits for them (handed over by put)
// or lags behind (queued and drained by the mailbox's goroutine), and out closes after the
// last one once finished.
func TestMailboxKeepsOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pause func(i int) time.Duration // the reader's pause after item i
	}{
		{"reader waiting", func(int) time.Duration { return 0 }},
		{"reader lagging now and then", func(i int) time.Duration {
			if i%97 == 0 {
				return time.Millisecond
			}
			return 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			m := newMailbox[int]()
			go func() {
				for i := range n {
					if i%1000 == 0 {
						time.Sleep(100 * time.Microsecond) // let the reader catch up: direct hand-overs
					}
					if !m.put(i) {
						t.Errorf("put %d refused", i)
						return
					}
				}
				m.finish()
			}()
			next := 0
			deadline := time.After(20 * time.Second)
			for {
				select {
				case v, ok := <-m.out:
					if !ok {
						if next != n {
							t.Fatalf("closed after %d items, want %d", next, n)
						}
						if m.put(n) {
							t.Error("put after finish accepted")
						}
						return
					}
					if v != next {
						t.Fatalf("got %d, want %d", v, next)
					}
					next++
					if d := tc.pause(v); d > 0 {
						time.Sleep(d)
					}
				case <-deadline:
					t.Fatalf("stuck after %d items", next)
				}
			}
		})
	}
}

// An abandoned mailbox refuses puts and closes out.
func TestMailboxAbandon(t *testing.T) {
	m := newMailbox[int]()
	for i := range 10 {
		m.put(i)
	}
	m.abandon()
	if m.put(10) {
		t.Error("put after abandon accepted")
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-m.out:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("out not closed after abandon")
		}
	}
}
