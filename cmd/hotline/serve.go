package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"hotline/agentdesk"
	"hotline/cases"
	"hotline/config"
	"hotline/pbx"
	"hotline/recordstore"
)

// logNotices logs what the ARI adapter reports about the controller as a whole; another
// controller taking our Stasis app is an alarm.
func logNotices(ctx context.Context, client *pbx.Client, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case n, ok := <-client.Notices():
			if !ok {
				return
			}
			switch n.Type {
			case pbx.NoticeReplaced, pbx.NoticeStandBy:
				log.Error("ALARM: another controller took the Stasis application", "notice", n.Type.String())
			case pbx.NoticeDisconnected:
				log.Warn("Asterisk event socket down; reconnecting", "err", n.Err)
			case pbx.NoticeOrphanChannel:
				log.Warn("channel in our application that no call owns", "call", n.Channel.ID, "name", n.Channel.Name)
			default:
				log.Info("pbx notice", "notice", n.Type.String(), "err", n.Err)
			}
		}
	}
}

// configFlag adds -config, defaulting to $HOTLINE_CONFIG; no file means environment only.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", os.Getenv("HOTLINE_CONFIG"), "configuration file (YAML); HOTLINE_* environment variables override it")
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openConfigPool loads the configuration at path and opens its database, for the commands
// that need nothing else of it.
func openConfigPool(ctx context.Context, path string) (*pgxpool.Pool, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return openPool(ctx, cfg.Database)
}

func openPool(ctx context.Context, cfg config.Database) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("database.url: %w", err)
	}
	pc.MaxConns = int32(cfg.MaxConns)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s: %w", config.Redact(cfg.URL), err)
	}
	return pool, nil
}

func runMigrate(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pool, err := openConfigPool(ctx, *path)
	if err != nil {
		return err
	}
	defer pool.Close()
	v, err := cases.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "database at schema version %d\n", v)
	return err
}

func runConfig(_ context.Context, out io.Writer, args []string) error {
	if len(args) != 2 || args[0] != "check" {
		return fmt.Errorf("%w: hotline config check FILE", errUsage)
	}
	if _, err := config.Load(args[1]); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "%s: ok\n", args[1])
	return err
}

