package detect

import (
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Interaction bounds that hold in any world: digs and placements within
// reach of the eye, no faster than vanilla can click, on a face the eye can
// see (nuker, fast-break, fast-place, scaffold; docs/DETECTIONS.md,
// "Interaction without the world").

const (
	chkDigReach CheckID = interactionBase + 10 + iota
	chkPlaceReach
	chkFastBreak
	chkFastPlace
	chkPlaceFace
)

const (
	// survivalBlockReach and creativeBlockReach are the client's pick
	// range for blocks before 1.20.5 (the block_interaction_range
	// attribute since, 4.5 with +0.5 in creative).
	survivalBlockReach = 4.5
	creativeBlockReach = 5.0
	// blockReachMargin is what the bound adds to the reach: vanilla's own
	// server allows 6 blocks from the eye to the block's centre (1.0 more
	// than creative reach and 0.87 more to the nearest corner), which
	// also absorbs the position the edge knows being one move behind.
	blockReachMargin = 1.0
	// interactionsPerTick: a vanilla client finishes at most one break
	// (a dig finish, or a start that breaks instantly) per tick and
	// places at most one block per click, which it reads once per tick.
	// Vanilla's place delay (4 ticks) only applies while the button is
	// held; clicking faster places faster, so the bound is one per tick.
	interactionsPerTick = 1
	// interactionBurst is how many extra breaks or placements a lag burst
	// may bunch together: half a second of ticks.
	interactionBurst = 10
	// interactionRate and interactionWindow are those as a token bucket.
	interactionRate   = interactionsPerTick * float64(time.Second/tickDuration)
	interactionWindow = (interactionBurst + interactionsPerTick) / interactionRate
	// faceSlack is how far behind a face's plane the eye may seem to be:
	// the movement threshold and rounding.
	faceSlack = 0.05
)

func interactionBoundSpecs() []Spec {
	return []Spec{
		{ID: chkDigReach, Key: "interaction.dig_reach", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 10, Decay: 0.5,
			Description: "a dig start or finish whose block is farther from every eye height than the reach (4.5, 5 in creative; the block_interaction_range attribute from 1.20.5) plus 1 block; dropped, kick at VL 10"},
		{ID: chkPlaceReach, Key: "interaction.place_reach", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 10, Decay: 0.5,
			Description: "a block placement or interaction on a block farther from every eye height than the reach plus 1 block; dropped, kick at VL 10"},
		{ID: chkFastBreak, Key: "interaction.fast_break", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 20, Decay: 1,
			Description: "more breaks (dig finishes, and starts, which break instantly in creative or with instant-mine tools) than one per tick, with a burst of 10 for lag; dropped, kick at VL 20"},
		{ID: chkFastPlace, Key: "interaction.fast_place", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 20, Decay: 1,
			Description: "more main-hand block placements than one per tick (vanilla reads one click per tick; its 4-tick delay binds only a held button), with a burst of 10 for lag; dropped, kick at VL 20"},
		{ID: chkPlaceFace, Key: "interaction.place_face", Layer: 6, Severity: detection.SeverityMedium, Action: detection.ActionKick, KickVL: 10, Decay: 0.5,
			Description: "a placement on a face the eye is behind (the top face from below the block, the bottom from above it, a side from beyond the block's far side), whatever the block's shape; dropped, kick at VL 10"},
	}
}

// interactionBounds is the bookkeeping of these checks.
type interactionBounds struct {
	breaks, places bucket
}

// blockReach is the longest reach the client may have for blocks.
func (p *Player) blockReach() float64 {
	p.self.caps.settle(p.clock.acked)
	reach := survivalBlockReach
	if p.self.caps.possible&capCreative != 0 || p.self.gameMode() == packets.GameModeCreative {
		reach = creativeBlockReach
	}
	if p.info.Protocol >= mcproto.Protocol1_20_5 {
		if r := p.attrHi(taBlockReach); r > survivalBlockReach {
			reach = max(reach, r+creativeBlockReach-survivalBlockReach)
		}
	}
	return reach + blockReachMargin
}

// eyeSpan is the range of eye heights the client may have.
func (p *Player) eyeSpan() (lo, hi float64) {
	lo, hi = eyeRange(p.info.Protocol)
	return lo * p.attrLo(taScale), hi * p.attrHi(taScale)
}

// blockDistance is the distance from the nearest eye the player may have to
// the nearest point of the block at loc.
func (p *Player) blockDistance(loc mcproto.Position) float64 {
	lo, hi := p.eyeSpan()
	bx, by, bz := float64(loc.X), float64(loc.Y), float64(loc.Z)
	dx := axisGap(p.self.x, p.self.x, bx, bx+1)
	dy := axisGap(p.self.y+lo, p.self.y+hi, by, by+1)
	dz := axisGap(p.self.z, p.self.z, bz, bz+1)
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

// axisGap is the gap between the spans [a0, a1] and [b0, b1] (0 if they
// overlap).
func axisGap(a0, a1, b0, b1 float64) float64 {
	switch {
	case a1 < b0:
		return b0 - a1
	case a0 > b1:
		return a0 - b1
	}
	return 0
}

// interactionUnsure reports when the edge does not know where the player's
// eye is: no position yet, riding, dead or a teleport in flight.
func (p *Player) interactionUnsure(now time.Time) bool {
	return !p.self.havePos || p.riding.may() || p.self.dead || p.teleports.pending(now)
}

// dig judges a dig start or finish.
func (l *interactionBounds) dig(p *Player, pk *serverPacket) Verdict {
	d := &pk.dig
	if d.Status != digStart && d.Status != digFinish {
		return pass
	}
	v := pass
	if p.on(chkFastBreak) && !l.breaks.take(1, interactionRate, interactionWindow, pk.now) {
		v = p.flag(chkFastBreak, 1, pk.now, "status", itoa(int64(d.Status)))
	}
	if p.on(chkDigReach) && !p.interactionUnsure(pk.now) {
		if dist, lim := p.blockDistance(d.Location), p.blockReach(); dist > lim {
			v = worse(v, p.flag(chkDigReach, 1, pk.now, "distance", ftoa(dist), "limit", ftoa(lim)))
		}
	}
	return v
}

// place judges a block placement (not 1.8's item use, not the off hand).
func (l *interactionBounds) place(p *Player, pk *serverPacket) Verdict {
	b := &pk.place
	if b.Face < 0 || b.Face > maxBlockFace || p.info.Protocol >= mcproto.Protocol1_9 && b.Hand != packets.HandMain {
		return pass
	}
	v := pass
	if p.on(chkFastPlace) && !l.places.take(1, interactionRate, interactionWindow, pk.now) {
		v = p.flag(chkFastPlace, 1, pk.now)
	}
	if p.interactionUnsure(pk.now) {
		return v
	}
	if p.on(chkPlaceReach) {
		if dist, lim := p.blockDistance(b.Location), p.blockReach(); dist > lim {
			v = worse(v, p.flag(chkPlaceReach, 1, pk.now, "distance", ftoa(dist), "limit", ftoa(lim)))
		}
	}
	if p.on(chkPlaceFace) && !p.faceVisible(b.Location, b.Face) {
		v = worse(v, p.flag(chkPlaceFace, 1, pk.now, "face", itoa(int64(b.Face)),
			"block_y", itoa(int64(b.Location.Y)), "y", ftoa(p.self.y)))
	}
	return v
}

// faceVisible reports whether some eye the player may have is on the outer
// side of a face of some shape the block could have. A shape's top can be
// as low as just above the block's floor (a carpet), its bottom as high as
// just below its ceiling, and likewise for the sides, so the eye only has
// to be beyond the block's opposite boundary.
func (p *Player) faceVisible(loc mcproto.Position, face int32) bool {
	lo, hi := p.eyeSpan()
	bx, by, bz := float64(loc.X), float64(loc.Y), float64(loc.Z)
	x, z := p.self.x, p.self.z
	switch face {
	case 0: // down
		return p.self.y+lo < by+1+faceSlack
	case 1: // up
		return p.self.y+hi > by-faceSlack
	case 2: // north (−z)
		return z < bz+1+faceSlack
	case 3: // south (+z)
		return z > bz-faceSlack
	case 4: // west (−x)
		return x < bx+1+faceSlack
	case 5: // east (+x)
		return x > bx-faceSlack
	}
	return true
}
