package predict

import (
	"math"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
)

// move is Entity.move for a player: cobweb slowdown, backing off edges
// while sneaking, collisions with step-up, landing (slime and bed bounces),
// walking on slime, and the blocks the box ends up in (cobwebs, soul sand,
// honey, the 1.15+ speed factor).
func (p *Predictor) move(s *State, c *candidate, tk *tick, vx, vy, vz float64) outcome {
	g := &p.g
	r, env := &tk.r, tk.env
	o := outcome{mx: 1, my: 1, mz: 1}
	dx, dy, dz := vx, vy, vz
	if s.Stuck {
		dx, dy, dz = dx*webX, dy*webY, dz*webX
		vx, vy, vz = 0, 0, 0
		o.mx, o.my, o.mz = 0, 0, 0
	}
	box := playerBox(s.X, s.Y, s.Z)
	boxes := g.boxes[:g.nBoxes]
	if c.sneak && s.OnGround {
		dx, dz = backOff(g, box, dx, dz, r.sneakEdgeDrop)
	}
	cx, cy, cz := collide(boxes, box, dx, dy, dz, env.StepHeight, s.OnGround, r.modernOrder)
	o.x, o.y, o.z = s.X+cx, s.Y+cy, s.Z+cz
	o.minY, o.maxY = min(s.Y, o.y), max(s.Y, o.y)+playerHeight
	// Horizontal collision as vanilla judges it: Mth.equal (1.0E-5) from
	// 1.14; exact before, where the trig table gives exact zeros on the
	// axes that this package's math.Sin/Cos miss by 1e-17.
	o.collidedH = abs(cx-dx) > r.hCollisionEps || abs(cz-dz) > r.hCollisionEps
	o.onGround = cy != dy && dy < 0
	if cx != dx {
		vx, o.mx = 0, 0
	}
	if cz != dz {
		vz, o.mz = 0, 0
	}
	landOn := g.movementAt(o.x, o.y-landingProbe, o.z)
	if cy != dy {
		o.my = 0
		cl, _, ok := g.at(floor(o.x), floor(o.y-landingProbe), floor(o.z))
		switch {
		case landOn == blocks.MoveSlime && !c.sneak && vy < 0:
			vy = -vy
		case ok && cl.flags&blocks.ShapeBed != 0 && r.bedBounces && !c.sneak && vy < 0:
			vy = -vy * bedBounce
		default:
			vy = 0
		}
	}
	if o.onGround && landOn == blocks.MoveSlime && c.slimeWalk && !c.sneak && abs(vy) < 0.1 {
		f := 0.4 + abs(vy)*0.2
		vx, vz = vx*f, vz*f
		o.mx, o.mz = o.mx*f, o.mz*f
	}
	// The blocks the box is inside after the move (doBlockCollisions,
	// checkInsideBlocks), on the box shrunk by 0.001.
	in := playerBox(o.x, o.y, o.z)
	in = aabb{in.minX + 0.001, in.minY + 0.001, in.minZ + 0.001, in.maxX - 0.001, in.maxY - 0.001, in.maxZ - 0.001}
	o.stuck = g.anyIn(in, blocks.MoveCobweb)
	if g.anyIn(in, blocks.MoveBubbleUp) || g.anyIn(in, blocks.MoveBubbleDown) || g.anyIn(in, blocks.MovePowderSnow) || g.anyIn(in, blocks.MoveScaffolding) {
		o.unsupported = true
	}
	if r.speedFactor {
		f := speedFactorAt(g, o.x, o.y, o.z)
		if f != 1 && r.soulSpeed && g.anyIn(aabb{o.x, o.y - belowForSlip, o.z, o.x, o.y, o.z}, blocks.MoveSoulSand) {
			o.unsupported = true // Soul Speed boots are equipment the edge does not see
		}
		vx, vz = vx*f, vz*f
		o.mx, o.mz = o.mx*f, o.mz*f
		if !o.onGround && g.anyIn(in, blocks.MoveHoney) {
			o.unsupported = true // sliding down a honey block's side
		}
	} else if n := g.countIn(in, blocks.MoveSoulSand); n > 0 {
		// Before 1.15 every soul sand block the box is in slows it again.
		f := math.Pow(soulSandFactor, float64(n))
		vx, vz = vx*f, vz*f
		o.mx, o.mz = o.mx*f, o.mz*f
	}
	o.vx, o.vy, o.vz = vx, vy, vz
	return o
}

// speedFactorAt is Entity.getBlockSpeedFactor (1.15+): the block at the
// feet, or the one below when that one has no factor; water and bubble
// columns have none.
func speedFactorAt(g *grid, x, y, z float64) float64 {
	m := g.movementAt(x, y, z)
	if m == blocks.MoveWater || m == blocks.MoveBubbleUp || m == blocks.MoveBubbleDown {
		return 1
	}
	if f := factorOf(m); f != 1 {
		return f
	}
	return factorOf(g.movementAt(x, y-belowForSlip, z))
}

func factorOf(m blocks.Movement) float64 {
	switch m {
	case blocks.MoveSoulSand:
		return soulSandFactor
	case blocks.MoveHoney:
		return honeyFactor
	}
	return 1
}

// backOff is the sneaking edge guard: shorten the horizontal move in 0.05
// steps while the box, moved and lowered by drop, would stand on nothing.
func backOff(g *grid, box aabb, dx, dz, drop float64) (float64, float64) {
	free := func(x, z float64) bool { return !g.collides(box.offset(x, -drop, z)) }
	toward := func(v float64) float64 {
		switch {
		case v < sneakEdgeStep && v >= -sneakEdgeStep:
			return 0
		case v > 0:
			return v - sneakEdgeStep
		}
		return v + sneakEdgeStep
	}
	for dx != 0 && free(dx, 0) {
		dx = toward(dx)
	}
	for dz != 0 && free(0, dz) {
		dz = toward(dz)
	}
	for dx != 0 && dz != 0 && free(dx, dz) {
		dx, dz = toward(dx), toward(dz)
	}
	return dx, dz
}
