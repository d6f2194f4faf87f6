package detect

import (
	"time"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/edge/internal/world/chunk"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// What detection reads of the world replica (docs/WORLD.md). The relay
// hands each player's view to the player's detection state once the store
// admitted the player (SetWorld); a player without one (the replica off,
// the store over its budget, no block table for the protocol) is judged by
// the world-free bounds only, and so is any movement near a column the
// player has not loaded: vanilla freezes the client there, so a missing
// column is unknown, never air.

// World is the player's copy of the blocks, as detection reads it
// (world.View implements it). It must be safe to call while the
// clientbound relay feeds it: detection reads it from the serverbound
// relay.
type World interface {
	// Block is the state the player should see at a position; ok is
	// false when the player has no such column loaded.
	Block(x, y, z int32) (state uint16, ok bool)
	// Box fills dst with the states of the box from (x0, y0, z0) to (x1,
	// y1, z1) inclusive, x fastest, then z, then y; false (nothing
	// filled) when dst is too small or a column is not loaded.
	Box(x0, y0, z0, x1, y1, z1 int32, dst []uint16) bool
	// ChangedAfter reports whether the block's section changed after t:
	// the client may still show the old state there.
	ChangedAfter(x, y, z int32, t time.Time) bool
	// Predict records the player's own edit before the server settled
	// it: state 0 is a break; seq is the 1.19+ sequence, or -1 (settled
	// by the server's block change there). Detection sees the dig and
	// place packets, so it records them.
	Predict(x, y, z int32, state uint16, seq int32)
}

// maxRegionBlocks bounds the blocks one world read covers: a player's box
// (0.6 × 1.8 × 0.6) with a block of margin on every side spans at most
// 4 × 4 × 4 blocks, the ground check one more layer, and the footprint
// swept from the previous position (movement_world.go, sweptFootprint)
// reaches past the margin only for a move of more than a block, one more
// column each way up to 1.4 blocks (beyond a sprint-jump with speed II):
// 5 × 5 × 5 = 125. A larger read is not judged. The scratch array is the
// player's (made with its first read), so a read allocates nothing after
// that.
const maxRegionBlocks = 128

// editGrace is how long after the player's own dig or place the blocks
// near them are uncertain: the edge does not know what a placement put
// there (the held item is a guess) and the server may refuse either. A
// round trip and a few ticks: 1 s covers a 500 ms ping twice.
const editGrace = time.Second

// playerWorld is the player's world as detection reads it.
type playerWorld struct {
	w     World
	table *blocks.Table
	// dig is the protocol's dig table (hardness, tools): the break-time
	// check judges only with it (SetDig).
	dig *blocks.DigTable
	// lastEdit is when the player last dug or placed: the world near them
	// is uncertain until editGrace after it.
	lastEdit time.Time
	// scratch is made with the first read: the world checks are off by
	// default, and an idle player should not carry it.
	scratch *[maxRegionBlocks]uint16
}

// SetWorld gives the player's detection the player's world replica and
// the block table of the player's protocol. The relay calls it once the
// store admitted the player; w is read from the serverbound relay while
// the clientbound relay feeds it, so it must be safe for that (world.View
// is). A nil w or table takes the world away (the bounds alone judge).
func (p *Player) SetWorld(w World, t *blocks.Table) {
	if w == nil || t == nil {
		p.world.w, p.world.table = nil, nil
		return
	}
	p.world.w, p.world.table = w, t
}

// SetDig gives the player's checks the dig table of the player's protocol
// (nil: the break-time check stands down). The relay calls it with
// SetWorld.
func (p *Player) SetDig(t *blocks.DigTable) { p.world.dig = t }

// HasWorld reports whether the player's checks read a world replica.
func (p *Player) HasWorld() bool { return p.world.w != nil }

// region is a box of blocks read from the player's world for one check.
type region struct {
	x0, y0, z0 int32
	nx, nz     int32
	states     []uint16
	table      *blocks.Table
}

// at is the block state at an absolute position; ok is false outside the
// region, and each reader then answers what judges nothing. The readers
// compute their block ranges from floats, and two roundings of one bound
// can differ by a block ((x-0.3)-1.0 is 2, x-1.3 is 1.999… at x = 3.3):
// unchecked, that read outside states, a wrong block or a panic that
// took the whole edge down (SHARP_EDGES.md, "A region read is bounds
// checked").
func (r *region) at(x, y, z int32) (st blocks.State, ok bool) {
	i, ok := r.index(x, y, z)
	if !ok {
		return st, false
	}
	return r.table.Lookup(int32(r.states[i])), true
}

// index is where a position is in states, if the region holds it.
func (r *region) index(x, y, z int32) (int32, bool) {
	dx, dy, dz := x-r.x0, y-r.y0, z-r.z0
	if dx < 0 || dx >= r.nx || dz < 0 || dz >= r.nz || dy < 0 {
		return 0, false
	}
	i := (dy*r.nz+dz)*r.nx + dx
	if int(i) >= len(r.states) {
		return 0, false
	}
	return i, true
}

// readRegion reads the blocks from (x0, y0, z0) to (x1, y1, z1) inclusive.
// ok is false, and nothing may be judged, when the player has no world,
// a column there is not loaded, the region is too large, the player
// edited a block recently, or a section there changed after the last
// probe the client answered (the client may still show the old state; the
// store does not keep it).
func (p *Player) readRegion(x0, y0, z0, x1, y1, z1 int32, now time.Time) (region, bool) {
	w := &p.world
	if w.w == nil || x1 < x0 || y1 < y0 || z1 < z0 {
		return region{}, false
	}
	nx, ny, nz := int64(x1-x0)+1, int64(y1-y0)+1, int64(z1-z0)+1
	if nx*ny*nz > maxRegionBlocks {
		return region{}, false
	}
	if w.scratch == nil {
		w.scratch = new([maxRegionBlocks]uint16)
	}
	if !w.settledBox(x0, y0, z0, x1, y1, z1, w.scratch[:], now, p.clock.clock) {
		return region{}, false
	}
	return region{x0: x0, y0: y0, z0: z0, nx: int32(nx), nz: int32(nz), states: w.scratch[:nx*ny*nz], table: w.table}, true
}

// settledBox reads a box of blocks into dst and reports whether the client
// surely sees them so: false when the player has no world, a column there
// is not loaded, the player edited a block within editGrace of now, or a
// section there changed after since (the send time of the last probe the
// client answered). The world checks and the prediction both read
// through it.
func (w *playerWorld) settledBox(x0, y0, z0, x1, y1, z1 int32, dst []uint16, now, since time.Time) bool {
	if w.w == nil || (!w.lastEdit.IsZero() && now.Sub(w.lastEdit) < editGrace) {
		return false
	}
	if !w.w.Box(x0, y0, z0, x1, y1, z1, dst) {
		return false
	}
	// One question per section the box touches (16-block steps, and the
	// far corner): a player's box spans at most eight.
	for y := y0; ; y = min(y+16, y1) {
		for z := z0; ; z = min(z+16, z1) {
			for x := x0; ; x = min(x+16, x1) {
				if w.w.ChangedAfter(x, y, z, since) {
					return false
				}
				if x == x1 {
					break
				}
			}
			if z == z1 {
				break
			}
		}
		if y == y1 {
			break
		}
	}
	return true
}

// stateUncertain is what a prediction records where the edge does not
// know the block: the placed block (the edge knows the held item only
// roughly, and a click may open a container instead), a dig start (it
// breaks at once in creative or with an instant-mine tool, else not) and
// a dig finish (the server may refuse it).
// Every block table answers it as unknown, so no check is sure there.
const stateUncertain = chunk.StateOutOfRange

// blockFaceOffsets are the block faces of dig and place packets (0 down,
// 1 up, 2 north, 3 south, 4 west, 5 east) as offsets to the neighbour.
var blockFaceOffsets = [6][3]int32{{0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}, {-1, 0, 0}, {1, 0, 0}}

// recordEdit hands the player's own dig or place to the replica as the
// client predicts it, and starts the edit grace (readRegion). It runs
// whatever the checks decided: a dropped packet never reached the server,
// but the client changed its own world all the same.
func (p *Player) recordEdit(pk *serverPacket) {
	w := &p.world
	if w.w == nil {
		return
	}
	seq := int32(-1)
	switch pk.kind {
	case packets.KindBlockDig:
		d := &pk.dig
		if p.info.Protocol >= mcproto.Protocol1_19 {
			seq = d.Sequence
		}
		if d.Status != digStart && d.Status != digFinish {
			return
		}
		// Even a finished dig is recorded as unknown, not air: the
		// server may refuse it, and before 1.19 only a block change at
		// the position settles the edit, which a server need not send
		// to the digger (flying-squid sends it to the others only); a
		// stale "air" would read as a hole under an honest player.
		w.lastEdit = pk.now
		w.w.Predict(d.Location.X, d.Location.Y, d.Location.Z, stateUncertain, seq)
	case packets.KindBlockPlace:
		b := &pk.place
		if b.Face < 0 || b.Face > maxBlockFace {
			return // 1.8's item use: nothing placed
		}
		if p.info.Protocol >= mcproto.Protocol1_19 {
			seq = b.Sequence
		}
		w.lastEdit = pk.now
		// The block goes next to the face clicked, or into the clicked
		// block when that is replaceable (grass, snow): both uncertain.
		loc, off := b.Location, blockFaceOffsets[b.Face]
		w.w.Predict(loc.X, loc.Y, loc.Z, stateUncertain, seq)
		w.w.Predict(loc.X+off[0], loc.Y+off[1], loc.Z+off[2], stateUncertain, seq)
	}
}
