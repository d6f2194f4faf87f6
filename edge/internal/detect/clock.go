package detect

import (
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The acknowledgement clock (docs/DETECTIONS.md, layer 3 "Probe design"). The
// edge injects its own ping (1.17+) or window confirmation (1.8–1.16) into
// the client stream. The client answers in order, so an answer proves it has
// processed everything sent before that probe: the probe's send time is the
// client's clock, and now minus it is the client's ping. Answers to our own
// probes are dropped; the backend never sees them.

const (
	// probeInterval is the least time between two probes while the server
	// sends traffic. Grim probes about once a tick; 100 ms halves that cost
	// and still brackets every server tick pair.
	probeInterval = 100 * time.Millisecond
	// maxOutstanding caps unanswered probes. A client that lets 64 pile up
	// (6.4 s of traffic) is not answering; the timeout check handles it.
	maxOutstanding = 64
	// minProbeRing is the probe ring's first size: a client answers a
	// probe within its ping, so at one probe per probeInterval it has 1
	// to 3 outstanding below 300 ms. The ring doubles when a slower one
	// fills it, up to maxOutstanding, and keeps that size: 64 bytes for an
	// honest player instead of 1 KiB for every player.
	minProbeRing = 4
	// Ping ids (1.17+) carry "RG" in the high bytes: positive and outside
	// the short range, where a backend anticheat such as Grim puts its own.
	pingIDBase = 0x52470000
	// Window-confirmation ids (before 1.17) are shorts; we take the lowest
	// quarter of the range. Grim counts down from −1 and would need 24,576
	// probes to reach it; RustGuard's range is documented for operators
	// who run another anticheat behind the edge.
	txnIDBase  = -32768
	txnIDRange = 8192
)

// The ring indexes with a mask, so its sizes (minProbeRing doubled up to
// maxOutstanding) must be powers of two: a constant that is not makes one
// of these negative, which does not compile.
const (
	_ uint = -(minProbeRing & (minProbeRing - 1))
	_ uint = -(maxOutstanding & (maxOutstanding - 1))
)

type probe struct {
	id   int32
	seq  uint32
	sent time.Duration // since ackClock.base: 16 bytes a probe, not 32
}

// ackClock tracks our outstanding probes in a ring that is allocated with
// the first probe and grows only while more are in flight than ever
// before: nothing in the steady state.
type ackClock struct {
	usePing    bool      // 1.17+: Ping/Pong; before: window confirmation
	pingID     int32     // clientbound packet id of the probe
	ring       []probe   // nil until the first probe; a power of two long
	base       time.Time // the first probe's send time; ring times count from it
	head, n    int
	nextSeq    uint32 // sequence number the next probe gets
	acked      uint32 // sequence number of the last answered probe (0: none yet)
	lastSent   time.Time
	clock      time.Time     // send time of the last answered probe
	ping       time.Duration // round trip of the last answered probe
	skipped    int           // probes answered out of order (skipped) so far
	lastAnswer time.Time
}

func (c *ackClock) init(protocol int32, t *packets.Table) {
	c.nextSeq = 1
	c.usePing = protocol >= mcproto.Protocol1_17
	c.pingID = -1
	if t == nil {
		return
	}
	if c.usePing {
		c.pingID = t.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindPing)
	} else {
		c.pingID = t.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindTransaction)
	}
}

// probe appends a probe packet when one is due.
func (c *ackClock) probe(now time.Time, dst []byte) []byte {
	if c.pingID < 0 || now.Sub(c.lastSent) < probeInterval || c.n == maxOutstanding {
		return dst
	}
	seq := c.nextSeq
	c.nextSeq++
	var id int32
	dst = mcproto.AppendVarInt(dst, c.pingID)
	if c.usePing {
		id = pingIDBase | int32(seq&0xFFFF)
		dst = mcproto.AppendInt32(dst, id)
	} else {
		id = txnIDBase + int32(seq%txnIDRange)
		dst = append(dst, 0)                        // window 0: the player's inventory
		dst = mcproto.AppendUint16(dst, uint16(id)) // action number
		dst = append(dst, 0)                        // not accepted: the client must answer
	}
	if c.base.IsZero() {
		c.base = now
	}
	if c.n == len(c.ring) {
		c.grow()
	}
	*c.at(c.n) = probe{id: id, seq: seq, sent: now.Sub(c.base)}
	c.n++
	c.lastSent = now
	return dst
}

