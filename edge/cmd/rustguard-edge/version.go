package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionText is what "rustguard-edge version" prints: the release, the
// commit it was built from and the toolchain, one per line so scripts can
// pick a line.
func versionText() string {
	rev, when, modified, modVersion := buildVCS()
	v := version
	if v == "dev" && modVersion != "" && modVersion != "(devel)" {
		// go install …/rustguard-edge@vX.Y.Z records the module version.
		v = modVersion
	}
	if commit != "" {
		rev = commit
	}
	if rev == "" {
		rev = "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rustguard-edge %s\n", v)
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

// buildVCS reads what Go stamps into a binary: the commit when it was built
// by go build inside a git checkout of this module alone, the module version
// when it was built by go install with a version. Builds in the go.work
// workspace carry neither (the toolchain does not stamp workspace builds),
// which is why the Makefile passes the commit with -ldflags.
func buildVCS() (rev, when string, modified bool, modVersion string) {
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
