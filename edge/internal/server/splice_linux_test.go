package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestSplicedIdlePlayersHoldNoPipes: with play inspection off the edge
// splices play traffic, and a spliced player that sends nothing holds its
// two sockets and nothing else. (io.Copy held a splice pipe, two more
// descriptors, per direction for the whole connection: an edge ran out of
// descriptors at half the players.) The bytes still pass exactly, both
// ways, small and large, after the players sat idle.
func TestSplicedIdlePlayersHoldNoPipes(t *testing.T) {
	const players = 40
	const protocol = mcproto.Protocol1_12_2
	b := startBackend(t, 256, false)
	cfg := testConfig(b.addr())
	cfg.Proxy.InspectPlay = false
	e := startEdge(t, cfg)
	type pair struct {
		c  *client
		bc *backendConn
	}
	exchange := func(p pair, token int64, downSize int) error {
		return exchangeSpliced(p.c, p.bc, protocol, token, downSize)
	}

	before := openFDs(t)
	var all []pair
	for i := range players {
		c := dial(t, e.Addr().String())
		c.login(t, protocol, fmt.Sprintf("Idle%d", i))
		p := pair{c, b.nextLogin(t)}
		// The first play packet each way turns both legs into splices.
		if err := exchange(p, int64(i), 30); err != nil {
			t.Fatalf("player %d: %v", i, err)
		}
		all = append(all, p)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(e.Metrics.SplicedConns) == 2*players })
	waitFor(t, noPumpRunning) // every leg is back waiting, in the poller
	// Per player: the test's client and backend sockets and the edge's two
	// legs, nothing more.
	perPlayer := float64(openFDs(t)-before) / players
	if perPlayer > 5.5 { // the slack: pipes the splice pool keeps for the next copy
		t.Errorf("%.2f descriptors per idle spliced player, want 4 (2 in the test, 2 in the edge)", perPlayer)
	}
	t.Logf("%.2f descriptors per idle spliced player (4 are sockets)", perPlayer)

	for i, p := range all {
		size := 30
		if i%10 == 0 {
			size = 3 << 20 // several splices' worth
		}
		if err := exchange(p, int64(100+i), size); err != nil {
			t.Fatalf("player %d after idling: %v", i, err)
		}
	}
}

// exchangeSpliced sends a play frame each way between a spliced player's
// client c and its backend leg bc (protocol, compression at 256), the
// clientbound one of about downSize bytes, and checks both arrive
// unchanged, byte for byte.
func exchangeSpliced(c *client, bc *backendConn, protocol int32, token int64, downSize int) error {
	table := packets.Lookup(protocol)
	keepAlive := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindKeepAlive)
	var comp mcproto.Compressor
	up := comp.AppendFrame(nil, mcproto.AppendInt64(mcproto.AppendVarInt(nil, keepAlive), token), 256)
	bc.raw.Reset()
	if _, err := c.Write(up); err != nil {
		return err
	}
	_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bc.fr.Next(); err != nil {
		return fmt.Errorf("backend read: %w", err)
	}
	if !bytes.Equal(bc.raw.Bytes(), up) {
		return fmt.Errorf("backend got %x, client sent %x", bc.raw.Bytes(), up)
	}
	down := comp.AppendFrame(nil, append(mcproto.AppendVarInt(nil, 0x20), bytes.Repeat([]byte{byte(token), 1, 2}, downSize/3)...), 256)
	if _, err := bc.Write(down); err != nil {
		return err
	}
	got := make([]byte, len(down))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c.Conn, got); err != nil {
		return fmt.Errorf("client read: %w", err)
	}
	if !bytes.Equal(got, down) {
		return fmt.Errorf("client got different bytes than the backend sent (%d)", len(down))
	}
	return nil
}

// TestSplicesWaitForASlowPlayer: a player who stops reading for a while
// (a slow link, a client busy loading the world) while the backend sends
// megabytes keeps its connection, on a spliced leg (play inspection off)
// and for spliced large frames (inspection on). The edge's read deadline
// on the backend leg is short while it only peeks at what arrived; once
// the bytes are there it must not bound the splice, whose writes wait on
// the player: it did, and the edge closed the player as idle
// ("copy clientbound: readfrom ...: i/o timeout") after a tenth of a
// second (raw) or a second (frames) of waiting on the write.
func TestSplicesWaitForASlowPlayer(t *testing.T) {
	// Frames of 2,000,000 bytes; the player reads 2 MiB at a time and
	// pauses after each, so the backend leg fills up with megabytes while
	// the edge waits on the player, and the next splice is longer than
	// one pipe.
	const frames, size, chunk = 5, 2_000_000, 2 << 20
	slowRead := func(t *testing.T, c net.Conn, bc net.Conn, stream []byte, pause time.Duration) {
		t.Helper()
		go func() { _, _ = bc.Write(stream) }()
		got := make([]byte, len(stream))
		for off := 0; off < len(stream); off += chunk {
			time.Sleep(pause) // the player reads nothing meanwhile
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if n, err := io.ReadFull(c, got[off:min(off+chunk, len(got))]); err != nil {
				t.Fatalf("player read %d of %d bytes, pausing %v every %d: %v", off+n, len(stream), pause, chunk, err)
			}
		}
		if !bytes.Equal(got, stream) {
			t.Fatal("player got different bytes than the backend sent")
		}
	}
	t.Run("spliced leg", func(t *testing.T) {
		_, join := startSplicedEdge(t, func(*config.Edge) {})
		p := join(t, 0)
		var stream []byte
		for i := range frames {
			stream = append(stream, pluginFrame(uint64(i), size, 256)...)
		}
		slowRead(t, p.client, p.bc, stream, 300*time.Millisecond)
	})
	t.Run("large frames", func(t *testing.T) {
		e, c, bc := playLeg(t, -1, false)
		var stream []byte
		for i := range frames {
			stream = append(stream, pluginFrame(uint64(i), size, -1)...)
		}
		slowRead(t, c.Conn, bc, stream, 1200*time.Millisecond)
		if n := testutil.ToFloat64(e.Metrics.SplicedFrames); n != frames {
			t.Errorf("%v frames spliced, want %d", n, frames)
		}
	})
}
