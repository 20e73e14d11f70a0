package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"hotline/pbx/sim"
)

// runSim runs the simulated Asterisk alone on loopback ("hotline sim"), or
// places one call through a running one ("hotline sim call").
func runSim(ctx context.Context, out io.Writer, args []string) error {
	if len(args) > 0 && args[0] == "call" {
		return runSimCall(ctx, out, args[1:])
	}
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(out)
	listen := fs.String("listen", "127.0.0.1:8088", "loopback address for ARI (/ari) and the control API (/sim)")
	user := fs.String("user", "hotline", "ARI user name")
	password := fs.String("password", "", "ARI password (default: $HOTLINE_SIM_PASSWORD, else \"hotline\")")
	sounds := fs.String("sounds", "", "sounds directory (sound:NAME is <dir>/<lang>/NAME.wav or <dir>/NAME.wav)")
	recordings := fs.String("recordings", "", "recordings directory (default: a temporary one, removed on exit)")
	app := fs.String("app", "hotline", "Stasis application the dialplan sends 12315 to")
	exten := fs.String("exten", "12315", "the hotline number")
	scenario := fs.String("scenario", "", "scenario file of simulated people to run once started")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("%w: -listen %q: %v", errUsage, *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: -listen must be a loopback address, got %q", errUsage, *listen)
	}
	if *password == "" {
		*password = os.Getenv("HOTLINE_SIM_PASSWORD")
	}
	var sc sim.Scenario
	if *scenario != "" {
		f, err := os.Open(*scenario)
		if err != nil {
			return fmt.Errorf("open scenario: %w", err)
		}
		sc, err = sim.ParseScenario(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("scenario %s: %w", *scenario, err)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := sim.New(sim.Config{Username: *user, Password: *password, App: *app, Exten: *exten,
		SoundsDir: *sounds, RecordingsDir: *recordings, Logger: log})
	if err != nil {
		return fmt.Errorf("start sim: %w", err)
	}
	defer srv.Close()
	if err := srv.Start(*listen); err != nil {
		return fmt.Errorf("start sim: %w", err)
	}
	fmt.Fprintf(out, "simulated Asterisk 22 on %s: ARI %s/ari (user %s, app %s), control %s/sim\n",
		srv.Addr(), srv.URL(), *user, *app, srv.URL())
	if len(sc.Calls)+len(sc.Endpoints) > 0 {
		go func() {
			if _, err := srv.RunScenario(ctx, sc); err != nil && ctx.Err() == nil {
				log.Error("scenario", "err", err)
			}
		}()
	}
	<-ctx.Done()
	return nil
}

// runSimCall places one call through a running sim's control API.
func runSimCall(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("sim call", flag.ContinueOnError)
	fs.SetOutput(out)
	base := fs.String("sim", "http://127.0.0.1:8088", "base URL of the running sim")
	from := fs.String("from", "13800000001", "caller number")
	to := fs.String("to", "", "number dialled (default the hotline)")
	lang := fs.String("language", "", "channel language (en, zh)")
	digits := fs.String("digits", "", "keys to press, each after the current prompt ends (steps \"p D ...\")")
	steps := fs.String("steps", "", "caller steps in the trace rig's syntax (overrides -digits)")
	wait := fs.Duration("wait", 0, "wait up to this long for the call to end and print its outcome")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	st := *steps
	if st == "" && *digits != "" {
		var parts []string
		for _, d := range *digits {
			parts = append(parts, "p", string(d))
		}
		st = strings.Join(parts, " ")
	}
	body, _ := json.Marshal(sim.CallRequest{From: *from, To: *to, Language: *lang, Steps: st})
	client := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*base, "/")+"/sim/calls", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("place call: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("place call: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("place call: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	var info sim.CallInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return fmt.Errorf("place call: %w", err)
	}
	if *wait > 0 && !info.Ended {
		info, err = waitSimCall(ctx, client, *base, info.ChannelID, *wait)
		if err != nil {
			return err
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}

func waitSimCall(ctx context.Context, client *http.Client, base, id string, limit time.Duration) (sim.CallInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/sim/calls", nil)
		if err != nil {
			return sim.CallInfo{}, fmt.Errorf("poll calls: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return sim.CallInfo{}, fmt.Errorf("poll calls: %w", err)
		}
		var calls []sim.CallInfo
		err = json.NewDecoder(resp.Body).Decode(&calls)
		resp.Body.Close()
		if err != nil {
			return sim.CallInfo{}, fmt.Errorf("poll calls: %w", err)
		}
		for _, c := range calls {
			if c.ChannelID == id && c.Ended {
				return c, nil
			}
		}
		select {
		case <-ctx.Done():
			return sim.CallInfo{}, fmt.Errorf("wait for call %s: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}
