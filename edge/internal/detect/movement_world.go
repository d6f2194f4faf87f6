package detect

import (
	"math"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/detection"
)

// Movement checks that read the player's world replica (world.go): what
// the world-free bounds (movement_bounds.go) must allow because "ladders
// and water look alike without blocks". Each judges only where every
// block it reads is known (readRegion) and its shape class is certain:
// stairs, fences, partial and unknown shapes, anything that moves the
// player by its own rules (climbable, cobweb, powder snow, honey,
// scaffolding, bubble columns) and any entity nearby (a boat or a shulker
// can be stood on) mean "cannot tell", never a flag (docs/DETECTIONS.md,
// "Movement in the world").

const (
	chkWorldNoFall CheckID = movementBase + 30 + iota
	chkWorldJesus
	chkWorldSpider
	chkWorldPhase
)

const (
	// groundEps is how far from the feet a block's top may be and still be
	// what the client stands on. Vanilla's collision puts the feet exactly
	// on it; 0.03 (the movement threshold before 1.18.2) absorbs float
	// printing by other clients and only ever finds more support.
	groundEps = 0.03
	// footMargin widens the footprint searched for support: more blocks
	// may hold the player, never fewer.
	footMargin = 0.01
	// fenceHeight is the highest a block's collision reaches above its own
	// floor (fences, walls, closed gates: 1.5): support for feet at y can
	// come from a block as low as y − 1.5.
	fenceHeight = 1.5
	// phaseShrink is how far the box is shrunk on every side before phase
	// looks for solid blocks in it: vanilla's collisions leave the box
	// touching a face, and 0.05 keeps float noise from reading as inside.
	phaseShrink = 0.05
	// smallestPoseHeight is the lowest box a player can have: swimming,
	// crawling and gliding poses are 0.6 high (1.14+; gliding from 1.9).
	smallestPoseHeight = 0.6
	// jesusTicks is how many position packets in a row, level (within
	// levelEps) with liquid under the feet, nothing to stand on and the
	// feet out of the liquid, make one Jesus flag. Vanilla cannot stay level
	// there even one tick: out of the liquid, gravity pulls; 10 ticks (half
	// a second) is margin for what the edge cannot see.
	jesusTicks = 10
	levelEps   = 1e-3
	// worldEntityRange is how close (horizontally and vertically, feet to
	// feet) any non-player entity must be for the world checks to stand
	// down: a boat is 1.375 wide, a shulker 1 high; 3 blocks covers them
	// with the lag the entity table allows for.
	worldEntityRange = 3.0
	// worldMargin is how far around the player's box the region read for
	// the checks reaches: a block of margin finds a ladder or water next to
	// the player that vanilla's own lookups could touch.
	worldMargin = 1.0
)

func worldMovementSpecs() []Spec {
	return []Spec{
		{ID: chkWorldNoFall, Key: "world.nofall", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionSetback, Setbacks: true, Decay: 0.5,
			Description: "the client says it is on the ground where the replica has nothing under its feet: no block whose top is within 0.03 of the feet under the footprint swept from the last position (vanilla finds the ground before it moves sideways), no uncertain shape or block of special movement under them, no entity within 3 blocks, every block known and unchanged since the last answered probe (exact NoFall); the edge sets the player back"},
		{ID: chkWorldJesus, Key: "world.jesus", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionSetback, Setbacks: true, Decay: 0.5,
			Description: "10 position packets in a row level (within 0.001) with liquid under the feet, the feet out of it and nothing to stand on (walking on water or lava); the edge sets the player back"},
		{ID: chkWorldSpider, Key: "world.spider", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionSetback, Setbacks: true, Decay: 0.5,
			Description: "rising in the air faster than a jump, a bounce or gravity lets the last move continue, with no climbable, liquid, bubble column, powder snow, cobweb, scaffolding or uncertain block within a block of the player (climbing a wall); the edge sets the player back"},
		{ID: chkWorldPhase, Key: "world.phase", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionSetback, Setbacks: true, Decay: 0.5,
			Description: "a move from a position clear of full blocks into one where the smallest box the player can have (0.6 high, shrunk by 0.05) is inside a full block; the edge sets the player back"},
	}
}

// worldMotion is what the world checks remember between moves.
type worldMotion struct {
	levelOnLiquid uint8 // Jesus: position packets in a row level above liquid
}

