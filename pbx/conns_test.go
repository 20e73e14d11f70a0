package pbx_test

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"hotline/pbx"
	"hotline/pbx/sim"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// Hundreds of calls making requests at once share a bounded set of connections, kept
// open between requests: none is closed and dialled again for the next request.
func TestRequestsReuseConnections(t *testing.T) {
	ctx := deadline(t)
	s, err := sim.New(sim.Config{Username: "hotline", Password: "secret", RecordingsDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner}
	if err := s.Listen(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c, err := pbx.Connect(ctx, simConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitNotice(t, ctx, c, pbx.NoticeResynced)
	before := ln.accepted.Load()
	const rounds, calls = 3, 300
	for range rounds {
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				if _, err := c.ChannelData(ctx, "no-such-channel"); !errors.Is(err, pbx.ErrNotFound) {
					t.Errorf("channel data: %v, want ErrNotFound", err)
				}
			})
		}
		wg.Wait()
	}
	// 64 per transport (pbx.maxConns); 20 kept idle with no bound opened hundreds.
	if n := ln.accepted.Load() - before; n > 64 {
		t.Errorf("%d requests in %d rounds of %d at once opened %d connections, want at most 64", rounds*calls, rounds, calls, n)
	}
}
