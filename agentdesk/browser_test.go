package agentdesk_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/accounts"
	"hotline/acd"
	"hotline/acd/memstore"
	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/browsertest"
	"hotline/agentdesk/media"
	"hotline/audit"
	"hotline/callflow"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/deskcalls"
	"hotline/pbx"
	"hotline/pbx/pbxtest"
)

// The browser test runs Debian's Chromium against the desk, both inside a network
// namespace of their own that has nothing but lo (Chromium reaches for the network even when
// told not to; see TESTING-MEDIA.md). The test process creates the namespace and a fresh
// database, then runs itself again inside the namespace (ip netns exec) to serve the desk
// and drive the browser. PostgreSQL stays outside: the inner run reaches it through a Unix
// socket that the outer run forwards to the database's TCP address, since a socket file is
// visible from every network namespace.
const (
	browserChildEnv = "HOTLINE_DESK_BROWSER_CHILD"
	browserDBEnv    = "HOTLINE_DESK_BROWSER_DB"
	browserExecEnv  = "HOTLINE_DESK_BROWSER_CHROMIUM"
	browserShotEnv  = "HOTLINE_DESK_BROWSER_SCREENSHOT"
	browserCaseEnv  = "HOTLINE_DESK_BROWSER_CASES"
	// browserSoundsEnv is the prompts directory of the simulated PBX in the namespace.
	browserSoundsEnv = "HOTLINE_DESK_BROWSER_SOUNDS"
	// browserCallMark starts the inner run's line naming the case and call it answered.
	browserCallMark = "BROWSER-CALL "
)

const browserCaller = "13800000001"

func TestBrowserAgentDesk(t *testing.T) {
	if os.Getenv(browserChildEnv) != "" {
		browserChild(t)
		return
	}
	chromium := browsertest.Chromium(t)
	ns := browsertest.Netns(t, "hotline-desk")

	// The database, its accounts and cases, made from outside.
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
	store := cases.NewStore(pool, "620000", shanghaiLoc)
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.NewStore(pool, h, audit.New(pool)).Create(ctx, "test", accounts.NewAccount{
		Login: "alice", DisplayName: "王丽 Alice", Role: accounts.RoleAgent, Password: password,
		Skills: []accounts.Skill{{Name: "complaint", Level: 3}, {Name: "consult", Level: 3}, {Name: "zh", Level: 3}}}); err != nil {
		t.Fatal(err)
	}
	earlier, err := store.CreateCase(ctx, cases.NewCase{Kind: cases.KindConsult, Channel: cases.ChannelPhone,
		ReceivedAt: time.Now().Add(-30 * 24 * time.Hour), CallerNumber: browserCaller, Request: "网购商品七天无理由退货怎么算？"})
	if err != nil {
		t.Fatal(err)
	}
	sounds := soundsDir(t)
	if _, err := store.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: earlier.ID, Reason: cases.TaskVoicemail,
		CallerNumber: "13912345678", Queue: "callback", EnqueuedAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	// Postgres over a Unix socket (dir/.s.PGSQL.port, where pgx looks for one): the
	// namespace has no route to the server's TCP address.
	inner, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	port := cmp.Or(inner.Port(), "5432")
	socketDir := browsertest.SocketDir(t)
	browsertest.Forward(t, filepath.Join(socketDir, ".s.PGSQL."+port), inner.Host)
	q := inner.Query()
	q.Set("host", socketDir)
	q.Set("port", port)
	inner.Host, inner.RawQuery = "", q.Encode()

	shot := browsertest.ScreenshotPath(t, "agent-desk.png")
	runCtx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, "ip", "netns", "exec", ns, os.Args[0],
		"-test.run=^TestBrowserAgentDesk$", "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), browserChildEnv+"=1", browserDBEnv+"="+inner.String(), browserExecEnv+"="+chromium,
		browserShotEnv+"="+shot, browserCaseEnv+"="+string(earlier.Number), browserSoundsEnv+"="+sounds)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("run the browser half inside namespace %s: %v", ns, err)
	}
	var lines []string
	var number cases.Number
	var channel string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		t.Log("inner: " + sc.Text())
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), browserCallMark); ok {
			n, c, _ := strings.Cut(rest, " ")
			number, channel = cases.Number(n), c
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the browser half failed (%v); its output is above", err)
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "--- PASS: TestBrowserAgentDesk") }) {
		t.Fatal("the browser half did not report a pass; its output is above")
	}

	// What the browser saved is in PostgreSQL, seen from outside the namespace too, on the
	// case of the simulated caller's call.
	if number == "" || channel == "" {
		t.Fatalf("the browser half named no call (%q line)", browserCallMark)
	}
	d, err := store.FindByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	checkSavedCase(t, d)
	checkCallLinked(t, d, channel)
	auditLog := audit.New(pool)
	changes, err := auditLog.Find(ctx, audit.Query{Action: audit.CaseChanged, Target: audit.CaseTarget(string(number))})
	if err != nil || len(changes) != 1 || changes[0].Actor != "alice" {
		t.Errorf("audit of the save: %+v, %v", changes, err)
	}
	reads, err := auditLog.Find(ctx, audit.Query{Action: audit.CaseRead, Target: audit.CaseTarget(string(earlier.Number))})
	if err != nil || len(reads) == 0 || reads[len(reads)-1].Detail["via"] != "screen_pop" {
		t.Errorf("audit of the screen pop: %+v, %v", reads, err)
	}
	t.Logf("screenshot of the agent's screen: %s", shot)
}

