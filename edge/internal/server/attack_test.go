package server

// Attack-regression tests: hostile bytes, stalled sockets and floods against
// one in-process edge. Each test states what a well-behaved edge does (close
// promptly, say why where the protocol allows it, count the reason, keep
// serving everybody else) so a regression in any of those shows up here.
//
// The helpers in this file return errors instead of calling t.Fatal, so the
// flood tests can run them from worker goroutines.

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

const (
	// attackProtocol is 1.12.2: play starts right after Login Success (no
	// configuration state to walk through) and its keep-alive carries an i64
	// in both directions, so the packets these tests relay are valid as
	// written.
	attackProtocol = mcproto.Protocol1_12_2
	// attackThreshold is the compression threshold the fake backend turns
	// on: Velocity's and gate's default (docs/PROTOCOL.md, Compression).
	attackThreshold = 256
	// attackHandshakeTimeout is the edge's handshake_timeout in the
	// malformed-input tests: twice promptClose, so a connection the edge
	// closed because a timer ran out cannot pass for a prompt rejection.
	attackHandshakeTimeout = 4 * time.Second
	// attackIdleTimeout is the edge's read idle timeout in these tests; long
	// enough never to fire while a test runs, short enough that a leaked
	// session would not outlive the test by much.
	attackIdleTimeout = 10 * time.Second
	// promptClose bounds how long a rejection may take. Refusing bad bytes
	// needs no timer, only the read that brought them and a close; on
	// loopback that is milliseconds even under the race detector, and 2 s
	// leaves room for a machine shared with other builds.
	promptClose = 2 * time.Second
	// counterWait bounds the wait for a rejection counter: the edge bumps
	// it right after the close the test has already seen.
	counterWait = 2 * time.Second
	// attackDialTimeout is the edge's backend dial timeout: testConfig's
	// 1 s is tight for hundreds of logins at once on a loaded 2-core
	// machine with the race detector.
	attackDialTimeout = 5 * time.Second
	// attackIO bounds every blocking read or write of a healthy exchange.
	attackIO = 5 * time.Second
	// stallHandshakeTimeout is the edge's handshake_timeout in the stall
	// test: the shortest value that still lets a real login through on a
	// loaded 2-core machine.
	stallHandshakeTimeout = time.Second
	// stallMargin is how long after the last stalled connection was opened
	// plus the handshake timeout every stalled connection must be gone: the
	// edge arms the deadline when it accepts, so accept latency and
	// scheduling on a loaded machine are the slack.
	stallMargin = 3 * time.Second
	// Stalled connections in the stall test: 300 silent, 100 that stop in
	// the middle of the handshake.
	stallSilent  = 300
	stallPartial = 100
	// junkLen is how many random bytes a junk connection sends: more than
	// the handshake cap (1 KiB), so a length the junk starts with is either
	// over the cap (refused on the header) or satisfied by bytes already
	// sent; the edge never has a reason to wait.
	junkLen = 4 << 10
	// bombInflatedMiB is what the decompression bomb really inflates to: 16
	// MiB of zeros in about 16 KiB, 8 times the 2 MiB serverbound inflate
	// cap (docs/PROTOCOL.md, Compression).
	bombInflatedMiB = 16
)

// attackConfig is testConfig with the short timeouts these tests rely on.
func attackConfig(backend string, handshakeTimeout time.Duration) config.Edge {
	cfg := testConfig(backend)
	cfg.Proxy.HandshakeTimeout = config.Duration(handshakeTimeout)
	cfg.Proxy.Timeout = config.Duration(attackIdleTimeout)
	cfg.Proxy.LoginTimeout = config.Duration(attackIdleTimeout)
	cfg.Proxy.DialTimeout = config.Duration(attackDialTimeout)
	return cfg
}

// rawPlayer is a hand-written client whose methods return errors rather
// than failing the test, so worker goroutines can use it. In play it answers
// the edge's acknowledgement probes the way vanilla does, so the detection
// engine sees an honest client and the tests see only the backend's packets.
type rawPlayer struct {
	conn      net.Conn
	fr        *mcproto.FrameReader
	threshold int
	inflater  mcproto.Inflater
	table     *packets.Table // set in play: the protocol's packet ids
}

func dialPlayer(addr string) (*rawPlayer, error) {
	c, err := net.DialTimeout("tcp", addr, attackIO)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &rawPlayer{conn: c, fr: mcproto.NewFrameReader(c, mcproto.MaxFrameLength), threshold: mcproto.CompressionOff}, nil
}

// mustDialPlayer dials from the test goroutine and closes at cleanup.
func mustDialPlayer(t *testing.T, addr string) *rawPlayer {
	t.Helper()
	p, err := dialPlayer(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.conn.Close() })
	return p
}

