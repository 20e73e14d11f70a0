// Command hotline is the 12315 hotline controller. main only wires: each subcommand lives in
// its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

type command struct {
	run     func(ctx context.Context, out io.Writer, args []string) error
	summary string
}

var commands = map[string]command{
	"serve":   {runServe, "run the controller (HTTP API, health, metrics)"},
	"demo":    {runDemo, "the demo: controller, embedded simulated PBX and simulated callers"},
	"migrate": {runMigrate, "apply pending database migrations"},
	"agent":   {runAgent, "manage agent, supervisor and admin accounts: agent add|passwd|disable|enable|list"},
	"config":  {runConfig, "config check FILE: validate a configuration file"},
	"roster":  {runRoster, "edit the on-duty roster of the emergency escalation: roster list|add|update|delete"},
	"prompts": {runPrompts, "generate the IVR's development prompts (espeak-ng, sox) into a sounds directory"},
	"sim":     {runSim, "run the simulated Asterisk on loopback (sim call: place a call)"},
	"version": {func(_ context.Context, out io.Writer, args []string) error { return runVersion(out, args) }, "print the version"},
}

// errUsage marks a wrong command line; it exits 2.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hotline COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		if os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
			usage(os.Stdout)
			return
		}
		fmt.Fprintf(os.Stderr, "hotline: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Stdout, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "hotline %s: %v\n", os.Args[1], err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
