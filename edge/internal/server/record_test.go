package server

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestRecordTotalCapIsWired: detection.record_total_max_bytes reaches the
// recorders. Recordings a previous run left over the cap are deleted, oldest
// first, when the edge starts, and the directory's size is on /metrics.
func TestRecordTotalCapIsWired(t *testing.T) {
	b := startBackend(t, 256, false)
	cfg := testConfig(b.addr())
	cfg.Detection.Enabled = true
	dir := t.TempDir()
	cfg.Detection.RecordDir = dir
	cfg.Detection.RecordMaxBytes = 64 << 10
	cfg.Detection.RecordTotalMaxBytes = 128 << 10
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"1.rgrec", "2.rgrec", "3.rgrec"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, 64<<10), 0o640); err != nil {
			t.Fatal(err)
		}
		mod := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	e := startEdge(t, cfg)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if want := []string{"2.rgrec", "3.rgrec"}; !slices.Equal(names, want) {
		t.Errorf("recordings at start: %v, want %v (192 KiB against a 128 KiB cap: the oldest goes)", names, want)
	}
	mfs, err := e.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "rustguard_edge_recording_disk_bytes" && len(mf.GetMetric()) == 1 {
			got = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if got != 128<<10 {
		t.Errorf("rustguard_edge_recording_disk_bytes = %v, want %d", got, 128<<10)
	}
}