// next reads one packet and returns its id and data, inflating when the
// connection has compression on. Probes are answered and skipped.
func (p *rawPlayer) next() (int32, []byte, error) {
	for {
		id, data, err := p.nextPacket()
		if err != nil || !p.answerProbe(id, data) {
			return id, data, err
		}
	}
}

// answerProbe answers a clientbound Ping (1.17+) or a refused window
// confirmation (before 1.17) as vanilla does, and reports whether the
// packet was one. A failed answer is ignored: the next read says why.
func (p *rawPlayer) answerProbe(id int32, data []byte) bool {
	if p.table == nil {
		return false
	}
	switch p.table.Kind(mcproto.StatePlay, mcproto.Clientbound, id) {
	case packets.KindPing:
		pong := mcproto.AppendVarInt(nil, p.table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPong))
		_ = p.send(append(pong, data...)) // the same i32
		return true
	case packets.KindTransaction:
		// window id (1), action (2), accepted (1); a refused one must be
		// answered with accepted = true.
		if len(data) != 4 || data[3] != 0 {
			return false
		}
		ack := mcproto.AppendVarInt(nil, p.table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindTransaction))
		_ = p.send(append(ack, data[0], data[1], data[2], 1))
		return true
	}
	return false
}

func (p *rawPlayer) nextPacket() (int32, []byte, error) {
	body, err := p.fr.Next()
	if err != nil {
		return 0, nil, err
	}
	pkt := body
	if p.threshold >= 0 {
		dl, payload, err := mcproto.SplitCompressed(body, p.threshold, mcproto.MaxClientboundInflate, false)
		if err != nil {
			return 0, nil, fmt.Errorf("clientbound compressed frame: %w", err)
		}
		pkt = payload
		if dl > 0 {
			if pkt, err = p.inflater.Inflate(nil, payload, dl); err != nil {
				return 0, nil, fmt.Errorf("clientbound frame: %w", err)
			}
		}
	}
	id, n, err := mcproto.ReadVarInt(pkt)
	if err != nil {
		return 0, nil, fmt.Errorf("clientbound packet id: %w", err)
	}
	return id, append([]byte(nil), pkt[n:]...), nil
}

// login sends a handshake and Login Start and reads up to Login Success,
// following Set Compression.
func (p *rawPlayer) login(protocol int32, name string) error {
	_ = p.conn.SetDeadline(time.Now().Add(attackIO))
	defer p.conn.SetDeadline(time.Time{})
	if _, err := p.conn.Write(cat(handshake(protocol, "localhost", 25565, mcproto.IntentLogin), loginStart(protocol, name))); err != nil {
		return fmt.Errorf("login %s: %w", name, err)
	}
	for {
		id, data, err := p.next()
		if err != nil {
			return fmt.Errorf("login %s: %w", name, err)
		}
		switch id {
		case 0x03: // Set Compression
			th, _, err := mcproto.ReadVarInt(data)
			if err != nil {
				return fmt.Errorf("login %s: set compression: %w", name, err)
			}
			p.threshold = int(th)
		case 0x02: // Login Success
			if protocol < mcproto.Protocol1_20_2 {
				p.table = packets.Lookup(protocol) // play begins
			}
			return nil
		case 0x00:
			return fmt.Errorf("login %s: disconnected: %s", name, data)
		default:
			return fmt.Errorf("login %s: unexpected packet %#x", name, id)
		}
	}
}

// send frames pkt (id + data) for the connection's compression state.
func (p *rawPlayer) send(pkt []byte) error {
	var comp mcproto.Compressor
	_ = p.conn.SetWriteDeadline(time.Now().Add(attackIO))
	_, err := p.conn.Write(comp.AppendFrame(nil, pkt, p.threshold))
	return err
}

type rawPacket struct {
	id   int32
	data []byte
}

// closeResult is how a connection ended from the client's side.
type closeResult struct {
	packets []rawPacket // what arrived before the end
	err     error       // what ended the read
	after   time.Duration
}

// closedByEdge reports whether the read ended because the edge closed the
// connection (FIN or RST), not because our own deadline ran out.
func (r closeResult) closedByEdge() bool { return peerClosed(r.err) }

func peerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readUntilClosed reads packets until the edge closes the connection or
// within has passed.
func (p *rawPlayer) readUntilClosed(within time.Duration) closeResult {
	start := time.Now()
	_ = p.conn.SetReadDeadline(start.Add(within))
	var res closeResult
	for {
		id, data, err := p.next()
		if err != nil {
			res.err, res.after = err, time.Since(start)
			return res
		}
		res.packets = append(res.packets, rawPacket{id, data})
	}
}

