package limbo

import (
	"net"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// discardConn is a net.Conn that swallows writes and has nothing to read.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) Read([]byte) (int, error)         { return 0, net.ErrClosed }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzClientPackets feeds arbitrary client frames, in every state the limbo
// reads, to the code that inflates, decodes and judges them. Whatever the
// bytes, it must not panic, and a verdict must be one of the reasons.
func FuzzClientPackets(f *testing.F) {
	l, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), uint8(0), []byte{0x00, 0x03})                   // 1.20.4 login acknowledged
	f.Add(uint8(1), uint8(2), []byte{0x00, 0x00, 0x00})             // 1.21.4 teleport confirm 0
	f.Add(uint8(2), uint8(2), []byte{0x00, 0x04, 0x01, 0x00})       // 1.8 position, short
	f.Add(uint8(1), uint8(1), []byte{0x1c, 0x78, 0x9c, 0x63, 0x00}) // compressed, broken
	protocols := []int32{765, 769, 47, 340}
	states := []mcproto.State{mcproto.StateLogin, mcproto.StateConfiguration, mcproto.StatePlay}
	f.Fuzz(func(t *testing.T, pi, si uint8, body []byte) {
		p := protocols[int(pi)%len(protocols)]
		st := states[int(si)%len(states)]
		if st == mcproto.StateConfiguration && p < mcproto.Protocol1_20_2 {
			st = mcproto.StatePlay
		}
		s := newSession(l, discardConn{}, l.world.lookup(p), nil)
		s.in, s.teleportSent = st, true
		id, packet, err := s.decompress(body)
		if err == nil {
			err = s.handle(id, packet)
		}
		if f, ok := err.(*errFail); ok && (f.reason == None || !f.reason.Failure()) {
			t.Fatalf("verdict %v is not a failure", f.reason)
		}
	})
}
