package wallboard_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline/accounts"
	"hotline/acd"
	"hotline/acd/acdchanges"
	"hotline/acd/redisstore"
	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/browsertest"
	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/wallboard"
)

// The browser test: Chromium signs in as a supervisor and opens the wallboard; a caller
// enters a queue and an agent answers through the distributor's store in Redis, on a
// "controller" other than the one serving the wallboard; the page must show each within a
// second, pushed through the change notifications. Both the server and Chromium run in a
// network namespace of their own (browsertest); PostgreSQL and Redis stay outside and are
// reached through Unix sockets.
const (
	childEnv   = "HOTLINE_WALLBOARD_BROWSER_CHILD"
	dbEnv      = "HOTLINE_WALLBOARD_BROWSER_DB"
	redisEnv   = "HOTLINE_WALLBOARD_BROWSER_REDIS"
	prefixEnv  = "HOTLINE_WALLBOARD_BROWSER_PREFIX"
	chromeEnv  = "HOTLINE_WALLBOARD_BROWSER_CHROMIUM"
	shotEnv    = "HOTLINE_WALLBOARD_BROWSER_SCREENSHOT"
	supervisor = "sam"
	password   = "correct horse battery"
)

// within is how soon the page must show a change.
const within = time.Second

func TestBrowserWallboard(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		browserChild(t)
		return
	}
	chromium := browsertest.Chromium(t)
	ns := browsertest.Netns(t, "hotline-wall")

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
		Login: supervisor, DisplayName: "值班班长 Sam", Role: accounts.RoleSupervisor, Password: password}); err != nil {
		t.Fatal(err)
	}

	// PostgreSQL and Redis through sockets the namespace sees.
	sockets := browsertest.SocketDir(t)
	db, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	port := db.Port()
	if port == "" {
		port = "5432"
	}
	browsertest.Forward(t, filepath.Join(sockets, ".s.PGSQL."+port), db.Host)
	q := db.Query()
	q.Set("host", sockets)
	q.Set("port", port)
	db.Host, db.RawQuery = "", q.Encode()
	ropts, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	redisSock := filepath.Join(sockets, "redis.sock")
	browsertest.Forward(t, redisSock, ropts.Addr)
	prefix := redisPrefix(t, ropts)

	shot := browsertest.ScreenshotPath(t, "wallboard.png")
	runCtx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, "ip", "netns", "exec", ns, os.Args[0],
		"-test.run=^TestBrowserWallboard$", "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), childEnv+"=1", dbEnv+"="+db.String(), redisEnv+"="+redisSock,
		prefixEnv+"="+prefix, chromeEnv+"="+chromium, shotEnv+"="+shot)
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
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "--- PASS: TestBrowserWallboard") }) {
		t.Fatal("the browser half did not report a pass; its output is above")
	}
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot of the wallboard: %s", shot)
}

func redisURL(t *testing.T) string {
	u := os.Getenv("HOTLINE_REDIS_URL")
	if u == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`, or `scripts/services.sh up` and `eval \"$(scripts/services.sh env)\"` first")
	}
	return u
}

// redisPrefix is a key prefix of the test's own, whose keys are deleted at the end.
func redisPrefix(t *testing.T, opts *redis.Options) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "hotline-test-wallboard-" + hex.EncodeToString(b)
	c := redis.NewClient(opts)
	t.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, err := c.Keys(ctx, "{"+prefix+"}*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Logf("clean redis keys of %s: %v", prefix, err)
		}
	})
	return prefix
}

// noCalls is the agent desk's call distribution, which the wallboard test never uses (no
// agent signs in to the desk here).
type noCalls struct{}

var errNoCalls = errors.New("the wallboard test has no call distribution")

func (noCalls) Accept(context.Context, acd.AgentID, agentdesk.OfferID) error { return errNoCalls }
func (noCalls) Reject(context.Context, acd.AgentID, agentdesk.OfferID) error { return errNoCalls }
func (noCalls) Hangup(context.Context, acd.AgentID, agentdesk.CallID) error  { return errNoCalls }
func (noCalls) Hold(context.Context, acd.AgentID, agentdesk.CallID, bool) error {
	return errNoCalls
}
func (noCalls) Transfer(context.Context, acd.AgentID, agentdesk.CallID, agentdesk.Transfer) error {
	return errNoCalls
}
func (noCalls) WrapUpDone(context.Context, acd.AgentID, agentdesk.CallID, agentdesk.Disposition) error {
	return errNoCalls
}
func (noCalls) Callback(context.Context, acd.AgentID, cases.TaskID) error { return errNoCalls }

