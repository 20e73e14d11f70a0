package callflow

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	pathpkg "path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/pbx"
	"hotline/pbx/sim"
)

// The simulated PBX in a process of its own, as Asterisk runs in production: the
// controller under test then shares the machine's CPUs with the PBX and its callers, but
// not its Go scheduler, its garbage collector or its network poller. The test binary runs
// itself as the PBX (TestMain below) and the two talk in lines over the child's standard
// input and output:
//
//	child:  ari <url> <app> <user> <password>       once started
//	parent: call <from> <steps...>                  place a call
//	child:  done <from> [error]                     that call ended
//	parent: plays                                    the plays' arrival times, please
//	child:  play <playback id> <unix ns> ... end    each POST .../play/<id> as it arrived
//	parent: (closes standard input)                 stop
const envChildPBX = "HOTLINE_TEST_CHILD_PBX" // the sounds directory; set only in the child

func TestMain(m *testing.M) {
	if dir := os.Getenv(envChildPBX); dir != "" {
		if err := runChildPBX(dir, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "child pbx:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChildPBX is the child's side: a simulated PBX on loopback, driven by lines on in.
func runChildPBX(sounds string, in io.Reader, out io.Writer) error {
	recs, err := os.MkdirTemp("", "hotline-child-pbx-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(recs)
	srv, err := sim.New(sim.Config{SoundsDir: sounds, RecordingsDir: recs, Password: rand.Text(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer srv.Close()
	plays := observePlays(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return err
	}
	var wmu sync.Mutex // lines to out, from the callers' goroutines too
	say := func(format string, a ...any) {
		wmu.Lock()
		fmt.Fprintf(out, format+"\n", a...)
		wmu.Unlock()
	}
	c := srv.Config()
	say("ari %s/ari %s %s %s", srv.URL(), c.App, c.Username, c.Password)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls sync.WaitGroup
	defer calls.Wait()
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		cmd, rest, _ := strings.Cut(lines.Text(), " ")
		switch cmd {
		case "call":
			from, steps, _ := strings.Cut(rest, " ")
			call, err := srv.Call(ctx, sim.CallSpec{From: from, Steps: steps})
			if err != nil {
				say("done %s %v", from, err)
				continue
			}
			calls.Go(func() {
				<-call.Done()
				if err := call.Result().Err; err != nil {
					say("done %s %v", from, err)
					return
				}
				say("done %s", from)
			})
		case "plays":
			var b strings.Builder
			for id, at := range plays.all() {
				fmt.Fprintf(&b, "play %s %d\n", id, at.UnixNano())
			}
			say("%send", b.String())
		default:
			return fmt.Errorf("unknown command %q", lines.Text())
		}
	}
	cancel()
	return lines.Err()
}

// playArrivals records when each play request arrived at a simulated PBX, by playback id.
type playArrivals struct {
	mu sync.Mutex
	at map[string]time.Time
}

// observePlays records the play requests srv receives from now on.
func observePlays(srv *sim.Server) *playArrivals {
	p := &playArrivals{at: map[string]time.Time{}}
	srv.ObserveRequests(func(r *http.Request, at time.Time) {
		if id, ok := playID(r); ok {
			p.mu.Lock()
			p.at[id] = at
			p.mu.Unlock()
		}
	})
	return p
}

// all is a copy of the arrivals so far.
func (p *playArrivals) all() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.at)
}

// playID is the playback id of a play request: POST /ari/channels/{id}/play/{playbackId}.
func playID(r *http.Request) (string, bool) {
	dir, id := pathpkg.Split(r.URL.Path)
	return id, r.Method == http.MethodPost && strings.HasSuffix(dir, "/play/")
}

// childPBX is the parent's side of a simulated PBX in a child process.
type childPBX struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	wmu sync.Mutex // lines to in

	mu    sync.Mutex
	done  map[string]chan struct{} // caller number -> closed when its call ended
	errs  []string
	plays chan map[string]time.Time
}

// startChildPBX starts the test binary again as a simulated PBX and returns it as a
// testPBX to run the call flow on (its sim is nil: the server is in the other process).
func startChildPBX(t testing.TB) (testPBX, *childPBX) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildPBX+"="+soundsDir(t))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the child PBX: %v", err)
	}
	c := &childPBX{cmd: cmd, in: in, done: map[string]chan struct{}{}, plays: make(chan map[string]time.Time, 1)}
	out := bufio.NewScanner(outR)
	out.Buffer(make([]byte, 64<<10), 1<<20)
	if !out.Scan() {
		in.Close()
		_ = cmd.Wait()
		t.Fatalf("the child PBX said nothing: %v", out.Err())
	}
	f := strings.Fields(out.Text())
	if len(f) != 5 || f[0] != "ari" {
		t.Fatalf("the child PBX said %q, want ari <url> <app> <user> <password>", out.Text())
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		c.read(out)
	}()
	t.Cleanup(func() {
		c.in.Close()
		<-ended
		if err := cmd.Wait(); err != nil {
			t.Errorf("child PBX: %v", err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.errs {
			t.Errorf("child PBX: caller %s", e)
		}
	})
	p := testPBX{
		config: testConfigFor(f[1], f[2], f[3], f[4]),
		dial: func(ctx context.Context, from, steps string) (testCaller, error) {
			done := make(chan struct{})
			c.mu.Lock()
			if _, dup := c.done[from]; dup {
				c.mu.Unlock()
				return testCaller{}, fmt.Errorf("child PBX: a call from %s is already placed", from)
			}
			c.done[from] = done
			c.mu.Unlock()
			if err := c.send("call %s %s", from, steps); err != nil {
				return testCaller{}, err
			}
			return testCaller{done: done}, nil
		},
	}
	return p, c
}

// read handles the child's lines until it closes its output.
func (c *childPBX) read(out *bufio.Scanner) {
	var plays map[string]time.Time
	for out.Scan() {
		f := strings.Fields(out.Text())
		switch {
		case len(f) >= 2 && f[0] == "done":
			c.mu.Lock()
			if len(f) > 2 {
				c.errs = append(c.errs, strings.Join(f[1:], " "))
			}
			if ch, ok := c.done[f[1]]; ok {
				close(ch)
				delete(c.done, f[1])
			}
			c.mu.Unlock()
		case len(f) == 3 && f[0] == "play":
			if plays == nil {
				plays = map[string]time.Time{}
			}
			if ns, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				plays[f[1]] = time.Unix(0, ns)
			}
		case len(f) == 1 && f[0] == "end":
			if plays == nil {
				plays = map[string]time.Time{}
			}
			c.plays <- plays
			plays = nil
		}
	}
}

func (c *childPBX) send(format string, a ...any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := fmt.Fprintf(c.in, format+"\n", a...); err != nil {
		return fmt.Errorf("child PBX: %w", err)
	}
	return nil
}

// arrivals is when each play request arrived at the child, by playback id.
func (c *childPBX) arrivals(ctx context.Context) (map[string]time.Time, error) {
	if err := c.send("plays"); err != nil {
		return nil, err
	}
	select {
	case m := <-c.plays:
		return m, nil
	case <-ctx.Done():
		return nil, errors.New("child PBX: no answer to plays")
	}
}

// TestChildPBX: the call flow on a simulated PBX in a process of its own; a key's play
// request is seen arriving there, after the key's frame arrived here.
func TestChildPBX(t *testing.T) {
	t.Parallel() // most of it is the prompts' playing time
	p, c := startChildPBX(t)
	arrived := map[string]time.Time{}
	var mu sync.Mutex
	h := startHotlineOn(t, p, friday, func(r *Runner) {
		r.keyToPrompt = func(l keyLatency) {
			mu.Lock()
			arrived[l.Playback] = l.Frame
			mu.Unlock()
		}
	})
	// Two keys into the menus; each makes a play at the PBX in the other process.
	from := "13801009999"
	caller := h.dial(t, from, "p m300 5 m300 * m300 h")
	d := h.wait(t, caller, from, time.Now().Add(30*time.Second))
	if len(d.Calls) != 1 {
		t.Fatalf("calls on the case: %+v", d.Calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	plays, err := c.arrivals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) == 0 {
		t.Fatal("no key became a prompt")
	}
	for id, frame := range arrived {
		at, ok := plays[id]
		if !ok {
			t.Errorf("play %s: not seen arriving at the child PBX (it saw %d plays)", id, len(plays))
			continue
		}
		if d := at.Sub(frame); d < 0 || d > 10*time.Second {
			t.Errorf("play %s: arrived %v after its key's frame", id, d)
		}
	}
}

// testConfigFor is the controller's pbx.Config for a PBX at url, with timeouts fit for tests.
func testConfigFor(url, app, user, password string) pbx.Config {
	return pbx.Config{URL: url, Application: app, Username: user, Password: password,
		RequestTimeout: 5 * time.Second, DialTimeout: 2 * time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Logger: quiet}
}
