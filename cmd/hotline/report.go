package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"hotline/audit"
	"hotline/config"
	"hotline/reports"
)

const reportUsage = `hotline report daily --date 2026-11-27 [--format csv|html] [--lang zh|en] [--sl DURATION] [--out FILE]
hotline report monthly --month 2026-11 [--format csv|html] [--lang zh|en] [--sl DURATION] [--out FILE]`

func loadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("cases.time_zone: %w", err)
	}
	return loc, nil
}

// runReport writes a situation report to stdout or a file. The read is audited as
// cli:<os user>, as a read from the desk is.
func runReport(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w:\n%s", errUsage, reportUsage)
	}
	kind, args := reports.PeriodKind(args[0]), args[1:]
	fs := flag.NewFlagSet("report "+string(kind), flag.ContinueOnError)
	path := configFlag(fs)
	var when *string
	switch kind {
	case reports.Daily:
		when = fs.String("date", time.Now().Format(time.DateOnly), "the day, YYYY-MM-DD, in the centre's time zone")
	case reports.Monthly:
		when = fs.String("month", time.Now().Format("2006-01"), "the month, YYYY-MM")
	default:
		return fmt.Errorf("%w: unknown report %q:\n%s", errUsage, kind, reportUsage)
	}
	format := fs.String("format", "csv", "csv (UTF-8 with BOM, for Excel) or html (printable, with charts)")
	langFlag := fs.String("lang", "zh", "zh or en")
	sl := fs.Duration("sl", 0, "service level threshold (default: reports.service_level of the configuration)")
	outFile := fs.String("out", "", "write to this file instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return fmt.Errorf("%w\n%s", err, reportUsage)
	}
	if *format != "csv" && *format != "html" {
		return fmt.Errorf("%w: --format %q: want csv or html", errUsage, *format)
	}
	lang, err := reports.ParseLang(*langFlag)
	if err != nil {
		return fmt.Errorf("%w: --%v", errUsage, err)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	loc, err := loadZone(cfg.Cases.TimeZone)
	if err != nil {
		return err
	}
	var p reports.Period
	if kind == reports.Daily {
		p, err = reports.Day(*when, loc)
	} else {
		p, err = reports.Month(*when, loc)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	pool, err := openPool(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := audit.New(pool).Append(ctx, audit.Record{Actor: cliActor(), Action: reports.ReportRead, Target: reports.Target(p),
		Detail: map[string]any{"format": *format, "lang": string(lang)}}); err != nil {
		return err
	}
	now := time.Now()
	if *sl <= 0 {
		*sl = cfg.Reports.ServiceLevel
	}
	rep, err := reports.Make(ctx, pool, p, now, reports.Options{ServiceLevel: *sl})
	if err != nil {
		return err
	}
	w := out
	if *outFile != "" {
		f, err := os.Create(*outFile)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	if *format == "csv" {
		err = reports.WriteCSV(bw, rep, lang)
	} else {
		err = reports.WriteHTML(bw, rep, lang, now)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *outFile != "" {
		return f.Close()
	}
	return nil
}
