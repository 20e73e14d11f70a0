package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

var metricName = regexp.MustCompile(`hotline_[a-z0-9_]+`)

// documentedMetrics are the metric names in the metrics table of docs/operations.md.
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| `hotline_") {
			names[metricName.FindString(line)] = true
		}
	}
	return names
}

// TestDashboardQueriesDocumentedMetrics: the example Grafana dashboard is valid JSON and
// every metric it queries is one the guide documents.
func TestDashboardQueriesDocumentedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/hotline-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	docs := documentedMetrics(t)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				queried++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !docs[base] {
					t.Errorf("panel %q queries %s, which docs/operations.md does not document", p.Title, m)
				}
			}
		}
	}
	if queried < 20 {
		t.Errorf("the dashboard queries %d metrics; it should show the whole controller", queried)
	}
}

// checkMetricsDocumented fails for every hotline_ metric a controller exports that the
// guide does not document.
func checkMetricsDocumented(t *testing.T, exposition string) {
	t.Helper()
	docs := documentedMetrics(t)
	for _, line := range strings.Split(exposition, "\n") {
		if name, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ = strings.Cut(name, " ")
			if strings.HasPrefix(name, "hotline_") && !docs[name] {
				t.Errorf("metric %s is exported but not documented in docs/operations.md", name)
			}
		}
	}
}
