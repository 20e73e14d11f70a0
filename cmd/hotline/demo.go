package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"hotline/acd"
	"hotline/agentdesk"
	"hotline/calendar"
	"hotline/cases"
	"hotline/config"
	"hotline/pbx"
	"hotline/pbx/sim"
	"hotline/recordstore"
)

// demoCaller is one kind of simulated caller: what they press and say, in the sim's step
// syntax, and how often they call.
type demoCaller struct {
	id     string
	name   string
	weight int
	steps  string
}

// The demo's callers follow the default menu: the welcome and the recording notice, then 1
// for Mandarin, then the main menu. "p" waits for the prompt that is playing to end.
var demoCallers = []demoCaller{
	{"complaint", "complaint voicemail", 4, "p 1 p 2 p p t3 #"},
	{"report", "report voicemail", 2, "p 1 p 3 p p t2 #"},
	{"consult", "consultation", 2, "p 1 p 1 p p t2 #"},
	{"hangup", "hangs up in the menu", 2, "p w1 h"},
	{"lookup", "case progress, wrong number", 1, "p 1 p 4 p 6 2 0 0 0 0 2 0 2 6 1 1 2 7 9 9 9 9 9 9 # p w1 h"},
	{"silent", "silent caller", 1, "s30 h"},
}

// runDemo runs the controller against the embedded simulated PBX, with simulated callers
// placing calls, real PostgreSQL and Redis, and prints a live summary.
func runDemo(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	path := configFlag(fs)
	simListen := fs.String("sim-listen", "127.0.0.1:8088", "loopback address of the embedded simulated PBX (ARI and /sim control API)")
	sounds := fs.String("sounds", filepath.Join(".run", "sounds"), "prompts (scripts/prompts generates them)")
	dataDir := fs.String("data", filepath.Join(".run", "demo"), "where the PBX's recordings and the stored voicemails go")
	rate := fs.Float64("rate", 6, "simulated calls per minute (0: none; place your own with `hotline sim call`)")
	maxCalls := fs.Int("calls", 0, "stop after this many simulated calls have ended (0: run until interrupted)")
	every := fs.Duration("summary", 5*time.Second, "how often to print the summary")
	agents := fs.Int("agents", 2, "simulated agents on desk phones, answering queued calls")
	only := fs.String("caller", "", "only this kind of simulated caller: complaint, report, consult, hangup, lookup or silent (default: a weighted mix)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	callers, err := pickableCallers(*only)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, os.Stderr)
	slog.SetDefault(log)
	if _, err := os.Stat(filepath.Join(*sounds, "zh", "hotline", "welcome.wav")); err != nil {
		return fmt.Errorf("prompts missing in %s: run `make prompts` (scripts/prompts) first", *sounds)
	}
	loc, err := time.LoadLocation(cfg.Cases.TimeZone)
	if err != nil {
		return fmt.Errorf("cases.time_zone: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pool, err := openPool(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := cases.Migrate(ctx, pool); err != nil {
		return err
	}
	ropts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()

	// The embedded PBX gets a fresh password each run: it only ever listens on loopback.
	secret := make([]byte, 12)
	_, _ = rand.Read(secret)
	password := hex.EncodeToString(secret)
	pbxRecordings := filepath.Join(*dataDir, "pbx-recordings")
	if err := os.MkdirAll(pbxRecordings, 0o750); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	srv, err := sim.New(sim.Config{Username: "hotline", Password: password, App: cfg.ARI.Application,
		SoundsDir: *sounds, RecordingsDir: pbxRecordings, Language: "zh", Logger: log.With("component", "sim")})
	if err != nil {
		return fmt.Errorf("simulated PBX: %w", err)
	}
	defer srv.Close()
	if err := srv.Start(*simListen); err != nil {
		return fmt.Errorf("simulated PBX on %s: %w", *simListen, err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	client, err := pbx.Connect(ctx, pbx.Config{URL: srv.URL() + "/ari", Application: cfg.ARI.Application,
		Username: "hotline", Password: password, RequestTimeout: cfg.ARI.RequestTimeout, Logger: log.With("component", "pbx"), Registerer: reg})
	if err != nil {
		return fmt.Errorf("connect to the simulated PBX: %w", err)
	}
	defer client.Close()

	store := cases.NewStore(pool, cfg.Cases.RegionCode, loc)
	voicemails, err := recordstore.New(filepath.Join(*dataDir, "voicemail"))
	if err != nil {
		return err
	}
	// A fresh ACD namespace each run: agents and waiting calls of an earlier demo must not
	// linger in Redis.
	calls, err := newCallPath(client, store, voicemails, rdb, "hotline:demo:"+password[:8], "", cfg.ACD, nil, reg, log)
	if err != nil {
		return err
	}
	if err := demoAgents(ctx, srv, calls.acd, calls.acdCfg, *agents); err != nil {
		return err
	}
	duty, err := demoEscalation(ctx, srv, cfg.Escalation, calls, client, store, pool, log)
	if err != nil {
		return err
	}
	defer duty.close()
	runErr := make(chan error, 1)
	go func() { runErr <- calls.run(ctx) }()

	boardOpts, stopDesk, err := demoWallboard(ctx, out, pool, client, store, calls, rdb, "hotline:demo:"+password[:8], loc, log)
	if err != nil {
		return err
	}
	defer stopDesk()
	api := agentdesk.New(store, readiness(pool, rdb), reg, log, boardOpts...)
	stopHTTP, addr, err := serveHTTP(cfg.HTTP, api, log)
	if err != nil {
		return err
	}
	defer stopHTTP()

	fmt.Fprintf(out, "hotline demo: controller on http://%s (try /readyz, /metrics, /api/cases?caller=13800000001)\n", addr)
	if cal, err := calendar.Default(); err == nil {
		fmt.Fprintf(out, "the centre is %s now (%s): callers hear the matching menu\n", cal.Mode(time.Now()), time.Now().In(cal.Location()).Format("Mon 15:04 MST"))
	}
	fmt.Fprintf(out, "simulated PBX on %s; place a call of your own with:\n  hotline sim call -sim %s --from 13912345678 --digits 12\n", srv.Addr(), srv.URL())

	started := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed, ended := 0, 0
	allDone := make(chan struct{})
	if *rate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			interval := time.Duration(float64(time.Minute) / *rate)
			next := time.NewTimer(0)
			defer next.Stop()
			for n := 1; *maxCalls == 0 || n <= *maxCalls; n++ {
				select {
				case <-ctx.Done():
					return
				case <-next.C:
				}
				next.Reset(interval)
				c := pickCaller(callers)
				from := fmt.Sprintf("139%08d", 10000000+n)
				call, err := srv.Call(ctx, sim.CallSpec{From: from, Language: "zh", Steps: c.steps})
				if err != nil {
					log.Error("demo: place call", "caller", c.name, "err", err)
					continue
				}
				mu.Lock()
				placed++
				mu.Unlock()
				log.Info("demo: call placed", "call", call.ChannelID(), "caller", c.name, "from", cases.Phone(from).Masked())
				wg.Add(1)
				go func() {
					defer wg.Done()
					select {
					case <-call.Done():
					case <-ctx.Done():
						return
					}
					mu.Lock()
					ended++
					done := *maxCalls > 0 && ended >= *maxCalls
					mu.Unlock()
					if done {
						close(allDone)
					}
				}()
			}
		}()
	}

	tick := time.NewTicker(*every)
	defer tick.Stop()
	summary := func() {
		mu.Lock()
		p, e := placed, ended
		mu.Unlock()
		line, err := caseSummary(ctx, pool, started)
		if err != nil {
			line = "cases: " + err.Error()
		}
		fmt.Fprintf(out, "[%s] calls placed %d, ended %d, failed Stasis %d | %s\n",
			time.Since(started).Round(time.Second), p, e, srv.FailedStasisCalls(), line)
	}
	for {
		select {
		case <-ctx.Done():
			summary()
			cancel()
			wg.Wait()
			// The calls in progress close their records (hung up, case registered) before
			// the database and the PBX go.
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("call path stopped: %w", err)
		case <-allDone:
			// The caller's side ends first; wait for the controller to close the last call
			// records before the final summary.
			waitCallsClosed(ctx, pool, started, 10*time.Second)
			summary()
			cancel()
			wg.Wait()
			<-runErr
			return nil
		case <-tick.C:
			summary()
		}
	}
}

func pickableCallers(id string) ([]demoCaller, error) {
	if id == "" {
		return demoCallers, nil
	}
	var ids []string
	for _, c := range demoCallers {
		if c.id == id {
			return []demoCaller{c}, nil
		}
		ids = append(ids, c.id)
	}
	return nil, fmt.Errorf("%w: -caller %q is not one of %s", errUsage, id, strings.Join(ids, ", "))
}

func pickCaller(callers []demoCaller) demoCaller {
	total := 0
	for _, c := range callers {
		total += c.weight
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(total)))
	pick := int(n.Int64())
	for _, c := range callers {
		if pick < c.weight {
			return c
		}
		pick -= c.weight
	}
	return callers[0]
}

// demoAgents gives the simulated PBX n agents' phones, PJSIP/agent-1001 and on, that answer
// after two seconds, speak (an 880 Hz tone) for a while and hang up, and logs the agents in
// to the ACD, ready for every queue of the default menu.
func demoAgents(ctx context.Context, srv *sim.Server, store acd.Store, cfg acd.Config, n int) error {
	skills := map[acd.SkillName]acd.Level{}
	for _, s := range cfg.Skills {
		skills[s] = 3
	}
	for i := range n {
		id := acd.AgentID(fmt.Sprintf("%d", 1001+i))
		srv.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/agent-" + string(id), AnswerAfter: 2 * time.Second, Steps: "T880:8 h"})
		if _, err := store.Login(ctx, acd.Agent{ID: id, Name: "demo agent " + string(id), Skills: skills,
			Groups: cfg.Groups}, acd.StateReady, ""); err != nil {
			return fmt.Errorf("log in demo agent %s: %w", id, err)
		}
	}
	return nil
}

// caseSummary counts the cases received since a time by kind and channel.
func caseSummary(ctx context.Context, pool *pgxpool.Pool, since time.Time) (string, error) {
	rows, err := pool.Query(ctx, `SELECT kind, channel, count(*) FROM cases WHERE created_at >= $1 GROUP BY 1, 2`, since)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var parts []string
	total := 0
	for rows.Next() {
		var kind, channel string
		var n int
		if err := rows.Scan(&kind, &channel, &n); err != nil {
			return "", err
		}
		total += n
		parts = append(parts, fmt.Sprintf("%s/%s %d", kind, channel, n))
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	sort.Strings(parts)
	var tasks int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM callback_tasks WHERE created_at >= $1`, since).Scan(&tasks); err != nil {
		return "", err
	}
	return fmt.Sprintf("cases %d (%s), callback tasks %d", total, strings.Join(parts, ", "), tasks), nil
}

// waitCallsClosed waits until every call since a time has its end written, or the limit.
func waitCallsClosed(ctx context.Context, pool *pgxpool.Pool, since time.Time, limit time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		var open int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM calls WHERE started_at >= $1 AND ended_at IS NULL`, since).Scan(&open)
		if err != nil || open == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func readiness(pool *pgxpool.Pool, rdb *redis.Client) []agentdesk.Check {
	return []agentdesk.Check{
		{Name: "postgres", Check: pool.Ping},
		{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
	}
}

// serveHTTP starts the controller's HTTP server and returns a function that stops it.
func serveHTTP(cfg config.HTTP, h http.Handler, log *slog.Logger) (stop func(), addr string, err error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("http.listen %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: cfg.ReadHeaderTimeout}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, ln.Addr().String(), nil
}