// checkSavedCase checks the fields the browser test fills in.
func checkSavedCase(t *testing.T, d cases.Detail) {
	t.Helper()
	c := d.Case
	if c.Kind != cases.KindComplaint || c.GoodsOrService != "goods.appliances" || c.Complainant.Name != "张三" ||
		c.Complainant.Address != "兰州市城关区庆阳路1号" || c.Respondent.Name != "兰州某电器有限公司" ||
		c.Respondent.CreditCode != "914403001922038216" || c.Respondent.Platform != "某电商平台" ||
		c.Request != "退货退款" || c.Facts != "购买的冰箱三天后不制冷。" || c.RegionCode != "620102" ||
		c.AmountInvolved == nil || c.AmountInvolved.String() != "3999.00" || c.LossRecovered == nil || c.LossRecovered.String() != "0.00" {
		t.Errorf("case in PostgreSQL: %+v", c)
	}
	if !slices.ContainsFunc(d.Events, func(e cases.Event) bool { return e.Kind == cases.EventCaseChanged && e.Actor == "alice" }) {
		t.Errorf("no case_changed entry by alice on the trail: %+v", d.Events)
	}
}

// checkCallLinked checks that the case is the one of the caller's call: its inbound call
// row is the simulated caller's channel, answered, from the caller's number, through the
// complaint menu, and the agent's answer is on the trail.
func checkCallLinked(t *testing.T, d cases.Detail, channel string) {
	t.Helper()
	i := slices.IndexFunc(d.Calls, func(c cases.Call) bool { return c.ChannelID == channel })
	if i < 0 {
		t.Fatalf("case %s has no call on channel %s: %+v", d.Case.Number, channel, d.Calls)
	}
	c := d.Calls[i]
	if c.Direction != cases.Inbound || c.CallerNumber != browserCaller || c.AnsweredAt == nil || !strings.Contains(string(c.IVRPath), `"main"`) {
		t.Errorf("call row %+v (path %s)", c, c.IVRPath)
	}
	if d.Case.CallerNumber != browserCaller || d.Case.Channel != cases.ChannelPhone {
		t.Errorf("case %+v", d.Case)
	}
	if !slices.ContainsFunc(d.Events, func(e cases.Event) bool {
		return e.Kind == "agent_connected" && strings.Contains(string(e.Detail), "alice")
	}) {
		t.Errorf("no agent_connected entry for alice: %+v", d.Events)
	}
}

