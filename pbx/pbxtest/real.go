package pbxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/audio"
	"hotline/pbx"
	"hotline/pbx/steps"
)

// realConfig is how the harness reaches a real Asterisk (or the simulated
// one, in this package's own tests).
type realConfig struct {
	URL, Username, Password string // ARI root and credentials
	App                     string // the controller's app; default "hotline"
	HarnessApp              string // default HarnessApp
	Dial                    string // the Local endpoint a caller is; default "Local/12315@hotline"
	SoundsDir               string // Asterisk's sounds directory, if the tests may write it
	Logger                  *slog.Logger
}

// realPBX places callers as Local channels: ;1 is held by the harness's own
// pbx.Client in HarnessApp and runs the steps; ;2 runs the 12315 dialplan
// into the controller's app.
type realPBX struct {
	rc     realConfig
	cfg    pbx.Config
	client *pbx.Client
	http   *http.Client
	log    *slog.Logger
	run    string // keeps this run's ids apart from leftovers of earlier runs

	ctx    context.Context // lives until cleanup
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seq    atomic.Uint64

	mu    sync.Mutex
	calls []*realCall
}

func newReal(t testing.TB, rc realConfig) *realPBX {
	t.Helper()
	if rc.App == "" {
		rc.App = "hotline"
	}
	if rc.HarnessApp == "" {
		rc.HarnessApp = HarnessApp
	}
	if rc.Dial == "" {
		rc.Dial = "Local/12315@hotline"
	}
	if rc.SoundsDir != "" {
		abs, err := filepath.Abs(rc.SoundsDir)
		if err != nil {
			t.Fatalf("pbxtest: sounds dir: %v", err)
		}
		rc.SoundsDir = abs
	}
	log := orDiscard(rc.Logger)
	hcfg := testConfig(rc.URL, rc.HarnessApp, rc.Username, rc.Password, log.With("component", "pbxtest"))
	// Two harnesses must not fight over the app: the second one wins and
	// the first stays down, which its test will notice.
	hcfg.OnReplaced = pbx.ReplacedStandBy
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	client, err := pbx.Connect(ctx, hcfg)
	if err != nil {
		t.Fatalf("pbxtest: connect the harness to %s: %v", rc.URL, err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	p := &realPBX{
		rc:     rc,
		cfg:    testConfig(rc.URL, rc.App, rc.Username, rc.Password, log),
		client: client,
		http:   &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}},
		log:    log.With("component", "pbxtest"),
		run:    hex.EncodeToString(rnd[:]),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.drain()
	t.Cleanup(func() { p.close(t) })
	return p
}

func (p *realPBX) Config() pbx.Config { return p.cfg }
func (p *realPBX) SoundsDir() string  { return p.rc.SoundsDir }
func (p *realPBX) Real() bool         { return true }

// drain reads the harness client's callers and notices: nothing should
// enter HarnessApp unannounced, and notices only matter in the log.
func (p *realPBX) drain() {
	defer p.wg.Done()
	in, notes := p.client.Incoming(), p.client.Notices()
	for in != nil || notes != nil {
		select {
		case c, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			p.log.Warn("pbxtest: unexpected channel in the harness app", "channel", c.Channel.ID, "name", c.Channel.Name)
			c.Events.Close()
		case n, ok := <-notes:
			if !ok {
				notes = nil
				continue
			}
			p.log.Debug("pbxtest: harness notice", "type", n.Type.String(), "err", n.Err)
		}
	}
}

// close hangs up what is still up, reports steps that failed, and
// disconnects the harness.
func (p *realPBX) close(t testing.TB) {
	p.mu.Lock()
	calls := append([]*realCall(nil), p.calls...)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range calls {
		select {
		case <-c.done:
		default:
			if err := c.Hangup(ctx); err != nil {
				p.log.Warn("pbxtest: hang up at cleanup", "channel", c.one, "err", err)
			}
		}
	}
	for _, c := range calls {
		select {
		case <-c.done:
		case <-ctx.Done():
		}
		if err := c.Err(); err != nil {
			t.Errorf("pbxtest: caller %s: %v", c.two, err)
		}
	}
	p.cancel()
	p.client.Close()
	p.wg.Wait()
}

// Call originates the caller's Local pair. ChannelID is ;2, the half the
// controller gets; the steps run on ;1 once it is in HarnessApp.
func (p *realPBX) Call(ctx context.Context, spec CallSpec) (Call, error) {
	script, err := steps.Parse(spec.Steps)
	if err != nil {
		return nil, fmt.Errorf("pbxtest: place call: %w", err)
	}
	for i, st := range script {
		if st.Kind == steps.File {
			if script[i].Path, err = p.fileMedia(st.Path); err != nil {
				return nil, fmt.Errorf("pbxtest: place call: %w", err)
			}
		}
	}
	from := spec.From
	if from == "" {
		from = "13800000001"
	}
	base := fmt.Sprintf("pbxtest-%s-%d", p.run, p.seq.Add(1))
	c := &realCall{
		p: p, base: base, one: base + "-1", two: base + "-2", steps: script,
		answered: make(chan struct{}), ready: make(chan struct{}), ended: make(chan struct{}), done: make(chan struct{}),
		playing2: map[string]bool{}, changed: make(chan struct{}), finished1: map[string]chan string{},
	}
	// ;2's events come to the harness too (Asterisk subscribes the
	// originating app to a Local channel's peer): route them before they flow.
	sub2, err := p.client.SubscribeChannel(c.two)
	if err != nil {
		return nil, fmt.Errorf("pbxtest: place call: %w", err)
	}
	req := pbx.OriginateRequest{
		Endpoint: p.rc.Dial, ChannelID: c.one, OtherChannelID: c.two,
		CallerID: fmt.Sprintf(`"caller" <%s>`, from),
		// A simulated caller waits for ever for an answer; an hour is as good.
		Timeout: time.Hour,
	}
	if spec.Language != "" {
		// Set on ;1, copied to ;2 by chan_local; a dialplan may still override it.
		req.Variables = map[string]string{"CHANNEL(language)": spec.Language}
	}
	sub1, err := p.client.Originate(ctx, req)
	if err != nil {
		sub2.Close()
		return nil, fmt.Errorf("pbxtest: place call from %s: %w", from, err)
	}
	if err := p.subscribeApp(ctx, c.two); err != nil {
		// Only a belt to Asterisk's braces (see above); a ;2 already gone
		// cannot be subscribed to.
		p.log.Debug("pbxtest: subscribe to ;2", "channel", c.two, "err", err)
	}
	var ear *pbx.Subscription
	if spec.Listen {
		c.earID, c.recName = base+"-ear", base+"-heard"
		ear, err = p.client.Snoop(ctx, c.one, pbx.SnoopRequest{SnoopID: c.earID, Spy: pbx.DirIn, Whisper: pbx.DirNone})
		if err != nil {
			hctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
			defer cancel()
			_ = p.client.Hangup(hctx, c.one, pbx.HangupNormal)
			sub1.Close()
			sub2.Close()
			return nil, fmt.Errorf("pbxtest: listen to caller %s: %w", c.two, err)
		}
	}
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	p.wg.Add(2)
	go c.watch(sub1, sub2, ear)
	go c.runSteps()
	return c, nil
}

// fileMedia maps a step's WAV file to the sound Asterisk plays: the file
// must lie under Asterisk's sounds directory.
func (p *realPBX) fileMedia(path string) (string, error) {
	if p.rc.SoundsDir == "" {
		return "", fmt.Errorf("step f%s: a real Asterisk plays files from its sounds directory; set %s to it and put the file under it", path, EnvSoundsDir)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("step f%s: %w", path, err)
	}
	rel, err := filepath.Rel(p.rc.SoundsDir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || !strings.EqualFold(filepath.Ext(rel), ".wav") {
		return "", fmt.Errorf("step f%s: on a real Asterisk the file must be a .wav under %s (its sounds directory)", path, p.rc.SoundsDir)
	}
	return "sound:" + filepath.ToSlash(strings.TrimSuffix(rel, filepath.Ext(rel))), nil
}

// subscribeApp subscribes the harness app to a channel's events (POST
// /applications/{app}/subscription); the library's call for it would
// bypass the adapter's timeouts.
func (p *realPBX) subscribeApp(ctx context.Context, channelID string) error {
	u := p.rc.URL + "/applications/" + url.PathEscape(p.rc.HarnessApp) + "/subscription?eventSource=" + url.QueryEscape("channel:"+channelID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", channelID, err)
	}
	req.SetBasicAuth(p.rc.Username, p.rc.Password)
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", channelID, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("subscribe %s: status %d", channelID, resp.StatusCode)
	}
	return nil
}

// realCall is one caller on a real Asterisk.
type realCall struct {
	p               *realPBX
	base            string
	one, two        string // ;1 (the harness's) and ;2 (the controller's)
	earID, recName  string // Listen: the snoop on ;1 and its recording
	steps           []steps.Step
	answered, ready chan struct{} // ;2 answered; ;1 in the harness app
	ended, done     chan struct{} // ;1 gone; everything collected
	answerOnce      sync.Once
	readyOnce       sync.Once
	endOnce         sync.Once

	mu        sync.Mutex
	playing2  map[string]bool        // playbacks started on ;2 and not finished
	finished2 uint64                 // playbacks on ;2 that finished
	changed   chan struct{}          // closed (and replaced) when playing2 or finished2 change
	finished1 map[string]chan string // ;1 playbacks a step waits for: their final state
	heard     []int16
	err       error
}

func (c *realCall) ChannelID() string         { return c.two }
func (c *realCall) Answered() <-chan struct{} { return c.answered }
func (c *realCall) Done() <-chan struct{}     { return c.done }

func (c *realCall) Heard() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.heard...)
}