func runServe(ctx context.Context, _ io.Writer, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, os.Stderr)
	slog.SetDefault(log)
	loc, err := time.LoadLocation(cfg.Cases.TimeZone)
	if err != nil {
		return fmt.Errorf("cases.time_zone: %w", err)
	}

	pool, err := openPool(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	if cfg.Database.MigrateOnStart {
		v, err := cases.Migrate(ctx, pool)
		if err != nil {
			return err
		}
		log.Info("database migrated", "version", v)
	}
	ropts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()

	store := cases.NewStore(pool, cfg.Cases.RegionCode, loc)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if cfg.ARI.Password == "" {
		return fmt.Errorf("ari.password: missing; set %s or ari.password_file", config.EnvName("ari.password"))
	}
	connectCtx, cancelConnect := context.WithTimeout(ctx, cfg.ARI.ConnectTimeout)
	client, err := pbx.Connect(connectCtx, pbx.Config{URL: cfg.ARI.URL, Application: cfg.ARI.Application,
		Username: cfg.ARI.Username, Password: cfg.ARI.Password, RequestTimeout: cfg.ARI.RequestTimeout,
		Logger: log.With("component", "pbx"), Registerer: reg})
	cancelConnect()
	if err != nil {
		return fmt.Errorf("connect to Asterisk at %s: %w", cfg.ARI.URL, err)
	}
	defer client.Close()
	go logNotices(ctx, client, log)

	voicemails, err := recordstore.New(cfg.Recordings.Dir)
	if err != nil {
		return fmt.Errorf("recordings.dir: %w", err)
	}
	agents, err := newAgentDeskWith(cfg.Media, pool, client, store, log)
	if err != nil {
		return err
	}
	calls, err := newCallPath(client, store, voicemails, rdb, cfg.Redis.ACDPrefix, cfg.Calendar.HoursFile, cfg.ACD, agents.line, reg, log)
	if err != nil {
		return errors.Join(err, agents.shutdown(context.Background()))
	}
	callbacks, err := startCallbacks(cfg.Callbacks, calls, agents, client, store, log)
	if err != nil {
		return errors.Join(err, agents.shutdown(context.Background()))
	}
	if err := agents.openDesk(calls.acd, calls.acdCfg.Queues); err != nil {
		return errors.Join(err, agents.shutdown(context.Background()))
	}
	sup, err := newSupervision(agents, client, log)
	if err != nil {
		return errors.Join(err, agents.shutdown(context.Background()))
	}
	duty, err := startEscalation(cfg.Escalation, calls, client, store, pool, log)
	if err != nil {
		return errors.Join(err, agents.shutdown(context.Background()))
	}
	defer duty.close()
	board, err := newWallboard(calls, rdb, cfg.Redis.ACDPrefix, loc, agents.auth, agents.seats, log)
	if err != nil {
		return errors.Join(err, agents.shutdown(context.Background()))
	}
	inc, err := startIncident(ctx, pool, agents.auditLog, cfg.Incident, log)
	if err != nil {
		return errors.Join(err, agents.shutdown(context.Background()))
	}
	calls.runner.SetIncident(inc.watcher)
	calls.queue.SetEmergencyBonus(inc.watcher.EmergencyBonus)
	agentsDown := false
	defer func() { // the paths that do not stop gracefully
		if !agentsDown {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
			defer cancel()
			if err := agents.shutdown(sctx); err != nil {
				log.Error("agent desk shutdown", "err", err)
			}
		}
	}()
	callsCtx, stopCalls := context.WithCancel(context.Background())
	defer stopCalls()
	callsDone := make(chan error, 1)
	go func() { callsDone <- calls.run(callsCtx) }()
	go callbacks.run(callsCtx)

	checks := append(readiness(pool, rdb), agentdesk.Check{Name: "asterisk", Check: func(context.Context) error {
		if !client.Connected() {
			return errors.New("event socket down; reconnecting")
		}
		return nil
	}})
	go board.run(callsCtx)
	api := agentdesk.New(store, checks, reg, log, append(board.mount(agentdesk.WithDesk(agents.desk), agentdesk.WithRecordings(agents.desk, voicemails)), append(duty.routes(agents.auth, log), sup.routes(agents)...)...)...)

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	handler, err := withReports(api, agents.auth, agents.auditLog, pool, cfg, inc, log)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout}
	errc := make(chan error, 1)
	go func() {
		if cfg.HTTP.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	log.Info("serving", "addr", ln.Addr().String(), "database", config.Redact(cfg.Database.URL), "redis", config.Redact(cfg.Redis.URL))

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case err := <-callsDone:
		return fmt.Errorf("call path stopped: %w", err)
	case <-ctx.Done():
	}
	// SIGTERM: stop being ready and drain: new calls go back to the dialplan, the calls in
	// progress (with their agents' desks and seats, and the dispatcher serving the queue)
	// go on to their end or until the drain timeout.
	api.Drain()
	calls.runner.Drain()
	log.Info("draining", "calls", calls.runner.Active(), "timeout", cfg.ARI.DrainTimeout)
	dctx, stopDrain := context.WithTimeout(context.Background(), cfg.ARI.DrainTimeout)
	if err := calls.runner.WaitIdle(dctx); err != nil {
		log.Warn("drain timeout: hanging up the calls still in progress", "calls", calls.runner.Active())
	}
	stopDrain()
	log.Info("shutting down", "timeout", cfg.HTTP.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	// The desk's WebSockets are hijacked connections srv.Shutdown does not wait for: close
	// them (1001, the browsers reconnect elsewhere) and the seats first.
	agentsDown = true
	sup.shutdown(sctx)
	if err := agents.shutdown(sctx); err != nil {
		log.Error("agent desk shutdown", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Calls in progress are hung up with their records closed (the call flow does that
	// when its context ends).
	stopCalls()
	if err := <-callsDone; err != nil {
		log.Error("call path", "err", err)
	}
	log.Info("stopped")
	return nil
}
