package record

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

var errDisk = errors.New("simulated disk error")

// fakeFile is a recording file in memory that can fail or stall.
type fakeFile struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	failAfter int           // Write fails once this many bytes are written (0: never)
	syncErr   error         // returned by Sync
	gate      chan struct{} // when set, Write waits until it is closed
	writes    chan struct{} // when set, signalled after each Write
	synced    bool
	closed    bool
}

func (f *fakeFile) Write(p []byte) (int, error) {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAfter > 0 && f.buf.Len()+len(p) > f.failAfter {
		n := f.failAfter - f.buf.Len()
		f.buf.Write(p[:n])
		return n, errDisk
	}
	f.buf.Write(p)
	if f.writes != nil {
		select {
		case f.writes <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (f *fakeFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.synced = true
	return f.syncErr
}

func (f *fakeFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeFile) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.buf.Bytes()...)
}

// fakeDisk hands out fakeFiles made by mk and remembers them by path.
type fakeDisk struct {
	mu      sync.Mutex
	files   map[string]*fakeFile
	mk      func() *fakeFile
	openErr error
}

func (d *fakeDisk) create(path string) (recordingFile, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.openErr != nil {
		return nil, d.openErr
	}
	if _, taken := d.files[path]; taken {
		return nil, os.ErrExist
	}
	f := &fakeFile{}
	if d.mk != nil {
		f = d.mk()
	}
	if d.files == nil {
		d.files = make(map[string]*fakeFile)
	}
	d.files[path] = f
	return f, nil
}

func (d *fakeDisk) only(t *testing.T) *fakeFile {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.files) != 1 {
		t.Fatalf("%d files, want 1", len(d.files))
	}
	for _, f := range d.files {
		return f
	}
	return nil
}

var testInfo = detect.PlayerInfo{Protocol: simProtocol, Name: "Alex", UUID: "u", Addr: netip.MustParseAddrPort("10.0.0.1:4000"), Session: "7"}

// newTest returns recorders writing to d (or a temp dir when d is nil).
func newTest(t *testing.T, pol Policy, d *fakeDisk) *Recorders {
	t.Helper()
	pol.Dir = t.TempDir()
	o := Options{Log: slog.New(slog.DiscardHandler)}
	if d != nil {
		o.create = d.create
	}
	m, err := New(pol, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// feed sends n packets of size bytes, one per 10 ms from simStart.
func feed(r detect.Recorder, n, size int) time.Time {
	data := bytes.Repeat([]byte{0x5A}, size)
	now := simStart
	for i := 0; i < n; i++ {
		now = simStart.Add(time.Duration(i) * 10 * time.Millisecond)
		r.Packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindPlayerPosition, data, 0, now)
	}
	return now
}

func TestPolicyChoosesPlayers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pol       Policy
		player    string
		flag      bool
		files     int
		recording bool // the factory returns a recorder
	}{
		{"listed", Policy{Players: []string{"alex"}}, "Alex", false, 1, true},
		{"listed, other case", Policy{Players: []string{"ALEX"}}, "alex", false, 1, true},
		{"not listed", Policy{Players: []string{"steve"}}, "Alex", true, 0, false},
		{"on detection, no flag", Policy{OnDetection: true}, "Alex", false, 0, true},
		{"on detection, flagged", Policy{OnDetection: true}, "Alex", true, 1, true},
		{"nothing on", Policy{}, "Alex", true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDisk{}
			m := newTest(t, tc.pol, d)
			info := testInfo
			info.Name = tc.player
			r := m.Factory()(info)
			if (r != nil) != tc.recording {
				t.Fatalf("recorder = %v, want recording %v", r, tc.recording)
			}
			if r == nil {
				return
			}
			end := feed(r, 50, 30)
			if tc.flag {
				r.Flagged(end)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(d.files) != tc.files {
				t.Fatalf("%d files, want %d", len(d.files), tc.files)
			}
			if tc.files == 0 {
				return
			}
			h, recs, reason, err := readAll(d.only(t).bytes())
			if err != nil {
				t.Fatal(err)
			}
			wantRecs := 50
			if tc.flag {
				wantRecs++
			}
			if len(recs) != wantRecs || reason != EndClosed || h.Partial || h.Name != tc.player || !h.Start.Equal(simStart) {
				t.Errorf("file: %d records (want %d), end %v, partial %v, name %q, start %v", len(recs), wantRecs, reason, h.Partial, h.Name, h.Start)
			}
		})
	}
}

