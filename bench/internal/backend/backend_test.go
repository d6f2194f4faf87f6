package backend

import (
	"bytes"
	"math/bits"
	"net"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/mc18"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
	"github.com/rustguard/rustguard/shared/mcproto"
)

func TestNewRejectsBadSizes(t *testing.T) {
	for _, size := range []int{0, -1, MinBulkPacket - 1, MaxBulkPacket + 1} {
		if _, err := New(Config{BulkPacket: size}); err == nil {
			t.Errorf("bulk packet %d accepted", size)
		}
	}
}

func TestBulkFrame(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		size      int
	}{
		{"uncompressed", mcproto.CompressionOff, 40 << 10},
		{"compressed", DefaultThreshold, DefaultBulkPacket},
		{"smallest", DefaultThreshold, MinBulkPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := BulkFrame(tt.threshold, tt.size)
			if !bytes.Equal(f, BulkFrame(tt.threshold, tt.size)) {
				t.Fatal("bulk frame is not deterministic")
			}
			a, b := net.Pipe()
			defer b.Close()
			go func() { _, _ = a.Write(f); a.Close() }()
			c := mcconn.New(b, mcproto.Clientbound)
			c.SetThreshold(tt.threshold)
			id, data, err := c.ReadPacket()
			if err != nil || id != mc18.ChunkDataID {
				t.Fatalf("packet %#x, %v", id, err)
			}
			if got := 1 + len(data); got > tt.size || got <= tt.size-chunkSection {
				t.Errorf("packet of %d bytes, want the largest chunk up to %d", got, tt.size)
			}
			// The edge's replica decodes it: x, z, ground-up, a bitmask
			// whose sections with light and the biomes are the data.
			r := mcproto.NewReader(data)
			r.Int32()
			r.Int32()
			full, mask := r.Bool(), r.Uint16()
			sections := r.ByteArray(MaxBulkPacket)
			if err := r.Finish(); err != nil || !full || len(sections) != bits.OnesCount16(mask)*chunkSection+chunkBiomes {
				t.Errorf("not a well-formed chunk: ground-up %v, mask %#x, %d bytes of data (%v)", full, mask, len(sections), err)
			}
			if tt.threshold >= 0 && tt.size >= tt.threshold && len(f) > tt.size*3/4 {
				t.Errorf("compressed frame of %d bytes for %d: the payload should compress", len(f), tt.size)
			}
		})
	}
}

func start(t *testing.T) (*Server, string) {
	t.Helper()
	srv, err := New(Config{Threshold: DefaultThreshold, BulkPacket: DefaultBulkPacket})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := srv.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return srv, addr
}

// talk opens a connection, sends raw bytes, half-closes and reads until
// the backend closes, returning what came back.
func talk(t *testing.T, addr string, send []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(send); err != nil {
		t.Fatal(err)
	}
	// Half-close: the backend reads EOF after what we sent.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, _ = out.ReadFrom(c)
	return out.Bytes()
}

func TestProtocolErrorsAreCountedProbesAreNot(t *testing.T) {
	srv, addr := start(t)
	frame := func(pkt []byte) []byte { return mcproto.AppendFrame(nil, pkt) }
	tests := []struct {
		name     string
		send     []byte
		wantErrs int64
		wantKick bool
	}{
		{"health probe: connect and close", nil, 0, false},
		{"garbage handshake", frame([]byte{0x00, 0xff, 0xff}), 1, false},
		{"unknown intent", frame(mc18.AppendHandshake(nil, 47, "h", 1, 7)), 1, false},
		{"login with 1.20 protocol", append(frame(mc18.AppendHandshake(nil, 763, "h", 1, 2)),
			frame(mc18.AppendLoginStart(nil, "idle1"))...), 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Stats().ProtocolErrors
			got := talk(t, addr, tt.send)
			// The backend has closed: the counter is final.
			if n := srv.Stats().ProtocolErrors - before; n != tt.wantErrs {
				t.Errorf("protocol errors +%d, want +%d", n, tt.wantErrs)
			}
			kicked := bytes.Contains(got, []byte("1.8 only"))
			if kicked != tt.wantKick {
				t.Errorf("kicked = %v, want %v (got %q)", kicked, tt.wantKick, got)
			}
		})
	}
}