// at is the i-th outstanding probe, oldest first.
func (c *ackClock) at(i int) *probe { return &c.ring[(c.head+i)&(len(c.ring)-1)] }

// grow doubles the ring (or allocates its first one), keeping the
// outstanding probes in order. probe never lets n pass maxOutstanding, so
// the ring never outgrows it.
func (c *ackClock) grow() {
	ring := make([]probe, max(minProbeRing, 2*len(c.ring)))
	for i := range c.n {
		ring[i] = *c.at(i)
	}
	c.ring, c.head = ring, 0
}

// isOurs reports whether an answer id is in our probe id space.
func (c *ackClock) isOurs(id int32) bool {
	if c.usePing {
		return id&^0xFFFF == pingIDBase
	}
	return id >= txnIDBase && id < txnIDBase+txnIDRange
}

// answer consumes the answer to probe id. It returns the number of older
// outstanding probes the answer skipped (the client answers in order, so a
// skip means it dropped or reordered our probes) and whether id was ours.
func (c *ackClock) answer(id int32, now time.Time) (skipped int, known bool) {
	for i := 0; i < c.n; i++ {
		pr := *c.at(i)
		if pr.id != id {
			continue
		}
		c.head = (c.head + i + 1) & (len(c.ring) - 1)
		c.n -= i + 1
		c.acked = pr.seq
		c.clock = c.base.Add(pr.sent)
		c.ping = now.Sub(c.clock)
		c.lastAnswer = now
		c.skipped += i
		return i, true
	}
	return 0, false
}

// oldestOutstanding is the send time of the oldest unanswered probe.
func (c *ackClock) oldestOutstanding() (time.Time, bool) {
	if c.n == 0 {
		return time.Time{}, false
	}
	return c.base.Add(c.at(0).sent), true
}

// serverbound swallows answers to our probes. It reports whether the packet
// was ours (then it is dropped) and the verdict of the checks that watch the
// answers.
func (c *ackClock) serverbound(p *Player, pk *serverPacket) (bool, Verdict) {
	var id int32
	switch pk.kind {
	case packets.KindPong:
		if !c.usePing {
			return false, pass
		}
		pong, err := packets.DecodePong(pk.data, p.info.Protocol)
		if err != nil {
			return false, pass
		}
		id = pong.ID
	case packets.KindTransaction:
		if c.usePing {
			return false, pass
		}
		t, err := packets.DecodeTransaction(pk.data, p.info.Protocol)
		if err != nil || t.WindowID != 0 {
			return false, pass
		}
		id = int32(t.Action)
		if c.isOurs(id) && !t.Accepted {
			// A vanilla client answers a refused confirmation with
			// accepted = true; false is impossible (Grim BadPacketsS).
			return true, worse(drop, p.flag(chkTxnRejected, 1, pk.now, "id", itoa(int64(id))))
		}
	default:
		return false, pass
	}
	if !c.isOurs(id) {
		return false, pass
	}
	skipped, known := c.answer(id, pk.now)
	v := p.timer.onAnswer(p, pk.now, known, skipped)
	if known && skipped == 0 {
		v = worse(v, p.movement.teleportsIgnored(p, pk.now))
	}
	return true, worse(drop, v)
}

// Ping is the player's last measured round trip (0 before the first answer).
func (p *Player) Ping() time.Duration { return p.clock.ping }
