package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	out := Text("rustguard-central", "v1.2.3", "0123456789abcdef")
	want := "rustguard-central v1.2.3\ncommit: 0123456789abcdef"
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got %q, want it to start with %q", out, want)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || lines[2] != "go: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("want three lines ending with the toolchain, got %q", out)
	}
	// A test binary has no stamped commit: the line still says so.
	if out := Text("x", "", ""); !strings.HasPrefix(out, "x dev\ncommit: ") {
		t.Fatalf("unstamped: %q", out)
	}
}