// Err is the first step that failed, if any (also reported to the test at
// cleanup).
func (c *realCall) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Hangup hangs ;1 up; Asterisk then hangs up ;2, as a caller's BYE would.
func (c *realCall) Hangup(ctx context.Context) error {
	err := c.p.client.Hangup(ctx, c.one, pbx.HangupNormal)
	if err != nil && !errors.Is(err, pbx.ErrNotFound) {
		return fmt.Errorf("pbxtest: hang up %s: %w", c.two, err)
	}
	return nil
}

func (c *realCall) answer() { c.answerOnce.Do(func() { close(c.answered) }) }
func (c *realCall) end()    { c.endOnce.Do(func() { close(c.ended) }) }

func (c *realCall) isEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

func (c *realCall) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.p.log.Warn("pbxtest: step failed", "channel", c.two, "err", err)
}

// watch follows the call's channels until ;1 is gone, then collects what
// the caller heard and waits (briefly) for ;2 to go too.
func (c *realCall) watch(sub1, sub2, ear *pbx.Subscription) {
	defer c.p.wg.Done()
	defer sub2.Close()
	ev1, ev2 := sub1.Events(), sub2.Events()
	var evEar <-chan pbx.Event
	if ear != nil {
		defer ear.Close()
		evEar = ear.Events()
	}
	recording := false
	for ev1 != nil {
		select {
		case ev, ok := <-ev1:
			if !ok {
				ev1 = nil
				continue
			}
			c.onOne(ev)
		case ev, ok := <-ev2:
			if !ok {
				ev2 = nil
				continue
			}
			c.onTwo(ev)
		case ev, ok := <-evEar:
			if !ok {
				evEar = nil
				continue
			}
			if ev.Type == pbx.StasisStart && !recording {
				recording = c.startListening()
			}
		case <-c.p.ctx.Done():
			sub1.Close()
			c.end()
			close(c.done)
			return
		}
	}
	c.end()
	if ear != nil {
		c.collectHeard(evEar, recording)
	}
	// Done means the whole call is gone, ;2 included.
	bound := time.NewTimer(5 * time.Second)
	defer bound.Stop()
	for ev2 != nil {
		select {
		case _, ok := <-ev2:
			if !ok {
				ev2 = nil
			}
		case <-bound.C:
			ev2 = nil
		case <-c.p.ctx.Done():
			ev2 = nil
		}
	}
	close(c.done)
}

