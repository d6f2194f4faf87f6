package record

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// newDiskTest returns recorders writing real files to pol.Dir.
func newDiskTest(t *testing.T, pol Policy, o Options) *Recorders {
	t.Helper()
	o.Log = slog.New(slog.DiscardHandler)
	m, err := New(pol, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// dirFiles lists the directory's files (names, sorted) and the bytes of
// its recordings.
func dirFiles(t *testing.T, dir string) (names []string, rgrecBytes int64) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		names = append(names, e.Name())
		if info, err := e.Info(); err == nil && e.Type().IsRegular() && strings.HasSuffix(e.Name(), fileExt) {
			rgrecBytes += info.Size()
		}
	}
	slices.Sort(names)
	return names, rgrecBytes
}

// session records one whole session of n 100-byte packets for a listed
// player and waits until its file is written.
func session(t *testing.T, m *Recorders, id string, n int) {
	t.Helper()
	info := testInfo
	info.Session = id
	r := m.Factory()(info)
	feed(r, n, 100)
	_ = r.Close()
	m.wg.Wait() // only this session's writer (and a remover) run
}

// TestTotalCapDeletesOldestFinished: the directory stays under
// detection.record_total_max_bytes however many sessions are recorded;
// the oldest finished recordings go first and what stays reads whole
// (issue 7: recordings had no total cap).
func TestTotalCapDeletesOldestFinished(t *testing.T) {
	const total = 4 * minMaxBytes
	dir := t.TempDir()
	m := newDiskTest(t, Policy{Dir: dir, Players: []string{"alex"}, MaxBytes: minMaxBytes, TotalMaxBytes: total}, Options{})
	const sessions = 12
	for i := range sessions {
		session(t, m, "s"+strconv.Itoa(10+i), 400) // ~42 KB each
	}
	names, size := dirFiles(t, dir)
	if size > total {
		t.Fatalf("%d sessions left %d bytes in the directory, cap %d: %v", sessions, size, total, names)
	}
	if len(names) < 3 || len(names) == sessions {
		t.Fatalf("%d files left: %v; want the newest few", len(names), names)
	}
	for k, name := range names { // the newest, in order
		want := "20250301T120000Z_Alex_s" + strconv.Itoa(10+sessions-len(names)+k) + fileExt
		if name != want {
			t.Errorf("file %d is %s, want %s (the oldest must go first)", k, name, want)
		}
		if _, _, reason, err := readAll(readFile(t, filepath.Join(dir, name))); err != nil || reason != EndClosed {
			t.Errorf("%s: reason %v, err %v", name, reason, err)
		}
	}
	if s := m.Stats(); s.Removed != int64(sessions-len(names)) || s.DiskBytes != size || s.Refused != 0 {
		t.Errorf("stats %+v; want %d removed and %d bytes on disk", s, sessions-len(names), size)
	}
}

// TestTotalCapCountsExistingFiles: recordings left by a previous run count
// against the cap from the start, and are deleted oldest first; files that
// are not recordings are left alone.
func TestTotalCapCountsExistingFiles(t *testing.T) {
	const total = 4 * minMaxBytes
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"b-oldest.rgrec", "a-older.rgrec", "c-old.rgrec"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, 100<<10), 0o640); err != nil {
			t.Fatal(err)
		}
		mod := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), make([]byte, 1<<20), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "x.rgrec"), 0o750); err != nil {
		t.Fatal(err)
	}

	m := newDiskTest(t, Policy{Dir: dir, Players: []string{"alex"}, MaxBytes: minMaxBytes, TotalMaxBytes: total}, Options{})
	names, size := dirFiles(t, dir)
	if want := []string{"a-older.rgrec", "c-old.rgrec", "notes.txt", "x.rgrec"}; !slices.Equal(names, want) {
		t.Fatalf("after start: %v, want %v (300 KiB of old recordings against a 256 KiB cap: the oldest goes)", names, want)
	}
	if s := m.Stats(); s.DiskBytes != size || s.Removed != 1 {
		t.Errorf("stats %+v; want the %d bytes of recordings found and 1 removed", s, size)
	}

	session(t, m, "new", 400) // needs a block of 64 KiB: the next oldest goes
	names, size = dirFiles(t, dir)
	if want := []string{"20250301T120000Z_Alex_new.rgrec", "c-old.rgrec", "notes.txt", "x.rgrec"}; !slices.Equal(names, want) || size > total {
		t.Errorf("after a recording: %v (%d bytes), want %v", names, size, want)
	}
}

