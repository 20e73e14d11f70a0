package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// bom makes Excel read the file as UTF-8.
const bom = "\uFEFF"

// line is one row of the export: section, key, item (the key's name in the report's
// language), value, and for rates the two counts.
type line struct {
	section, key, item, value, num, den string
}

// lines lays the report out as the CSV export's rows, in the page's order.
func (r Report) lines(l Lang) []line {
	var out []line
	add := func(section, key, value string) {
		out = append(out, line{section: section, key: key, item: label(key, l), value: value})
	}
	n := strconv.Itoa
	rate := func(section, key string, x Ratio) {
		out = append(out, line{section: section, key: key, item: label(key, l), value: x.Percent(), num: n(x.Num), den: n(x.Den)})
	}
	add("summary", "received", n(r.Received))
	add("summary", "closed", n(r.ClosedInPeriod))
	add("summary", "loss_recovered", r.LossRecovered().String())
	add("summary", "overdue_total", n(r.OverdueTotal))
	for _, sec := range []struct {
		name string
		cs   []Count
	}{{"kind", r.ByKind}, {"channel", r.ByChannel}, {"class", r.ByClass}, {"region", r.ByRegion}} {
		for _, c := range sec.cs {
			add(sec.name, c.Key, n(c.N))
		}
	}
	add("calls", "inbound_calls", n(r.InboundCalls))
	add("calls", "offered", n(r.Offered))
	add("calls", "answered", n(r.Answered))
	add("calls", "answered_in_sl", n(r.AnsweredInSL))
	add("calls", "abandoned", n(r.Abandoned))
	add("calls", "service_level_limit", n(int(r.ServiceLevel/time.Second)))
	add("calls", "avg_answer_wait", n(int(r.AvgAnswerWait/time.Second)))
	rate("calls", "answer_rate", r.AnswerRate)
	rate("calls", "service_level", r.ServiceLevelR)
	rate("calls", "abandon_rate", r.AbandonRate)
	rate("handling", "closure_rate", r.ClosureRate)
	rate("handling", "on_time_rate", r.OnTimeClosureRate)
	for _, c := range r.Surveys {
		add("survey", c.Key, n(c.N))
	}
	rate("survey", "satisfaction", r.Satisfaction)
	for _, o := range r.Overdue {
		out = append(out, line{section: "overdue", key: o.Office, item: label(o.Office, l), value: n(o.N),
			num: o.OldestDue.In(r.Period.Start.Location()).Format(time.DateTime), den: strings.Join(o.Numbers, " ")})
	}
	for _, d := range r.Days {
		for _, f := range []struct {
			key string
			v   int
		}{{"received", d.Received}, {"offered", d.Offered}, {"answered", d.Answered}, {"abandoned", d.Abandoned}} {
			out = append(out, line{section: "daily", key: d.Date, item: label(f.key, l), value: n(f.v)})
		}
	}
	return out
}

// WriteCSV writes the report as CSV: UTF-8 with a byte order mark (for Excel), a header
// row in l, then one row per figure (section, key, item, value, numerator, denominator).
// For an overdue office the last two columns hold the oldest due time and the case numbers.
func WriteCSV(w io.Writer, r Report, l Lang) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // Excel
	head := []string{"header.section", "header.key", "header.item", "header.value", "header.numerator", "header.denominator"}
	for i, k := range head {
		head[i] = label(k, l)
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, x := range r.lines(l) {
		if err := cw.Write([]string{label("section."+x.section, l), x.key, x.item, x.value, x.num, x.den}); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