func (c *realCall) onOne(ev pbx.Event) {
	switch ev.Type {
	case pbx.StasisStart:
		// ;1 enters the app only once the call is answered.
		c.answer()
		c.readyOnce.Do(func() { close(c.ready) })
	case pbx.ChannelStateChange:
		if ev.Channel.State == "Up" {
			c.answer()
		}
	case pbx.PlaybackFinished:
		c.mu.Lock()
		if w := c.finished1[ev.PlaybackID]; w != nil {
			delete(c.finished1, ev.PlaybackID)
			w <- ev.PlaybackState
		}
		c.mu.Unlock()
	}
}

func (c *realCall) onTwo(ev pbx.Event) {
	switch ev.Type {
	case pbx.ChannelStateChange:
		if ev.Channel.State == "Up" {
			c.answer()
		}
	case pbx.PlaybackStarted, pbx.PlaybackFinished:
		c.mu.Lock()
		if ev.Type == pbx.PlaybackStarted {
			c.playing2[ev.PlaybackID] = true
		} else {
			delete(c.playing2, ev.PlaybackID)
			c.finished2++
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// startListening records the snoop on ;1, which spies what ;1 reads: what
// the controller sends the caller.
func (c *realCall) startListening() bool {
	ctx, cancel := context.WithTimeout(c.p.ctx, 5*time.Second)
	defer cancel()
	err := c.p.client.Record(ctx, c.earID, pbx.RecordOptions{Name: c.recName, Format: "wav", IfExists: "overwrite"})
	if err != nil {
		c.fail(fmt.Errorf("listen: record the snoop: %w", err))
		return false
	}
	return true
}

// collectHeard waits for the snoop to end (Asterisk hangs it up with ;1),
// then fetches and deletes its recording.
func (c *realCall) collectHeard(evEar <-chan pbx.Event, recording bool) {
	ctx, cancel := context.WithTimeout(c.p.ctx, 10*time.Second)
	defer cancel()
	bound := time.NewTimer(3 * time.Second)
	defer bound.Stop()
	for evEar != nil {
		select {
		case _, ok := <-evEar:
			if !ok {
				evEar = nil
			}
		case <-bound.C:
			// Not hung up with its target: hang it up (its recording ends).
			_ = c.p.client.Hangup(ctx, c.earID, pbx.HangupNormal)
			bound.Reset(2 * time.Second)
		case <-ctx.Done():
			return
		}
	}
	if !recording {
		return
	}
	var wav []byte
	for {
		var err error
		wav, err = c.p.client.RecordingFile(ctx, c.recName)
		if err == nil {
			break
		}
		if !errors.Is(err, pbx.ErrNotFound) {
			c.fail(fmt.Errorf("listen: fetch the recording: %w", err))
			return
		}
		// The file is written when the recording ends: retry a moment.
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			c.fail(fmt.Errorf("listen: recording %s never stored: %w", c.recName, err))
			return
		}
	}
	samples, err := audio.ReadWAV(bytes.NewReader(wav))
	if err != nil {
		c.fail(fmt.Errorf("listen: recording %s: %w", c.recName, err))
		return
	}
	c.mu.Lock()
	c.heard = samples
	c.mu.Unlock()
	if err := c.p.client.DeleteRecording(ctx, c.recName); err != nil {
		c.p.log.Warn("pbxtest: delete recording", "name", c.recName, "err", err)
	}
}

// runSteps plays the caller's script on ;1 once it is in the harness app.
func (c *realCall) runSteps() {
	defer c.p.wg.Done()
	select {
	case <-c.ready:
	case <-c.ended:
		return
	case <-c.p.ctx.Done():
		return
	}
	ctx := c.p.ctx
	for i, st := range c.steps {
		var err error
		switch st.Kind {
		case steps.Pause, steps.Silence:
			// ;1 writes nothing, so ;2 reads nothing: silence.
			err = c.sleep(st.D)
		case steps.DTMF:
			// Asterisk holds the key 100 ms and ;2 reads it on release.
			if err = c.p.client.SendDTMF(ctx, c.one, st.Digit); err == nil {
				err = c.sleep(steps.DTMFPress + steps.DTMFPause)
			}
		case steps.Tone:
			err = c.tone(ctx, i, st)
		case steps.File:
			err = c.playFile(ctx, i, st.Path)
		case steps.Prompt:
			err = c.waitPrompt(ctx)
		case steps.Hangup:
			err = c.Hangup(ctx)
			if err != nil && !c.isEnded() {
				c.fail(err)
			}
			return
		}
		if err != nil {
			if !c.isEnded() && ctx.Err() == nil {
				c.fail(err)
			}
			return
		}
	}
}

var errCallEnded = errors.New("call ended")

func (c *realCall) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.ended:
		return errCallEnded
	case <-c.p.ctx.Done():
		return c.p.ctx.Err()
	}
}

