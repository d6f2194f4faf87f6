package config

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

// centralDoc is central's operator reference, relative to this package.
const centralDoc = "../../docs/CENTRAL.md"

// TestCentralDocListsEveryVariable: docs/CENTRAL.md's environment table
// names every variable LoadCentral reads, with its default.
func TestCentralDocListsEveryVariable(t *testing.T) {
	f, err := os.Open(centralDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]string{} // variable → default cell
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `RUSTGUARD_") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Errorf("%s: %q: want 3 cells (variable | default | meaning)", centralDoc, line)
			continue
		}
		rows[unquoteCell(cells[0])] = unquoteCell(cells[1])
	}
	d := reflect.ValueOf(DefaultCentral())
	for _, v := range centralVars() {
		def, ok := rows[v.name]
		if !ok {
			t.Errorf("%s does not list %s", centralDoc, v.name)
			continue
		}
		want := formatValue(d.FieldByIndex(v.index))
		switch {
		case want == "" && !strings.HasPrefix(def, "("):
			t.Errorf("%s: %s has no default, the table says %q", centralDoc, v.name, def)
		case want != "" && def != want:
			t.Errorf("%s: %s default is %q, the table says %q", centralDoc, v.name, want, def)
		}
		delete(rows, v.name)
	}
	for name := range rows {
		t.Errorf("%s lists %s, which central does not read", centralDoc, name)
	}
}