// exchange relays one keep-alive each way between a logged-in player and
// its backend connection and checks both arrive unchanged.
func exchange(p *rawPlayer, bc *backendConn, protocol int32, token int64) error {
	table := packets.Lookup(protocol)
	if table == nil {
		return fmt.Errorf("no packet table for protocol %d", protocol)
	}
	var comp mcproto.Compressor
	up := mcproto.AppendInt64(mcproto.AppendVarInt(nil, table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindKeepAlive)), token)
	upFrame := comp.AppendFrame(nil, up, p.threshold)
	_ = p.conn.SetWriteDeadline(time.Now().Add(attackIO))
	if _, err := p.conn.Write(upFrame); err != nil {
		return fmt.Errorf("player write: %w", err)
	}
	_ = bc.SetReadDeadline(time.Now().Add(attackIO))
	body, err := bc.fr.Next()
	if err != nil {
		return fmt.Errorf("backend read: %w", err)
	}
	if got := mcproto.AppendFrame(nil, body); !bytes.Equal(got, upFrame) {
		return fmt.Errorf("backend received %x, player sent %x", got, upFrame)
	}

	downID := table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindKeepAlive)
	down := mcproto.AppendInt64(mcproto.AppendVarInt(nil, downID), ^token)
	_ = bc.SetWriteDeadline(time.Now().Add(attackIO))
	if _, err := bc.Write(comp.AppendFrame(nil, down, p.threshold)); err != nil {
		return fmt.Errorf("backend write: %w", err)
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(attackIO))
	id, data, err := p.next()
	if err != nil {
		return fmt.Errorf("player read: %w", err)
	}
	if id != downID || !bytes.Equal(data, down[mcproto.VarIntLen(downID):]) {
		return fmt.Errorf("player received %#x %x, backend sent %#x %x", id, data, downID, down[mcproto.VarIntLen(downID):])
	}
	return nil
}

// loginFresh logs a new player in and checks a packet goes each way: the
// edge still does its job after whatever the test did to it.
func loginFresh(t *testing.T, b *fakeBackend, addr, name string) {
	t.Helper()
	p := mustDialPlayer(t, addr)
	if err := p.login(attackProtocol, name); err != nil {
		t.Fatalf("fresh player: %v", err)
	}
	bc := b.nextLogin(t)
	if err := exchange(p, bc, attackProtocol, 0x5eed); err != nil {
		t.Fatalf("fresh player relay: %v", err)
	}
}

func rejected(e *Edge, r reason.Reason) float64 {
	return testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues(r.String()))
}

func rejectedTotal(e *Edge) float64 {
	var sum float64
	for _, r := range reason.All() {
		sum += rejected(e, r)
	}
	return sum
}

// rejections lists the rejection counters that are not zero.
func rejections(e *Edge) string {
	var b strings.Builder
	for _, r := range reason.All() {
		if v := rejected(e, r); v > 0 {
			fmt.Fprintf(&b, "%s=%v ", r, v)
		}
	}
	return strings.TrimSpace(b.String())
}

