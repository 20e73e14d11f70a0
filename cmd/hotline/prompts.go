package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"hotline/ivr"
	"hotline/prompts"
)

// runPrompts generates the menu's development prompts (espeak-ng and sox) into an Asterisk
// sounds directory; files that are up to date or recorded by people are left alone.
func runPrompts(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("prompts", flag.ContinueOnError)
	menuFile := fs.String("menu", "", "menu file (YAML); empty: the default menu built in ("+ivr.DefaultFile+")")
	dir := fs.String("out", filepath.Join(".run", "sounds"), "sounds directory: files go to DIR/<language>/<prompt>.wav")
	force := fs.Bool("force", false, "also overwrite files this command did not generate (e.g. recordings by people)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	ps, err := menuPrompts(*menuFile)
	if err != nil {
		return err
	}
	synth, err := prompts.FindEspeak()
	if err != nil {
		return err
	}
	rep, err := prompts.Generate(ctx, ps, prompts.Options{Dir: *dir, Force: *force, Synth: synth})
	for _, f := range rep.Generated {
		fmt.Fprintf(out, "generated %s\n", filepath.Join(*dir, f))
	}
	for _, f := range rep.Kept {
		fmt.Fprintf(out, "kept      %s (not generated here; -force overwrites it)\n", filepath.Join(*dir, f))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "prompts: %d generated, %d up to date, %d kept, in %s\n", len(rep.Generated), len(rep.Current), len(rep.Kept), *dir)
	return nil
}

// menuPrompts lists the prompts of a menu file, or of the built-in default menu.
func menuPrompts(file string) ([]prompts.Prompt, error) {
	var (
		m   *ivr.Menu
		err error
	)
	if file == "" {
		m, err = ivr.Default()
	} else {
		var data []byte
		if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("read menu: %w", err)
		}
		m, err = ivr.Load(file, data)
	}
	if err != nil {
		return nil, fmt.Errorf("load menu:\n%w", err)
	}
	var ps []prompts.Prompt
	for _, p := range m.Prompts() {
		ps = append(ps, prompts.Prompt(p))
	}
	return append(ps, prompts.Digits()...), nil
}
