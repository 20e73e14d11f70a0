package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"hotline/audit"
	"hotline/cases"
	"hotline/config"
)

func init() {
	commands["office"] = command{runOffice, "handling offices cases are handed to: office list | add --code C ... | disable --code C"}
}

const officeUsage = `hotline office list
hotline office add --code gs-lanzhou --name-zh 兰州市市场监管局 --name-en "Lanzhou market regulation" --regions 620100[,620200...] [--centre]
hotline office disable --code gs-lanzhou`

// Audit actions of the office directory.
const (
	officeAdded    audit.Action = "office.added"
	officeDisabled audit.Action = "office.disabled"
)

// runOffice lists and changes the directory of handling offices, audited as cli:<os user>.
func runOffice(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w:\n%s", errUsage, officeUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("office "+sub, flag.ContinueOnError)
	path := configFlag(fs)
	var (
		code, nameZH, nameEN, regions *string
		centre                        *bool
	)
	switch sub {
	case "list":
	case "add":
		nameZH = fs.String("name-zh", "", "the office's name in Chinese (required)")
		nameEN = fs.String("name-en", "", "the office's name in English (required)")
		regions = fs.String("regions", "", "GB/T 2260 codes it covers, comma-separated: 620100 covers the city and its counties")
		centre = fs.Bool("centre", false, "the provincial centre, which keeps the cases no office covers")
		fallthrough
	case "disable":
		code = fs.String("code", "", "the office's code, e.g. gs-lanzhou (required)")
	default:
		return fmt.Errorf("%w: unknown office command %q:\n%s", errUsage, sub, officeUsage)
	}
	if err := parseFlags(fs, args); err != nil {
		return fmt.Errorf("%w\n%s", err, officeUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q\n%s", errUsage, fs.Args(), officeUsage)
	}
	if code != nil && *code == "" {
		return fmt.Errorf("%w: --code is required\n%s", errUsage, officeUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	loc, err := loadZone(cfg.Cases.TimeZone)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := cases.NewStore(pool, cfg.Cases.RegionCode, loc)
	al := audit.New(pool)
	switch sub {
	case "list":
		offices, err := store.Offices(ctx)
		if err != nil {
			return err
		}
		return writeOffices(out, offices)
	case "add":
		o := cases.Office{Code: *code, NameZH: *nameZH, NameEN: *nameEN, Centre: *centre}
		for _, r := range strings.Split(*regions, ",") {
			if r = strings.TrimSpace(r); r != "" {
				o.Regions = append(o.Regions, r)
			}
		}
		if err := store.AddOffice(ctx, o); err != nil {
			return err
		}
		if _, err := al.Append(ctx, audit.Record{Actor: cliActor(), Action: officeAdded, Target: "office:" + o.Code,
			Detail: map[string]any{"regions": o.Regions, "centre": o.Centre}}); err != nil {
			return fmt.Errorf("office %s added, but not audited: %w", o.Code, err)
		}
		fmt.Fprintf(out, "office %s added: %s\n", o.Code, strings.Join(o.Regions, ","))
	case "disable":
		if err := store.DisableOffice(ctx, *code); err != nil {
			return err
		}
		if _, err := al.Append(ctx, audit.Record{Actor: cliActor(), Action: officeDisabled, Target: "office:" + *code}); err != nil {
			return fmt.Errorf("office %s disabled, but not audited: %w", *code, err)
		}
		fmt.Fprintf(out, "office %s disabled: new cases of its regions go to the next office up\n", *code)
	}
	return nil
}

// writeOffices prints the directory as a table.
func writeOffices(out io.Writer, offices []cases.Office) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tACTIVE\tREGIONS\tNAME\tNAME (EN)\tNOTE")
	for _, o := range offices {
		var notes []string
		if o.Centre {
			notes = append(notes, "provincial centre")
		}
		if o.Example {
			notes = append(notes, "example data")
		}
		active := "yes"
		if !o.Active {
			active = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Code, active, strings.Join(o.Regions, ","), o.NameZH, o.NameEN, strings.Join(notes, ", "))
	}
	return tw.Flush()
}