// pollUntil polls cond until it holds or within passes. Polling is the
// only way to wait for a counter another goroutine bumps after the close
// the test already saw.
// state, when given, describes what was seen instead, for the failure.
func pollUntil(t *testing.T, within time.Duration, what string, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			var seen []string
			for _, s := range state {
				seen = append(seen, s())
			}
			t.Fatalf("not within %v: %s %s", within, what, strings.Join(seen, "; "))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cat joins byte slices into a new one. (append on a shared prefix would
// let one case's bytes overwrite another's through spare capacity.)
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// announceMax is a frame header announcing the largest frame a 3-byte
// length can carry (2,097,151 bytes).
func announceMax() []byte { return []byte{0xFF, 0xFF, 0x7F} }

// badZlib is a valid zlib header followed by a deflate block of the
// reserved type 3, which no inflater accepts.
func badZlib() []byte { return append([]byte{0x78, 0x9C}, bytes.Repeat([]byte{0xFF}, 64)...) }

// junk returns n pseudo-random bytes from a fixed seed: the same bytes on
// every run and every Go version (PCG's output is specified).
func junk(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// zeroBomb returns a zlib stream that inflates to n MiB of zeros, built
// without compressing n MiB (which takes seconds under the race detector):
// one flushed deflate run of 1 MiB of zeros only refers back to zeros, so
// repeating it n times is a valid stream of n MiB of zeros. The Adler-32 of
// n zero bytes is a = 1, b = n mod 65521.
func zeroBomb(mib int) []byte {
	var run, tail bytes.Buffer
	fw, _ := flate.NewWriter(&run, flate.BestCompression) // a valid level cannot fail
	_, _ = fw.Write(make([]byte, 1<<20))
	_ = fw.Flush() // ends on a byte boundary, not final
	chunk := bytes.Clone(run.Bytes())
	fw.Reset(&tail)
	_ = fw.Close()            // an empty final block
	out := []byte{0x78, 0xDA} // zlib header: deflate, 32 KiB window, best compression
	for range mib {
		out = append(out, chunk...)
	}
	out = append(out, tail.Bytes()...)
	total := uint32(mib) << 20
	return binary.BigEndian.AppendUint32(out, (total%65521)<<16|1)
}

func zlibOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	_, _ = zw.Write(b) // a bytes.Buffer does not fail
	_ = zw.Close()
	return buf.Bytes()
}

// compressedFrame builds a frame for a leg with compression on, with any
// Data Length we like, true or not.
func compressedFrame(dataLen int, payload []byte) []byte {
	return mcproto.AppendFrame(nil, append(mcproto.AppendVarInt(nil, int32(dataLen)), payload...))
}

// loginStartRawName is Login Start for protocols ≤ 1.18.2 with the name's
// bytes as given (not necessarily UTF-8).
func loginStartRawName(name []byte) []byte {
	b := mcproto.AppendVarInt([]byte{0x00}, int32(len(name)))
	return mcproto.AppendFrame(nil, append(b, name...))
}

// serverboundPacket is a play packet (id + data) with size bytes of data:
// a plugin message, the packet a vanilla client sends large.
func serverboundPacket(size int) []byte {
	id := packets.Lookup(attackProtocol).ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPluginMessage)
	pkt := mcproto.AppendString(mcproto.AppendVarInt(nil, id), "test:x")
	return append(pkt, junk(7, size)...)
}

func TestAttackMalformedInput(t *testing.T) {
	b := startBackend(t, attackThreshold, false)
	e := startEdge(t, attackConfig(b.addr(), attackHandshakeTimeout))
	addr := e.Addr().String()
	playDisconnect := packets.Lookup(attackProtocol).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindDisconnect)
	const loginDisconnect = 0x00
	const noPacket = -1 // handshake and status states have no disconnect packet

	hello := handshake(attackProtocol, "localhost", 25565, mcproto.IntentLogin)
	statusHello := handshake(attackProtocol, "localhost", 25565, mcproto.IntentStatus)
	bigPacket := serverboundPacket(400) // over the 256 threshold
	truncated := zlibOf(bigPacket)
	truncated = truncated[:len(truncated)/2]

	cases := []struct {
		name string
		// afterLogin: the input follows a completed login with compression
		// on, as play traffic.
		afterLogin bool
		input      []byte
		want       reason.Reason
		// disconnect is the id of the Disconnect that must arrive before
		// the close, or noPacket where the state has none.
		disconnect int32
	}{
		{name: "varint length of 5 bytes", input: []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F},
			want: reason.FrameTooLarge, disconnect: noPacket},
		{name: "padded 4-byte length", input: []byte{0x86, 0x80, 0x80, 0x00, 0, 0, 0, 0, 0, 0},
			want: reason.FrameTooLarge, disconnect: noPacket},
		{name: "4-byte length announcing 2 MiB", input: []byte{0x80, 0x80, 0x80, 0x01, 0},
			want: reason.FrameTooLarge, disconnect: noPacket},
		{name: "frame announcing 2097151 bytes before login", input: cat(announceMax(), make([]byte, 10)),
			want: reason.FrameTooLarge, disconnect: noPacket},
		// 30,000 characters are over the handshake frame cap (1 KiB) long
		// before the string cap (261): the length alone decides.
		{name: "handshake with a 30000-char host", input: handshake(attackProtocol, strings.Repeat("a", 30000), 25565, mcproto.IntentLogin),
			want: reason.FrameTooLarge, disconnect: noPacket},
		{name: "handshake with intent 5", input: handshake(attackProtocol, "localhost", 25565, 5),
			want: reason.BadIntent, disconnect: noPacket},
		// Seed 1 starts with 0x7a: a 122-byte frame whose packet id is not
		// the handshake's.
		{name: "junk seed 1", input: junk(1, junkLen), want: reason.Malformed, disconnect: noPacket},
		// Seed 2 starts with 0xe8 0x6b: a length of 13,800, over the
		// handshake cap.
		{name: "junk seed 2", input: junk(2, junkLen), want: reason.FrameTooLarge, disconnect: noPacket},
		{name: "run of empty frames before the handshake", input: make([]byte, 4*mcproto.MaxEmptyFrames),
			want: reason.Malformed, disconnect: noPacket},
		{name: "status request with trailing bytes", input: cat(statusHello, mcproto.AppendFrame(nil, []byte{0x00, 0x00})),
			want: reason.Malformed, disconnect: noPacket},
		{name: "ping request with a short payload", input: cat(statusHello, mcproto.AppendFrame(nil, []byte{0x01, 1, 2, 3})),
			want: reason.Malformed, disconnect: noPacket},
		{name: "login start with a 17-char name", input: cat(hello, loginStart(attackProtocol, "ABCDEFGHIJKLMNOPQ")),
			want: reason.Malformed, disconnect: loginDisconnect},
		{name: "login start with a non-UTF-8 name", input: cat(hello, loginStartRawName([]byte{'S', 0xC3, 0x28, 0xFF})),
			want: reason.Malformed, disconnect: loginDisconnect},
		{name: "login start frame over the login cap", input: cat(hello, []byte{0xFF, 0xFF, 0x7F, 0x00}),
			want: reason.FrameTooLarge, disconnect: loginDisconnect},

		// Play traffic with compression on (threshold 256 on both legs).
		{name: "decompression bomb: data length below the inflated size", afterLogin: true,
			input: compressedFrame(attackThreshold+44, zeroBomb(bombInflatedMiB)),
			want:  reason.Malformed, disconnect: playDisconnect},
		{name: "data length over 2 MiB", afterLogin: true,
			input: compressedFrame(mcproto.MaxServerboundInflate+1, zlibOf(bigPacket)),
			want:  reason.FrameTooLarge, disconnect: playDisconnect},
		{name: "raw frame above the threshold", afterLogin: true,
			input: compressedFrame(0, bigPacket),
			want:  reason.Malformed, disconnect: playDisconnect},
		{name: "compressed frame below the threshold", afterLogin: true,
			input: compressedFrame(100, zlibOf(serverboundPacket(90))),
			want:  reason.Malformed, disconnect: playDisconnect},
		{name: "bad zlib stream", afterLogin: true,
			// A valid zlib header, then a deflate block of the reserved type 3.
			input: compressedFrame(len(bigPacket), badZlib()),
			want:  reason.Malformed, disconnect: playDisconnect},
		{name: "truncated zlib stream", afterLogin: true,
			input: compressedFrame(len(bigPacket), truncated),
			want:  reason.Malformed, disconnect: playDisconnect},
		{name: "run of empty frames in play", afterLogin: true,
			input: make([]byte, 4*mcproto.MaxEmptyFrames),
			want:  reason.Malformed, disconnect: playDisconnect},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, beforeAll := rejected(e, tc.want), rejectedTotal(e)
			p := mustDialPlayer(t, addr)
			var bc *backendConn
			if tc.afterLogin {
				if err := p.login(attackProtocol, fmt.Sprintf("Victim%d", i)); err != nil {
					t.Fatal(err)
				}
				if p.threshold != attackThreshold {
					t.Fatalf("compression threshold %d after login, want %d", p.threshold, attackThreshold)
				}
				bc = b.nextLogin(t)
			}
			// The edge may close before it has read everything (that is the
			// point), so a failed write is no failure.
			_ = p.conn.SetWriteDeadline(time.Now().Add(attackIO))
			_, _ = p.conn.Write(tc.input)

			res := p.readUntilClosed(promptClose)
			if !res.closedByEdge() {
				t.Fatalf("edge kept the connection open for %v (read: %v); want a close within %v", res.after, res.err, promptClose)
			}
			switch {
			case tc.disconnect == noPacket && len(res.packets) > 0:
				t.Errorf("got %d packets before the close, want none: the state has no packet a client would understand", len(res.packets))
			case tc.disconnect != noPacket:
				want := tc.want.PlayerMessage(reason.Messages{})
				if len(res.packets) != 1 || res.packets[0].id != tc.disconnect || !bytes.Contains(res.packets[0].data, []byte(want)) {
					t.Errorf("got packets %+v before the close, want one disconnect %#x saying %q", res.packets, tc.disconnect, want)
				}
			}
			if bc != nil {
				// The bad frame must not reach the backend, and the edge
				// closes the backend leg with the client leg.
				_ = bc.SetReadDeadline(time.Now().Add(promptClose))
				for {
					body, err := bc.fr.Next()
					if err != nil {
						if !peerClosed(err) {
							t.Errorf("backend leg still open after the client leg closed: %v", err)
						}
						break
					}
					if len(body) > 0 {
						t.Errorf("backend received a %d-byte frame of the bad input", len(body))
					}
				}
			}
			pollUntil(t, counterWait, fmt.Sprintf("rejected{reason=%q} = %v, want %v", tc.want, rejected(e, tc.want), before+1), func() bool {
				return rejected(e, tc.want) == before+1
			})
			if got := rejectedTotal(e); got != beforeAll+1 {
				t.Errorf("all rejection counters rose by %v, want 1", got-beforeAll)
			}

			// The same edge still serves everybody else.
			if d := description(ping(t, addr, attackProtocol)); d != "fake backend" {
				t.Errorf("status after the attack: %q", d)
			}
			loginFresh(t, b, addr, fmt.Sprintf("Fresh%d", i))
		})
	}
}

