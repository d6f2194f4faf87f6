package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// dataDir is where test/e2e's npm install puts minecraft-data, relative to
// this folder (edge/internal/world/blocks/internal/gen).
const dataDir = "../../../../../../test/e2e/node_modules/minecraft-data/minecraft-data/data"

// needData skips when the npm packages are not installed; `make test`
// installs them first, so CI never skips.
func needData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, "dataPaths.json")); err != nil {
		t.Skipf("minecraft-data not installed at %s (run npm ci in test/e2e, or make test): %v", dataDir, err)
	}
}

// TestGeneratedFilesUpToDate regenerates every file and compares them with
// the committed ones byte for byte.
func TestGeneratedFilesUpToDate(t *testing.T) {
	needData(t)
	files, err := generate(dataDir)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	for name, fresh := range files {
		committed, err := os.ReadFile(filepath.Join("../..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s is stale: run go generate in edge/internal/world/blocks (fresh %d bytes, committed %d)",
				name, len(fresh), len(committed))
		}
	}
}

func TestPropertyIndex(t *testing.T) {
	// oak_stairs: facing(4) half(2) shape(5) waterlogged(2); the 11th state
	// is facing=north half=bottom shape=straight waterlogged=false.
	var b block
	for _, p := range []struct {
		n string
		v int
	}{{"facing", 4}, {"half", 2}, {"shape", 5}, {"waterlogged", 2}} {
		b.States = append(b.States, struct {
			Name      string `json:"name"`
			Type      string `json:"type"`
			NumValues int    `json:"num_values"`
		}{Name: p.n, NumValues: p.v})
	}
	if got := propertyIndex(b, "waterlogged", 11); got != 1 {
		t.Errorf("waterlogged of state 11 = %d, want 1 (false)", got)
	}
	if got := propertyIndex(b, "half", 11); got != 1 {
		t.Errorf("half of state 11 = %d, want 1 (bottom)", got)
	}
	if got := propertyIndex(b, "missing", 11); got != -1 {
		t.Errorf("missing property = %d, want -1", got)
	}
}