// tone plays F Hz on ;1 for the step's duration. "!" plays the tone once
// (no repeat); Asterisk's tone playbacks never finish on their own, so the
// step stops it.
func (c *realCall) tone(ctx context.Context, i int, st steps.Step) error {
	ms := st.D.Milliseconds()
	if ms <= 0 {
		return nil
	}
	id := fmt.Sprintf("%s-tone-%d", c.base, i)
	media := fmt.Sprintf("tone:!%d/%d", int(math.Round(st.Freq)), ms)
	if _, err := c.p.client.Play(ctx, c.one, media, id); err != nil {
		return fmt.Errorf("step tone %g Hz: %w", st.Freq, err)
	}
	err := c.sleep(st.D)
	if serr := c.p.client.StopPlayback(ctx, id); serr != nil && !errors.Is(serr, pbx.ErrNotFound) && err == nil {
		err = fmt.Errorf("step tone %g Hz: stop: %w", st.Freq, serr)
	}
	return err
}

// playFile plays a sound on ;1 and waits for it to finish.
func (c *realCall) playFile(ctx context.Context, i int, media string) error {
	id := fmt.Sprintf("%s-file-%d", c.base, i)
	fin := make(chan string, 1)
	c.mu.Lock()
	c.finished1[id] = fin
	c.mu.Unlock()
	if _, err := c.p.client.Play(ctx, c.one, media, id); err != nil {
		return fmt.Errorf("step f (%s): %w", media, err)
	}
	select {
	case state := <-fin:
		if state != "done" {
			return fmt.Errorf("step f (%s): playback %s (is the file in Asterisk's sounds?)", media, state)
		}
		return nil
	case <-c.ended:
		return errCallEnded
	case <-ctx.Done():
		return ctx.Err()
	}
}