func TestAttackMalformedPlaySparesOthers(t *testing.T) {
	b := startBackend(t, attackThreshold, false)
	e := startEdge(t, attackConfig(b.addr(), attackHandshakeTimeout))
	addr := e.Addr().String()

	victim := mustDialPlayer(t, addr)
	if err := victim.login(attackProtocol, "Victim"); err != nil {
		t.Fatal(err)
	}
	victimBackend := b.nextLogin(t)
	bystander := mustDialPlayer(t, addr)
	if err := bystander.login(attackProtocol, "Bystander"); err != nil {
		t.Fatal(err)
	}
	bystanderBackend := b.nextLogin(t)
	if err := exchange(bystander, bystanderBackend, attackProtocol, 1); err != nil {
		t.Fatalf("before the attack: %v", err)
	}

	before := rejected(e, reason.Malformed)
	bad := compressedFrame(attackThreshold+44, badZlib())
	if _, err := victim.conn.Write(bad); err != nil {
		t.Fatal(err)
	}
	if res := victim.readUntilClosed(promptClose); !res.closedByEdge() {
		t.Fatalf("victim connection still open after %v: %v", res.after, res.err)
	}
	// A real client hangs up once it has read its disconnect; until then
	// the edge drains the leg (and it stays counted as active).
	_ = victim.conn.Close()
	// The victim is gone on both legs before the bystander talks again.
	_ = victimBackend.SetReadDeadline(time.Now().Add(promptClose))
	for {
		if _, err := victimBackend.fr.Next(); err != nil {
			if !peerClosed(err) {
				t.Fatalf("victim's backend leg: %v, want closed", err)
			}
			break
		}
	}
	// A real server hangs up at the end of the stream; until then the
	// edge drains the backend leg too (and the session stays active).
	_ = victimBackend.Close()
	pollUntil(t, counterWait, "malformed counter", func() bool { return rejected(e, reason.Malformed) == before+1 })

	for i := range 3 {
		if err := exchange(bystander, bystanderBackend, attackProtocol, int64(100+i)); err != nil {
			t.Fatalf("bystander after the victim was kicked: %v", err)
		}
	}
	// The listener lowers the gauge just after the handler counted the
	// rejection, so this is polled too.
	pollUntil(t, counterWait, "active connections = 1 (the bystander)", func() bool {
		return testutil.ToFloat64(e.Metrics.ActiveConnections) == 1
	})
}

