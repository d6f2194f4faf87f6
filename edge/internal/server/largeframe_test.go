package server

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// largeFrameCases are the legs the large-frame tests run on: 1.8 (no
// configuration state, the replica has its block table) without and with
// compression, each with the world replica on (the default) and off.
var largeFrameCases = []struct {
	threshold int
	world     bool
}{{-1, true}, {256, true}, {-1, false}, {256, false}}

// playLeg logs a 1.8 player in through an edge with the relay byte for
// byte (detection off: its probes would join the client's stream) and
// returns the player and the backend's end of its connection.
func playLeg(t *testing.T, threshold int, world bool) (*Edge, *client, *backendConn) {
	t.Helper()
	b := startBackend(t, threshold, false)
	cfg := testConfig(b.addr())
	if !world {
		cfg.World.BudgetBytes = 0
	}
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())
	c.login(t, 47, "Bulk")
	return e, c, b.nextLogin(t)
}

// pluginFrame is a clientbound 1.8 plugin message of about size bytes with
// incompressible data, framed for the leg: a body the edge does not read.
func pluginFrame(seed uint64, size, threshold int) []byte {
	id := packets.Lookup(47).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindPluginMessage)
	pkt := mcproto.AppendString(mcproto.AppendVarInt(nil, id), "test:bulk")
	rng := rand.New(rand.NewPCG(seed, seed))
	for range size {
		pkt = append(pkt, byte(rng.Uint32()))
	}
	var comp mcproto.Compressor
	return comp.AppendFrame(nil, pkt, threshold)
}

// smallFrames is n small clientbound frames (chat-sized plugin messages).
func smallFrames(n, threshold int) []byte {
	var out []byte
	for i := range n {
		out = append(out, pluginFrame(uint64(1000+i), 40+i, threshold)...)
	}
	return out
}

// expectBytes reads exactly want from the player's socket.
// expectSplicedThenRest reads want (one spliced frame and what was
// relayed with it), checks that one frame was spliced, and returns what
// the player read after it until the edge closed the connection.
func expectSplicedThenRest(t *testing.T, c *client, e *Edge, want []byte) (rest []byte) {
	t.Helper()
	expectBytes(t, c, want)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, _ = io.ReadAll(c.Conn)
	if n := testutil.ToFloat64(e.Metrics.SplicedFrames); n != 1 {
		t.Errorf("%v frames spliced, want 1", n)
	}
	return rest
}

