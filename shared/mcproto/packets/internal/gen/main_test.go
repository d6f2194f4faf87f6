package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// dataDir is where test/e2e's npm install puts minecraft-data, relative to
// this folder (shared/mcproto/packets/internal/gen).
const dataDir = "../../../../../test/e2e/node_modules/minecraft-data/minecraft-data/data"

// committedFile is the generated file checked into the packets folder.
const committedFile = "../../tables_gen.go"

// needData skips when the npm packages are not installed. `make test`
// installs them first, so CI never skips.
func needData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, "dataPaths.json")); err != nil {
		t.Skipf("minecraft-data not installed at %s (run npm ci in test/e2e, or make test): %v", dataDir, err)
	}
}

// TestGeneratedFileUpToDate regenerates the tables into a temp file and
// compares them with the committed file byte for byte.
func TestGeneratedFileUpToDate(t *testing.T) {
	needData(t)
	out := filepath.Join(t.TempDir(), "tables_gen.go")
	if err := run(dataDir, out); err != nil {
		t.Fatalf("generate: %v", err)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(committedFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("%s is stale: run go generate in shared/mcproto/packets (fresh %d bytes, committed %d)",
			committedFile, len(fresh), len(committed))
	}
}

// TestEveryReleaseSupported checks that every release protocol that
// protocolVersions.json lists between 1.8 and packets.MaxProtocol has a
// table, with the same release names.
func TestEveryReleaseSupported(t *testing.T) {
	needData(t)
	entries, err := releases(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.protocol > packets.MaxProtocol {
			continue
		}
		n++
		tb := packets.Lookup(e.protocol)
		if tb == nil {
			t.Errorf("release protocol %d (%v) is not supported", e.protocol, e.releases)
			continue
		}
		if got := tb.Versions(); !slices.Equal(got, e.releases) {
			t.Errorf("protocol %d: versions %v, data lists %v", e.protocol, got, e.releases)
		}
	}
	if n != len(packets.Protocols()) {
		t.Errorf("%d release protocols in the data, %d supported", n, len(packets.Protocols()))
	}
}

// TestReleaseSelection pins the release filter on rows like the real file.
func TestReleaseSelection(t *testing.T) {
	dir := t.TempDir()
	common := filepath.Join(dir, "pc", "common")
	if err := os.MkdirAll(common, 0o755); err != nil {
		t.Fatal(err)
	}
	rows := `[
		{"minecraftVersion":"26.1-snapshot-1","version":1073742100,"usesNetty":true,"majorVersion":"26.1","releaseType":"snapshot"},
		{"minecraftVersion":"1.9.1","version":108,"usesNetty":true,"majorVersion":"1.9"},
		{"minecraftVersion":"1.9.1-pre3","version":107,"usesNetty":true,"majorVersion":"1.9"},
		{"minecraftVersion":"1.9","version":107,"usesNetty":true,"majorVersion":"1.9"},
		{"minecraftVersion":"15w40b","version":76,"usesNetty":true,"majorVersion":"1.9"},
		{"minecraftVersion":"1.8.9","version":47,"usesNetty":true,"majorVersion":"1.8"},
		{"minecraftVersion":"1.8","version":47,"usesNetty":true,"majorVersion":"1.8"},
		{"minecraftVersion":"1.7.10","version":5,"usesNetty":true,"majorVersion":"1.7"},
		{"minecraftVersion":"1.6.4","version":78,"usesNetty":false,"majorVersion":"1.6"}
	]`
	if err := os.WriteFile(filepath.Join(common, "protocolVersions.json"), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := releases(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		protocol int32
		releases []string
	}{
		{47, []string{"1.8", "1.8.9"}},
		{107, []string{"1.9"}},
		{108, []string{"1.9.1"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d protocols, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].protocol != w.protocol || !slices.Equal(got[i].releases, w.releases) {
			t.Errorf("entry %d: %d %v, want %d %v", i, got[i].protocol, got[i].releases, w.protocol, w.releases)
		}
	}
}