func TestAttackStalledConnections(t *testing.T) {
	b := startBackend(t, attackThreshold, false)
	e := startEdge(t, attackConfig(b.addr(), stallHandshakeTimeout))
	addr := e.Addr().String()

	start := time.Now()
	half := handshake(attackProtocol, "localhost", 25565, mcproto.IntentLogin)
	half = half[:len(half)/2]
	stalled := make([]net.Conn, 0, stallSilent+stallPartial)
	var lastDial time.Time
	t.Cleanup(func() {
		for _, c := range stalled {
			_ = c.Close()
		}
	})
	for i := range stallSilent + stallPartial {
		c, err := net.DialTimeout("tcp", addr, attackIO)
		if err != nil {
			t.Fatalf("stalled connection %d: %v", i, err)
		}
		stalled = append(stalled, c)
		lastDial = time.Now()
		if i >= stallSilent {
			if _, err := c.Write(half); err != nil {
				t.Fatalf("half handshake %d: %v", i, err)
			}
		}
	}

	// While they stall, real players get through.
	if d := description(ping(t, addr, attackProtocol)); d != "fake backend" {
		t.Errorf("status during the stall: %q", d)
	}
	player := mustDialPlayer(t, addr)
	if err := player.login(attackProtocol, "Patient"); err != nil {
		t.Fatalf("login during the stall: %v", err)
	}
	bc := b.nextLogin(t)
	if err := exchange(player, bc, attackProtocol, 1); err != nil {
		t.Fatalf("relay during the stall: %v", err)
	}
	if elapsed := time.Since(start); elapsed >= stallHandshakeTimeout {
		t.Logf("setup took %v, longer than the handshake timeout: the stall overlapped the login only partly", elapsed)
	}

	// Every stalled connection is closed by the edge, not by our deadline.
	deadline := lastDial.Add(stallHandshakeTimeout + stallMargin)
	var open, closed int
	var buf [64]byte
	for i, c := range stalled {
		_ = c.SetReadDeadline(deadline)
		n, err := c.Read(buf[:])
		switch {
		case n > 0:
			t.Errorf("stalled connection %d got %d bytes from the edge: %x", i, n, buf[:n])
		case peerClosed(err):
			closed++
		default:
			open++
			if open <= 3 {
				t.Errorf("stalled connection %d: %v, want closed by the edge", i, err)
			}
		}
	}
	if open > 0 {
		t.Errorf("%d of %d stalled connections still open %v after the handshake timeout (counted: %v)", open, len(stalled), stallMargin, rejected(e, reason.HandshakeTimeout))
	}
	t.Logf("%d stalled connections closed by the edge within %v of the first dial", closed, time.Since(start))

	pollUntil(t, attackIO, "active connections back to the one real player", func() bool {
		return testutil.ToFloat64(e.Metrics.ActiveConnections) == 1
	})
	if got := rejected(e, reason.HandshakeTimeout); got != stallSilent+stallPartial {
		t.Errorf("handshake_timeout rejections = %v, want %d", got, stallSilent+stallPartial)
	}
	// The real player outlived the stall.
	if err := exchange(player, bc, attackProtocol, 2); err != nil {
		t.Errorf("relay after the stall: %v", err)
	}
}

