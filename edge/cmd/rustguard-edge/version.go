package main

import "github.com/rustguard/rustguard/shared/buildinfo"

// versionText is what "rustguard-edge version" prints: the release, the
// commit it was built from and the toolchain (shared/buildinfo, the same
// lines rustguard-central prints).
func versionText() string { return buildinfo.Text("rustguard-edge", version, commit) }
