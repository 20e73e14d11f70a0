package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"hotline/accounts"
	"hotline/acd"
	"hotline/acd/acdchanges"
	"hotline/acd/redisstore"
	"hotline/agentdesk/browsertest"
	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/config"
	"hotline/pbx/sim"
)

// The wallboard's browser test (issue 7): `hotline serve` runs in this process against a
// simulated PBX; a simulated caller dials 12315, goes through the real menu (English, then
// complaint) into the general queue through the real call flow; an agent, logged in to the
// distributor's store in Redis only when the test says so (as the desk on any controller
// would), is rung on a simulated SIP phone that answers after wbRing. Chromium, signed in as
// a supervisor, must show the call waiting within a second of the store holding it, the
// agent's phone ringing within a second of the offer, and the agent on the call within a
// second of the SIP answer.
//
// The test runs in two halves (agentdesk/browsertest): the outer one makes the network
// namespace, the database with the supervisor and the Redis key prefix; the inner one,
// inside the namespace, runs the PBX, serve and Chromium, reaching PostgreSQL and Redis
// through Unix sockets forwarded to TCP ports on the namespace's loopback.
const (
	wbChildEnv   = "HOTLINE_WBCALL_CHILD"
	wbDBEnv      = "HOTLINE_WBCALL_DB"
	wbRedisEnv   = "HOTLINE_WBCALL_REDIS"
	wbSocketsEnv = "HOTLINE_WBCALL_SOCKETS"
	wbPrefixEnv  = "HOTLINE_WBCALL_PREFIX"
	wbChromeEnv  = "HOTLINE_WBCALL_CHROMIUM"
	wbShotEnv    = "HOTLINE_WBCALL_SCREENSHOT"

	wbSupervisor = "sam"
	wbPassword   = "correct horse battery"
	wbAgent      = acd.AgentID("1001")
	wbCaller     = "13800000077"
	// wbWithin is how soon the page must show a change.
	wbWithin = time.Second
	// wbRing is how long the agent's phone rings before they answer.
	wbRing = 2 * time.Second
)

func TestBrowserWallboardCall(t *testing.T) {
	if os.Getenv(wbChildEnv) != "" {
		wallboardCallChild(t)
		return
	}
	if os.Getenv("HOTLINE_REDIS_URL") == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`, or `scripts/services.sh up` and `eval \"$(scripts/services.sh env)\"` first")
	}
	began := time.Now()
	chromium := browsertest.Chromium(t)
	ns := browsertest.Netns(t, "hotline-wbcall")

	dbURL := casestest.NewDatabase(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := cases.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.NewStore(pool, h, audit.New(pool)).Create(ctx, "test", accounts.NewAccount{
		Login: wbSupervisor, DisplayName: "值班班长 Sam", Role: accounts.RoleSupervisor, Password: wbPassword}); err != nil {
		t.Fatal(err)
	}

	// PostgreSQL and Redis through Unix sockets, which the namespace sees.
	sockets := browsertest.SocketDir(t)
	db, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Forward(t, filepath.Join(sockets, "pg.sock"), db.Host)
	ropts, err := redis.ParseURL(os.Getenv("HOTLINE_REDIS_URL"))
	if err != nil {
		t.Fatalf("HOTLINE_REDIS_URL: %v", err)
	}
	browsertest.Forward(t, filepath.Join(sockets, "redis.sock"), ropts.Addr)
	rdb := redis.NewClient(ropts)
	prefix := "hotline-test-wallboard-" + randomHex()
	t.Cleanup(func() { dropPrefix(t, rdb, prefix); rdb.Close() })

	shot := browsertest.ScreenshotPath(t, "wallboard.png")
	_ = os.Remove(shot) // the screenshot checked below is this run's
	runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, "ip", "netns", "exec", ns, os.Args[0],
		"-test.run=^TestBrowserWallboardCall$", "-test.v", "-test.count=1", "-test.timeout=150s")
	cmd.Env = append(os.Environ(), wbChildEnv+"=1", wbDBEnv+"="+dbURL, wbRedisEnv+"="+os.Getenv("HOTLINE_REDIS_URL"),
		wbSocketsEnv+"="+sockets, wbPrefixEnv+"="+prefix, wbChromeEnv+"="+chromium, wbShotEnv+"="+shot)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("run the browser half inside namespace %s: %v", ns, err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		t.Log("inner: " + sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the browser half failed (%v); its output is above", err)
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "--- PASS: TestBrowserWallboardCall") }) {
		t.Fatal("the browser half did not report a pass; its output is above")
	}
	// The call path ran cleanly: serve logged no error (it logs from warn up, to the
	// inner half's output).
	if i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "level=ERROR") }); i >= 0 {
		t.Errorf("serve logged an error: %s", lines[i])
	}
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot of the wallboard: %s; whole test %s", shot, time.Since(began).Round(100*time.Millisecond))
}