// TestAttackMalformedWhileFlooding: a client that goes on sending after its
// malformed packet, and is behind on reading, still gets its disconnect.
// Closing a socket with unread bytes makes the kernel send a reset and throw
// away what it had not sent yet, the disconnect included; so the edge
// half-closes and discards the rest of the flood instead, and the queued
// bytes still flow.
func TestAttackMalformedWhileFlooding(t *testing.T) {
	b := startBackend(t, attackThreshold, false)
	e := startEdge(t, attackConfig(b.addr(), attackHandshakeTimeout))
	addr := e.Addr().String()
	table := packets.Lookup(attackProtocol)
	playDisconnect := table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindDisconnect)
	want := reason.Malformed.PlayerMessage(reason.Messages{})

	// A small receive buffer (fixed before connect, so autotuning cannot
	// grow it) keeps the backend's bytes queued on the edge's side.
	d := net.Dialer{Timeout: attackIO, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p := &rawPlayer{conn: c, fr: mcproto.NewFrameReader(c, mcproto.MaxFrameLength), threshold: mcproto.CompressionOff}
	if err := p.login(attackProtocol, "Flooder"); err != nil {
		t.Fatal(err)
	}
	bc := b.nextLogin(t)
	before := rejected(e, reason.Malformed)

	// Plugin messages the player has not read yet: more than its receive
	// buffer holds, less than the edge's smallest send buffer.
	id := table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindPluginMessage)
	pkt := append(mcproto.AppendString(mcproto.AppendVarInt(nil, id), "test:bulk"), junk(9, 1<<10)...)
	frame := compressedFrame(len(pkt), zlibOf(pkt))
	const queued = 12
	forwarded := func() float64 { return testutil.ToFloat64(e.Metrics.BytesForwarded[mcproto.Clientbound]) }
	base := forwarded()
	_ = bc.SetWriteDeadline(time.Now().Add(attackIO))
	if _, err := bc.Write(bytes.Repeat(frame, queued)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(counterWait)
	for forwarded()-base < float64(queued*len(frame)) {
		if time.Now().After(deadline) {
			t.Fatalf("%v of %d bytes forwarded", forwarded()-base, queued*len(frame))
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The bad frame with a tail behind it, and more of the tail until
	// the edge has decided.
	tail := bytes.Repeat([]byte{0x01, 0x00}, 32<<10)
	_ = p.conn.SetWriteDeadline(time.Now().Add(attackIO))
	if _, err := p.conn.Write(cat(compressedFrame(attackThreshold+44, badZlib()), tail)); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, counterWait, "malformed counter", func() bool {
		_ = p.conn.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		_, _ = p.conn.Write(tail[:4<<10])
		return rejected(e, reason.Malformed) == before+1
	})
	time.Sleep(100 * time.Millisecond) // long enough for an early close to be sent

	res := p.readUntilClosed(promptClose)
	n := len(res.packets)
	if n != queued+1 || res.packets[n-1].id != playDisconnect || !bytes.Contains(res.packets[n-1].data, []byte(want)) {
		var last rawPacket
		if n > 0 {
			last = res.packets[n-1]
		}
		t.Fatalf("got %d packets (last %#x) then %v; want the %d queued ones, then a disconnect %#x saying %q",
			n, last.id, res.err, queued, playDisconnect, want)
	}
	if !errors.Is(res.err, io.EOF) {
		t.Errorf("read ended with %v, want the edge's orderly close", res.err)
	}
}

// TestKicksDoNotWaitForClientsThatDoNotRead: a client that stops reading
// leaves the edge's clientbound write blocked, and that write holds the lock
// a kick needs to frame its disconnect. Neither the kick of that client nor
// the kicks of everybody else may wait for the idle timeout: shutdown (and a
// ban wave) kicks in parallel, and a kick cuts a blocked write short.
func TestKicksDoNotWaitForClientsThatDoNotRead(t *testing.T) {
	b := startBackend(t, attackThreshold, false)
	cfg := attackConfig(b.addr(), attackHandshakeTimeout)
	cfg.Proxy.Timeout = config.Duration(60 * time.Second) // far beyond any wait below
	cfg.Proxy.ShutdownTimeout = config.Duration(30 * time.Second)
	e := startEdge(t, cfg)
	addr := e.Addr().String()
	table := packets.Lookup(attackProtocol)
	playDisconnect := table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindDisconnect)

	var stuck []*rawPlayer
	var stuckBackends []*backendConn
	for i := range 3 {
		p := mustDialPlayer(t, addr)
		if err := p.login(attackProtocol, fmt.Sprintf("Stuck%d", i)); err != nil {
			t.Fatal(err)
		}
		stuck = append(stuck, p)
		stuckBackends = append(stuckBackends, b.nextLogin(t))
	}
	reader := mustDialPlayer(t, addr)
	if err := reader.login(attackProtocol, "Reader"); err != nil {
		t.Fatal(err)
	}
	readerBackend := b.nextLogin(t)
	if err := exchange(reader, readerBackend, attackProtocol, 7); err != nil {
		t.Fatal(err)
	}

	// Each backend pours compressed plugin messages at its stuck player
	// until the loopback buffers are full and the edge's write blocks.
	id := table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindPluginMessage)
	pkt := append(mcproto.AppendString(mcproto.AppendVarInt(nil, id), "test:bulk"), junk(9, 30<<10)...)
	frame := compressedFrame(len(pkt), zlibOf(pkt))
	batch := bytes.Repeat(frame, (1<<20)/len(frame)+1)
	for _, bc := range stuckBackends {
		go func() {
			_ = bc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			for {
				if _, err := bc.Write(batch); err != nil {
					return
				}
			}
		}()
	}
	forwarded := func() float64 { return testutil.ToFloat64(e.Metrics.BytesForwarded[mcproto.Clientbound]) }
	last, still := forwarded(), 0
	pollUntil(t, 20*time.Second, "clientbound writes blocked", func() bool {
		time.Sleep(100 * time.Millisecond)
		now := forwarded()
		if now == last && now > 8<<20 {
			still++
		} else {
			still = 0
		}
		last = now
		return still >= 3
	})

	start := time.Now()
	shut := make(chan struct{})
	go func() { defer close(shut); e.Shutdown() }()

	// The reader is told at once, whatever the order of the kicks.
	res := reader.readUntilClosed(promptClose)
	if len(res.packets) != 1 || res.packets[0].id != playDisconnect {
		t.Fatalf("reader got %+v and %v within %v, want its disconnect", res.packets, res.err, promptClose)
	}
	// The stuck players' backend legs close once the kick has cut the
	// write short (kickWriteWait), not after the 60 s idle timeout.
	for i, bc := range stuckBackends {
		_ = bc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := bc.fr.Next(); err != nil {
				if !peerClosed(err) {
					t.Errorf("stuck player %d: backend leg not closed by the kick: %v", i, err)
				}
				break
			}
		}
	}
	select {
	case <-shut:
	case <-time.After(20 * time.Second):
		t.Fatal("shutdown still waiting for clients that do not read")
	}
	t.Logf("shutdown with %d stuck clients took %v", len(stuck), time.Since(start).Round(time.Millisecond))
	for _, p := range stuck {
		_ = p.conn.Close()
	}
}

