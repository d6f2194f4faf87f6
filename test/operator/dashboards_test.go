package operator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Where the dashboards and their provisioning live, from the repository
// root.
const (
	dashboardsDir   = "deploy/grafana/dashboards"
	grafanaDefaults = "ansible/roles/grafana/defaults/main.yml"
	grafanaTemplate = "ansible/roles/grafana/templates/datasources.yaml.j2"
)

// dashboard is the part of Grafana's dashboard model the tests read.
type dashboard struct {
	file       string
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string     `json:"name"`
			Datasource datasource `json:"datasource"`
			Query      struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int        `json:"id"`
	Type       string     `json:"type"`
	Title      string     `json:"title"`
	Datasource datasource `json:"datasource"`
	Targets    []target   `json:"targets"`
	Panels     []panel    `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string     `json:"refId"`
	Datasource datasource `json:"datasource"`
	// Prometheus.
	Expr string `json:"expr"`
	// Infinity (central's JSON API).
	Source     string `json:"source"`
	URL        string `json:"url"`
	Root       string `json:"root_selector"`
	URLOptions struct {
		Params []struct{ Key, Value string } `json:"params"`
	} `json:"url_options"`
	Columns []struct {
		Selector string `json:"selector"`
	} `json:"columns"`
}

// query is one PromQL query of a dashboard, with where it is.
type query struct {
	where, expr string
}

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test's directory")
		}
		dir = parent
	}
}

// loadDashboards parses every *.json in the dashboards directory.
func loadDashboards(t testing.TB) []dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), dashboardsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no dashboards in %s", dashboardsDir)
	}
	var out []dashboard
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: not valid JSON for a dashboard: %v", filepath.Base(f), err)
		}
		if !json.Valid(raw) {
			t.Fatalf("%s: not valid JSON", filepath.Base(f))
		}
		d.file = filepath.Base(f)
		out = append(out, d)
	}
	return out
}

// allPanels flattens rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// grafanaVars stands in for what Grafana substitutes before it sends a
// query: the rate interval and the region variable (regex, multi-value).
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "1m", "${__rate_interval}", "1m",
	"$__interval", "1m", "$__range", "1h",
	"${region}", ".*", "$region", ".*",
)

// queries lists every PromQL query: panel targets and template variables
// (label_values(...) is Grafana's, so only its selector is checked).
func (d dashboard) queries() []query {
	var out []query
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				out = append(out, query{fmt.Sprintf("%s panel %d %q target %s", d.file, p.ID, p.Title, tg.RefID), grafanaVars.Replace(tg.Expr)})
			}
		}
	}
	for _, v := range d.Templating.List {
		if sel, ok := strings.CutPrefix(v.Query.Query, "label_values("); ok {
			sel, _, _ = strings.Cut(sel, ",")
			out = append(out, query{fmt.Sprintf("%s variable %s", d.file, v.Name), sel})
		}
	}
	return out
}

// promQL is Prometheus's own parser, as a Prometheus server configures
// it by default.
var promQL = parser.NewParser(parser.Options{})

// metricNames parses expr and returns the metric names it selects.
func metricNames(expr string) ([]string, error) {
	e, err := promQL.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			err = fmt.Errorf("a selector without a metric name: %s", vs)
			return err
		}
		names = append(names, name)
		return nil
	})
	return names, err
}

// provisionedUIDs reads the data source uids the Ansible grafana role
// provisions: each `'uid': <var>` of the template, resolved through the
// role's defaults.
func provisionedUIDs(t testing.TB) map[string]string {
	t.Helper()
	root := repoRoot(t)
	tmpl, err := os.ReadFile(filepath.Join(root, grafanaTemplate))
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := os.ReadFile(filepath.Join(root, grafanaDefaults))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(defaults), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, " ") && !strings.HasPrefix(k, "#") {
			vars[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	entry := regexp.MustCompile(`'uid': (\w+),\s*'type': '([^']+)'`)
	out := map[string]string{} // uid → type
	for _, m := range entry.FindAllStringSubmatch(string(tmpl), -1) {
		uid, ok := vars[m[1]]
		if !ok || uid == "" {
			t.Fatalf("%s: data source uid %s has no default in %s", grafanaTemplate, m[1], grafanaDefaults)
		}
		out[uid] = m[2]
	}
	if len(out) == 0 {
		t.Fatalf("%s provisions no data source with a uid", grafanaTemplate)
	}
	return out
}

// TestDashboardsAreValid: every dashboard parses, has a unique uid,
// refers only to data sources the grafana role provisions (with the type
// provisioned), and every PromQL query parses with Prometheus's parser
// and names its metrics.
func TestDashboardsAreValid(t *testing.T) {
	uids := provisionedUIDs(t)
	seen := map[string]string{}
	for _, d := range loadDashboards(t) {
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: a dashboard needs a uid and a title", d.file)
		}
		if other, dup := seen[d.UID]; dup {
			t.Errorf("%s and %s share the uid %q", d.file, other, d.UID)
		}
		seen[d.UID] = d.file
		check := func(where string, ds datasource) {
			typ, ok := uids[ds.UID]
			switch {
			case !ok:
				t.Errorf("%s: data source uid %q is not provisioned (%s)", where, ds.UID, grafanaTemplate)
			case ds.Type != typ:
				t.Errorf("%s: data source %q has type %q, provisioned as %q", where, ds.UID, ds.Type, typ)
			}
		}
		for _, v := range d.Templating.List {
			check(d.file+" variable "+v.Name, v.Datasource)
		}
		n := 0
		for _, p := range d.allPanels() {
			if p.Type == "row" {
				continue
			}
			where := fmt.Sprintf("%s panel %d %q", d.file, p.ID, p.Title)
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			check(where, p.Datasource)
			for _, tg := range p.Targets {
				check(where+" target "+tg.RefID, tg.Datasource)
				switch tg.Datasource.Type {
				case "prometheus":
					if tg.Expr == "" {
						t.Errorf("%s target %s: no expr", where, tg.RefID)
					}
				case "yesoreyeram-infinity-datasource":
					if tg.Source != "url" || !strings.HasPrefix(tg.URL, "/v1/") || tg.Root == "" {
						t.Errorf("%s target %s: want a url source reading a /v1 path of central's API with a root selector, got %+v", where, tg.RefID, tg)
					}
				}
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no panel has a query", d.file)
		}
		for _, q := range d.queries() {
			if _, err := metricNames(q.expr); err != nil {
				t.Errorf("%s: %q does not parse: %v", q.where, q.expr, err)
			}
		}
	}
}

// dashboardMetrics is every metric name the dashboards query, with one
// place each is used.
func dashboardMetrics(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range loadDashboards(t) {
		for _, q := range d.queries() {
			names, err := metricNames(q.expr)
			if err != nil {
				t.Fatalf("%s: %v", q.where, err)
			}
			for _, n := range names {
				if _, ok := out[n]; !ok {
					out[n] = q.where
				}
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
