package predict

import (
	"math"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
)

// Predictor runs the prediction for one player at a time; it owns the
// scratch grid (about 40 KiB) so that a tick allocates nothing. It keeps
// nothing between calls: players can share a pool of them.
type Predictor struct {
	t *Tables
	// Tolerance is the offset up to which a report counts as honest: the
	// next tick's velocity then follows the reported move (vanilla's own
	// float rounding and what the package approximates, such as water
	// currents, do not accumulate); beyond it, the predicted velocity.
	Tolerance float64
	g         grid
	tie       outcome // search's tie with another velocity, when hasTie
	hasTie    bool
	sims      int // candidate ticks simulated in this Step (Result.Sims)
}

// New returns a Predictor; Step names the protocol's tables.
func New(tolerance float64) *Predictor { return &Predictor{Tolerance: tolerance} }

// candidate is one set of inputs an honest client may have had this tick.
type candidate struct {
	forward, strafe     int8
	jump, item          bool
	sprint, sneak       bool
	speed               float64 // movement_speed base × effects (sprint applied at travel)
	swimPull, slimeWalk bool
}

// outcome is one candidate's tick.
type outcome struct {
	x, y, z         float64
	vx, vy, vz      float64
	mx, my, mz      float64 // d(end velocity)/d(moved distance) per axis: how a position error carries into velocity
	onGround, stuck bool
	collidedH       bool
	unsupported     bool
	minY, maxY      float64 // the swept vertical extent (uncertain cells are checked in it)
}

// tick is what every candidate of a tick shares: read once at its start.
type tick struct {
	r               rules
	env             *Env
	sin, cos, lookY float64
	water, lava     bool
	waterHeight     float64
	lavaHeight      float64
	climbable       bool
	slip            float64
	jumpFactor      float64
	onSlime         bool
	waterAbove      bool
}

func (p *Predictor) prepare(tk *tick, s *State, env *Env, yaw, pitch float32) {
	g := &p.g
	r := tk.r
	tk.env = env
	rad := float64(yaw) * math.Pi / 180
	tk.sin, tk.cos = math.Sin(rad), math.Cos(rad)
	tk.lookY = -math.Sin(float64(pitch) * math.Pi / 180)
	box := playerBox(s.X, s.Y, s.Z)
	if r.swim {
		d := box
		d.minX, d.minY, d.minZ, d.maxX, d.maxY, d.maxZ = d.minX+0.001, d.minY+0.001, d.minZ+0.001, d.maxX-0.001, d.maxY-0.001, d.maxZ-0.001
		tk.waterHeight = g.fluidHeight(d, blocks.MoveWater)
		tk.lavaHeight = g.fluidHeight(d, blocks.MoveLava)
		tk.water, tk.lava = tk.waterHeight > 0, tk.lavaHeight > 0
	} else {
		// Entity.handleWaterMovement: the box shrunk by 0.4 vertically and
		// 0.001 around; isInLava: shrunk by 0.1 and 0.4.
		w := aabb{box.minX + 0.001, box.minY + 0.4 + 0.001, box.minZ + 0.001, box.maxX - 0.001, box.maxY - 0.4 - 0.001, box.maxZ - 0.001}
		tk.water = g.anyIn(w, blocks.MoveWater)
		l := aabb{box.minX + 0.1, box.minY + 0.4, box.minZ + 0.1, box.maxX - 0.1, box.maxY - 0.4, box.maxZ - 0.1}
		tk.lava = g.anyIn(l, blocks.MoveLava)
		if tk.water {
			tk.waterHeight = 1
		}
	}
	tk.waterAbove = g.movementAt(s.X, s.Y+0.9, s.Z) == blocks.MoveWater
	tk.climbable = climbableAt(g, s.X, s.Y, s.Z)
	below := s.Y - 1
	if r.speedFactor {
		below = s.Y - belowForSlip
	}
	tk.slip = defaultSlip
	switch g.movementAt(s.X, below, s.Z) {
	case blocks.MoveIce:
		tk.slip = iceSlip
	case blocks.MoveBlueIce:
		tk.slip = blueIceSlip
	case blocks.MoveSlime:
		tk.slip = slimeSlip
	}
	tk.jumpFactor = 1
	if r.speedFactor && (g.movementAt(s.X, s.Y, s.Z) == blocks.MoveHoney || g.movementAt(s.X, s.Y-belowForSlip, s.Z) == blocks.MoveHoney) {
		tk.jumpFactor = honeyJump
	}
	tk.onSlime = g.movementAt(s.X, s.Y-landingProbe, s.Z) == blocks.MoveSlime
}