// anyWorldCheck reports whether a world check runs, so players pay for the
// region read only when one does.
func (p *Player) anyWorldCheck() bool {
	return p.on(chkWorldNoFall) || p.on(chkWorldJesus) || p.on(chkWorldSpider) || p.on(chkWorldPhase)
}

// worldMove is one move as the world checks judge it.
type worldMove struct {
	x, y, z    float64
	dy         float64
	onGround   bool
	wasGround  bool // the previous movement packet's ground flag
	halfWidth  float64
	height     float64
	prevX      float64
	prevY      float64
	prevZ      float64
	allowedUp  float64 // the rise the bounds' own rules allow this tick, climbing and swimming aside
	exemptRise bool    // flying, gliding, levitation, a push or a riptide: rises are not judged
}

// footprint is a horizontal area the player's box covers, edges included.
type footprint struct{ x0, x1, z0, z1 float64 }

// sweptFootprint is where the ground under this move may be: the box's
// footprint (widened by footMargin) from the previous position to this
// one. Vanilla's collision moves the box along y first, then along x and
// z (Entity.move on every version), and the ground flag comes from the y
// step: the tick a player walks or jumps off an edge, it reports the
// ground at the edge's height from where its box was before the
// horizontal move, already clear of the block it stood on. A check of the
// final footprint alone flagged every honest player stepping off a slab or
// a column (docs/DETECTIONS.md, "Movement in the world"). The leniency is
// one tick's horizontal move, which the speed bounds keep small.
func (wm *worldMove) sweptFootprint() footprint {
	hw := wm.halfWidth + footMargin
	return footprint{
		x0: min(wm.x, wm.prevX) - hw, x1: max(wm.x, wm.prevX) + hw,
		z0: min(wm.z, wm.prevZ) - hw, z1: max(wm.z, wm.prevZ) + hw,
	}
}

// world judges one tick's move against the replica. It runs after the
// bounds accepted the move, with the bounds' state still of the move
// before.
func (l *movementChecks) world(p *Player, pk *serverPacket, wm *worldMove) Verdict {
	st := &l.worldMotion
	if !p.HasWorld() || !p.anyWorldCheck() {
		st.levelOnLiquid = 0
		return pass
	}
	fp := wm.sweptFootprint()
	// reach is written once: Spider reads exactly this far (region.at).
	reach := wm.halfWidth + worldMargin
	x0 := min(blockFloor(wm.x-reach), blockFloor(fp.x0))
	x1 := max(blockFloor(wm.x+reach), blockFloor(fp.x1))
	z0 := min(blockFloor(wm.z-reach), blockFloor(fp.z0))
	z1 := max(blockFloor(wm.z+reach), blockFloor(fp.z1))
	y0, y1 := blockFloor(wm.y-fenceHeight-groundEps), blockFloor(wm.y+wm.height)
	r, ok := p.readRegion(x0, y0, z0, x1, y1, z1, pk.now)
	if !ok {
		st.levelOnLiquid = 0
		return pass
	}
	support, liquidBelow := r.support(fp, wm.y)
	v := pass

	// Exact NoFall: on the ground with nothing under the feet.
	if wm.onGround && !support && p.on(chkWorldNoFall) && !p.entityNear(wm.x, wm.y, wm.z) {
		below := int64(-1) // the state id under the centre, -1 if not read
		if i, ok := r.index(blockFloor(wm.x), blockFloor(wm.y-groundEps), blockFloor(wm.z)); ok {
			below = int64(r.states[i])
		}
		v = worse(v, p.flag(chkWorldNoFall, 1, pk.now, "x", ftoa(wm.x), "y", ftoa(wm.y), "z", ftoa(wm.z),
			"below", itoa(below)))
	}

	// Jesus: level above liquid, feet out of it, nothing to stand on.
	if !support && liquidBelow && math.Abs(wm.dy) <= levelEps && !r.liquidAt(wm.x, wm.y, wm.z, wm.halfWidth+footMargin) {
		if st.levelOnLiquid < math.MaxUint8 {
			st.levelOnLiquid++
		}
		if st.levelOnLiquid >= jesusTicks && p.on(chkWorldJesus) && !p.entityNear(wm.x, wm.y, wm.z) {
			st.levelOnLiquid = 0
			v = worse(v, p.flag(chkWorldJesus, 1, pk.now, "y", ftoa(wm.y)))
		}
	} else {
		st.levelOnLiquid = 0
	}

	// Spider: a rise nothing around the player explains.
	if !wm.onGround && !wm.exemptRise && wm.dy > wm.allowedUp && p.on(chkWorldSpider) &&
		r.plain(wm.x, wm.y, wm.z, reach, wm.height) && !p.entityNear(wm.x, wm.y, wm.z) {
		v = worse(v, p.flag(chkWorldSpider, 1, pk.now, "rise", ftoa(wm.dy), "limit", ftoa(wm.allowedUp)))
	}

	// Phase: into solid blocks from outside them.
	if p.on(chkWorldPhase) && r.insideFull(wm.x, wm.y, wm.z, wm.halfWidth-footMargin-phaseShrink, smallestPoseHeight-2*phaseShrink, phaseShrink, false) &&
		!p.wasInsideFull(wm, pk) {
		v = worse(v, p.flag(chkWorldPhase, 1, pk.now, "x", ftoa(wm.x), "y", ftoa(wm.y), "z", ftoa(wm.z)))
	}
	return v
}