// browserChild is the half inside the namespace.
func browserChild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, err := pgxpool.New(ctx, os.Getenv(dbEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("PostgreSQL through the forwarded socket: %v", err)
	}
	newRedis := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Network: "unix", Addr: os.Getenv(redisEnv)})
		t.Cleanup(func() { c.Close() })
		return c
	}
	if err := newRedis().Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis through the forwarded socket: %v", err)
	}
	prefix := os.Getenv(prefixEnv)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	auditLog := audit.New(pool)
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	accts := accounts.NewStore(pool, h, auditLog)
	authSvc, err := auth.New(pool, accts, auditLog, auth.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	acdCfg := acd.DefaultConfig()
	router, err := acd.NewRouter(acdCfg)
	if err != nil {
		t.Fatal(err)
	}

	// Controller 1 takes the calls: its store publishes each change.
	pub := acdchanges.NewPublisher(newRedis(), acdchanges.Channel(prefix), log)
	go func() { _ = pub.Run(ctx) }()
	callPath := acdchanges.Wrap(redisstore.New(newRedis(), prefix, router, acd.SystemClock{}), pub)

	// Controller 2 serves the wallboard, told of the changes by pub/sub.
	wallStore := redisstore.New(newRedis(), prefix, router, acd.SystemClock{})
	hub, err := wallboard.NewHub(wallboard.HubConfig{Source: wallStore, ACD: acdCfg, Location: loc, Log: log,
		Refresh: time.Hour}) // no refresh: only the notifications can make the page change in time
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hub.Run(ctx) }()
	listening := make(chan struct{})
	var once sync.Once
	go func() {
		_ = acdchanges.Listen(ctx, newRedis(), acdchanges.Channel(prefix), func(string) {
			hub.Changed()
			once.Do(func() { close(listening) })
		})
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("not subscribed to the changes after 10s")
	}
	desk, err := agentdesk.NewDesk(agentdesk.Config{Auth: authSvc, Agents: wallStore, Calls: noCalls{}, Cases: cases.NewStore(pool, "620000", loc),
		Audit: auditLog, Accounts: accts, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	opts := []agentdesk.Option{agentdesk.WithDesk(desk)}
	ws := &wallboard.Server{Hub: hub, Auth: authSvc, Log: log}
	for _, r := range ws.Routes() {
		opts = append(opts, agentdesk.WithRoute(r.Pattern, r.Handler))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: agentdesk.New(cases.NewStore(pool, "620000", loc), nil, prometheus.NewRegistry(), log, opts...),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		cancel() // the hub closes the wallboards' sockets
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = desk.Shutdown(sctx)
		_ = srv.Shutdown(sctx)
	}()
	base := "http://" + ln.Addr().String()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, browsertest.Options(os.Getenv(chromeEnv), t.TempDir(), 1600, 1000)...)
	defer cancelAlloc()
	var (
		jsMu     sync.Mutex
		jsErrors []string
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			jsMu.Lock()
			d := e.ExceptionDetails
			desc := ""
			if d.Exception != nil {
				desc = d.Exception.Description
			}
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
	// until waits for expr in the page, at most limit, polling every 10 ms, and returns how
	// long it took.
	until := func(what, expr string, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		sctx, cancel := context.WithTimeout(bctx, limit+5*time.Second)
		defer cancel()
		err := chromedp.Do(sctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(10*time.Millisecond))(ctx, tg)
			return err
		}))
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: not within %s (%v)", what, limit, err)
		}
		return took
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`) || {textContent: "(missing)"}).textContent`))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	// Sign in as the supervisor; the first board arrives.
	step("sign in",
		chromedp.WaitVisible(chromedp.ID("wb-login-name")),
		chromedp.SendKeys(chromedp.ID("wb-login-name"), supervisor),
		chromedp.SendKeys(chromedp.ID("wb-login-password"), password),
		chromedp.Click(chromedp.ID("wb-login-submit")),
		chromedp.WaitVisible(chromedp.ID("wb-board")))
	until("the first board", `document.querySelectorAll("#wb-queue-table tbody tr").length === 3`, 10*time.Second)
	if got := text(`#wb-queue-table tr[data-queue="general"] td.waiting`); got != "0" {
		t.Fatalf("general waiting %q before any call", got)
	}
	if got := text("#wb-queues-h"); got != "Queues (today)" {
		t.Errorf("English heading %q", got)
	}

	// An agent logs in, ready.
	agent := acd.Agent{ID: "1001", Name: "王丽", Skills: map[acd.SkillName]acd.Level{"zh": 3, "complaint": 3},
		Groups: []acd.GroupName{"general"}}
	if _, err := callPath.Login(ctx, agent, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	took := until("the agent shows ready", `(document.querySelector('#wb-agent-table tr[data-agent="1001"]') || {dataset: {}}).dataset.state === "ready"`, within)
	t.Logf("agent ready: on the page after %s", took.Round(time.Millisecond))

	// A caller enters the general queue (as the call flow enqueues: case number, class).
	call := acd.Item{ID: "call-1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint, Language: "zh",
		CaseNumber: "620000-20261127-000042", Number: "13800000001"}
	if _, err := callPath.Enqueue(ctx, call); err != nil {
		t.Fatal(err)
	}
	took = until("the call shows waiting", `document.querySelector('#wb-queue-table tr[data-queue="general"] td.waiting').textContent === "1"`, within)
	t.Logf("call enqueued: on the page after %s", took.Round(time.Millisecond))
	until("the longest wait shows", `document.querySelector('#wb-queue-table tr[data-queue="general"] td.longest').textContent.startsWith("00:0")`, 2*time.Second)

	// The distributor reserves the agent, rings and the agent answers.
	answerStart := time.Now()
	rs, err := callPath.ReserveBest(ctx, 1)
	if err != nil || len(rs) != 1 {
		t.Fatalf("reserve: %v, %v", rs, err)
	}
	if _, err := callPath.Offer(ctx, rs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := callPath.Answer(ctx, rs[0]); err != nil {
		t.Fatal(err)
	}
	// The board may catch the answer between reading the queues and the agents; the next
	// board, on the same change's notice, is whole: wait for both.
	until("the agent on the call, the queue empty, the answer counted",
		`(() => { const a = document.querySelector('#wb-agent-table tr[data-agent="1001"]');
		  const g = '#wb-queue-table tr[data-queue="general"] ';
		  return a && a.dataset.state === "on_call" && document.querySelector(g + "td.waiting").textContent === "0" &&
		    document.querySelector(g + "td.answered").textContent === "1"; })()`,
		within-time.Since(answerStart))
	t.Logf("reserved, rung and answered: on the page %s after the reservation", time.Since(answerStart).Round(time.Millisecond))
	if got := text(`#wb-agent-table tr[data-agent="1001"] td.case`); got != string(call.CaseNumber) {
		t.Errorf("case on the agent's row %q", got)
	}
	if got := text(`#wb-agent-table tr[data-agent="1001"] td.name`); got != "王丽 (1001)" {
		t.Errorf("agent name %q", got)
	}
	if got := text(`#wb-queue-table tr[data-queue="general"] td.agents-busy`); got != "1" {
		t.Errorf("general's busy agents %q", got)
	}
	if got := text(`#wb-queue-table tr[data-queue="emergency"] td.agents-busy`); got != "0" {
		t.Errorf("emergency's busy agents %q: the agent has no emergency skill", got)
	}
	if got := text(`#wb-queue-table tr[data-queue="general"] td.sl`); got != "100%" {
		t.Errorf("service level %q", got)
	}
	if strings.Contains(text("#wb-agent-table"), "13800000001") {
		t.Error("the caller's number is on the wallboard")
	}
	until("the chart has the answered call", `document.getElementById("wb-chart-calls").dataset.offered === "1" &&
		document.querySelectorAll("#wb-chart-calls rect.bar.answered").length === 1`, 2*time.Second)

	// Chinese, by the keyboard, for the screenshot.
	step("switch to Chinese", chromedp.KeyEvent("l", chromedp.KeyModifiers(chromedp.ModifierAlt)))
	until("Chinese labels", `document.getElementById("wb-queues-h").textContent === "队列（今日）" &&
		document.getElementById("wb-conn").textContent === "实时" &&
		document.querySelector('#wb-agent-table tr[data-agent="1001"] .badge').textContent === "通话中"`, 2*time.Second)

	sctx, scancel := context.WithTimeout(bctx, 20*time.Second)
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	scancel()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(os.Getenv(shotEnv), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot written to %s (%d bytes)", os.Getenv(shotEnv), len(png))

	jsMu.Lock()
	defer jsMu.Unlock()
	if len(jsErrors) > 0 {
		t.Errorf("the page threw:\n%s", strings.Join(jsErrors, "\n"))
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
