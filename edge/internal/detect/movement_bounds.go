package detect

import (
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Movement bounds that hold in any world. The edge does not know the blocks
// yet, so it cannot predict a move; it can refuse moves no vanilla client
// makes in any terrain, given what the server told it (teleports, pushes,
// effects, attributes, game mode and abilities) and what the client said
// (riding, gliding, a released item that may be a riptide trident). Every
// bound is wide where the edge is unsure, never narrow (docs/DETECTIONS.md,
// "Movement without the world").

const (
	chkMoveTeleport CheckID = movementBase + 20 + iota
	chkStep
	chkNoFall
	chkFlight
	chkSpeed
)

// Vanilla's physics, per tick, in blocks (LivingEntity.travel, jumpFromGround).
const (
	// gravityDrag is the vertical drag after gravity: vy = (vy − g) × 0.98.
	gravityDrag = 0.98
	// airFriction is the horizontal drag in the air (×0.91 per tick); a
	// push decays by it, so its total distance is at most v / (1 − 0.91).
	airFriction = 0.91
	// jumpBoostPerLevel is what each Jump Boost level adds to the jump.
	jumpBoostPerLevel = 0.1
	// climbSpeed is the upward speed on ladders, vines, scaffolding and
	// powder snow, and the most swimming up gives (water: vy×0.8+0.04
	// tends to 0.2); waterExitBoost is the 0.3 a player in water gets
	// when pushing against a block at the surface.
	climbSpeed     = 0.2
	waterExitBoost = 0.3
	// bubbleColumnRise is the fastest rise in a bubble column (1.13+):
	// 0.7 inside the column, +0.1 per tick in its top block, which a
	// player at that speed crosses in two ticks.
	bubbleColumnRise = 0.9
	// movedTooQuicklySq and movedTooQuicklyGlidingSq are vanilla's own
	// "moved too quickly" limits on one packet's squared distance
	// (ServerGamePacketListenerImpl.handleMovePlayer), beyond the
	// velocity the server expects.
	movedTooQuicklySq        = 100
	movedTooQuicklyGlidingSq = 300
	// boundsSlack absorbs float rounding between client and edge.
	boundsSlack = 1e-3
	// speedPerTick is the sustained horizontal speed (blocks per tick)
	// the speed bound allows at walking speed with no effect. Sprint-
	// jumping on flat ground averages 0.36; what the edge cannot see yet
	// (ice, blue ice and packed ice under a ceiling, soul speed, depth
	// strider, water currents) reaches about 1. The next issue, which
	// builds the world, makes this exact.
	speedPerTick = 1.0
	// speedPerLevel is the Speed effect's +20 % per level; dolphinsGrace
	// the extra swimming speed Dolphin's Grace can give.
	speedPerLevel      = 0.2
	dolphinsGraceSpeed = 1.0
	// speedWindowTicks is how many ticks of allowance the speed budget
	// holds: a burst (a sprint-jump start, a catch-up after a stall) is
	// judged against a second of movement.
	speedWindowTicks = 20
	// pushDistance is how far one tick of push speed carries the player
	// as it decays in the air: 1/(1−0.91).
	pushDistance = 1 / (1 - airFriction)
)

func movementBoundSpecs() []Spec {
	return []Spec{
		{ID: chkMoveTeleport, Key: "movement.teleport", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, Setbacks: true, KickVL: 3, Decay: 0.2,
			Description: "one movement packet farther than vanilla's moved-too-quickly limit (10 blocks, 17.3 gliding) plus any push the server sent, with no server teleport, vehicle or respawn to explain it; dropped, kick at VL 3"},
		{ID: chkStep, Key: "movement.step", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, Setbacks: true, KickVL: 5, Decay: 0.5,
			Description: "on ground before and after a move that rises more than the step height (0.6, the step_height attribute from 1.20.5, plus the movement threshold); dropped, kick at VL 5. Pistons can push a player further: not seen by the edge yet"},
		{ID: chkNoFall, Key: "movement.nofall", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, Setbacks: true, KickVL: 5, Decay: 0.5,
			Description: "on ground before and after a move that descends more than the first tick of a fall (gravity × 0.98) plus the movement threshold: packet NoFall; dropped, kick at VL 5"},
		{ID: chkFlight, Key: "movement.flight", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionKick, Setbacks: true, KickVL: 10, Decay: 1,
			Description: "in the air, rising faster than gravity lets the last move continue, than a jump (0.42 + 0.1 per Jump Boost level, jump_strength from 1.20.5), a bounce or climbing and swimming (0.3; 0.9 in 1.13+ bubble columns) allow; pushes, levitation, gliding, riptide and flight rights widen or exempt it. Dropped, kick at VL 10. Hovering is not caught: ladders and water look alike without blocks"},
		{ID: chkSpeed, Key: "movement.speed", Layer: 6, Severity: detection.SeverityMedium, Action: detection.ActionKick, Setbacks: true, KickVL: 20, Decay: 2,
			Description: "horizontal distance beyond a budget of 1 block per tick (sprint-jumping averages 0.36; the rest is margin for ice and soul speed the edge cannot see), ×(1 + 0.2 per Speed level) and the movement_speed attribute, holding a second of movement, credited for pushes; dropped, kick at VL 20. Subtle speed is not caught"},
	}
}

// motion is what the bounds remember of the player's last accepted moves.
type motion struct {
	have        bool    // x, y, z hold a position the client reported
	x, y, z     float64 // the last position the edge passed on
	onGround    bool    // the last movement packet's ground flag
	vy          float64 // the last vertical move (blocks per packet)
	fallSpeed   float64 // the fastest descent of the last fall (a slime or bed bounce can return it)
	budget      float64 // speed: blocks the player may still move
	gliding     bool    // started elytra flight, not landed since
	releaseAt   time.Time
	groundTicks uint8 // consecutive ground packets
}

func (mo *motion) reset() { *mo = motion{} }

// boundsExempt reports when the edge's picture of the player's movement is
// too uncertain for any bound: riding (the position follows a vehicle),
// dead, a teleport in flight, or attributes it could not read. Flight
// rights exempt all but the teleport bound (judge).
func (p *Player) boundsExempt(now time.Time) bool {
	return p.riding.may() || p.self.dead || p.teleports.pending(now) || p.kin.unknownAttrs
}

// speedLimit is the speed bound's allowance per tick.
func (p *Player) speedLimit() float64 {
	f := 1 + speedPerLevel*p.effect(teSpeed)
	if r := p.attrHi(taMovementSpeed) / defaultMovementSpeed; r > 1 {
		f *= r
	}
	lim := speedPerTick * f
	if p.effect(teDolphinsGrace) > 0 {
		lim += dolphinsGraceSpeed
	}
	return lim
}

// bounds judges one tick packet (or teleport answer) against the bounds.
func (l *movementChecks) bounds(p *Player, pk *serverPacket) Verdict {
	mo := &l.motion
	m := &pk.move
	if p.riding.may() || p.self.dead {
		// The position follows a vehicle, or a respawn will move it.
		mo.have = false
		return pass
	}
	if pk.kind == packets.KindTickEnd || !m.hasPos {
		if pk.timerTick {
			l.refill(p)
		}
		if pk.kind != packets.KindTickEnd {
			l.ground(m.onGround)
		}
		return pass
	}
	if pk.teleportAnswer || !mo.have {
		mo.have, mo.x, mo.y, mo.z, mo.vy, mo.fallSpeed = true, m.x, m.y, m.z, 0, 0
		l.ground(m.onGround)
		return pass
	}
	if !pk.tick {
		return pass
	}
	if pk.timerTick {
		l.refill(p)
	}
	dx, dy, dz := m.x-mo.x, m.y-mo.y, m.z-mo.z
	v := l.judge(p, pk, dx, dy, dz)
	if v.Outcome >= Drop {
		// The backend never sees this position: the next move is judged
		// from the last one it did see.
		return v
	}
	mo.x, mo.y, mo.z = m.x, m.y, m.z
	if !m.onGround && dy < 0 {
		mo.fallSpeed = max(mo.fallSpeed, -dy)
	}
	mo.vy = dy
	if dy > 0 && !m.onGround && mo.onGround {
		// The first tick of a jump: a step or a collision can clip the
		// move below the jump's velocity, which carries into the next
		// tick all the same. A rise beyond it was a step, after which
		// vanilla zeroes the vertical motion: the jump's velocity is the
		// most to carry either way.
		mo.vy = p.attrHi(taJumpStrength) + jumpBoostPerLevel*p.effect(teJumpBoost)
	}
	l.ground(m.onGround)
	return v
}

// ground keeps the ground flag, ends gliding on landing and forgets a
// bounce once the player stood a second tick.
func (l *movementChecks) ground(on bool) {
	mo := &l.motion
	if !on {
		mo.groundTicks = 0
		mo.onGround = false
		return
	}
	mo.gliding = false
	if mo.groundTicks < math.MaxUint8 {
		mo.groundTicks++
	}
	if mo.groundTicks > 1 {
		mo.fallSpeed = 0
	}
	mo.onGround = true
}

func (l *movementChecks) refill(p *Player) {
	lim := p.speedLimit()
	if c := lim * speedWindowTicks; l.motion.budget < c {
		l.motion.budget = min(c, l.motion.budget+lim)
	}
}

// judge applies the bounds to one move of (dx, dy, dz) from the last
// accepted position.
func (l *movementChecks) judge(p *Player, pk *serverPacket, dx, dy, dz float64) Verdict {
	mo := &l.motion
	m := &pk.move
	now := pk.now
	if p.boundsExempt(now) {
		return pass
	}
	proto := p.info.Protocol
	pushH, pushUp, pushed := p.pushActive(now)
	riptide := !mo.releaseAt.IsZero() && now.Sub(mo.releaseAt) < riptideGrace && proto >= mcproto.Protocol1_13
	if riptide {
		pushH, pushUp, pushed = max(pushH, riptideSpeed), max(pushUp, riptideSpeed), true
	}

	// Teleport: vanilla's own limit, plus the push.
	limSq := float64(movedTooQuicklySq)
	if mo.gliding {
		limSq = movedTooQuicklyGlidingSq
	}
	lim := math.Sqrt(limSq) + math.Hypot(pushH, pushUp)
	if d2 := dx*dx + dy*dy + dz*dz; d2 > lim*lim && p.on(chkMoveTeleport) {
		return p.flag(chkMoveTeleport, 1, now, "distance", ftoa(math.Sqrt(d2)), "limit", ftoa(lim))
	}

	caps := &p.self.caps
	caps.settle(p.clock.acked)
	flying := caps.possible&capMayFly != 0
	thr := movementThreshold(proto) + boundsSlack
	scale := p.attrHi(taScale)
	v := pass

	// Step: on ground before and after, risen above the step height.
	if mo.onGround && m.onGround && !flying && p.on(chkStep) {
		maxStep := p.attrHi(taStepHeight)*max(scale, 1) + thr + pushUp
		if dy > maxStep {
			v = worse(v, p.flag(chkStep, 1, now, "rise", ftoa(dy), "limit", ftoa(maxStep)))
		}
	}

	// Packet NoFall: on ground before and after, descended more than the
	// first tick of a fall can take.
	if mo.onGround && m.onGround && !flying && !pushed && p.on(chkNoFall) {
		maxDrop := p.attrHi(taGravity)*gravityDrag + thr
		if dy < -maxDrop {
			v = worse(v, p.flag(chkNoFall, 1, now, "drop", ftoa(-dy), "limit", ftoa(maxDrop)))
		}
	}

	// Flight: rising in the air beyond what anything the edge can see
	// explains.
	if !m.onGround && dy > 0 && !flying && !mo.gliding && p.effect(teLevitation) == 0 && p.on(chkFlight) {
		allowed := climbSpeed
		allowed = max(allowed, waterExitBoost)
		if proto >= mcproto.Protocol1_13 {
			allowed = max(allowed, bubbleColumnRise)
		}
		if mo.onGround {
			// A jump, or a step: a move that started on the ground
			// steps up (to a slab's top, 0.5) even while it jumps, and
			// the client then reports it in the air, because vanilla's
			// ground flag needs a downward move.
			jump := p.attrHi(taJumpStrength) + jumpBoostPerLevel*p.effect(teJumpBoost)
			allowed = max(allowed, jump, mo.fallSpeed, p.attrHi(taStepHeight))
		} else {
			// Gravity only slows a rise: the last move continued.
			allowed = max(allowed, (mo.vy-p.attrLo(taGravity))*gravityDrag)
			if mo.vy < 0 {
				allowed = max(allowed, mo.fallSpeed) // a bounce off slime or a bed
			}
		}
		allowed = allowed*max(scale, 1) + thr + pushUp
		if dy > allowed {
			v = worse(v, p.flag(chkFlight, 1, now, "rise", ftoa(dy), "limit", ftoa(allowed)))
		}
	}

	// The checks that read the world (movement_world.go), with the
	// bounds' state still of the move before, on moves the bounds above
	// let through: a move a bound already drops or kicks for is the
	// bound's, and a world check's setback on top would drop every later
	// move unjudged until the client answers, so a cheater that ignores
	// setbacks would never reach the bound's kick.
	if p.HasWorld() && v.Outcome == Pass {
		hw := playerWidth / 2 * max(scale, 1)
		wm := worldMove{x: m.x, y: m.y, z: m.z, dy: dy, onGround: m.onGround, wasGround: mo.onGround,
			halfWidth: hw, height: playerHeight * max(scale, 1), prevX: mo.x, prevY: mo.y, prevZ: mo.z,
			allowedUp:  riseAllowed(p, mo, scale, thr, pushUp),
			exemptRise: flying || mo.gliding || pushed || p.effect(teLevitation) > 0}
		v = worse(v, l.world(p, pk, &wm))
	}

	// Speed: horizontal distance against the budget.
	if h := math.Hypot(dx, dz); h > 0 && !flying && !mo.gliding && p.on(chkSpeed) {
		mo.budget -= h
		if mo.budget < -thr {
			over := -mo.budget
			mo.budget = 0
			v = worse(v, p.flag(chkSpeed, 1, now, "over", ftoa(over), "per_tick", ftoa(p.speedLimit())))
		}
	}
	return v
}

// riseAllowed is the most a player in the air may rise this tick without
// climbing or swimming: a jump from the ground (or a bounce as fast as the
// last fall), else the last rise continued under gravity.
func riseAllowed(p *Player, mo *motion, scale, thr, pushUp float64) float64 {
	var allowed float64
	if mo.onGround {
		jump := p.attrHi(taJumpStrength) + jumpBoostPerLevel*p.effect(teJumpBoost)
		allowed = max(jump, mo.fallSpeed, p.attrHi(taStepHeight)) // a step while jumping: see judge
	} else {
		allowed = (mo.vy - p.attrLo(taGravity)) * gravityDrag
		if mo.vy < 0 {
			allowed = max(allowed, mo.fallSpeed) // a bounce off slime or a bed
		}
	}
	return max(allowed, 0)*max(scale, 1) + thr + pushUp
}

// boundsEvent updates the bounds' state from client packets other than
// moves: elytra starts, item releases (a riptide trident launches on
// release).
func (l *movementChecks) boundsEvent(p *Player, pk *serverPacket) {
	switch pk.kind {
	case packets.KindEntityAction:
		if pk.action.Normalized(p.info.Protocol) == packets.ActionStartFallFlying {
			l.motion.gliding = true
		}
	case packets.KindBlockDig:
		if pk.dig.Status == digRelease {
			l.motion.releaseAt = pk.now
		}
	}
}

// boundsClientbound follows the server: a push credits the speed budget; a
// join, respawn or teleport starts the moves afresh.
func (l *movementChecks) boundsClientbound(p *Player, pk *clientPacket) {
	switch pk.kind {
	case packets.KindJoinGame, packets.KindRespawn:
		l.motion.reset()
		l.motion.budget = p.speedLimit() * speedWindowTicks
	}
	if pk.push > 0 {
		l.motion.budget += pk.push * pushDistance
	}
}