// wasInsideFull reports whether the previous position may have been inside
// a full block (then the player may be stuck there honestly: a block
// placed on them, a server teleport into a wall) or is not known.
func (p *Player) wasInsideFull(wm *worldMove, pk *serverPacket) bool {
	// The largest box the player may have had, less the margin: a
	// player who only touched a face was not inside.
	hw, h := wm.halfWidth-footMargin, wm.height
	r, ok := p.readRegion(blockFloor(wm.prevX-hw), blockFloor(wm.prevY), blockFloor(wm.prevZ-hw),
		blockFloor(wm.prevX+hw), blockFloor(wm.prevY+h), blockFloor(wm.prevZ+hw), pk.now)
	if !ok {
		return true
	}
	return r.insideFull(wm.prevX, wm.prevY, wm.prevZ, hw, h, 0, true)
}

func blockFloor(v float64) int32 { return int32(math.Floor(v)) }

// solidMovement reports whether a block's movement property leaves its
// collision to its shape alone: plain blocks, ice and slime (full blocks
// that only change friction or bounce).
func solidMovement(m blocks.Movement) bool {
	return m == blocks.MoveNone || m == blocks.MoveIce || m == blocks.MoveBlueIce || m == blocks.MoveSlime
}

func liquidMovement(m blocks.Movement) bool {
	return m == blocks.MoveWater || m == blocks.MoveLava || m == blocks.MoveBubbleUp || m == blocks.MoveBubbleDown
}

// span is a block's collision height range [lo, hi] above its floor from
// its shape class; certain is false for shapes without one range.
func span(s blocks.Shape) (lo, hi float64, certain bool) {
	switch s {
	case blocks.ShapeFull:
		return 0, 1, true
	case blocks.ShapeSlabBottom:
		return 0, 0.5, true
	case blocks.ShapeSlabTop:
		return 0.5, 1, true
	}
	return 0, 0, false
}

// support reports whether anything may hold up feet at height y anywhere
// in the footprint fp (sweptFootprint): a block whose top may be at the feet (within
// groundEps), a block the player may be stuck inside (then vanilla's
// collision is not what the edge can tell), or a block the edge cannot be
// sure of. A block the player only touches from the side (a wall) holds
// nothing up. liquidBelow reports liquid in the layer right under the
// feet.
func (r *region) support(fp footprint, y float64) (support, liquidBelow bool) {
	bx0, bx1 := blockFloor(fp.x0), blockFloor(fp.x1)
	bz0, bz1 := blockFloor(fp.z0), blockFloor(fp.z1)
	// The footprint a stuck player overlaps for sure.
	const shrink = footMargin + phaseShrink
	ix0, ix1, iz0, iz1 := fp.x0+shrink, fp.x1-shrink, fp.z0+shrink, fp.z1-shrink
	under := blockFloor(y - groundEps)
	for by := blockFloor(y - fenceHeight - groundEps); by <= blockFloor(y+groundEps); by++ {
		for bz := bz0; bz <= bz1; bz++ {
			for bx := bx0; bx <= bx1; bx++ {
				st, ok := r.at(bx, by, bz)
				if !ok {
					return true, liquidBelow // not read: may hold the player
				}
				m, s := st.Movement(), st.Shape()
				if by == under && (liquidMovement(m) || st.Water()) {
					liquidBelow = true
				}
				if s == blocks.ShapeEmpty && (m == blocks.MoveNone || liquidMovement(m)) {
					continue
				}
				lo, hi, certain := span(s)
				if !certain || !solidMovement(m) {
					return true, liquidBelow
				}
				top, bottom := float64(by)+hi, float64(by)+lo
				if math.Abs(top-y) <= groundEps {
					return true, liquidBelow // standing on it
				}
				if bottom < y+groundEps && top > y-groundEps &&
					float64(bx) < ix1 && float64(bx)+1 > ix0 && float64(bz) < iz1 && float64(bz)+1 > iz0 {
					return true, liquidBelow // stuck inside it
				}
			}
		}
	}
	return false, liquidBelow
}