// lockedBuffer is a bytes.Buffer the edge's goroutines may log into while
// the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSessionLogLinesCarryTheirFields: the session's log lines are built
// lazily (pings never pay for them) and still name the connection, the
// client's address, the protocol and the player.
func TestSessionLogLinesCarryTheirFields(t *testing.T) {
	b := startBackend(t, attackThreshold, false)
	cfg := attackConfig(b.addr(), attackHandshakeTimeout)
	var logs lockedBuffer
	e, err := New(cfg, "test", slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	t.Cleanup(e.Shutdown)

	p := mustDialPlayer(t, e.Addr().String())
	if err := p.login(attackProtocol, "Logged"); err != nil {
		t.Fatal(err)
	}
	b.nextLogin(t)
	_ = p.conn.SetWriteDeadline(time.Now().Add(attackIO))
	_, _ = p.conn.Write(compressedFrame(attackThreshold+44, badZlib()))
	if res := p.readUntilClosed(promptClose); !res.closedByEdge() {
		t.Fatalf("edge kept the connection open: %v", res.err)
	}
	_ = p.conn.Close()
	var line string
	pollUntil(t, counterWait, "a connection-ended log line", func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, `msg="connection ended"`) {
				line = l
				return true
			}
		}
		return false
	})
	for _, want := range []string{"conn_id=", "remote=127.0.0.1:", fmt.Sprintf("protocol=%d", attackProtocol), "player=Logged", "reason=malformed"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}
