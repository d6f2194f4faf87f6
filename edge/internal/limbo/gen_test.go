package limbo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestGeneratedDataIsCurrent runs gen/gen.js and checks that the committed
// world.bin and encoders.json are what it writes. world.bin is compared by
// content (every packet inflated), not byte for byte: zlib output may differ
// between zlib builds while the packets are the same.
func TestGeneratedDataIsCurrent(t *testing.T) {
	modules := e2eModules(t)
	dir := t.TempDir()
	out, fixtures := filepath.Join(dir, "world.bin"), filepath.Join(dir, "encoders.json")
	cmd := exec.Command("node", filepath.Join("gen", "gen.js"), "--modules", modules, "--out", out, "--fixtures", fixtures)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.js: %v\n%s", err, msg)
	}

	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseWorld(fresh)
	if err != nil {
		t.Fatalf("fresh world: %v", err)
	}
	want, err := parseWorld(worldData)
	if err != nil {
		t.Fatalf("committed world: %v", err)
	}
	const regen = "; run go generate ./edge/internal/limbo and commit data/ and testdata/"
	if got.threshold != want.threshold || !slices.Equal(got.protocols, want.protocols) {
		t.Fatalf("protocols %v (threshold %d), committed %v (threshold %d)%s", got.protocols, got.threshold, want.protocols, want.threshold, regen)
	}
	sameSeq := func(p int32, what string, a, b [][]byte, an, bn []string) {
		t.Helper()
		if !slices.Equal(an, bn) {
			t.Errorf("protocol %d %s: packets %v, committed %v%s", p, what, an, bn, regen)
			return
		}
		for i := range a {
			if !bytes.Equal(unframe(t, a[i], got.threshold), unframe(t, b[i], want.threshold)) {
				t.Errorf("protocol %d %s: %s differs%s", p, what, an[i], regen)
			}
		}
	}
	for _, p := range got.protocols {
		g, w := got.lookup(p), want.lookup(p)
		if g.version != w.version || len(g.variants) != len(w.variants) {
			t.Errorf("protocol %d: version %s with %d platforms, committed %s with %d%s", p, g.version, len(g.variants), w.version, len(w.variants), regen)
			continue
		}
		sameSeq(p, "configuration", g.configuration, w.configuration, g.configurationNames, w.configurationNames)
		sameSeq(p, "join", g.join, w.join, g.joinNames, w.joinNames)
		for i := range g.variants {
			if g.variants[i].platformY != w.variants[i].platformY {
				t.Errorf("protocol %d: platform %d at y=%d, committed %d%s", p, i, g.variants[i].platformY, w.variants[i].platformY, regen)
			}
			sameSeq(p, "chunk", g.variants[i].chunk, w.variants[i].chunk, g.chunkNames[i], w.chunkNames[i])
		}
	}

	freshFixtures, err := os.ReadFile(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("testdata", "encoders.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(freshFixtures, committed) {
		t.Errorf("testdata/encoders.json differs from a fresh run%s", regen)
	}
}