func expectBytes(t *testing.T, c *client, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := io.ReadFull(c.Conn, got); err != nil {
		t.Fatalf("player read %d of %d bytes: %v", n, len(want), err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("player got different bytes from offset %d of %d", i, len(want))
	}
}

// TestLargeFramesSpliced: large frames whose body nothing on the edge
// reads reach the player byte for byte, their bodies spliced (counted in
// rustguard_edge_spliced_frames_total), compressed or not, when they
// straddle the edge's reads (the backend writes them in pieces, each
// after the player has what came before), and when the next frames follow
// the large one in the same write; afterwards the leg batches small
// frames through user space again (the count stays), and a frame under
// the splice size is not spliced.
func TestLargeFramesSpliced(t *testing.T) {
	for _, tc := range largeFrameCases {
		t.Run(fmt.Sprintf("threshold %d/world %v", tc.threshold, tc.world), func(t *testing.T) {
			e, c, bc := playLeg(t, tc.threshold, tc.world)
			write := func(b []byte) {
				t.Helper()
				if _, err := bc.Write(b); err != nil {
					t.Fatal(err)
				}
			}

			// Small frames first: batched.
			small := smallFrames(20, tc.threshold)
			write(small)
			expectBytes(t, c, small)

			// A 300 KB frame in four writes, the player reading each piece
			// before the next is written: the splice waits for its rest.
			big := pluginFrame(1, 300<<10, tc.threshold)
			cuts := []int{0, 4 << 10, 70 << 10, 200 << 10, len(big)}
			for i := 1; i < len(cuts); i++ {
				write(big[cuts[i-1]:cuts[i]])
				expectBytes(t, c, big[cuts[i-1]:cuts[i]])
			}
			waitFor(t, func() bool { return testutil.ToFloat64(e.Metrics.SplicedFrames) == 1 })

			// A large frame with small frames on both sides in one write,
			// then a 20 KB frame (under the splice size) and more small
			// ones: every byte arrives, one more frame is spliced.
			var burst []byte
			burst = append(burst, smallFrames(5, tc.threshold)...)
			burst = append(burst, pluginFrame(2, 500<<10, tc.threshold)...)
			burst = append(burst, smallFrames(30, tc.threshold)...)
			burst = append(burst, pluginFrame(3, 20<<10, tc.threshold)...)
			burst = append(burst, smallFrames(30, tc.threshold)...)
			write(burst)
			expectBytes(t, c, burst)
			if n := testutil.ToFloat64(e.Metrics.SplicedFrames); n != 2 {
				t.Errorf("%v frames spliced, want 2", n)
			}

			// The player's leg is relayed as before.
			up := frameRaw(0x00, []byte{0, 0, 0, 42}) // keep alive
			if _, err := c.Write(up); err != nil {
				t.Fatal(err)
			}
			_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if body, err := bc.fr.Next(); err != nil || !bytes.Equal(body, up[1:]) {
				t.Fatalf("backend got %x, %v; want %x", body, err, up[1:])
			}
		})
	}
}

// TestLargeFrameCutShort: a backend that announces a large frame and hangs
// up before its end. The player gets exactly the bytes the backend sent,
// then the connection ends, with nothing written after them: the stream
// stopped inside a frame, so no disconnect can be framed into it.
func TestLargeFrameCutShort(t *testing.T) {
	for _, tc := range largeFrameCases[:2] {
		t.Run(fmt.Sprintf("threshold %d", tc.threshold), func(t *testing.T) {
			e, c, bc := playLeg(t, tc.threshold, tc.world)
			big := pluginFrame(4, 400<<10, tc.threshold)
			sent := append(smallFrames(3, tc.threshold), big[:len(big)/2]...)
			if _, err := bc.Write(sent); err != nil {
				t.Fatal(err)
			}
			expectBytes(t, c, sent)
			_ = bc.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			rest, err := io.ReadAll(c.Conn)
			if err != nil {
				t.Fatalf("player's connection: %v", err)
			}
			if len(rest) > 0 {
				t.Errorf("player got %d bytes after the cut frame", len(rest))
			}
			if n := testutil.ToFloat64(e.Metrics.SplicedFrames); n != 0 {
				t.Errorf("%v frames counted as spliced, want 0", n)
			}
		})
	}
}

// TestFrameAfterSplicedFrameIsInspected: the frame right after a spliced
// one is read in the leg's state with its compression. A 1.8 backend's Set
// Compression in play (a threshold change mid-stream, which the edge
// cannot follow and refuses) in the same write as a spliced frame still
// closes the backend: the player gets the large frame whole and not the
// Set Compression.
func TestFrameAfterSplicedFrameIsInspected(t *testing.T) {
	for _, tc := range largeFrameCases[:2] {
		t.Run(fmt.Sprintf("threshold %d", tc.threshold), func(t *testing.T) {
			e, c, bc := playLeg(t, tc.threshold, tc.world)
			big := pluginFrame(5, 300<<10, tc.threshold)
			setComp := packets.Lookup(47).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindSetCompression)
			var comp mcproto.Compressor
			out := append(append([]byte(nil), big...), comp.AppendFrame(nil, mcproto.AppendVarInt(mcproto.AppendVarInt(nil, setComp), 64), tc.threshold)...)
			if _, err := bc.Write(out); err != nil {
				t.Fatal(err)
			}
			if rest := expectSplicedThenRest(t, c, e, big); bytes.Contains(rest, out[len(big):]) {
				t.Error("the player got the Set Compression")
			}
			// The backend's connection ends.
			_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, err := bc.fr.Next(); err != nil {
					break
				}
			}
		})
	}
}

