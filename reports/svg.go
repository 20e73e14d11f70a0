package reports

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// Charts are drawn on the server as inline SVG: the page needs no script, prints as it
// shows, and opens from a saved file.

// barChart draws one horizontal bar per count, longest = max.
func barChart(title string, counts []Count, l Lang) template.HTML {
	const (
		labelW = 190
		barW   = 330
		rowH   = 22
		width  = labelW + barW + 60
	)
	maxN := 0
	for _, c := range counts {
		maxN = max(maxN, c.N)
	}
	h := rowH*len(counts) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(title), width, h, width, h)
	for i, c := range counts {
		y := 5 + i*rowH
		w := 0
		if maxN > 0 {
			w = c.N * barW / maxN
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="lbl">%s</text>`, labelW-6, y+15, html.EscapeString(label(c.Key, l)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="bar"/>`, labelW, y+3, w, rowH-6)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="val">%d</text>`, labelW+w+4, y+15, c.N)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text is escaped above
}

// rateChart draws each rate as a bar out of 100%.
func rateChart(title string, keys []string, rates []Ratio, l Lang) template.HTML {
	const (
		labelW = 150
		barW   = 300
		rowH   = 24
		width  = labelW + barW + 80
	)
	h := rowH*len(keys) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(title), width, h, width, h)
	for i, k := range keys {
		y := 5 + i*rowH
		w := int(rates[i].Fraction()*barW + 0.5)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="lbl">%s</text>`, labelW-6, y+16, html.EscapeString(label(k, l)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="track"/>`, labelW, y+4, barW, rowH-8)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="bar"/>`, labelW, y+4, w, rowH-8)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="val">%s</text>`, labelW+barW+4, y+16, html.EscapeString(rates[i].Percent()))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text is escaped above
}

// dailyChart draws the days of a month: received cases, offered, answered and abandoned
// calls side by side.
func dailyChart(days []DayFigures, l Lang) template.HTML {
	const (
		left   = 36
		plotH  = 160
		top    = 10
		groupW = 22
	)
	maxN := 1
	for _, d := range days {
		maxN = max(maxN, d.Received, d.Offered, d.Answered, d.Abandoned)
	}
	width := left + groupW*len(days) + 10
	h := top + plotH + 60
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(label("chart.daily", l)), width, h, width, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, top+plotH, width-5, top+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="val">%d</text>`, left-4, top+8, maxN)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="val">0</text>`, left-4, top+plotH)
	series := []string{"s1", "s2", "s3", "s4"}
	for i, d := range days {
		x := left + i*groupW + 2
		for j, v := range []int{d.Received, d.Offered, d.Answered, d.Abandoned} {
			bh := v * plotH / maxN
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="4" height="%d" class="%s"><title>%s %s: %d</title></rect>`,
				x+j*5, top+plotH-bh, bh, series[j], d.Date, html.EscapeString(label([]string{"legend.received", "legend.offered", "legend.answered", "legend.abandoned"}[j], l)), v)
		}
		if i%5 == 0 || i == len(days)-1 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="val">%s</text>`, x, top+plotH+14, d.Date[8:])
		}
	}
	for j, k := range []string{"legend.received", "legend.offered", "legend.answered", "legend.abandoned"} {
		x := left + j*110
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" class="%s"/><text x="%d" y="%d" class="lbl">%s</text>`,
			x, top+plotH+30, series[j], x+14, top+plotH+39, html.EscapeString(label(k, l)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text is escaped above
}