func TestNilRecordersAreOff(t *testing.T) {
	m, err := New(Policy{Players: []string{"x"}}, Options{})
	if m != nil || err != nil {
		t.Fatalf("New without a dir = %v, %v; want nil, nil", m, err)
	}
	if m.Factory() != nil {
		t.Error("nil Recorders has a factory")
	}
	if err := m.Close(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestPolicyValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		pol  Policy
		want string
	}{
		{"max bytes too small", Policy{MaxBytes: 100}, "max_bytes"},
		{"record cap over format cap", Policy{MaxRecordBytes: MaxRecordData + 1}, "max_record_bytes"},
		{"record cap negative", Policy{MaxRecordBytes: -1}, "max_record_bytes"},
		{"ring too small", Policy{RingBytes: 1000}, "ring_bytes"},
		{"ring too large", Policy{RingBytes: maxRingBytes + 1}, "ring_bytes"},
		{"window negative", Policy{RingWindow: -time.Second}, "ring_window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.pol.Dir = t.TempDir()
			if _, err := New(tc.pol, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
	// The directory is created.
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, err := New(Policy{Dir: dir}, Options{}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("dir not created: %v", err)
	}
}

// TestOnDetectionPartial: a ring that had to forget marks the file partial
// and starts it at the oldest packet it kept; everything after the flag
// is recorded too.
func TestOnDetectionPartial(t *testing.T) {
	d := &fakeDisk{}
	m := newTest(t, Policy{OnDetection: true, RingBytes: minRingBytes}, d)
	r := m.Factory()(testInfo)
	end := feed(r, 1000, 100) // ~110 KB through an 8 KiB ring
	r.Flagged(end)
	after := end.Add(time.Second)
	r.Packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindChat, []byte("after"), 0, after)
	_ = r.Close()
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, recs, _, err := readAll(d.only(t).bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !h.Partial || !h.Start.After(simStart) {
		t.Errorf("partial=%v start=%v; want a partial recording starting after the session began", h.Partial, h.Start)
	}
	if n := len(recs); n < 10 || n > 100 || recs[n-2].Type != RecordFlag || string(recs[n-1].Data) != "after" || !recs[0].Time.Equal(h.Start) {
		t.Errorf("%d records; want the ring's last packets, the flag, then the packet after it", n)
	}
}

func TestSizeCap(t *testing.T) {
	d := &fakeDisk{}
	m := newTest(t, Policy{Players: []string{"alex"}, MaxBytes: minMaxBytes}, d)
	r := m.Factory()(testInfo)
	feed(r, 200, 1000) // ~200 KB against a 64 KiB cap
	r.Flagged(simStart.Add(time.Hour))
	_ = r.Close()
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := d.only(t).bytes()
	if len(b) > minMaxBytes || len(b) < minMaxBytes-2000 {
		t.Errorf("file of %d bytes; cap %d", len(b), minMaxBytes)
	}
	_, recs, reason, err := readAll(b)
	if err != nil || reason != EndSizeCap {
		t.Fatalf("err=%v reason=%v; want a clean file ending at the size cap", err, reason)
	}
	if len(recs) < 50 || recs[len(recs)-1].Type != RecordPacket {
		t.Errorf("%d records, last %v: nothing may follow the cap", len(recs), recs[len(recs)-1].Type)
	}
	if s := m.Stats(); s.Stopped != 1 || s.Completed != 1 || s.Failed != 0 || s.Bytes != int64(len(b)) {
		t.Errorf("stats %+v", s)
	}
}

func TestRecordCap(t *testing.T) {
	d := &fakeDisk{}
	m := newTest(t, Policy{Players: []string{"alex"}, MaxRecordBytes: 1000}, d)
	r := m.Factory()(testInfo)
	feed(r, 3, 1000)
	r.Packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindEditBook, make([]byte, 1001), 0, simStart.Add(time.Second))
	feed(r, 3, 10)
	_ = r.Close()
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, recs, reason, err := readAll(d.only(t).bytes())
	if err != nil || reason != EndRecordTooBig || len(recs) != 3 {
		t.Errorf("err=%v reason=%v records=%d; want 3 packets then record_too_big", err, reason, len(recs))
	}
}

// TestDiskErrors: a disk that fails drops the recording, counts it, and
// never reaches the caller.
func TestDiskErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		disk *fakeDisk
	}{
		{"create fails", &fakeDisk{openErr: errDisk}},
		{"write fails", &fakeDisk{mk: func() *fakeFile { return &fakeFile{failAfter: 100_000} }}},
		{"sync fails", &fakeDisk{mk: func() *fakeFile { return &fakeFile{syncErr: errDisk} }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTest(t, Policy{Players: []string{"alex"}}, tc.disk)
			r := m.Factory()(testInfo)
			feed(r, 5000, 100) // 50 s, ~550 KB: several chunks
			r.Flagged(simStart.Add(time.Hour))
			if err := r.Close(); err != nil {
				t.Errorf("Close = %v; a disk error must not reach the connection", err)
			}
			if err := m.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s := m.Stats(); s.Failed != 1 || s.Completed != 0 {
				t.Errorf("stats %+v, want one failed recording", s)
			}
			if tc.disk.openErr != nil {
				return
			}
			// What reached the disk reads as a cut recording, or fully
			// when only the sync failed.
			_, recs, _, err := readAll(tc.disk.only(t).bytes())
			if tc.name == "write fails" && (!errors.Is(err, ErrTruncated) || len(recs) == 0) {
				t.Errorf("err=%v records=%d; want a readable prefix then ErrTruncated", err, len(recs))
			}
		})
	}
}

