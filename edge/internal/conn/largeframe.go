package conn

import (
	"net"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Large frames: only their heads cross user space (docs/PROTOCOL.md,
// "Large frames"). When a clientbound frame's header and its packet id are
// buffered and the rest of its body is still to come, and nothing on the
// edge reads that body, the pump writes what it holds of the frame and
// splices the rest from the backend's socket to the client's (splice(2),
// splice_linux.go), exactly the bytes the header announced, so the next
// byte it reads is a frame's first again. Smaller frames stay batched
// through the framer: one read and one write carry many of them, and a
// splice per frame would cost more syscalls than the copies it saves.

// spliceMinRest is how much of a frame's body must still be unread for it
// to be spliced. Below it the frame's rest arrives in one or two reads of
// the framer's 64 KiB and 256 KiB classes (mcproto.BufferPool) and is
// written with its neighbours in one write, which costs less than the
// pipe's two splices, the FIONREAD and the wait of a spliced frame; above
// it the two copies of every byte dominate (they are most of the bulk
// relay's CPU, docs/BENCHMARKS.md). The value is set from those costs,
// not tuned: a spliced frame spares the copies of at least half a 64 KiB
// read.
const spliceMinRest = 32 << 10

// splicePeekMin is how much of a compressed body must be buffered before
// the relay decides about a frame it could splice. Peeking the packet id
// inflates a few bytes, but a dynamic Huffman block's code tables come
// first and take up to about 300 bytes; with fewer the peek may fail for
// want of input, not for a broken stream, so the relay reads more and asks
// again. With 1 KiB a failed peek is the frame's fault, and the frame goes
// the framed way, where inspect reports it.
const splicePeekMin = 1 << 10

// bodyNeeded is the one place that says which clientbound bodies the edge
// reads, per packet kind, in the leg's state (docs/PROTOCOL.md, "Large
// frames", has the same table in words):
//
//	reader                     kinds                                       when
//	protocol flow (flow.go)    every login packet; Finish Configuration;   always
//	                           Start Configuration, Set Compression
//	world replica (world.go)   registry data, join game, respawn, chunks,  replica on (world.budget_bytes > 0)
//	                           unload, block changes, explosions, borders
//	detection (detect)         what Player.WantClientbound names: join,    play, detection on
//	                           respawn, entity spawns/moves/destroys,
//	                           velocity, explosions, health, abilities,
//	                           attributes, effects, windows, pings
//	nobody                     everything else: entity metadata, map data, spliced when large
//	                           resource-pack and registry payloads
//	                           (replica off), plugin messages, chat,
//	                           tab lists, recipes, tags, sounds …
//
// Serverbound bodies are all read: a client's large frames (book edits,
// plugin messages, a creative inventory item) are hostile input that the
// detection engine and the inflate checks must see, so no serverbound frame
// is ever spliced (spliceable). Asking the detection engine rather than
// copying its list keeps this table true when a check starts reading a new
// kind.
func (p *pump) bodyNeeded(kind packets.Kind) bool {
	if clientboundMatters(p.state, kind) {
		return true
	}
	if p.wf != nil && isWorldKind(kind) {
		return true
	}
	if det := p.s.det; det != nil {
		p.s.detMu.Lock()
		want := det.WantClientbound(p.state, kind)
		p.s.detMu.Unlock()
		if want {
			return true
		}
	}
	return false
}

// spliceable reports whether this pump may splice a large frame's body at
// all: the clientbound leg in play or configuration, between two plain TCP
// sockets, with no cipher (an online route encrypts the client leg in user
// space, so every byte to the client must pass through it), and not on its
// way out (a kick or a drain reads the leg on its own terms).
func (p *pump) spliceable() bool {
	if !spliceFrames || p.dir != mcproto.Clientbound || p.s.enc != nil || p.src.rc == nil {
		return false
	}
	if p.state != mcproto.StatePlay && p.state != mcproto.StateConfiguration {
		return false
	}
	if _, ok := p.src.c.(*net.TCPConn); !ok {
		return false
	}
	if _, ok := p.dst.(*net.TCPConn); !ok {
		return false
	}
	return !p.ending()
}

// largeFrame looks at the partial frame left in the framer after a batch
// and returns how many of its bytes are still to come when it should be
// spliced (0: it should not, or not yet). A frame judged to go the framed
// way is remembered (p.framed, until the framer returns a frame) so that
// the reads that complete it do not peek it again.
func (p *pump) largeFrame() int {
	b := p.src.f.Buffered()
	if len(b) == 0 || p.framed {
		return 0
	}
	n, h, err := mcproto.ParseFrameHeader(b)
	if err != nil || n > p.src.f.Max() {
		return 0 // short, or refused by the framer's next Next
	}
	rest := h + n - len(b)
	if rest < spliceMinRest {
		return 0
	}
	kind, ok := p.peekKind(b[h:])
	if !ok {
		p.framed = len(b)-h >= splicePeekMin
		return 0
	}
	if p.bodyNeeded(kind) {
		p.framed = true
		return 0
	}
	return rest
}

// peekKind reads the packet kind from the start of a partial body: the id
// as it is, or, on a compressed leg, inflated from the first bytes. ok is
// false when the bytes do not (yet) say; the framed path then has the whole
// frame and reports what is wrong with it.
func (p *pump) peekKind(body []byte) (packets.Kind, bool) {
	pkt := body
	if p.threshold >= 0 {
		dataLen, payload, err := mcproto.SplitCompressed(body, p.threshold, mcproto.MaxInflate(p.dir), false)
		if err != nil {
			return 0, false
		}
		pkt = payload
		if dataLen > 0 {
			if len(body) < splicePeekMin {
				return 0, false
			}
			if pkt, err = p.inflater.Peek(p.peek[:], payload, dataLen); err != nil {
				return 0, false
			}
		}
	}
	id, _, err := mcproto.ReadVarInt(pkt)
	if err != nil {
		return 0, false
	}
	return p.s.table.Kind(p.state, p.dir, id), true
}
