package reports

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed web/report.html
var webFiles embed.FS

var pageTemplate = template.Must(template.ParseFS(webFiles, "web/report.html"))

type pageRate struct {
	Name string
	R    Ratio
}

type pageOverdue struct {
	Office, Oldest, Numbers string
	N                       int
}

type page struct {
	Lang, Title, AsOf, Generated string
	CSV, Other, OtherLang        string
	SLSeconds, AvgWait           string
	L                            map[string]string
	R                            Report
	Rates                        []pageRate
	Overdue                      []pageOverdue
	Defs                         []string

	RateChart, KindChart, ChannelChart, ClassChart, RegionChart, DailyChart, SurveyChart template.HTML
}

// WriteHTML writes the report as a printable HTML page in l, its charts as inline SVG.
// generated is when the page was made.
func WriteHTML(w io.Writer, r Report, l Lang, generated time.Time) error {
	loc := r.Period.Start.Location()
	p := page{Lang: string(l), Title: label("title."+string(r.Period.Kind), l), R: r,
		AsOf: r.AsOf.In(loc).Format("2006-01-02 15:04"), Generated: generated.In(loc).Format("2006-01-02 15:04"),
		SLSeconds: strconv.Itoa(int(r.ServiceLevel/time.Second)) + "s", AvgWait: strconv.Itoa(int(r.AvgAnswerWait / time.Second)),
		L: map[string]string{}}
	for k := range labels {
		p.L[strings.ReplaceAll(k, ".", "_")] = label(k, l)
	}
	param := "date"
	if r.Period.Kind == Monthly {
		param = "month"
	}
	other := English
	p.OtherLang = "English"
	if l == English {
		other, p.OtherLang = Chinese, "中文"
	}
	q := url.Values{param: {r.Period.Label}, "lang": {string(l)}, "format": {"csv"}}
	p.CSV = string(r.Period.Kind) + "?" + q.Encode()
	p.Other = string(r.Period.Kind) + "?" + url.Values{param: {r.Period.Label}, "lang": {string(other)}}.Encode()

	rateKeys := []string{"answer_rate", "service_level", "abandon_rate", "closure_rate", "on_time_rate", "satisfaction"}
	rates := []Ratio{r.AnswerRate, r.ServiceLevelR, r.AbandonRate, r.ClosureRate, r.OnTimeClosureRate, r.Satisfaction}
	for i, k := range rateKeys {
		p.Rates = append(p.Rates, pageRate{Name: label(k, l), R: rates[i]})
	}
	p.RateChart = rateChart(label("rate", l), rateKeys, rates, l)
	p.KindChart = barChart(label("section.kind", l), r.ByKind, l)
	p.ChannelChart = barChart(label("section.channel", l), r.ByChannel, l)
	p.ClassChart = barChart(label("section.class", l), r.ByClass, l)
	p.RegionChart = barChart(label("section.region", l), r.ByRegion, l)
	p.SurveyChart = barChart(label("section.survey", l), r.Surveys, l)
	if len(r.Days) > 0 {
		p.DailyChart = dailyChart(r.Days, l)
	}
	for _, o := range r.Overdue {
		p.Overdue = append(p.Overdue, pageOverdue{Office: label(o.Office, l), N: o.N,
			Oldest: o.OldestDue.In(loc).Format("2006-01-02 15:04"), Numbers: strings.Join(o.Numbers, ", ")})
	}
	for _, d := range definitions {
		p.Defs = append(p.Defs, d.in(l))
	}
	if err := pageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("write report page: %w", err)
	}
	return nil
}
