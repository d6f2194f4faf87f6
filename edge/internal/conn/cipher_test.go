package conn

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// fakeConn is a net.Conn that hands out src on every Read and keeps what
// is written, for the cipher's hot paths without sockets.
type fakeConn struct {
	net.Conn // unused methods panic
	src      []byte
	wrote    bytes.Buffer
	keep     bool
}

func (c *fakeConn) Read(p []byte) (int, error) { return copy(p, c.src), nil }
func (c *fakeConn) Write(p []byte) (int, error) {
	if c.keep {
		c.wrote.Write(p)
	}
	return len(p), nil
}
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }

func testStreams(t testing.TB) (auth.Stream, auth.Stream) {
	t.Helper()
	enc, dec, err := auth.NewStreams([auth.SecretLen]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	return enc, dec
}

// TestOnlineRelayPathAllocatesNothing: decrypting what the client sends
// (in the leg, after each read) and encrypting what goes to it (in the
// clientbound write, with a probe appended) allocate nothing per packet.
func TestOnlineRelayPathAllocatesNothing(t *testing.T) {
	enc, dec := testStreams(t)
	client := &fakeConn{src: bytes.Repeat([]byte{0x42}, 64)}
	s := &session{h: NewHandler(Options{Metrics: telemetry.New("test", "test")}), client: client, enc: enc}
	l := newLeg(client, mcproto.NewFramer(s.h.o.Pool, mcproto.MaxFrameLength))
	l.decryptFrom(dec)
	p := &pump{s: s, dir: mcproto.Clientbound, dst: client, idle: time.Minute}
	batch := bytes.Repeat([]byte{7}, 300)
	run := func() {
		if err := l.fill(); err != nil {
			t.Fatal(err)
		}
		l.f.TakeBuffered()
		l.f.Release()
		if err := p.write(batch, true); err != nil {
			t.Fatal(err)
		}
	}
	run() // the pool's first buffer
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("%v allocations per read and write", n)
	}
}

// TestClientLegStreamOrder: whatever the edge writes to the client —
// relayed batches, a batch with a probe, a disconnect — is one cipher
// stream in write order, which the client decrypts as a whole.
func TestClientLegStreamOrder(t *testing.T) {
	enc, _ := testStreams(t)
	_, clientDec := testStreams(t)
	client := &fakeConn{keep: true}
	s := &session{h: NewHandler(Options{Metrics: telemetry.New("test", "test")}), client: client, enc: enc}
	s.hs.Protocol = 769
	p := &pump{s: s, dir: mcproto.Clientbound, dst: client, idle: time.Minute, threshold: mcproto.CompressionOff}
	one := mcproto.AppendFrame(nil, []byte{0x10, 1, 2, 3})
	two := mcproto.AppendFrame(nil, []byte{0x11, 4, 5})
	var plain []byte
	plain = append(plain, one...)
	if err := p.write(append([]byte(nil), one...), false); err != nil {
		t.Fatal(err)
	}
	p.bufs = append(p.bufs[:0], append([]byte(nil), two...), append([]byte(nil), one...))
	plain = append(append(plain, two...), one...)
	s.clientMu.Lock()
	if err := p.writeBuffers(); err != nil {
		t.Fatal(err)
	}
	s.disconnectLockedForTest(t, &plain)
	s.clientMu.Unlock()
	got := client.wrote.Bytes()
	clientDec.XORKeyStream(got, got)
	if !bytes.Equal(got, plain) {
		t.Fatalf("client decrypted %x, want %x", got, plain)
	}
}

// disconnectLockedForTest writes a login disconnect as a kick does and
// appends its plaintext frame to plain.
func (s *session) disconnectLockedForTest(t *testing.T, plain *[]byte) {
	t.Helper()
	before := len(s.client.(*fakeConn).wrote.Bytes())
	s.writeDisconnectLocked(mcproto.StateLogin, "bye")
	n := len(s.client.(*fakeConn).wrote.Bytes()) - before
	if n == 0 {
		t.Fatal("no disconnect written")
	}
	// The frame is deterministic: build it again to know its plaintext.
	var comp mcproto.Compressor
	frame := comp.AppendFrame(nil, packets.AppendDisconnect(nil, mcproto.StateLogin, s.hs.Protocol, "bye"), mcproto.CompressionOff)
	if len(frame) != n {
		t.Fatalf("disconnect of %d bytes, rebuilt %d", n, len(frame))
	}
	*plain = append(*plain, frame...)
}

// TestLegDecryptsWhatItHadBuffered: bytes the client sent right behind its
// Encryption Response arrive in the same read as the response, before the
// cipher is on; they are decrypted when it starts, then every read after.
func TestLegDecryptsWhatItHadBuffered(t *testing.T) {
	clientEnc, _ := testStreams(t)
	_, dec := testStreams(t)
	response := mcproto.AppendFrame(nil, []byte{0x01, 0xaa, 0xbb})
	first := mcproto.AppendFrame(nil, []byte{0x02, 1, 2, 3})
	second := mcproto.AppendFrame(nil, []byte{0x03})
	wire := append([]byte(nil), response...)
	enc1 := append([]byte(nil), first...)
	clientEnc.XORKeyStream(enc1, enc1)
	wire = append(wire, enc1...)
	enc2 := append([]byte(nil), second...)
	clientEnc.XORKeyStream(enc2, enc2)

	client := &fakeConn{src: wire}
	l := newLeg(client, mcproto.NewFramer(nil, mcproto.MaxFrameLength))
	if err := l.fill(); err != nil {
		t.Fatal(err)
	}
	raw, _, err := l.f.Next()
	if err != nil || !bytes.Equal(raw, response) {
		t.Fatalf("response %x, %v", raw, err)
	}
	l.decryptFrom(dec)
	raw, _, _ = l.f.Next()
	if !bytes.Equal(raw, first) {
		t.Fatalf("the packet buffered behind the response reads %x, want %x", raw, first)
	}
	client.src = enc2
	if err := l.fill(); err != nil {
		t.Fatal(err)
	}
	if raw, _, _ = l.f.Next(); !bytes.Equal(raw, second) {
		t.Fatalf("the next read gives %x, want %x", raw, second)
	}
}
