package operator

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real Prometheus (built from its module as a Go tool, like Consul:
// tools/prometheus) scraping the test fleet, so each panel's query is
// evaluated the way Grafana would have Prometheus evaluate it.

const (
	// scrapeEvery is the test Prometheus's scrape interval: short, so a
	// rate over the dashboards' 1m window has samples within seconds.
	scrapeEvery = "1s"
	// minScrapes is how many scrapes of every target the checks wait for
	// (a rate needs two samples).
	minScrapes = 3
)

// prometheusBinary is RUSTGUARD_PROMETHEUS_BIN, or .tools/prometheus, or
// "" when neither exists.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("RUSTGUARD_PROMETHEUS_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), ".tools", "prometheus")
	}
	if _, err := os.Stat(bin); err != nil {
		return ""
	}
	return bin
}

// startPrometheus scrapes the fleet's edges (each with its region as a
// target label, honour_labels as deploy/grafana/dashboards/README.md
// asks) and central (with its admin token), and returns its URL.
func startPrometheus(t *testing.T, bin string, f *fleet) string {
	t.Helper()
	dir := t.TempDir()
	var edges strings.Builder
	for _, e := range f.edges {
		fmt.Fprintf(&edges, "      - targets: [%q]\n        labels: {region: %q}\n", e.admin, e.region)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: rustguard-edge
    honor_labels: true
    static_configs:
%[2]s  - job_name: rustguard-central
    authorization:
      credentials: %[3]q
    static_configs:
      - targets: [%[4]q]
`, scrapeEvery, edges.String(), adminToken, strings.TrimPrefix(f.centralURL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePorts(t, 1)[0]
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	p := start(t, "prometheus", cmd)
	u := "http://" + addr
	waitHTTP(t, p, u+"/-/ready", "", http.StatusOK)
	return u
}

// promQuery evaluates an instant query and returns the number of series
// with a value other than NaN (or 1 for a scalar) in its answer.
func promQuery(base, q string) (int, error) {
	code, body, err := httpGet(base+"/api/v1/query?query="+url.QueryEscape(q), "")
	if err != nil {
		return 0, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("%d %s", code, body)
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	if r.Data.ResultType == "scalar" || r.Data.ResultType == "string" {
		return 1, nil
	}
	var series []struct {
		Value [2]any `json:"value"`
	}
	if err := json.Unmarshal(r.Data.Result, &series); err != nil {
		return 0, err
	}
	// A series whose value is NaN (a quantile of no observations) is not
	// data a panel can show.
	n := 0
	for _, s := range series {
		if v, _ := s.Value[1].(string); v != "NaN" {
			n++
		}
	}
	return n, nil
}

// waitScraped waits until Prometheus has scraped every target at least
// scrapes times.
func waitScraped(t *testing.T, base string, targets, scrapes int) {
	t.Helper()
	q := fmt.Sprintf(`count(count_over_time(up[1m]) >= %d and up == 1)`, scrapes)
	waitFor(t, "Prometheus scraped every target", 60*time.Second, func() (bool, string) {
		code, body, err := httpGet(base+"/api/v1/query?query="+url.QueryEscape(q), "")
		if err != nil {
			return false, err.Error()
		}
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &r)
		return len(r.Data.Result) == 1 && r.Data.Result[0].Value[1] == fmt.Sprint(targets), fmt.Sprintf("%d %s", code, body)
	})
}

// refuseOnce connects to an edge from the banned address (the
// correlation ban covers 127.0.0.1), so the refusal counters move while
// Prometheus watches.
func refuseOnce(t *testing.T, e *edgeProc) {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Read(make([]byte, 1)) // the edge closes a banned address at accept
	_ = c.Close()
}

// waitPromData waits until q returns data in Prometheus.
func waitPromData(t *testing.T, base, q string) {
	t.Helper()
	waitFor(t, "Prometheus: "+q, 30*time.Second, func() (bool, string) {
		n, err := promQuery(base, q)
		if err != nil {
			return false, err.Error()
		}
		return n > 0, "no data"
	})
}
