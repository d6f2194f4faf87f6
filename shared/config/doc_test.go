package config

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
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
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `") {
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
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\n")
	if !ok {
		t.Fatalf("%s has no ```yaml example", configDoc)
	}
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("%s: unterminated ```yaml example", configDoc)
	}
	e, prov, err := LoadEdge(envMap(map[string]string{EnvConfigFile: writeFile(t, example)}))
	if err != nil {
		t.Fatalf("the example in %s does not load: %v", configDoc, err)
	}
	if e.Region != "eu-central" || len(e.Proxy.TrustedProxies) != 2 || len(prov.Fields(SourceFile)) == 0 {
		t.Fatalf("the example loaded as %+v", e)
	}
}