func climbableAt(g *grid, x, y, z float64) bool {
	return g.movementAt(x, y, z) == blocks.MoveClimbable
}

func playerBox(x, y, z float64) aabb {
	return aabb{x - halfWidth, y, z - halfWidth, x + halfWidth, y + playerHeight, z + halfWidth}
}

// simulate runs one tick of vanilla physics (LivingEntity.aiStep, travel and
// Entity.move) for one candidate.
func (p *Predictor) simulate(s *State, c *candidate, tk *tick) outcome {
	p.sims++
	g := &p.g
	r, env := &tk.r, tk.env
	vx, vy, vz := s.VX, s.VY, s.VZ
	if abs(vx) < r.velocityFloor {
		vx = 0
	}
	if abs(vy) < r.velocityFloor {
		vy = 0
	}
	if abs(vz) < r.velocityFloor {
		vz = 0
	}
	fwd, str := float64(c.forward), float64(c.strafe)
	if c.sneak {
		fwd, str = fwd*sneakFactor, str*sneakFactor
	}
	if c.item {
		fwd, str = fwd*itemUseFactor, str*itemUseFactor
	}
	if c.jump {
		swimUp := tk.water && (!r.climbOnJump || !s.OnGround || tk.waterHeight > fluidJumpDepth)
		lavaUp := tk.lava && (!r.climbOnJump || !s.OnGround || tk.lavaHeight > fluidJumpDepth)
		switch {
		case swimUp || lavaUp:
			vy += liquidJump
		case s.OnGround:
			vy = env.JumpStrength*tk.jumpFactor + jumpBoostPerLevel*env.JumpBoost
			if c.sprint {
				vx -= tk.sin * sprintJumpBoost
				vz += tk.cos * sprintJumpBoost
			}
		}
	}
	fwd, str = fwd*inputDamping, str*inputDamping
	if c.swimPull {
		q := 0.06
		if tk.lookY < -0.2 {
			q = 0.085
		}
		if tk.lookY <= 0 || c.jump || tk.waterAbove {
			vy += (tk.lookY - vy) * q
		}
	}

	var o outcome
	switch {
	case tk.water:
		y0 := s.Y
		drag := waterDrag
		if r.swim && c.sprint {
			drag = swimDrag
		}
		if r.swim && env.DolphinsGrace {
			drag = dolphinDrag
		}
		vx, vz = accelerate(vx, vz, str, fwd, liquidAccel, tk)
		o = p.move(s, c, tk, vx, vy, vz)
		if r.swim {
			// The 1.13+ water physics below follow vanilla as far as
			// this package knows it, but no independent reference trace
			// checks them yet (mineflayer's engine moves 1.13+ players in
			// water as 1.12 ones): judged nothing until one does.
			o.unsupported = true
			if o.collidedH && tk.climbable {
				o.vy = climbSpeed
			}
			o.vx, o.vy, o.vz = o.vx*drag, o.vy*waterDrag, o.vz*drag
			o.mx, o.my, o.mz = o.mx*drag, o.my*waterDrag, o.mz*drag
			if !c.sprint {
				o.vy = fluidFalling(o.vy, env.Gravity)
			}
		} else {
			o.vx, o.vy, o.vz = o.vx*waterDrag, o.vy*waterDrag-liquidGravity, o.vz*waterDrag
			o.mx, o.my, o.mz = o.mx*waterDrag, o.my*waterDrag, o.mz*waterDrag
		}
		p.exitBoost(&o, y0)
	case tk.lava:
		y0 := s.Y
		vx, vz = accelerate(vx, vz, str, fwd, liquidAccel, tk)
		o = p.move(s, c, tk, vx, vy, vz)
		o.vx, o.vy, o.vz = o.vx*lavaDrag, o.vy*lavaDrag-liquidGravity, o.vz*lavaDrag
		o.mx, o.my, o.mz = o.mx*lavaDrag, o.my*lavaDrag, o.mz*lavaDrag
		if r.swim {
			o.unsupported = true // 1.16 reworked lava drag and gravity; not modelled
		}
		p.exitBoost(&o, y0)
	default:
		slip := 1.0
		if s.OnGround {
			slip = tk.slip
		}
		f := slip * airFriction
		accel := airAccel
		if c.sprint {
			accel = airSprintAccel
		}
		if s.OnGround {
			sp := c.speed
			if c.sprint {
				sp *= sprintFactor
			}
			accel = sp * groundAccelNumer / (f * f * f)
		}
		vx, vz = accelerate(vx, vz, str, fwd, accel, tk)
		if tk.climbable {
			vx, vz = clamp(vx, climbClamp), clamp(vz, climbClamp)
			vy = max(vy, -climbClamp)
			if c.sneak && vy < 0 {
				vy = 0
			}
		}
		o = p.move(s, c, tk, vx, vy, vz)
		if (tk.climbable || climbableAt(g, o.x, o.y, o.z)) && (o.collidedH || (r.climbOnJump && c.jump)) {
			o.vy, o.my = climbSpeed, 0
		}
		if env.Levitation > 0 {
			o.vy += (levitationPerLvl*env.Levitation - o.vy) * levitationRate
			o.my *= 1 - levitationRate
		} else {
			gr := env.Gravity
			if r.swim && env.SlowFalling && o.vy <= 0 {
				gr = slowFallGravity
			}
			o.vy -= gr
		}
		o.vy *= verticalDrag
		o.my *= verticalDrag
		o.vx, o.vz = o.vx*f, o.vz*f
		o.mx, o.mz = o.mx*f, o.mz*f
	}
	return o
}

