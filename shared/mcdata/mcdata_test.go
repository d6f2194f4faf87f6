package mcdata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakePackage lays out <root>/package.json and <root>/minecraft-data/data
// as the npm package does, and returns the data folder.
func fakePackage(t *testing.T, packageJSON string, licence string) string {
	t.Helper()
	root := t.TempDir()
	data := filepath.Join(root, "minecraft-data", "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "package.json"), []byte(packageJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if licence != "" {
		if err := os.WriteFile(filepath.Join(root, "LICENSE"), []byte(licence), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func TestOpen(t *testing.T) {
	t.Run("no licence file: the MIT text", func(t *testing.T) {
		pkg, lic, err := Open(fakePackage(t, `{"name":"minecraft-data","version":"3.1.0","license":"MIT"}`, ""))
		if err != nil {
			t.Fatal(err)
		}
		if pkg.Version != "3.1.0" || lic != MITText {
			t.Errorf("got %+v and a licence of %d bytes, want version 3.1.0 and MITText", pkg, len(lic))
		}
	})
	t.Run("a shipped licence file wins", func(t *testing.T) {
		_, lic, err := Open(fakePackage(t, `{"name":"minecraft-data","version":"3.1.0","license":"MIT"}`, "shipped text"))
		if err != nil || lic != "shipped text" {
			t.Errorf("licence %q, err %v; want the shipped file", lic, err)
		}
	})
	for name, js := range map[string]string{
		"another package": `{"name":"minecraft-data-fork","version":"1.0.0","license":"MIT"}`,
		"another licence": `{"name":"minecraft-data","version":"9.0.0","license":"GPL-3.0"}`,
	} {
		t.Run("refused: "+name, func(t *testing.T) {
			_, _, err := Open(fakePackage(t, js, ""))
			if err == nil || !strings.Contains(err.Error(), "check the licence") {
				t.Errorf("err %v, want a refusal asking to check the licence", err)
			}
		})
	}
	t.Run("bad JSON names the file", func(t *testing.T) {
		_, _, err := Open(fakePackage(t, `{`, ""))
		if err == nil || !strings.Contains(err.Error(), "package.json") {
			t.Errorf("err %v, want one naming package.json", err)
		}
	})
}
