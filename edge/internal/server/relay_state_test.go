package server

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestPipelinedPlayPacketsAreInspected is the audit's bypass (issue 7,
// finding 1): a client writes Login Start and, in the same write, play
// packets, the first with id 0x01 (Encryption Response in login). The edge
// used to read that frame as an Encryption Response before the backend had
// answered, switch the client's leg to an uninspected copy, and let a NaN
// position through. Now the frames wait for the backend's answer: against
// an uncompressed backend they are read as play and the NaN is caught by
// the detection engine; against a compressing one they are not valid
// frames at all and the client is closed as malformed. Either way the
// backend never sees the NaN.
func TestPipelinedPlayPacketsAreInspected(t *testing.T) {
	for _, tc := range []struct {
		protocol  int32
		threshold int
	}{{47, -1}, {47, 256}, {763, -1}, {763, 256}} {
		t.Run(fmt.Sprintf("%d/threshold %d", tc.protocol, tc.threshold), func(t *testing.T) {
			b := startBackend(t, tc.threshold, false)
			cfg := testConfig(b.addr())
			cfg.Detection.Enabled = true
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			table := packets.Lookup(tc.protocol)
			posID := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerPosition)
			nan := packets.PlayerPosition{X: math.NaN(), Y: 64, Z: 0}.AppendData(mcproto.AppendVarInt(nil, posID), tc.protocol)
			// Uncompressed frames: the client cannot know what the backend
			// will announce.
			first := mcproto.AppendFrame(nil, mcproto.AppendString([]byte{0x01}, "hello"))
			var out []byte
			out = append(out, handshake(tc.protocol, "localhost", 25565, 2)...)
			out = append(out, loginStart(tc.protocol, "Pipeliner")...)
			out = append(out, first...)
			for range 3 {
				out = append(out, mcproto.AppendFrame(nil, nan)...)
			}
			if _, err := c.Write(out); err != nil {
				t.Fatal(err)
			}
			bc := b.nextLogin(t)
			// Read what the backend gets until the edge closes its leg.
			_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, err := bc.fr.Next(); err != nil {
					break
				}
			}
			if bytes.Contains(bc.raw.Bytes(), nan[1:]) {
				t.Fatalf("a NaN position reached the backend: %x", bc.raw.Bytes())
			}
			c.expectClosed(t)
			if tc.threshold < 0 {
				waitFor(t, func() bool { return detections(t, e, "crash.move_non_finite", "kick") == 1 })
				if !bytes.Contains(bc.raw.Bytes(), first) {
					t.Errorf("the pipelined packet before the NaN, read as play, did not reach the backend: %x", bc.raw.Bytes())
				}
			} else {
				waitFor(t, func() bool { return rejected(e, reason.Malformed) == 1 })
			}
		})
	}
}

// TestClientCannotMoveItsOwnLeg: the client's acknowledgements of a state
// change count only after the edge relayed the change they acknowledge.
// Before, a client in play could send Configuration Acknowledged unasked,
// and the edge read its following play packets as configuration packets,
// where no play check runs.
func TestClientCannotMoveItsOwnLeg(t *testing.T) {
	const protocol = 769
	table := packets.Lookup(protocol)
	posID := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerPosition)
	nan := packets.PlayerPosition{X: math.NaN(), Y: 64}.AppendData(mcproto.AppendVarInt(nil, posID), protocol)
	for _, tc := range []struct {
		name  string
		state mcproto.State // where the client lies
		kind  packets.Kind
	}{
		{"configuration acknowledged in play without Start Configuration", mcproto.StatePlay, packets.KindConfigurationAcknowledged},
		{"finish configuration before the server finished", mcproto.StateConfiguration, packets.KindFinishConfiguration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBackend(t, 256, false)
			cfg := testConfig(b.addr())
			cfg.Detection.Enabled = true
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			c.login(t, protocol, "Liar")
			bc := b.nextLogin(t)
			if tc.state == mcproto.StatePlay {
				enterPlay(t, c, bc, protocol)
			} else {
				c.Write(frameRaw(0x03, nil)) // Login Acknowledged
				if _, err := bc.fr.Next(); err != nil {
					t.Fatal(err)
				}
			}
			bc.raw.Reset()
			lie := frameRaw(table.ID(tc.state, mcproto.Serverbound, tc.kind), nil)
			var comp mcproto.Compressor
			if _, err := c.Write(append(lie, comp.AppendFrame(nil, nan, 256)...)); err != nil {
				t.Fatal(err)
			}
			c.expectClosed(t)
			_ = bc.SetReadDeadline(time.Now().Add(2 * time.Second))
			for {
				if _, err := bc.fr.Next(); err != nil {
					break
				}
			}
			if bytes.Contains(bc.raw.Bytes(), nan[1:]) {
				t.Fatalf("a NaN position reached the backend after the lie: %x", bc.raw.Bytes())
			}
			if bytes.Contains(bc.raw.Bytes(), lie) {
				t.Errorf("the unasked acknowledgement reached the backend: %x", bc.raw.Bytes())
			}
			waitFor(t, func() bool { return rejected(e, reason.Malformed) == 1 })
		})
	}
}

