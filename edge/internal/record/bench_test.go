package record

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestEncoderAllocs: encoding a packet of a known kind allocates nothing.
func TestEncoderAllocs(t *testing.T) {
	var enc encoder
	buf := enc.header(make([]byte, 0, 1<<20), testHeader)
	data := position(1, 2, 3)
	buf = enc.packet(buf, mcproto.Serverbound, mcproto.StatePlay, packets.KindPlayerPosition, data, 0, simStart)
	now := simStart
	if a := testing.AllocsPerRun(1000, func() {
		now = now.Add(50 * time.Millisecond)
		buf = enc.packet(buf[:0], mcproto.Serverbound, mcproto.StatePlay, packets.KindPlayerPosition, data, 0, now)
		buf = enc.marker(buf, tagProbe, now)
	}); a != 0 {
		t.Errorf("%v allocations per packet, want 0", a)
	}
}

// BenchmarkRecorderPacket measures the relay goroutine's cost of recording
// one movement packet to a file (the disk is a fake that keeps nothing).
// Chunks come back from the writer for reuse; the odd allocation is a
// chunk the writer had not returned yet.
func BenchmarkRecorderPacket(b *testing.B) {
	m, err := New(Policy{Dir: b.TempDir(), Players: []string{"alex"}, MaxBytes: 1 << 40, TotalMaxBytes: 1 << 40},
		Options{create: func(string) (recordingFile, error) { return discardFile{}, nil }, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	r := m.Factory()(testInfo)
	data := position(1, 2, 3)
	now := simStart
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		r.Packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindPlayerPosition, data, 0, now)
	}
	_ = r.Close()
	_ = m.Close(context.Background())
}

// BenchmarkRingPacket measures an on-detection player's cost per packet.
func BenchmarkRingPacket(b *testing.B) {
	r := newRing(DefaultRingBytes, DefaultRingWindow)
	data := position(1, 2, 3)
	now := simStart
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		r.packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindPlayerPosition, data, 0, now)
	}
}

// discardFile accepts and forgets everything.
type discardFile struct{}

func (discardFile) Write(p []byte) (int, error) { return len(p), nil }
func (discardFile) Sync() error                 { return nil }
func (discardFile) Close() error                { return nil }