// TestStateChangeAfterSplicedFrame: a 1.20.4 backend sends, in one write,
// a large play frame (spliced), Start Configuration and a Registry Data
// that does not decode. The edge follows the leg into configuration
// right after the spliced frame, so it reads the third frame as the
// configuration packet it is: the world replica refuses it and the
// backend is closed, the player told so in a configuration Disconnect.
// Read as a play packet it would have been relayed.
func TestStateChangeAfterSplicedFrame(t *testing.T) {
	const protocol, threshold = 765, 256
	table := packets.Lookup(protocol)
	id := func(st mcproto.State, dir mcproto.Direction, k packets.Kind) int32 { return table.ID(st, dir, k) }
	const (
		cfg  = mcproto.StateConfiguration
		play = mcproto.StatePlay
		cb   = mcproto.Clientbound
		sb   = mcproto.Serverbound
	)
	b := startBackend(t, threshold, false)
	e := startEdge(t, testConfig(b.addr()))
	c := dial(t, e.Addr().String())
	c.login(t, protocol, "Config")
	bc := b.nextLogin(t)
	var comp mcproto.Compressor
	send := func(pkts ...[]byte) []byte {
		t.Helper()
		var out []byte
		for _, p := range pkts {
			out = comp.AppendFrame(out, p, threshold)
		}
		if _, err := bc.Write(out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	next := func() {
		t.Helper()
		_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := bc.fr.Next(); err != nil {
			t.Fatal(err)
		}
	}
	// Into play: Login Acknowledged, then configuration's finish both ways.
	c.Write(frameRaw(id(mcproto.StateLogin, sb, packets.KindLoginAcknowledged), nil))
	next()
	send(mcproto.AppendVarInt(nil, id(cfg, cb, packets.KindFinishConfiguration)))
	if got, _ := c.packet(t); got != id(cfg, cb, packets.KindFinishConfiguration) {
		t.Fatalf("player got %#x, want Finish Configuration", got)
	}
	c.Write(frameRaw(id(cfg, sb, packets.KindFinishConfiguration), nil))
	next()

	big := pluginFrame(6, 300<<10, -1) // the packet, framed below
	_, h, _ := mcproto.ParseFrameHeader(big)
	pkt := big[h:]
	pkt[0] = byte(id(play, cb, packets.KindPluginMessage)) // the 1.8 id in pluginFrame
	start := mcproto.AppendVarInt(nil, id(play, cb, packets.KindStartConfiguration))
	registry := append(mcproto.AppendVarInt(nil, id(cfg, cb, packets.KindRegistryData)), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F)
	out := send(pkt, start, registry)
	relayed := comp.AppendFrame(comp.AppendFrame(nil, pkt, threshold), start, threshold)
	rest := expectSplicedThenRest(t, c, e, relayed)
	if bytes.Contains(rest, out[len(relayed):]) {
		t.Fatal("the player got the Registry Data: the edge read it as a play packet")
	}
	if n := testutil.ToFloat64(e.Metrics.WorldMalformed); n != 1 {
		t.Errorf("%v malformed world packets counted, want 1", n)
	}
	c2 := &client{fr: mcproto.NewFrameReader(bytes.NewReader(rest), mcproto.MaxFrameLength), threshold: threshold}
	if got, _ := c2.packet(t); got != id(cfg, cb, packets.KindDisconnect) {
		t.Errorf("player got %#x after Start Configuration, want a configuration Disconnect %#x", got, id(cfg, cb, packets.KindDisconnect))
	}
}

// readUntil reads the player's socket until what it got ends with want
// (probes of the detection engine may come first) and returns it all.
func readUntil(t *testing.T, c *client, want []byte) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !bytes.HasSuffix(got, want) {
		n, err := c.Conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("player read %d bytes, not ending with the %d expected: %v", len(got), len(want), err)
		}
	}
	return got
}

// TestKickDuringSplicedFrame: a detection kick that comes while a frame's
// body is being spliced waits for the frame: when the backend sends the
// rest, the player gets the whole frame and then the kick's Disconnect;
// when the backend stalls inside the frame, the kick goes ahead within
// about a second, without a message (nothing can be framed into the
// middle of a frame), and the player's connection ends.
func TestKickDuringSplicedFrame(t *testing.T) {
	const protocol = 47
	table := packets.Lookup(protocol)
	posID := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerPosition)
	nan := packets.PlayerPosition{X: math.NaN(), Y: 64}.AppendData(mcproto.AppendVarInt(nil, posID), protocol)
	for _, stall := range []bool{false, true} {
		t.Run(fmt.Sprintf("backend stalls %v", stall), func(t *testing.T) {
			b := startBackend(t, -1, false)
			cfg := testConfig(b.addr())
			cfg.Detection.Enabled = true
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			c.login(t, protocol, "Kicked")
			bc := b.nextLogin(t)
			big := pluginFrame(7, 300<<10, -1)
			head := big[:100<<10]
			if _, err := bc.Write(head); err != nil {
				t.Fatal(err)
			}
			// The head reached the player: the rest is being spliced.
			readUntil(t, c, head)
			if _, err := c.Write(mcproto.AppendFrame(nil, nan)); err != nil {
				t.Fatal(err)
			}
			if !stall {
				if _, err := bc.Write(big[len(head):]); err != nil {
					t.Fatal(err)
				}
				expectBytes(t, c, big[len(head):])
				id, _ := c.packet(t)
				if want := table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindDisconnect); id != want {
					t.Errorf("player got %#x after the frame, want the Disconnect %#x", id, want)
				}
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if rest, err := io.ReadAll(c.Conn); err != nil || len(rest) > 0 {
				t.Errorf("player got %d more bytes (%v), want the end of the connection", len(rest), err)
			}
			waitFor(t, func() bool { return rejected(e, reason.Detection) == 1 })
		})
	}
}
