package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"hotline/audit"
	"hotline/cases"
	"hotline/escalation"
)

const rosterUsage = `hotline roster list [-at TIME]
hotline roster add -name N -phone P -from TIME -to TIME [-order N] [-active=false]
hotline roster update -id ID -name N -phone P -from TIME -to TIME [-order N] [-active=false]
hotline roster delete -id ID
TIME is RFC 3339, e.g. 2026-11-27T18:00:00+08:00`

// runRoster edits the on-duty roster of the emergency escalation chain; every change is
// in the audit log as cli:<os user>.
func runRoster(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w:\n%s", errUsage, rosterUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("roster "+sub, flag.ContinueOnError)
	path := configFlag(fs)
	var (
		id                        *int64
		name, phone, from, to, at *string
		order                     *int
		active                    *bool
	)
	switch sub {
	case "list":
		at = fs.String("at", "", "only the chain on duty at this time, in calling order")
	case "add", "update":
		if sub == "update" {
			id = fs.Int64("id", 0, "the entry to replace")
		}
		name = fs.String("name", "", "the officer's name")
		phone = fs.String("phone", "", "the officer's phone: digits, an optional leading +")
		from = fs.String("from", "", "start of the duty (RFC 3339)")
		to = fs.String("to", "", "end of the duty, exclusive (RFC 3339)")
		order = fs.Int("order", 0, "calling order: lower first")
		active = fs.Bool("active", true, "false keeps the entry without calling the officer")
	case "delete":
		id = fs.Int64("id", 0, "the entry to delete")
	default:
		return fmt.Errorf("%w: unknown roster command %q:\n%s", errUsage, sub, rosterUsage)
	}
	if err := parseFlags(fs, args); err != nil {
		return fmt.Errorf("%w\n%s", err, rosterUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q:\n%s", errUsage, fs.Args(), rosterUsage)
	}
	if id != nil && *id <= 0 {
		return fmt.Errorf("%w: -id is required:\n%s", errUsage, rosterUsage)
	}
	var e escalation.Entry
	if sub == "add" || sub == "update" {
		f, err := rosterTime("-from", *from)
		if err != nil {
			return err
		}
		t, err := rosterTime("-to", *to)
		if err != nil {
			return err
		}
		e = escalation.Entry{Name: *name, Phone: *phone, From: f, To: t, Order: *order, Active: *active}
		if id != nil {
			e.ID = escalation.EntryID(*id)
		}
		if err := e.Validate(); err != nil {
			return fmt.Errorf("roster entry: %w", err)
		}
	}
	var when time.Time
	if at != nil && *at != "" {
		var err error
		if when, err = rosterTime("-at", *at); err != nil {
			return err
		}
	}

	pool, err := openConfigPool(ctx, *path)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := cases.NewRosterStore(pool, audit.New(pool))
	switch sub {
	case "list":
		var es []escalation.Entry
		if when.IsZero() {
			es, err = store.List(ctx)
		} else {
			es, err = store.OnDuty(ctx, when)
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tORDER\tNAME\tPHONE\tFROM\tTO\tACTIVE")
		for _, e := range es {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%v\n", e.ID, e.Order, e.Name, e.Phone,
				e.From.Format(time.RFC3339), e.To.Format(time.RFC3339), e.Active)
		}
		return tw.Flush()
	case "add":
		e, err = store.Add(ctx, cliActor(), e)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "added roster entry %d (%s)\n", e.ID, e.Name)
	case "update":
		if _, err = store.Update(ctx, cliActor(), e); err != nil {
			return rosterNotFound(err, *id)
		}
		fmt.Fprintf(out, "updated roster entry %d\n", *id)
	case "delete":
		if err := store.Delete(ctx, cliActor(), escalation.EntryID(*id)); err != nil {
			return rosterNotFound(err, *id)
		}
		fmt.Fprintf(out, "deleted roster entry %d\n", *id)
	}
	return nil
}

func rosterTime(flagName, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q: want RFC 3339, e.g. 2026-11-27T18:00:00+08:00", errUsage, flagName, s)
	}
	return t, nil
}

func rosterNotFound(err error, id int64) error {
	if errors.Is(err, cases.ErrNotFound) {
		return errors.New("no roster entry " + strconv.FormatInt(id, 10))
	}
	return err
}