// withHost is the URL raw with its host and port replaced by addr.
func withHost(t *testing.T, raw, addr string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", config.Redact(raw), err)
	}
	u.Host = addr
	return u.String()
}

// storeSeen is when the inner half first saw each change in the distributor's store.
type storeSeen struct {
	mu                        sync.Mutex
	enqueued, ringing, onCall time.Time
	item                      acd.Item
	early                     bool // the item was there on the first look: its time is unknown
}

func (s *storeSeen) get() storeSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return storeSeen{enqueued: s.enqueued, ringing: s.ringing, onCall: s.onCall, item: s.item, early: s.early}
}

// watchStore polls the store every 5 ms for the call's item and the agent's state until
// ctx ends, noting when each change first shows.
func watchStore(ctx context.Context, store acd.Store, item acd.ItemID, agent acd.AgentID, seen *storeSeen) {
	first := true
	for ctx.Err() == nil {
		it, ierr := store.Item(ctx, item)
		a, aerr := store.Agent(ctx, agent)
		now := time.Now()
		seen.mu.Lock()
		if ierr == nil && seen.enqueued.IsZero() {
			seen.enqueued, seen.item, seen.early = now, it, first
		}
		if aerr == nil && a.State == acd.StateRinging && seen.ringing.IsZero() {
			seen.ringing = now
		}
		if aerr == nil && a.State == acd.StateOnCall && seen.onCall.IsZero() {
			seen.onCall = now
		}
		seen.mu.Unlock()
		first = false
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// wallboardCallChild is the half inside the namespace.
func wallboardCallChild(t *testing.T) {
	sockets := os.Getenv(wbSocketsEnv)
	dbURL := withHost(t, os.Getenv(wbDBEnv), browsertest.ForwardToSocket(t, filepath.Join(sockets, "pg.sock")))
	redisURL := withHost(t, os.Getenv(wbRedisEnv), browsertest.ForwardToSocket(t, filepath.Join(sockets, "redis.sock")))
	prefix := os.Getenv(wbPrefixEnv)

	// The PBX, with the agent's SIP phone.
	const ariPassword = "wallboard-test"
	pbxSim, err := sim.New(sim.Config{Password: ariPassword, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pbxSim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pbxSim.Close() })
	phone := pbxSim.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/agent-" + string(wbAgent), AnswerAfter: wbRing, Steps: "T880:60"})

	// serve, in this process.
	dir := t.TempDir()
	hours := filepath.Join(dir, "hours.yaml")
	if err := os.WriteFile(hours, []byte(allDayHours), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	for k, v := range map[string]string{
		"HOTLINE_ARI_URL": pbxSim.URL() + "/ari", "HOTLINE_ARI_PASSWORD": ariPassword, "HOTLINE_ARI_DRAIN_TIMEOUT": "10s",
		"HOTLINE_DATABASE_URL": dbURL, "HOTLINE_REDIS_URL": redisURL, "HOTLINE_REDIS_ACD_PREFIX": prefix,
		"HOTLINE_CALENDAR_HOURS_FILE": hours, "HOTLINE_RECORDINGS_DIR": filepath.Join(dir, "recordings"),
		"HOTLINE_HTTP_LISTEN": addr, "HOTLINE_LOG_LEVEL": "warn",
	} {
		t.Setenv(k, v)
	}
	const configFile = "../../hotline.example.yaml"
	cfg, err := config.Load(configFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, io.Discard, []string{"-config", configFile}) }()
	served := false
	defer func() {
		if served {
			return
		}
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s")
		}
	}()
	base := "http://" + addr
	started := time.Now()
	waitFor(t, 30*time.Second, "serve ready", done, func() bool { return status(base+"/readyz") == http.StatusOK })
	t.Logf("serve ready after %s", time.Since(started).Round(time.Millisecond))

	// The agent's desk: the same store in Redis, its changes published as every
	// controller's are.
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	acdCfg, err := cfg.ACD.Distributor()
	if err != nil {
		t.Fatal(err)
	}
	router, err := acd.NewRouter(acdCfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pub := acdchanges.NewPublisher(rdb, acdchanges.Channel(prefix), log)
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	go func() { _ = pub.Run(pubCtx) }()
	plain := redisstore.New(rdb, prefix, router, acd.SystemClock{})
	desk := acdchanges.Wrap(plain, pub)

	// Chromium signs in as the supervisor and opens the wallboard.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, browsertest.Options(os.Getenv(wbChromeEnv), t.TempDir(), 1600, 1000)...)
	defer cancelAlloc()
	var (
		jsMu     sync.Mutex
		jsErrors []string
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			d := e.ExceptionDetails
			desc := ""
			if d.Exception != nil {
				desc = d.Exception.Description
			}
			jsMu.Lock()
			jsErrors = append(jsErrors, fmt.Sprintf("%s %s at %s:%d:%d", d.Text, desc, d.URL, d.LineNumber+1, d.ColumnNumber+1))
			jsMu.Unlock()
		}
	}))
	defer cancelBrowser()
	// The first run starts the browser and must not carry a timeout (that would end it).
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/wallboard")); err != nil {
		t.Fatalf("open the wallboard in Chromium: %v", err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// until waits for expr in the page, at most limit, polling every 10 ms, and returns when
	// it held.
	until := func(what, expr string, limit time.Duration) time.Time {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, limit+5*time.Second)
		defer cancel()
		err := chromedp.Do(sctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(10*time.Millisecond))(ctx, tg)
			return err
		}))
		at := time.Now()
		if err != nil {
			t.Fatalf("%s: not within %s (%v)", what, limit, err)
		}
		return at
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Evaluate[string](`(document.querySelector(`+wbJS(sel)+`) || {textContent: "(missing)"}).textContent`))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// within fails unless the page showed a change at most wbWithin after the store (or the
	// PBX) had it.
	within := func(what string, from, page time.Time) time.Duration {
		t.Helper()
		if from.IsZero() {
			t.Fatalf("%s: the page showed it but the store never did", what)
		}
		took := page.Sub(from)
		if took > wbWithin {
			t.Errorf("%s: on the page %s after it happened, want within %s", what, took.Round(time.Millisecond), wbWithin)
		}
		return took
	}
	agentRow := `#wb-agent-table tr[data-agent="` + string(wbAgent) + `"]`
	general := `#wb-queue-table tr[data-queue="general"] `

	step("sign in",
		chromedp.WaitVisible(chromedp.ID("wb-login-name")),
		chromedp.SendKeys(chromedp.ID("wb-login-name"), wbSupervisor),
		chromedp.SendKeys(chromedp.ID("wb-login-password"), wbPassword),
		chromedp.Click(chromedp.ID("wb-login-submit")),
		chromedp.WaitVisible(chromedp.ID("wb-board")))
	until("the first board", `document.querySelectorAll("#wb-queue-table tbody tr").length === 3`, 10*time.Second)
	if got := text(general + "td.waiting"); got != "0" {
		t.Fatalf("general waiting %q before any call", got)
	}

	// The caller dials 12315: English (2), then a complaint (2), and waits.
	call, err := pbxSim.Call(ctx, sim.CallSpec{From: wbCaller, To: "12315", Steps: "m300 2 m300 2 w60 h"})
	if err != nil {
		t.Fatal(err)
	}
	placed := time.Now()
	defer call.Hangup()
	var seen storeSeen
	watchCtx, stopWatch := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		watchStore(watchCtx, plain, acd.ItemID(call.ChannelID()), wbAgent, &seen)
	}()
	defer func() { stopWatch(); <-watching }()
	var (
		legMu              sync.Mutex
		legRang, legAnswer time.Time
	)
	go func() {
		select {
		case leg := <-phone.Calls():
			legMu.Lock()
			legRang = time.Now()
			legMu.Unlock()
			select {
			case <-leg.Answered():
				legMu.Lock()
				legAnswer = time.Now()
				legMu.Unlock()
			case <-leg.Done():
			}
		case <-watchCtx.Done():
		}
	}()

	page := until("the call waiting in general", `document.querySelector('`+general+`td.waiting').textContent === "1"`, 20*time.Second)
	s := seen.get()
	if s.early {
		t.Fatal("the call's item was in the store before the test looked: the enqueue time is unknown")
	}
	tookWaiting := within("the call waiting", s.enqueued, page)
	t.Logf("call enqueued %s after dialling (menu: English, complaint); waiting on the page %s after the store had it",
		s.enqueued.Sub(placed).Round(time.Millisecond), tookWaiting.Round(time.Millisecond))
	it := s.item
	if it.Queue != "general" || it.Class != acd.ClassComplaint || it.Kind != acd.KindCall || it.Number != wbCaller || it.CaseNumber == "" {
		t.Errorf("the call's item %+v: want a complaint call in general from %s with its case number", it, wbCaller)
	}
	// The menu's choices: English (the language's skill) and the complaint line.
	for _, want := range []acd.SkillReq{{Skill: "english", Min: 1}, {Skill: "complaint", Min: 1}} {
		if !slices.Contains(it.Skills, want) {
			t.Errorf("the call's item requires skills %v, want %v among them", it.Skills, want)
		}
	}
	until("the longest wait shows", `document.querySelector('`+general+`td.longest').textContent.startsWith("00:0")`, 2*time.Second)
	time.Sleep(500 * time.Millisecond) // the caller waits a little

	// The agent logs in, ready: the dispatcher reserves them and rings their phone.
	loggedIn := time.Now()
	if _, err := desk.Login(ctx, acd.Agent{ID: wbAgent, Name: "王丽", Groups: []acd.GroupName{"general"},
		Skills: map[acd.SkillName]acd.Level{"zh": 3, "english": 3, "complaint": 3}}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	page = until("the agent's phone ringing", `(document.querySelector('`+agentRow+`') || {dataset: {}}).dataset.state === "ringing"`, 10*time.Second)
	s = seen.get()
	tookRinging := within("the agent ringing", s.ringing, page)
	legMu.Lock()
	rang := legRang
	legMu.Unlock()
	if rang.IsZero() {
		t.Error("the page shows the agent ringing but their phone never rang")
	}
	t.Logf("agent offered %s after logging in; ringing on the page %s after the store had it",
		s.ringing.Sub(loggedIn).Round(time.Millisecond), tookRinging.Round(time.Millisecond))

	// The agent answers after wbRing.
	page = until("the agent on the call, the queue empty, the answer counted",
		`(() => { const a = document.querySelector('`+agentRow+`');
		  return a && a.dataset.state === "on_call" && document.querySelector('`+general+`td.waiting').textContent === "0" &&
		    document.querySelector('`+general+`td.answered').textContent === "1"; })()`, wbRing+10*time.Second)
	s = seen.get()
	legMu.Lock()
	answered := legAnswer
	legMu.Unlock()
	tookOnCall := within("the agent on the call", answered, page)
	t.Logf("agent answered on the phone %s after it rang; on call in the store %s later; on the page %s after the answer",
		answered.Sub(rang).Round(time.Millisecond), s.onCall.Sub(answered).Round(time.Millisecond), tookOnCall.Round(time.Millisecond))
	if s.onCall.IsZero() {
		t.Error("the page shows the agent on the call but the store never did")
	}
	if got := text(agentRow + " td.case"); got != string(it.CaseNumber) {
		t.Errorf("case on the agent's row %q, want %s", got, it.CaseNumber)
	}
	if got := text(agentRow + " td.name"); got != "王丽 (1001)" {
		t.Errorf("agent name %q", got)
	}
	if got := text(general + "td.agents-busy"); got != "1" {
		t.Errorf("general's busy agents %q", got)
	}
	if got := text(`#wb-queue-table tr[data-queue="emergency"] td.agents-busy`); got != "0" {
		t.Errorf("emergency's busy agents %q: the agent has no emergency skill", got)
	}
	if got := text(general + "td.sl"); got != "100%" {
		t.Errorf("service level %q", got)
	}
	if strings.Contains(text("#wb-agent-table"), wbCaller) {
		t.Error("the caller's number is on the wallboard")
	}
	until("the chart has the answered call", `document.getElementById("wb-chart-calls").dataset.offered === "1" &&
		document.querySelectorAll("#wb-chart-calls rect.bar.answered").length === 1`, 2*time.Second)

	// Chinese, by the keyboard, for the screenshot.
	step("switch to Chinese", chromedp.KeyEvent("l", chromedp.KeyModifiers(chromedp.ModifierAlt)))
	until("Chinese labels", `document.getElementById("wb-queues-h").textContent === "队列（今日）" &&
		document.getElementById("wb-conn").textContent === "实时" &&
		document.querySelector('`+agentRow+` .badge').textContent === "通话中"`, 2*time.Second)
	sctx, scancel := context.WithTimeout(bctx, 20*time.Second)
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	scancel()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(os.Getenv(wbShotEnv), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot written to %s (%d bytes)", os.Getenv(wbShotEnv), len(png))

	// The caller hangs up: the agent goes to wrap-up on the page.
	hungUp := time.Now()
	call.Hangup()
	page = until("the agent in wrap-up after the caller hung up", `document.querySelector('`+agentRow+`').dataset.state === "wrap_up"`, 5*time.Second)
	t.Logf("agent in wrap-up on the page %s after the caller hung up", page.Sub(hungUp).Round(time.Millisecond))

	jsMu.Lock()
	if len(jsErrors) > 0 {
		t.Errorf("the page threw:\n%s", strings.Join(jsErrors, "\n"))
	}
	jsMu.Unlock()
	t.Logf("on the page after: call waiting %s, agent ringing %s, agent on the call %s (limit %s each)",
		tookWaiting.Round(time.Millisecond), tookRinging.Round(time.Millisecond), tookOnCall.Round(time.Millisecond), wbWithin)

	cancelBrowser()
	cancel()
	served = true
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop within 30 s")
	}
}

func wbJS(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
