package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Policy bounds, defaults and the writer's own limits.
const (
	// DefaultMaxBytes caps one file: about an hour of a busy player
	// (~20 KB/s of movement and entity updates).
	DefaultMaxBytes = 64 << 20
	// minMaxBytes is the smallest useful file cap: the header and a few
	// seconds of play.
	minMaxBytes = 64 << 10
	// DefaultMaxRecordBytes caps one packet: the serverbound inflate cap
	// (docs/PROTOCOL.md, Compression). Clientbound packets the engine reads (join game,
	// teleports, entity updates) are far smaller.
	DefaultMaxRecordBytes = 2 << 20
	// DefaultRingBytes caps the memory one player's on-detection ring may
	// hold: at ~20 KB/s, the last ten seconds or more.
	DefaultRingBytes = 256 << 10
	// minRingBytes is two ring chunks, so a full ring still holds the chunk
	// being filled and the one before it.
	minRingBytes = 2 * ringChunkSize
	// maxRingBytes bounds a misconfiguration: the ring is per player.
	maxRingBytes = 16 << 20
	// DefaultRingWindow is how far back the ring keeps records.
	DefaultRingWindow = 30 * time.Second

	// chunkSize is how much encoded recording the relay goroutine collects
	// before handing it to the writer goroutine.
	chunkSize = 64 << 10
	// flushInterval bounds how long encoded records wait in memory when a
	// player is quiet: what an edge crash can lose.
	flushInterval = time.Second
	// maxPendingBytes is how far one file's writer may fall behind before
	// the recording stops (a disk that slow would otherwise pin memory).
	maxPendingBytes = 4 << 20
	// maxTotalPendingBytes is how far all writers together may fall
	// behind: sixteen files at maxPendingBytes. A disk that far behind on
	// every recording at once is failing, and without this each recording
	// (one per flagging bot, with on-detection recording) would pin its
	// own maxPendingBytes.
	maxTotalPendingBytes = 64 << 20
	// maxQueuedChunks sizes the queue to the writer; the last slot is kept
	// for the end record, so stopping never blocks.
	maxQueuedChunks = 64
	// freeChunks is how many written chunks are kept for reuse.
	freeChunks = 2
	// maxNameAttempts bounds the suffixes tried when a file name is taken.
	maxNameAttempts = 16
	// maxFileNamePlayer and maxFileNameSession cap the parts of a file name
	// taken from the session.
	maxFileNamePlayer  = maxNameChars
	maxFileNameSession = 32
	// fileExt is the recordings' file extension.
	fileExt = ".rgrec"
)

// Policy says whom to record and how much. The configuration keys in the
// comments are those of shared/config; the ones with a dotted
// detection.record. name are not configurable yet.
type Policy struct {
	// Dir is where recordings go (detection.record_dir). Empty: off.
	Dir string
	// Players are always recorded, from their first packet
	// (detection.record_players; names compare case-insensitively).
	Players []string
	// OnDetection keeps a ring of every other player's recent packets and
	// writes it, then the rest of the session, at their first flag
	// (detection.record_on_detection).
	OnDetection bool
	// MaxBytes caps one file (detection.record_max_bytes); 0: default.
	MaxBytes int64
	// TotalMaxBytes caps the directory (detection.record_total_max_bytes);
	// 0: default. The oldest finished recordings are deleted to make room.
	TotalMaxBytes int64
	// MaxRecordBytes caps one packet (detection.record.max_record_bytes);
	// 0: default. A larger packet ends the recording.
	MaxRecordBytes int
	// RingBytes caps each player's ring (detection.record.ring_bytes).
	RingBytes int
	// RingWindow is how far back a ring keeps packets
	// (detection.record.ring_window).
	RingWindow time.Duration
}