// TestWriterBehind: a disk that stalls never stalls the recorder; the
// recording stops once too much is pending and the file stays valid.
func TestWriterBehind(t *testing.T) {
	gate := make(chan struct{})
	d := &fakeDisk{mk: func() *fakeFile { return &fakeFile{gate: gate} }}
	m := newTest(t, Policy{Players: []string{"alex"}}, d)
	r := m.Factory()(testInfo)
	feed(r, 10_000, 1000) // 10 MB while the disk is stuck: must return
	_ = r.Close()
	close(gate)
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := d.only(t).bytes()
	_, recs, reason, err := readAll(b)
	if err != nil || reason != EndWriterBehind {
		t.Fatalf("err=%v reason=%v, want a valid file that ends writer_behind", err, reason)
	}
	if len(b) > maxPendingBytes+2*chunkSize || len(recs) < 1000 {
		t.Errorf("%d bytes, %d records: want about maxPendingBytes", len(b), len(recs))
	}
}

// TestFlushInterval: a quiet player's records reach the disk within the
// flush interval of record time, before the connection ends.
func TestFlushInterval(t *testing.T) {
	writes := make(chan struct{}, 1)
	d := &fakeDisk{mk: func() *fakeFile { return &fakeFile{writes: writes} }}
	m := newTest(t, Policy{Players: []string{"alex"}}, d)
	r := m.Factory()(testInfo)
	r.Packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindChat, []byte("a"), 0, simStart)
	select {
	case <-writes:
		t.Fatal("one small packet was written at once; the recorder should batch")
	default:
	}
	r.Packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindChat, []byte("b"), 0, simStart.Add(flushInterval))
	select {
	case <-writes:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing written after the flush interval")
	}
	_, recs, err := readPrefix(d.only(t).bytes())
	if !errors.Is(err, ErrTruncated) || len(recs) != 2 {
		t.Errorf("before close: %d records, err %v; want both packets and no end record yet", len(recs), err)
	}
	_ = r.Close()
}

func readPrefix(b []byte) (Header, []Record, error) {
	h, recs, _, err := readAll(b)
	return h, recs, err
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Notch", "Notch"},
		{"jeb_", "jeb_"},
		{"", "unknown"},
		{".", "_"},
		{"..", "__"},
		{"../../etc/passwd", "______etc_passwd"},
		{"../../etc/passwd/x", "______etc_passwd"},
		{"a/b\\c:d", "a_b_c_d"},
		{"nul\x00byte", "nul_byte"},
		{"ünïcödé", "_n_c_d_"},
		{"AAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAA"},
		{"con", "con"},
	} {
		if got := sanitize(tc.in, maxFileNamePlayer, "unknown"); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	name := fileName(time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), "../x", "s/1")
	if name != "20250102T020405Z_.._x_s_1.rgrec" && name != "20250102T020405Z____x_s_1.rgrec" {
		t.Errorf("fileName = %q", name)
	}
	if filepath.Base(name) != name || strings.ContainsAny(name, "/\\") {
		t.Errorf("fileName %q is not a plain name", name)
	}
}