// "p" is the sim's: wait up to promptStartWait for a prompt to play on ;2,
// then until none plays. The end of a playback ends the step, even when the
// controller starts the next prompt a moment later (on the PlaybackFinished):
// that is the next "p"'s prompt, as in the sim. The sim also counts playbacks
// queued behind the one playing; over ARI they are invisible until they
// start (Asterisk sends no event for the "queued" state), so here a prompt
// queued behind another is the next "p"'s. Waiting for a quiet spell to
// cover queued ones would merge the prompts a controller plays one after
// the other, which the scripts tell apart ("p p p" for three prompts).
const promptStartWait = 2 * time.Second

func (c *realCall) promptState() (busy bool, finished uint64, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.playing2) > 0, c.finished2, c.changed
}

func (c *realCall) waitPrompt(ctx context.Context) error {
	_, before, _ := c.promptState()
	start := time.NewTimer(promptStartWait)
	defer start.Stop()
	started := false
	for {
		busy, finished, changed := c.promptState()
		// A prompt that started and ended between two looks still counts.
		if !busy && finished > before {
			return nil
		}
		started = started || busy
		var timeout <-chan time.Time
		if !started {
			timeout = start.C
		}
		select {
		case <-changed:
		case <-timeout:
			return nil
		case <-c.ended:
			return errCallEnded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