// liquidAt reports whether liquid (or a waterlogged block) may be at the
// feet's layer: the player may be in it, swimming.
func (r *region) liquidAt(x, y, z, hw float64) bool {
	by := blockFloor(y + groundEps)
	for bz := blockFloor(z - hw); bz <= blockFloor(z+hw); bz++ {
		for bx := blockFloor(x - hw); bx <= blockFloor(x+hw); bx++ {
			if st, ok := r.at(bx, by, bz); !ok || liquidMovement(st.Movement()) || st.Water() {
				return true // in liquid, or not read: may be
			}
		}
	}
	return false
}

// plain reports whether every block within hw horizontally and a block
// above and below the player's box is one whose effect on a rise the
// edge knows: air, and plain, ice or slime blocks of a certain shape.
// Anything that lifts or holds a player (climbable, liquid, bubble
// columns, powder snow, cobweb, honey, scaffolding) or an uncertain shape
// (stairs, fences, partial, unknown: a bed or a trapdoor) is not.
func (r *region) plain(x, y, z, hw, h float64) bool {
	for by := blockFloor(y - 1); by <= blockFloor(y+h); by++ {
		if by < r.y0 {
			continue
		}
		for bz := blockFloor(z - hw); bz <= blockFloor(z+hw); bz++ {
			for bx := blockFloor(x - hw); bx <= blockFloor(x+hw); bx++ {
				st, ok := r.at(bx, by, bz)
				if !ok || st.Water() || !solidMovement(st.Movement()) {
					return false // not read, or it may lift the player
				}
				if s := st.Shape(); s != blocks.ShapeEmpty && s != blocks.ShapeFull && s != blocks.ShapeSlabBottom && s != blocks.ShapeSlabTop {
					return false
				}
			}
		}
	}
	return true
}

// insideFull reports whether the box of half width hw and height h, its
// bottom lifted by up, at feet (x, y, z) overlaps a full solid block. A
// block the region does not hold counts as unread: the answer that judges
// nothing (not inside where inside flags, inside where it excuses).
func (r *region) insideFull(x, y, z, hw, h, up float64, unread bool) bool {
	if hw <= 0 || h <= 0 {
		return false
	}
	yb := y + up
	for by := blockFloor(yb); by <= blockFloor(yb+h); by++ {
		for bz := blockFloor(z - hw); bz <= blockFloor(z+hw); bz++ {
			for bx := blockFloor(x - hw); bx <= blockFloor(x+hw); bx++ {
				st, ok := r.at(bx, by, bz)
				if !ok {
					if unread {
						return true
					}
					continue
				}
				if st.Shape() == blocks.ShapeFull && solidMovement(st.Movement()) {
					return true
				}
			}
		}
	}
	return false
}

// entityNear reports whether any entity other than a player may be within
// worldEntityRange of the feet: the player may stand on it (boats,
// shulkers) or be pushed by it.
func (p *Player) entityNear(x, y, z float64) bool {
	acked, next := p.clock.acked, p.clock.nextSeq
	for _, e := range p.combat.ents.m {
		if e.player {
			continue
		}
		b := e.possible(acked, next)
		if axisGap(x, x, b.min[0], b.max[0]) <= worldEntityRange && axisGap(y, y, b.min[1], b.max[1]) <= worldEntityRange &&
			axisGap(z, z, b.min[2], b.max[2]) <= worldEntityRange {
			return true
		}
	}
	return false
}