// withDefaults fills zero fields and checks ranges.
func (p Policy) withDefaults() (Policy, error) {
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	if p.TotalMaxBytes == 0 {
		p.TotalMaxBytes = DefaultTotalMaxBytes
	}
	if p.MaxRecordBytes == 0 {
		p.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if p.RingBytes == 0 {
		p.RingBytes = DefaultRingBytes
	}
	if p.RingWindow == 0 {
		p.RingWindow = DefaultRingWindow
	}
	var errs []error
	if p.MaxBytes < minMaxBytes {
		errs = append(errs, fmt.Errorf("detection.record_max_bytes: %d < %d", p.MaxBytes, minMaxBytes))
	}
	if p.TotalMaxBytes < p.MaxBytes {
		errs = append(errs, fmt.Errorf("detection.record_total_max_bytes: %d < detection.record_max_bytes %d: the directory must hold one whole recording", p.TotalMaxBytes, p.MaxBytes))
	}
	if p.MaxRecordBytes < 1 || p.MaxRecordBytes > MaxRecordData {
		errs = append(errs, fmt.Errorf("detection.record.max_record_bytes: %d not in 1..%d", p.MaxRecordBytes, MaxRecordData))
	}
	if p.RingBytes < minRingBytes || p.RingBytes > maxRingBytes {
		errs = append(errs, fmt.Errorf("detection.record.ring_bytes: %d not in %d..%d", p.RingBytes, minRingBytes, maxRingBytes))
	}
	if p.RingWindow < 0 {
		errs = append(errs, fmt.Errorf("detection.record.ring_window: %v is negative", p.RingWindow))
	}
	return p, errors.Join(errs...)
}

// Options are the recorders' dependencies and what they write in headers.
type Options struct {
	EdgeVersion string
	Instance    string
	Region      string
	Log         *slog.Logger
	Registry    prometheus.Registerer // nil: no metrics

	// create opens a new recording file; tests replace it to simulate a
	// failing disk.
	create func(path string) (recordingFile, error)
	// maxFiles caps the files in the directory (0: defaultMaxFiles) and
	// maxPending the bytes queued to every writer together (0:
	// maxTotalPendingBytes); tests lower them.
	maxFiles   int
	maxPending int64
}

// recordingFile is what the writer needs of an *os.File.
type recordingFile interface {
	io.Writer
	Sync() error
	Close() error
}

// Stats counts recordings since New.
type Stats struct {
	Started   int64 // files begun
	Completed int64 // files written, synced and closed without error
	Failed    int64 // files abandoned on a disk error
	Stopped   int64 // recordings stopped early: size cap, record cap, writer behind, disk cap
	Bytes     int64 // bytes written
	Refused   int64 // recordings not begun: the ones being written fill the directory's caps
	Removed   int64 // finished recordings deleted to stay under the directory's caps
	DiskBytes int64 // bytes of recordings in the directory, finished and reserved by the ones being written
}

// Recorders decides per player whether to record and owns the writer
// goroutines. Create it with New; plug Factory into detect.Options.
type Recorders struct {
	pol     Policy
	o       Options
	players map[string]struct{}
	log     *slog.Logger
	wg      sync.WaitGroup // writers and the disk quota's remover
	closed  atomic.Bool
	disk    *diskQuota

	started, completed, failed, stopped, bytes atomic.Int64
	// pending is the bytes handed to every writer and not yet written.
	pending atomic.Int64

	mStarted *prometheus.CounterVec // label: mode
	mEnded   *prometheus.CounterVec // label: reason
	mBytes   prometheus.Counter
	mRefused prometheus.Counter
}

// New checks the policy and creates its directory. A policy with an empty
// Dir yields a nil *Recorders, whose Factory is nil: recording is off.
func New(p Policy, o Options) (*Recorders, error) {
	if p.Dir == "" {
		return nil, nil
	}
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("detection.record.dir: %w", err)
	}
	m := &Recorders{pol: p, o: o, players: make(map[string]struct{}, len(p.Players)), log: o.Log}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.o.create == nil {
		m.o.create = func(path string) (recordingFile, error) {
			return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		}
	}
	for _, n := range p.Players {
		m.players[strings.ToLower(n)] = struct{}{}
	}
	if m.o.maxFiles == 0 {
		m.o.maxFiles = defaultMaxFiles
	}
	if m.o.maxPending == 0 {
		m.o.maxPending = maxTotalPendingBytes
	}
	if m.disk, err = newDiskQuota(p.Dir, p.TotalMaxBytes, m.o.maxFiles, m.log, &m.wg); err != nil {
		return nil, err
	}
	if o.Registry != nil {
		m.mStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_edge_recordings_started_total",
			Help: "Session recordings begun, by why: a listed player or a detection.",
		}, []string{"mode"})
		m.mEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_edge_recordings_ended_total",
			Help: "Session recordings ended, by reason (closed, size_cap, record_too_big, writer_behind, disk_cap, disk_error).",
		}, []string{"reason"})
		m.mBytes = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_edge_recording_bytes_total",
			Help: "Bytes of session recordings written to disk.",
		})
		m.mRefused = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_edge_recordings_refused_total",
			Help: "Recordings not begun because the recordings being written fill detection.record_total_max_bytes.",
		})
		diskBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustguard_edge_recording_disk_bytes",
			Help: "Bytes of session recordings in detection.record_dir: finished ones and those reserved by recordings being written.",
		}, func() float64 { return float64(m.disk.stats().bytes) })
		diskFiles := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustguard_edge_recording_files",
			Help: "Session recordings in detection.record_dir, finished or being written.",
		}, func() float64 { return float64(m.disk.stats().files) })
		removed := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rustguard_edge_recordings_removed_total",
			Help: "Finished recordings deleted, oldest first, to keep detection.record_dir under its total cap.",
		}, func() float64 { return float64(m.disk.stats().removed) })
		for _, c := range []prometheus.Collector{m.mStarted, m.mEnded, m.mBytes, m.mRefused, diskBytes, diskFiles, removed} {
			if err := o.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("record: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Factory is the detect.RecorderFactory for this policy (nil when
// recording is off).
func (m *Recorders) Factory() detect.RecorderFactory {
	if m == nil {
		return nil
	}
	return m.recorderFor
}

// Close stops new recordings and waits until every file handed to a writer
// is written and synced, or ctx ends. Call it after the connections have
// closed (each connection's end closes its recording).
func (m *Recorders) Close(ctx context.Context) error {
	if m == nil {
		return nil
	}
	m.closed.Store(true)
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("record: waiting for recordings to be written: %w", ctx.Err())
	}
}

// Stats returns the counters.
func (m *Recorders) Stats() Stats {
	d := m.disk.stats()
	return Stats{Started: m.started.Load(), Completed: m.completed.Load(), Failed: m.failed.Load(),
		Stopped: m.stopped.Load(), Bytes: m.bytes.Load(), Refused: d.refused, Removed: d.removed, DiskBytes: d.bytes}
}

// recorderFor is the factory: a listed player is recorded from the start,
// anyone else gets a ring when on-detection recording is on. It returns a
// nil interface (not a typed nil) for no recording.
func (m *Recorders) recorderFor(info detect.PlayerInfo) detect.Recorder {
	if m.closed.Load() {
		return nil
	}
	if _, listed := m.players[strings.ToLower(info.Name)]; listed {
		return &recorder{m: m, info: info}
	}
	if m.pol.OnDetection {
		return &recorder{m: m, info: info, ring: newRing(m.pol.RingBytes, m.pol.RingWindow)}
	}
	return nil
}

// recorder records one player. The engine calls it from the connection's
// relay goroutines, one call at a time (under the connection's lock); only
// the writer goroutine runs beside it, and they share nothing but fileWriter.
type recorder struct {
	m    *Recorders
	info detect.PlayerInfo
	enc  encoder
	ring *ring       // waiting for a detection; nil once writing (or when always recording)
	w    *fileWriter // nil until the first record is due on disk
	buf  []byte      // encoded bytes not yet handed to w
	size int64       // file bytes so far, handed over or in buf
	sent time.Time   // when buf was last handed over
	done bool        // stopped: nothing more is recorded
	// reserved is this file's share of the directory's total cap; size
	// plus an end record never exceeds it.
	reserved int64
}

var _ detect.Recorder = (*recorder)(nil)

// Packet implements detect.Recorder.
func (r *recorder) Packet(dir mcproto.Direction, st mcproto.State, kind packets.Kind, data []byte, inflated int, now time.Time) {
	switch {
	case r.done:
		return
	case r.ring != nil:
		r.ring.packet(dir, st, kind, data, inflated, now)
		return
	case r.w == nil:
		if !r.start(now, false, "player") {
			return
		}
	}
	if len(data) > r.m.pol.MaxRecordBytes {
		r.stop(EndRecordTooBig)
		return
	}
	if r.size+int64(packetSize(len(data)))+endRecordBytes > r.m.pol.MaxBytes {
		r.stop(EndSizeCap)
		return
	}
	if !r.room(int64(packetSize(len(data)))) {
		r.stop(EndDiskCap)
		return
	}
	n := len(r.buf)
	r.buf = r.enc.packet(r.buf, dir, st, kind, data, inflated, now)
	r.size += int64(len(r.buf) - n)
	r.flush(now)
}

// Probed implements detect.Recorder.
func (r *recorder) Probed(now time.Time) { r.marker(tagProbe, now) }

// Flagged implements detect.Recorder. The first flag of a player on the
// ring writes the ring out and keeps recording.
func (r *recorder) Flagged(now time.Time) {
	if r.ring != nil && !r.done {
		r.dump(now)
	}
	r.marker(tagFlag, now)
}

// Close implements detect.Recorder. It never waits for the disk: the
// writer goroutine finishes the file (Recorders.Close waits for it).
func (r *recorder) Close() error {
	r.ring = nil
	if r.w != nil && !r.done {
		r.stop(EndClosed)
	}
	r.done = true
	return nil
}

func (r *recorder) marker(tag byte, now time.Time) {
	switch {
	case r.done:
		return
	case r.ring != nil:
		r.ring.marker(tag, now)
		return
	case r.w == nil:
		if !r.start(now, false, "player") {
			return
		}
	}
	if r.size+recordFraming+mcproto.MaxVarLongLen+endRecordBytes > r.m.pol.MaxBytes {
		r.stop(EndSizeCap)
		return
	}
	if !r.room(recordFraming + mcproto.MaxVarLongLen) {
		r.stop(EndDiskCap)
		return
	}
	n := len(r.buf)
	r.buf = r.enc.marker(r.buf, tag, now)
	r.size += int64(len(r.buf) - n)
	r.flush(now)
}

// dump starts the file with what the ring kept.
func (r *recorder) dump(now time.Time) {
	rg := r.ring
	r.ring = nil
	start, ok := rg.start()
	if !ok {
		start = now
	}
	if !r.start(start, rg.lost, "detection") {
		return
	}
	if !rg.each(func(e *ringEntry) {
		if e.tag == tagPacket {
			r.Packet(e.dir, e.st, e.kind, e.data, e.inflated, e.t)
		} else {
			r.marker(e.tag, e.t)
		}
	}) {
		r.m.log.Error("record: ring entries do not decode; recording continues without them", "player", r.info.Name)
	}
}

// start opens the file (in the writer goroutine) and writes the header,
// or reports false when the directory has no room for another recording:
// the recordings being written fill it, and finished ones are all gone.
func (r *recorder) start(t time.Time, partial bool, mode string) bool {
	first := min(reserveBlock, r.m.pol.MaxBytes) // the header and an end record always fit
	if !r.m.disk.begin(first) {
		r.done, r.ring = true, nil
		if r.m.mRefused != nil {
			r.m.mRefused.Inc()
		}
		r.m.log.Debug("recording refused: the recordings being written fill detection.record_total_max_bytes",
			"player", r.info.Name, "session", r.info.Session)
		return false
	}
	r.reserved = first
	r.m.started.Add(1)
	if r.m.mStarted != nil {
		r.m.mStarted.WithLabelValues(mode).Inc()
	}
	r.w = r.m.startWriter(filepath.Join(r.m.pol.Dir, fileName(t, r.info.Name, r.info.Session)))
	h := Header{Protocol: r.info.Protocol, Name: r.info.Name, UUID: r.info.UUID, Session: r.info.Session,
		EdgeVersion: r.m.o.EdgeVersion, Instance: r.m.o.Instance, Region: r.m.o.Region, Start: t, Partial: partial}
	if r.info.Addr.IsValid() {
		h.ClientAddr = r.info.Addr.String()
	}
	r.buf = r.enc.header(r.w.get(), h)
	r.size = int64(len(r.buf))
	r.sent = t
	return true
}

// room makes sure n more bytes and the end record fit in the file's share
// of the total cap, taking another block when they do not. It runs on every
// recorded packet but asks the shared account only once a block.
func (r *recorder) room(n int64) bool {
	need := r.size + n + endRecordBytes
	if need <= r.reserved {
		return true
	}
	// The per-file cap was checked first, so need ≤ MaxBytes.
	grow := min(max(need-r.reserved, reserveBlock), r.m.pol.MaxBytes-r.reserved)
	if !r.m.disk.grow(grow) {
		return false
	}
	r.reserved += grow
	return true
}

// flush hands the buffer to the writer when it is full or has waited long
// enough.
func (r *recorder) flush(now time.Time) {
	if len(r.buf) < chunkSize && now.Sub(r.sent) < flushInterval {
		return
	}
	w := r.w
	if w.failed.Load() {
		r.abandon()
		return
	}
	n := int64(len(r.buf))
	if w.pending.Load()+n > maxPendingBytes || r.m.pending.Load()+n > r.m.o.maxPending || len(w.chunks) >= cap(w.chunks)-1 {
		r.stop(EndWriterBehind)
		return
	}
	w.pending.Add(n)
	r.m.pending.Add(n)
	w.chunks <- r.buf
	r.buf = w.get()
	r.sent = now
}

// stop ends the file with an end record. It never blocks: flush keeps the
// queue's last slot free for this.
func (r *recorder) stop(reason EndReason) {
	if r.done {
		return
	}
	r.done = true
	r.ring = nil
	w := r.w
	if w == nil {
		return
	}
	r.w = nil
	if reason != EndClosed {
		r.m.stopped.Add(1)
		level := slog.LevelWarn
		if reason == EndDiskCap {
			// What a flood of flagging clients causes, once per recording:
			// counted in rustguard_edge_recordings_ended_total{reason="disk_cap"}.
			level = slog.LevelDebug
		}
		r.m.log.Log(context.Background(), level, "recording stopped early", "player", r.info.Name, "session", r.info.Session, "reason", reason.String())
	}
	if r.m.mEnded != nil && !w.failed.Load() {
		r.m.mEnded.WithLabelValues(reason.String()).Inc()
	}
	if !w.failed.Load() {
		r.buf = r.enc.end(r.buf, reason)
		w.pending.Add(int64(len(r.buf)))
		r.m.pending.Add(int64(len(r.buf)))
		w.chunks <- r.buf
	}
	r.buf = nil
	w.reserved.Store(r.reserved)
	close(w.chunks)
}

// abandon stops recording after the writer failed; the file keeps what
// reached the disk and reads as truncated.
func (r *recorder) abandon() {
	r.done = true
	r.buf = nil
	r.w.reserved.Store(r.reserved)
	close(r.w.chunks)
	r.w = nil
}

// fileWriter is the writer goroutine's side of one file.
type fileWriter struct {
	chunks  chan []byte // encoded chunks, in order; closed by the recorder
	free    chan []byte // written chunks for reuse
	pending atomic.Int64
	failed  atomic.Bool
	// reserved is the recorder's share of the total cap, stored before it
	// closes chunks; the writer gives it back when the file is done.
	reserved atomic.Int64
}

// get returns an empty buffer, reusing a written chunk when there is one.
func (w *fileWriter) get() []byte {
	select {
	case b := <-w.free:
		return b
	default:
		return make([]byte, 0, chunkSize)
	}
}

func (m *Recorders) startWriter(path string) *fileWriter {
	w := &fileWriter{chunks: make(chan []byte, maxQueuedChunks), free: make(chan []byte, freeChunks)}
	m.wg.Add(1)
	go m.write(w, path)
	return w
}

// write runs in the writer goroutine: open, write chunks as they come,
// sync and close when the recorder closes the queue. A disk error drops
// the recording (the connection never notices) and is counted and logged.
func (m *Recorders) write(w *fileWriter, path string) {
	defer m.wg.Done()
	f, name, err := m.createFile(path)
	if err != nil {
		m.failure(w, path, "create", err)
	}
	var written int64
	defer func() { m.disk.end(filepath.Base(name), w.reserved.Load(), written, f != nil) }()
	for b := range w.chunks {
		if f != nil && !w.failed.Load() {
			n, err := f.Write(b)
			written += int64(n)
			if err != nil {
				m.failure(w, name, "write", err)
			} else {
				m.bytes.Add(int64(n))
				if m.mBytes != nil {
					m.mBytes.Add(float64(n))
				}
			}
		}
		w.pending.Add(-int64(len(b)))
		m.pending.Add(-int64(len(b)))
		if cap(b) <= 2*chunkSize {
			select {
			case w.free <- b[:0]:
			default:
			}
		}
	}
	if f == nil {
		return
	}
	if !w.failed.Load() {
		if err := f.Sync(); err != nil {
			m.failure(w, name, "sync", err)
		}
	}
	if err := f.Close(); err != nil && !w.failed.Load() {
		m.failure(w, name, "close", err)
	}
	if !w.failed.Load() {
		m.completed.Add(1)
	}
}

// createFile opens path, or path with a numeric suffix when it is taken.
func (m *Recorders) createFile(path string) (recordingFile, string, error) {
	base := strings.TrimSuffix(path, fileExt)
	name := path
	for i := 2; ; i++ {
		f, err := m.o.create(name)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, os.ErrExist) || i > maxNameAttempts {
			return nil, name, err
		}
		name = base + "-" + strconv.Itoa(i) + fileExt
	}
}

func (m *Recorders) failure(w *fileWriter, path, op string, err error) {
	if w.failed.Swap(true) {
		return
	}
	m.failed.Add(1)
	if m.mEnded != nil {
		m.mEnded.WithLabelValues("disk_error").Inc()
	}
	m.log.Warn("recording dropped: disk error", "file", path, "op", op, "err", err)
}

// fileName is <time>_<player>_<session>.rgrec with both names reduced to
// safe characters: a player name reaches the file system here, and names
// from cracked clients can hold anything.
func fileName(t time.Time, player, session string) string {
	return t.UTC().Format("20060102T150405Z") + "_" + sanitize(player, maxFileNamePlayer, "unknown") + "_" +
		sanitize(session, maxFileNameSession, "nosession") + fileExt
}

// sanitize keeps ASCII letters, digits, '_' and '-' (replacing anything
// else with '_'), caps the length, and never returns "", "." or "..".
func sanitize(s string, max int, empty string) string {
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= max {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return empty
	}
	return b.String()
}