// TestTotalCapWithOnlyLiveRecordings: recordings being written are never
// deleted. When they alone fill the cap, a new recording is refused and a
// growing one ends cleanly with disk_cap; the directory stays under the
// cap all along.
func TestTotalCapWithOnlyLiveRecordings(t *testing.T) {
	const total = 5 * minMaxBytes / 2 // two first blocks, not three
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	m := newDiskTest(t, Policy{Dir: dir, Players: []string{"alex"}, MaxBytes: 2 * minMaxBytes, TotalMaxBytes: total}, Options{Registry: reg})
	start := func(id string) *recorder {
		info := testInfo
		info.Session = id
		r := m.Factory()(info)
		t.Cleanup(func() { _ = r.Close() }) // before m.Close, which waits for it
		r.Packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindChat, []byte("hi"), 0, simStart)
		return r.(*recorder)
	}
	a, b := start("a"), start("b")
	if c := start("c"); c.w != nil || !c.done {
		t.Fatal("a third recording started while two being written fill the cap")
	}
	feed(a, 1000, 100) // ~110 KB: past a's first block, and no finished file to delete
	if !a.done {
		t.Fatal("a recording grew past the total cap")
	}
	feed(b, 10, 100)
	_ = a.Close()
	_ = b.Close()
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	names, size := dirFiles(t, dir)
	if want := []string{"20250301T120000Z_Alex_a.rgrec", "20250301T120000Z_Alex_b.rgrec"}; !slices.Equal(names, want) || size > total {
		t.Fatalf("files %v (%d bytes, cap %d), want %v", names, size, total, want)
	}
	_, recs, reason, err := readAll(readFile(t, filepath.Join(dir, names[0])))
	if err != nil || reason != EndDiskCap || len(recs) < 100 {
		t.Errorf("a: %d records, reason %v, err %v; want a valid file that ends disk_cap", len(recs), reason, err)
	}
	if _, _, reason, err := readAll(readFile(t, filepath.Join(dir, names[1]))); err != nil || reason != EndClosed {
		t.Errorf("b: reason %v, err %v; the recording that fit must be whole", reason, err)
	}
	if s := m.Stats(); s.Refused != 1 || s.Removed != 0 || s.DiskBytes != size || s.Started != 2 {
		t.Errorf("stats %+v", s)
	}
	for name, want := range map[string]float64{
		"rustguard_edge_recordings_refused_total": 1,
		"rustguard_edge_recording_disk_bytes":     float64(size),
		"rustguard_edge_recording_files":          2,
		"rustguard_edge_recordings_removed_total": 0,
	} {
		if got := gather(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := testutil.ToFloat64(m.mEnded.WithLabelValues("disk_cap")); got != 1 {
		t.Errorf("ended{disk_cap} = %v, want 1", got)
	}
}

// TestFileCountCap: the directory also holds at most maxFiles recordings,
// oldest deleted first: a flood of tiny on-detection recordings must not
// fill the inodes, nor the list of files the edge keeps.
func TestFileCountCap(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	m := newDiskTest(t, Policy{Dir: dir, Players: []string{"alex"}}, Options{maxFiles: 3, Registry: reg})
	for i := range 5 {
		session(t, m, "s"+strconv.Itoa(i), 2)
	}
	names, _ := dirFiles(t, dir)
	want := []string{"20250301T120000Z_Alex_s2.rgrec", "20250301T120000Z_Alex_s3.rgrec", "20250301T120000Z_Alex_s4.rgrec"}
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if got := gather(t, reg, "rustguard_edge_recordings_removed_total"); got != 2 {
		t.Errorf("removed = %v, want 2", got)
	}
}

// gather reads one unlabelled metric from reg.
func gather(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestPolicyBoundsMatchConfig: the configuration's defaults and floor for
// the recording caps are this package's.
func TestPolicyBoundsMatchConfig(t *testing.T) {
	d := config.DefaultEdge().Detection
	if d.RecordMaxBytes != DefaultMaxBytes || d.RecordTotalMaxBytes != DefaultTotalMaxBytes || config.MinRecordMaxBytes != minMaxBytes {
		t.Errorf("config defaults %d/%d, floor %d; record's %d/%d, floor %d",
			d.RecordMaxBytes, d.RecordTotalMaxBytes, config.MinRecordMaxBytes, DefaultMaxBytes, DefaultTotalMaxBytes, minMaxBytes)
	}
}