// TestFileNameCollision: a second recording with the same name gets a
// suffix instead of overwriting the first (real files, O_EXCL).
func TestFileNameCollision(t *testing.T) {
	m := newTest(t, Policy{Players: []string{"alex"}}, nil)
	for i := 0; i < 3; i++ {
		r := m.Factory()(testInfo)
		feed(r, 2, 10)
		_ = r.Close()
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(m.pol.Dir, "*"))
	want := []string{"20250301T120000Z_Alex_7-2.rgrec", "20250301T120000Z_Alex_7-3.rgrec", "20250301T120000Z_Alex_7.rgrec"}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
		if _, _, _, err := readAll(readFile(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %v, want 0640", f, st.Mode().Perm())
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files %v, want %v", got, want)
	}
}

func TestClosedRecordersRefuse(t *testing.T) {
	m := newTest(t, Policy{Players: []string{"alex"}}, &fakeDisk{})
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := m.Factory()(testInfo); r != nil {
		t.Error("recorder handed out after Close")
	}
}

func TestCloseWaitsForContext(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	d := &fakeDisk{mk: func() *fakeFile { return &fakeFile{gate: gate} }}
	m := newTest(t, Policy{Players: []string{"alex"}}, d)
	r := m.Factory()(testInfo)
	feed(r, 200, 10)
	_ = r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close with a stuck disk and a cancelled context = %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	d := &fakeDisk{}
	m, err := New(Policy{Dir: t.TempDir(), Players: []string{"alex"}, OnDetection: true, MaxBytes: minMaxBytes}, Options{Registry: reg, create: d.create, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Factory()(testInfo)
	feed(r, 200, 1000)
	_ = r.Close()
	info := testInfo
	info.Name, info.Session = "steve", "8"
	r = m.Factory()(info)
	r.Flagged(feed(r, 2, 10))
	_ = r.Close()
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.mStarted.WithLabelValues("player")); got != 1 {
		t.Errorf("started{player} = %v", got)
	}
	if got := testutil.ToFloat64(m.mStarted.WithLabelValues("detection")); got != 1 {
		t.Errorf("started{detection} = %v", got)
	}
	if got := testutil.ToFloat64(m.mEnded.WithLabelValues("size_cap")); got != 1 {
		t.Errorf("ended{size_cap} = %v", got)
	}
	if got := testutil.ToFloat64(m.mEnded.WithLabelValues("closed")); got != 1 {
		t.Errorf("ended{closed} = %v", got)
	}
	if got := testutil.ToFloat64(m.mBytes); got != float64(m.Stats().Bytes) || got == 0 {
		t.Errorf("bytes = %v, stats say %d", got, m.Stats().Bytes)
	}
}

// TestWriterBehindAcrossRecordings: a stalled disk pins at most the total
// pending cap over all recordings, not maxPendingBytes for each of them;
// the recordings over it end writer_behind and stay valid.
func TestWriterBehindAcrossRecordings(t *testing.T) {
	gate := make(chan struct{})
	d := &fakeDisk{mk: func() *fakeFile { return &fakeFile{gate: gate} }}
	const total = maxPendingBytes
	m := newTest(t, Policy{Players: []string{"alex"}}, d)
	m.o.maxPending = total
	var rs []detect.Recorder
	for i := range 3 {
		info := testInfo
		info.Session = strconv.Itoa(i)
		r := m.Factory()(info)
		rs = append(rs, r)
		feed(r, 3000, 1000) // ~3 MB each while the disk is stuck: under the per-file cap
	}
	// A stopped recording still hands over its last buffer and end record,
	// so the file stays valid: at most a chunk more each.
	if p := m.pending.Load(); p > total+int64(len(rs))*(2*chunkSize) {
		t.Errorf("%d bytes queued to a stuck disk, cap %d", p, total)
	}
	for _, r := range rs {
		_ = r.Close()
	}
	close(gate)
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	behind := 0
	for name, f := range d.files {
		_, _, reason, err := readAll(f.bytes())
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if reason == EndWriterBehind {
			behind++
		}
	}
	if behind != 2 {
		t.Errorf("%d recordings ended writer_behind, want the 2 past the first", behind)
	}
	if p := m.pending.Load(); p != 0 {
		t.Errorf("%d bytes still counted pending after every writer finished", p)
	}
}