// fluidFalling is LivingEntity.getFluidFallingAdjustedMovement (1.13+, not
// sprinting): a slow sink in water.
func fluidFalling(vy, gravity float64) float64 {
	if vy <= 0 && abs(vy-0.005) >= 0.003 && abs(vy-gravity/16) < 0.003 {
		return -0.003
	}
	return vy - gravity/16
}

// exitBoost lifts a swimmer pushing against a wall at the surface
// (isFree at the move's end, raised by 0.6 less what the tick rose).
func (p *Predictor) exitBoost(o *outcome, y0 float64) {
	if !o.collidedH {
		return
	}
	b := playerBox(o.x, o.y, o.z).offset(o.vx, o.vy+liquidExitProbe-o.y+y0, o.vz)
	if p.g.collides(b) || p.g.anyIn(b, blocks.MoveWater) || p.g.anyIn(b, blocks.MoveLava) {
		return
	}
	o.vy, o.my = liquidExit, 0
}

func clamp(v, lim float64) float64 { return min(max(v, -lim), lim) }

// accelerate is moveRelative: the input, normalised when longer than 1,
// scaled by the acceleration and turned by the yaw.
func accelerate(vx, vz, str, fwd, accel float64, tk *tick) (float64, float64) {
	d := str*str + fwd*fwd
	if d < 1e-7 {
		return vx, vz
	}
	if d > 1 {
		n := math.Sqrt(d)
		str, fwd = str/n, fwd/n
	}
	str, fwd = str*accel, fwd*accel
	return vx + str*tk.cos - fwd*tk.sin, vz + fwd*tk.cos + str*tk.sin
}
