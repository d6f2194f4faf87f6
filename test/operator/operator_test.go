package operator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestOperatorViewOfARunningFleet brings a small fleet up once, makes it
// see a cheater in two regions (so the edges count detections, central
// correlates them into a fleet ban and the edges receive it), and then
// checks what an operator looks at against it: every metric the
// dashboards query is one the edge or central exports, the API reads of
// the dashboards' JSON data source answer, and the operator page shows
// the fleet and the player in a real browser.
func TestOperatorViewOfARunningFleet(t *testing.T) {
	f := startFleet(t)
	eu, us := f.edges[0], f.edges[1]
	// With Prometheus built (tools/prometheus), it watches from before the
	// traffic, so the panels' rates see it.
	var prom string
	if bin := prometheusBinary(t); bin != "" {
		prom = startPrometheus(t, bin, f)
		// A rate needs a sample from before the traffic.
		waitScraped(t, prom, len(f.edges)+1, 1)
	}

	// The same player cheats through eu and us: two regions, two checks
	// that kick (above the correlation policy's ban_min_action).
	if !f.cheat(t, eu, "Cheater", "badpackets.invalid_pitch") {
		t.Fatal("eu did not kick the cheater")
	}
	if !f.cheat(t, us, "Cheater", "crash.move_non_finite") {
		t.Fatal("us did not kick the cheater")
	}
	waitFor(t, "central holds the cheater in both regions", 30*time.Second, func() (bool, string) {
		code, body, err := httpGet(f.centralURL+"/v1/players/cheater", adminToken)
		if err != nil {
			return false, err.Error()
		}
		var h struct{ Regions []string }
		_ = json.Unmarshal(body, &h)
		return code == http.StatusOK && len(h.Regions) == 2, fmt.Sprintf("%d %s", code, body)
	})
	// The correlation ban reaches both edges' tables.
	for _, e := range f.edges {
		waitFor(t, e.region+" holds the correlation ban", 30*time.Second, func() (bool, string) {
			fams, err := scrape("http://"+e.admin+"/metrics", "")
			if err != nil {
				return false, err.Error()
			}
			return sum(fams["rustguard_edge_bans"]) > 0, "no ban in the table"
		})
	}

	t.Run("dashboards query exported metrics", func(t *testing.T) {
		exported := map[string]string{}
		for _, src := range []struct{ url, token string }{
			{"http://" + eu.admin + "/metrics", ""}, {"http://" + us.admin + "/metrics", ""}, {f.centralURL + "/metrics", adminToken},
		} {
			fams, err := scrape(src.url, src.token)
			if err != nil {
				t.Fatal(err)
			}
			for name, mf := range fams {
				for _, n := range seriesNames(name, mf.GetType()) {
					exported[n] = src.url
				}
			}
		}
		for _, name := range sortedKeys(dashboardMetrics(t)) {
			if _, ok := exported[name]; !ok && !prometheusOwn[name] {
				t.Errorf("%s (%s) is not exported by the running edges or central", name, dashboardMetrics(t)[name])
			}
		}
	})

	t.Run("dashboards' JSON data source answers", func(t *testing.T) {
		for _, d := range loadDashboards(t) {
			for _, p := range d.allPanels() {
				for _, tg := range p.Targets {
					if tg.Datasource.Type != "yesoreyeram-infinity-datasource" {
						continue
					}
					q := url.Values{}
					for _, kv := range tg.URLOptions.Params {
						q.Set(kv.Key, kv.Value)
					}
					code, body, err := httpGet(f.centralURL+tg.URL+"?"+q.Encode(), adminToken)
					var doc map[string]json.RawMessage
					if err == nil {
						err = json.Unmarshal(body, &doc)
					}
					var rows []map[string]any
					if err == nil {
						err = json.Unmarshal(doc[tg.Root], &rows)
					}
					if err != nil || code != http.StatusOK || len(rows) == 0 {
						t.Errorf("%s panel %q: GET %s: %d %v %s; want 200 with rows under %q", d.file, p.Title, tg.URL, code, err, body, tg.Root)
						continue
					}
					for _, c := range tg.Columns {
						if _, ok := rows[0][c.Selector]; !ok {
							t.Errorf("%s panel %q: column %q is not in central's answer %v", d.file, p.Title, c.Selector, rows[0])
						}
					}
				}
			}
		}
	})

	t.Run("every panel's query returns data in Prometheus", func(t *testing.T) {
		if prom == "" {
			t.Skip("no Prometheus: make tools builds .tools/prometheus (or set RUSTGUARD_PROMETHEUS_BIN)")
		}
		for _, e := range f.edges {
			refuseOnce(t, e)
		}
		// Prometheus has seen the end of the traffic: both edges' ban
		// tables hold the correlation ban and both refused the banned
		// address.
		waitPromData(t, prom, fmt.Sprintf(`count(sum by (instance) (rustguard_edge_bans) > 0) == %d`, len(f.edges)))
		waitPromData(t, prom, fmt.Sprintf(`count(sum by (instance) (rustguard_edge_connections_rejected_total{reason="banned"}) > 0) == %d`, len(f.edges)))
		waitScraped(t, prom, len(f.edges)+1, minScrapes)
		for _, d := range loadDashboards(t) {
			for _, q := range d.queries() {
				n, err := promQuery(prom, q.expr)
				if err != nil {
					t.Errorf("%s: %q: %v", q.where, q.expr, err)
				} else if n == 0 {
					t.Errorf("%s: %q returns no data", q.where, q.expr)
				}
			}
		}
	})

	t.Run("operator page in Chromium", func(t *testing.T) { operatorPage(t, f) })
}

// prometheusOwn are series Prometheus makes itself for every target.
var prometheusOwn = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

// seriesNames are the series names a metric family appears under in
// PromQL: a histogram's _bucket, _sum and _count, a summary's _sum and
// _count besides its quantiles.
func seriesNames(name string, typ dto.MetricType) []string {
	switch typ {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{name + "_bucket", name + "_sum", name + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{name, name + "_sum", name + "_count"}
	}
	return []string{name}
}

// scrape reads a /metrics endpoint in Prometheus's text format.
func scrape(u, token string) (map[string]*dto.MetricFamily, error) {
	code, body, err := httpGet(u, token)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", u, code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(body))
}

// sum adds a family's gauge and counter values up.
func sum(mf *dto.MetricFamily) float64 {
	var s float64
	for _, m := range mf.GetMetric() {
		s += m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	return s
}