// browserChild is the half of the test inside the namespace: the desk on 127.0.0.1 and
// Chromium driving it.
func browserChild(t *testing.T) {
	ctx := context.Background()
	earlier := cases.Number(os.Getenv(browserCaseEnv))
	if earlier == "" {
		t.Fatalf("%s is not set", browserCaseEnv)
	}
	pool, err := pgxpool.New(ctx, os.Getenv(browserDBEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("PostgreSQL through the forwarded socket: %v", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	store := cases.NewStore(pool, "620000", shanghaiLoc)
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
	router, err := acd.NewRouter(acd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	acdStore := memstore.New(router, acd.SystemClock{})
	var desk *agentdesk.Desk
	seats, err := media.New(media.LoopbackOnly(), media.WithLogger(log), media.WithEventHandler(func(e media.Event) {
		if desk != nil {
			desk.SeatEvent(e)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	// The whole call path, on the simulated PBX inside the namespace: the real menu, the
	// real distributor (in memory: one controller), the line to the agent's WebRTC seat.
	sim := pbxtest.New(t, pbxtest.Options{SoundsDir: os.Getenv(browserSoundsEnv), Logger: log.With("component", "sim")})
	cctx, cancelConnect := context.WithTimeout(ctx, 10*time.Second)
	client, err := pbx.Connect(cctx, sim.Config())
	cancelConnect()
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	go func() {
		for range client.Notices() {
		}
	}()
	deadlines, err := callflow.NewCalendarDeadlines()
	if err != nil {
		t.Fatal(err)
	}
	line, err := deskcalls.New(deskcalls.Config{Seats: seats, PBX: client, Cases: store, Deadlines: deadlines, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	desk, err = agentdesk.NewDesk(agentdesk.Config{Auth: authSvc, Agents: acdStore, Calls: line, Cases: store.WithAudit(auditLog), Audit: auditLog,
		Accounts: accts, Seats: seats, Log: log, StatePoll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	line.SetDesk(desk)
	stopCalls := startCallPath(t, client, store, acdStore, line, deadlines, log)
	defer stopCalls()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: agentdesk.New(store, nil, prometheus.NewRegistry(), log, agentdesk.WithDesk(desk)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = desk.Shutdown(sctx)
		_ = srv.Shutdown(sctx)
		_ = seats.Shutdown(sctx)
	}()
	base := "http://" + ln.Addr().String()

	userData := t.TempDir()
	opts := append(browsertest.Options(os.Getenv(browserExecEnv), userData, 1440, 1200),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	var (
		jsMu     sync.Mutex
		jsErrors []string
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			jsMu.Lock()
			d := e.ExceptionDetails
			desc := ""
			if d.Exception != nil {
				desc = d.Exception.Description
			}
			jsErrors = append(jsErrors, fmt.Sprintf("%s %s at %s:%d:%d", d.Text, desc, d.URL, d.LineNumber+1, d.ColumnNumber+1))
			jsMu.Unlock()
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				t.Logf("console error: %s", strings.Join(parts, " "))
			}
		}
	}))
	defer cancelBrowser()

	// The first run starts the browser and must not carry a timeout (that would end it).
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("open the desk in Chromium: %v", err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	until := func(what, expr string) {
		t.Helper()
		step(what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tg)
			return err
		}))
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).textContent`))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	alt := func(key string) chromedp.Action[chromedp.Void] {
		return chromedp.KeyEvent(key, chromedp.KeyModifiers(chromedp.ModifierAlt))
	}

	// Sign in.
	step("sign in",
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SendKeys(chromedp.ID("login-name"), "alice"),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("desk")))
	until("the snapshot", `document.getElementById("state-badge").classList.contains("not_ready")`)
	if got := text("#btn-ready"); got != "Ready" {
		t.Errorf("English button says %q", got)
	}
	// Chinese, by the keyboard.
	step("switch to Chinese", alt("l"))
	until("Chinese labels", `document.getElementById("btn-ready").textContent === "就绪"`)

	// Ready: the softphone opens its seat on the way (fake microphone, PCMU, real pion).
	step("go ready", chromedp.Click(chromedp.ID("btn-ready")))
	until("ready", `document.getElementById("state-badge").classList.contains("ready")`)
	if a, err := acdStore.Agent(ctx, "alice"); err != nil || a.State != acd.StateReady {
		t.Fatalf("distributor: %+v, %v", a, err)
	}
	until("the softphone's seat connects", `document.getElementById("seat-state").classList.contains("connected")`)
	if hl, ok := seats.Health("alice"); !ok || hl.State != media.SeatConnected {
		t.Errorf("seat health %+v", hl)
	}

	// A caller dials 12315, chooses Chinese (1) and a complaint (2) in the real menu, and
	// waits in the queue; the distributor offers the call to alice: the screen pop rings.
	callCtx, cancelCall := context.WithTimeout(ctx, 10*time.Second)
	caller, err := sim.Call(callCtx, pbxtest.CallSpec{From: browserCaller, Steps: "m300 1 2 p w2 T440:120"})
	cancelCall()
	if err != nil {
		t.Fatalf("the simulated caller: %v", err)
	}
	step("the offer rings", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](`!document.getElementById("offer").hidden`, chromedp.WithPollingTimeout(60*time.Second),
			chromedp.WithPollingInterval(100*time.Millisecond))(ctx, tg)
		return err
	}))
	if got := text("#offer-caller"); got != "138****0001" {
		t.Errorf("screen pop caller %q", got)
	}
	caseNumber := cases.Number(text("#offer-case"))
	d, err := store.FindByNumber(ctx, caseNumber)
	if err != nil {
		t.Fatalf("the screen pop's case %q: %v", caseNumber, err)
	}
	if !slices.ContainsFunc(d.Calls, func(c cases.Call) bool { return c.ChannelID == caller.ChannelID() }) {
		t.Errorf("the screen pop's case %s has no call of the caller's channel %s: %+v", caseNumber, caller.ChannelID(), d.Calls)
	}
	fmt.Printf("%s%s %s\n", browserCallMark, caseNumber, caller.ChannelID())
	if got := text("#history tbody"); !strings.Contains(got, string(earlier)) || !strings.Contains(got, "咨询") {
		t.Errorf("caller history %q", got)
	}

	// Answer with Alt+A; the case form opens with the case.
	step("answer", alt("a"))
	until("connected", `!document.getElementById("call-facts").hidden`)
	until("the case form loads", `document.getElementById("f-region").value === "620000"`)
	if a, err := acdStore.Agent(ctx, "alice"); err != nil || a.State != acd.StateOnCall {
		t.Errorf("distributor after the answer: %+v, %v", a, err)
	}

	// Hold with Alt+H: the call shows held and for how long; the seat's health is shown.
	// Alt+H again resumes.
	step("hold", alt("h"))
	until("held", `document.getElementById("call-flags").textContent.includes("保持中") && document.getElementById("call-held").textContent !== ""`)
	until("the seat's health", `document.getElementById("seat-health").textContent.includes("ICE")`)
	step("resume", alt("h"))
	until("resumed", `!document.getElementById("call-flags").textContent.includes("保持中")`)

	// Fill in the case form. A mistyped credit code is caught before anything is sent.
	for _, f := range []struct {
		id, value string
		typed     bool // typed key by key rather than set
	}{
		{"f-kind", "complaint", false},
		{"f-class", "goods.appliances", false},
		{"f-region", "620102", false},
		{"f-c-name", "张三", false},
		{"f-c-address", "兰州市城关区庆阳路1号", false},
		{"f-r-name", "兰州某电器有限公司", false},
		{"f-r-address", "兰州市七里河区西津西路2号", false},
		{"f-r-credit", "914403001922038217", true},
		{"f-r-platform", "某电商平台", false},
		{"f-request", "退货退款", false},
		{"f-facts", "购买的冰箱三天后不制冷。", false},
		{"f-amount", "3999", true},
		{"f-recovered", "0", true},
	} {
		if f.typed {
			step("type into "+f.id, chromedp.SendKeys(chromedp.ID(f.id), f.value))
		} else {
			step("fill in "+f.id, chromedp.SetValue(chromedp.ID(f.id), f.value))
		}
	}
	step("save", chromedp.Click(chromedp.ID("btn-save")))
	until("the credit code is refused", `document.querySelector('.field-error[data-for="respondent.credit_code"]').textContent !== ""`)
	if d, err := store.FindByNumber(ctx, caseNumber); err != nil || d.Case.Respondent.Name != "" {
		t.Fatalf("an invalid form reached the database: %+v, %v", d.Case, err)
	}
	step("correct the credit code and save with Alt+S",
		chromedp.SetValue(chromedp.ID("f-r-credit"), "914403001922038216"),
		alt("s"))
	until("saved", `document.getElementById("case-message").textContent === "工单已保存"`)
	d, err = store.FindByNumber(ctx, caseNumber)
	if err != nil {
		t.Fatal(err)
	}
	checkSavedCase(t, d)

	// The agent's screen, on the call with the saved case.
	sctx, cancel := context.WithTimeout(bctx, 20*time.Second)
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	cancel()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(os.Getenv(browserShotEnv), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot written to %s (%d bytes)", os.Getenv(browserShotEnv), len(png))

	// Hang up (Alt+X) and record the disposition.
	step("hang up", alt("x"))
	step("the wrap-up form", chromedp.WaitVisible(chromedp.ID("wrapup")))
	if got := text("#wrap-case"); got != string(caseNumber) {
		t.Errorf("wrap-up case %q", got)
	}
	step("record the disposition",
		chromedp.SetValue(chromedp.ID("wrap-status"), "registered"),
		chromedp.SetValue(chromedp.ID("wrap-summary"), "冰箱质量投诉，已登记转办"),
		chromedp.Click(chromedp.ID("btn-wrap")),
		chromedp.WaitNotVisible(chromedp.ID("wrapup")))
	until("ready after wrap-up", `document.getElementById("state-badge").classList.contains("ready")`)
	select {
	case <-caller.Done():
	case <-time.After(20 * time.Second):
		t.Error("the caller was not hung up")
	}
	if d, err := store.FindByNumber(ctx, caseNumber); err != nil || d.Case.Status != cases.StatusRegistered || d.Case.Kind != cases.KindComplaint ||
		!slices.ContainsFunc(d.Events, func(e cases.Event) bool {
			return e.Kind == cases.EventRegistered && e.Actor == "alice" && strings.Contains(string(e.Detail), "冰箱质量投诉，已登记转办")
		}) {
		t.Errorf("the disposition on the case: %+v, %v", d.Case, err)
	}
	if got := text("#tasks tbody"); !strings.Contains(got, "139****5678") || strings.Contains(got, "13912345678") {
		t.Errorf("callback tasks %q", got)
	}

	jsMu.Lock()
	defer jsMu.Unlock()
	if len(jsErrors) > 0 {
		t.Errorf("the page threw:\n%s", strings.Join(jsErrors, "\n"))
	}
	t.Logf("desk served at %s inside the namespace", base)
}