// TestLegacyPingDribbleEndsAtTheHandshakeDeadline (issue 7, finding 4): a
// legacy ping read waits a moment for more bytes, and that per-read wait
// used to replace the handshake deadline, so a byte every 100 ms held the
// connection for a minute. Now the per-read wait never passes the
// handshake deadline.
func TestLegacyPingDribbleEndsAtTheHandshakeDeadline(t *testing.T) {
	const handshakeTimeout = time.Second
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Proxy.HandshakeTimeout = config.Duration(handshakeTimeout)
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())

	// The start of a 1.6 ping ("FE 01 FA", then "MC|PingHost" as UTF-16BE
	// with its length), never finished: one byte every 100 ms for up to 6 s,
	// well under the 600 bytes a legacy ping may buffer.
	ping := []byte{0xFE, 0x01, 0xFA, 0x00, 0x0B}
	for _, r := range "MC|PingHost" {
		ping = append(ping, 0, byte(r))
	}
	ping = append(ping, 0x00, 0x40, 0x4A, 0x00, 0x1F) // payload length, protocol, host length
	for len(ping) < 60 {
		ping = append(ping, 0, 'a')
	}
	start := time.Now()
	closedAfter := time.Duration(0)
	for i := range ping {
		if _, err := c.Write(ping[i : i+1]); err != nil {
			closedAfter = time.Since(start)
			break
		}
		// The edge closing shows as a readable EOF (or a reset).
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		var one [1]byte
		if _, err := c.Read(one[:]); err == nil || !isTimeoutErr(err) {
			closedAfter = time.Since(start)
			break
		}
	}
	if closedAfter == 0 {
		t.Fatalf("the edge held a dribbling legacy ping for %v (handshake timeout %v)", time.Since(start), handshakeTimeout)
	}
	t.Logf("closed after %v", closedAfter)
	waitFor(t, func() bool { return rejected(e, reason.HandshakeTimeout) == 1 })
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestLoginHoldIsBounded: what a client sends before the backend has
// answered is held at the edge, so it is bounded: a frame larger than any
// answer the client could owe yet is refused before it is buffered.
func TestLoginHoldIsBounded(t *testing.T) {
	// The backend answers with Set Compression at once and Login Success
	// only later: while it has not, nothing explains a large frame.
	b := startBackend(t, 256, false)
	b.holdSuccess.Store(int64(2 * time.Second))
	e := startEdge(t, testConfig(b.addr()))
	c := dial(t, e.Addr().String())
	big := mcproto.AppendFrame(nil, append([]byte{0x02}, make([]byte, 100<<10)...))
	out := append(handshake(47, "localhost", 25565, 2), loginStart(47, "Hoarder")...)
	if _, err := c.Write(append(out, big...)); err != nil {
		t.Fatal(err)
	}
	c.expectClosed(t)
	waitFor(t, func() bool { return rejected(e, reason.FrameTooLarge) == 1 })
}
