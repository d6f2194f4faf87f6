package conn

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(tb testing.TB) (*net.TCPConn, *net.TCPConn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		_ = a.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// rawRelay is a serverbound pump already copying raw (spliced, or with
// cipher through the client leg's decryption), running between two
// loopback connections: what the player writes to peer reaches backend.
type rawRelay struct {
	peer, backend *net.TCPConn
	peerEnc       auth.Stream // the player's side of the cipher; nil when spliced
	done          chan error
}

func startRawRelay(tb testing.TB, cipher bool) *rawRelay {
	tb.Helper()
	peer, edgeClient := tcpPair(tb)
	edgeBackend, backend := tcpPair(tb)
	h := NewHandler(Options{Metrics: telemetry.New("test", "test"), IdleTimeout: time.Minute})
	s := &session{h: h, client: edgeClient, backend: edgeBackend}
	l := newLeg(edgeClient, mcproto.NewFramer(h.o.Pool, mcproto.MaxFrameLength))
	r := &rawRelay{peer: peer, backend: backend, done: make(chan error, 1)}
	if cipher {
		enc, dec := testStreams(tb)
		r.peerEnc, _ = testStreams(tb)
		s.enc = enc
		l.decryptFrom(dec)
	}
	p := &pump{s: s, dir: mcproto.Serverbound, src: l, dst: edgeBackend, idle: time.Minute,
		state: mcproto.StatePlay, threshold: mcproto.CompressionOff, raw: true}
	p.onEnd = func(err error) { r.done <- err }
	p.start()
	tb.Cleanup(func() {
		_ = peer.Close()
		<-r.done
		if pl := h.pl.Load(); pl != nil {
			pl.close()
		}
	})
	return r
}

// forward sends pkt from the player and reads it at the backend into got.
func (r *rawRelay) forward(tb testing.TB, pkt, got []byte) {
	if r.peerEnc != nil {
		r.peerEnc.XORKeyStream(pkt, pkt) // what the backend reads is pkt before this
	}
	if _, err := r.peer.Write(pkt); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(r.backend, got); err != nil {
		tb.Fatal(err)
	}
}

// TestRawRelayAllocatesNothing: a leg copied raw (spliced, or through the
// cipher) allocates nothing per forwarded packet, now that it can park
// between them (the LimitedReader the splice is handed lives in the leg).
func TestRawRelayAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers at random under the race detector")
	}
	for _, cipher := range []bool{false, true} {
		r := startRawRelay(t, cipher)
		pkt, got := make([]byte, 64), make([]byte, 64)
		run := func() { r.forward(t, pkt, got) }
		run() // the pools' first buffer and pipe
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("cipher %v: %v allocations per forwarded packet", cipher, n)
		}
	}
}

// BenchmarkRawRelay: one 64-byte packet from the player to the backend
// through a raw leg per op (both sockets' round trip included).
func BenchmarkRawRelay(b *testing.B) {
	for _, kind := range []struct {
		name   string
		cipher bool
	}{{"spliced", false}, {"cipher", true}} {
		b.Run(kind.name, func(b *testing.B) {
			r := startRawRelay(b, kind.cipher)
			pkt, got := make([]byte, 64), make([]byte, 64)
			r.forward(b, pkt, got)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				r.forward(b, pkt, got)
			}
		})
	}
}
