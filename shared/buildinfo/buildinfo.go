// Package buildinfo says what a RustGuard binary is: the release, the
// commit it was built from and the Go toolchain, as both binaries'
// `version` commands print it. Data enters through the values the build
// stamps (-ldflags -X in the Makefile, or Go's own build info) and leaves
// as text.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Text is what "<program> version" prints: the release, the commit and the
// toolchain, one per line so scripts can pick a line:
//
//	rustguard-edge v1.2.0
//	commit: 0123abcd… 2026-12-07T10:00:00Z
//	go: go1.26.7 linux/amd64
//
// version and commit are what the build passed with -ldflags ("dev" and ""
// when it passed nothing); what Go stamped into the binary fills the gaps.
func Text(program, version, commit string) string {
	rev, when, modified, modVersion := vcs()
	v := version
	if (v == "" || v == "dev") && modVersion != "" && modVersion != "(devel)" {
		// go install …@vX.Y.Z records the module version.
		v = modVersion
	}
	if v == "" {
		v = "dev"
	}
	if commit != "" {
		rev = commit
	}
	if rev == "" {
		rev = "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", program, v)
	fmt.Fprintf(&b, "commit: %s", rev)
	if modified {
		b.WriteString(" (modified)")
	}
	if when != "" {
		fmt.Fprintf(&b, " %s", when)
	}
	fmt.Fprintf(&b, "\ngo: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// vcs reads what Go stamps into a binary: the commit when it was built by
// go build inside a git checkout of one module, the module version when it
// was built by go install with a version. Builds in the go.work workspace
// carry neither (the toolchain does not stamp workspace builds), which is
// why the Makefile passes the commit with -ldflags.
func vcs() (rev, when string, modified bool, modVersion string) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", "", false, ""
	}
	modVersion = info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return rev, when, modified, modVersion
}
