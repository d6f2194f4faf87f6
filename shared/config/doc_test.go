package config

import (
	"bufio"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// configDoc is the operator reference, relative to this package.
const configDoc = "../../docs/CONFIG.md"

// docRow is one settings row of the reference table:
// | `yaml.path` | `ENV_VAR` | `default` | meaning |
type docRow struct {
	env, def string
	line     int
}

func readDocTable(t *testing.T) map[string]docRow {
	t.Helper()
	f, err := os.Open(configDoc)
	if err != nil {
		t.Fatalf("open %s: %v", configDoc, err)
	}
	defer f.Close()
	rows := make(map[string]docRow)
	sc := bufio.NewScanner(f)
	inSettings := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			// Only the Settings section's table lists settings; other
			// sections have tables of their own (Consul keys, the API).
			inSettings = line == "## Settings"
		}
		if !inSettings || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("%s:%d: want 4 cells (key | env | default | meaning), got %d", configDoc, n, len(cells))
			continue
		}
		key := unquoteCell(cells[0])
		if _, dup := rows[key]; dup {
			t.Errorf("%s:%d: %s listed twice", configDoc, n, key)
		}
		rows[key] = docRow{env: unquoteCell(cells[1]), def: unquoteCell(cells[2]), line: n}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func unquoteCell(c string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(c), "`"), "`")
}

// docDefault renders a default the way the reference writes it.
func docDefault(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.String:
		return strconv.Quote(v.String())
	case v.Kind() == reflect.Slice && v.Len() == 0:
		return "[]"
	case v.Kind() == reflect.Map && v.Len() == 0:
		return "{}"
	default:
		return formatValue(v)
	}
}

// TestConfigDocCoversEveryField keeps docs/CONFIG.md from drifting: every
// setting of Edge has a row with its variable and current default, and
// every row names a real setting.
func TestConfigDocCoversEveryField(t *testing.T) {
	rows := readDocTable(t)
	def := DefaultEdge()
	known := make(map[string]bool)
	for _, f := range edgeFields() {
		known[f.path] = true
		row, ok := rows[f.path]
		if !ok {
			t.Errorf("%s: no row for %s (%s)", configDoc, f.path, f.env)
			continue
		}
		if row.env != f.env && !(f.env == "" && row.env == "—") { // — marks a file-only setting
			t.Errorf("%s:%d: %s has variable %s; the code says %s", configDoc, row.line, f.path, row.env, f.env)
		}
		if want := docDefault(fieldValue(&def, f)); row.def != want {
			t.Errorf("%s:%d: %s default is %s; the code says %s", configDoc, row.line, f.path, row.def, want)
		}
	}
	for key, row := range rows {
		if !known[key] {
			t.Errorf("%s:%d: row for %s, which is not a setting", configDoc, row.line, key)
		}
	}
}

// TestConfigDocExampleLoads: the example file in the reference is valid.
func TestConfigDocExampleLoads(t *testing.T) {
	example := docYAML(t, "Example file")
	e, prov, err := LoadEdge(envMap(map[string]string{EnvConfigFile: writeFile(t, example)}))
	if err != nil {
		t.Fatalf("the example in %s does not load: %v", configDoc, err)
	}
	if e.Region != "eu-central" || len(e.Proxy.TrustedProxies) != 2 || len(prov.Fields(SourceFile)) == 0 {
		t.Fatalf("the example loaded as %+v", e)
	}
}

// docYAML returns the first ```yaml block of a "## " section.
func docYAML(t *testing.T, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(docSection(t, title), "```yaml\n")
	if !ok {
		t.Fatalf("%s: section %q has no ```yaml example", configDoc, title)
	}
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("%s: section %q: unterminated ```yaml example", configDoc, title)
	}
	return example
}

// TestConfigDocAuthExampleLoads: the routes example of "Authentication"
// is valid and means what the text says (given the secret files it names).
func TestConfigDocAuthExampleLoads(t *testing.T) {
	e, _, err := LoadEdge(envMap(map[string]string{EnvConfigFile: writeFile(t, docYAML(t, "Authentication"))}))
	if err != nil {
		t.Fatalf("the example in %s does not load: %v", configDoc, err)
	}
	a := e.Auth
	if p := a.Default(); !p.Online() || p.Forwarding != ForwardVelocity || p.SecretFile == "" {
		t.Errorf("default route: %+v", p)
	}
	if p := a.Route(a.Routes["legacy.example.com"]); p.Online() {
		t.Errorf("legacy.example.com: %+v, want passthrough", p)
	}
	if p := a.Route(a.Routes["minigames.example.com"]); !p.Online() || p.Forwarding != ForwardBungeeGuard || p.SecretFile != "/etc/rustguard/bungeeguard.token" {
		t.Errorf("minigames.example.com: %+v", p)
	}
}

// docSection returns the text of a "## " section of the reference.
func docSection(t *testing.T, title string) string {
	t.Helper()
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", configDoc, title)
	}
	section, _, _ := strings.Cut(rest, "\n## ")
	return section
}

// TestConfigDocListsLiveFields: the reference's list of the settings an
// edge applies live from the fleet document is the code's.
func TestConfigDocListsLiveFields(t *testing.T) {
	section := docSection(t, "Fleet configuration")
	_, rest, ok := strings.Cut(section, "<!-- fleet-live:begin -->")
	list, _, ok2 := strings.Cut(rest, "<!-- fleet-live:end -->")
	if !ok || !ok2 {
		t.Fatalf("%s: the fleet-live markers are missing", configDoc)
	}
	var got []string
	for _, item := range strings.Split(strings.TrimSpace(list), ",") {
		got = append(got, unquoteCell(item))
	}
	want := LiveFields()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s lists the live settings\n  %v\nthe code has\n  %v", configDoc, got, want)
	}
	for _, f := range LocalFields() {
		if !strings.Contains(section, "`"+f+"`") {
			t.Errorf("%s: the fleet configuration section does not name the per-edge setting %s", configDoc, f)
		}
	}
}

// TestConfigDocFleetExampleIsValid: the example document in the reference
// is a valid fleet document.
func TestConfigDocFleetExampleIsValid(t *testing.T) {
	_, rest, ok := strings.Cut(docSection(t, "Fleet configuration"), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("%s: the fleet configuration section has no ```json example", configDoc)
	}
	f, err := ParseFleet([]byte(example))
	if err != nil {
		t.Fatalf("the example fleet document does not validate: %v", err)
	}
	if len(f.Regions()) != 1 || f.Correlation.Window.D() != 10*time.Minute {
		t.Fatalf("the example parsed as %+v", f)
	}
}
