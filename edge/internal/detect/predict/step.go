package predict

import "math"

// Step limits.
const (
	// gridMargin is how far past the farthest candidate the grid reaches:
	// a fence below the feet reaches 0.5 up into the next block, and the
	// sneak edge test looks a block down.
	gridMargin = 1.0
	// maxInputReach bounds what one tick of input adds to a move: a sprint
	// jump (0.2 + 0.13 × Speed effects) or a jump up (0.42 + 0.1 per Jump
	// Boost level) plus the step height; Step widens it by the effects.
	maxInputReach = 0.7
	// maxSlack caps the position uncertainty carried over ticks without a
	// position: a little more than two thresholds of the 1.8 client.
	maxSlack = 0.1
	// earlyExit: a candidate this close is the answer; no other can beat
	// it by anything that matters.
	earlyExit = 1e-6
	// judgeAfter: a resync's position is tick 1; ticks 2 and 3 learn the
	// velocity and the ground state (a 1.9+ client sends nothing while it
	// stands still, so these may be many ticks apart); from then on every
	// tick is judged.
	judgeAfter = 3
	// maxLearnMisses is how many ticks after judgeAfter may miss before
	// the first fit without being judged.
	maxLearnMisses = 5
	// maxSkipped is how many unseen ticks a 1.9+ report may follow and
	// still be replayed: the client sends a position at least once a
	// second (20 ticks); idle stretches beyond this start from rest.
	maxSkipped = 20
)

func dist(ax, ay, az, bx, by, bz float64) float64 {
	return math.Sqrt((ax-bx)*(ax-bx) + (ay-by)*(ay-by) + (az-bz)*(az-bz))
}

// Step predicts one client tick from s and judges the report, with the
// tables of the player's protocol. It updates s
// for the next tick: the reported position (the backend accepted it) and
// the velocity of the nearest candidate.
func (p *Predictor) Step(w World, t *Tables, s *State, env *Env, rep *Report) Result {
	p.t = t
	p.sims = 0
	if s.have == 0 || !finite(s.VX+s.VY+s.VZ) {
		if rep.HasPos {
			*s = State{X: rep.X, Y: rep.Y, Z: rep.Z, OnGround: rep.OnGround, have: 1, sentX: rep.X, sentY: rep.Y, sentZ: rep.Z}
		}
		return Result{Uncertain: UncertainResync}
	}
	r := rulesFor(env.Protocol)
	// The grid: the player's box grown by the fastest candidate.
	reachH := math.Hypot(s.VX, s.VZ) + maxInputReach*(1+speedPerLevel*env.SpeedHi)*max(env.MoveSpeedHi/0.1, 1) + gridMargin
	up := max(s.VY, 0) + env.JumpStrength + jumpBoostPerLevel*env.JumpBoost + env.StepHeight + gridMargin
	down := max(-s.VY, 0) + env.Gravity + gridMargin
	if reachH > maxReach+gridMargin || up > maxReach+gridMargin || down > maxReach+gridMargin {
		p.resync(s, rep)
		return Result{Uncertain: UncertainFast}
	}
	if u := p.g.load(w, p.t, floor(s.X-halfWidth-reachH), floor(s.Y-down), floor(s.Z-halfWidth-reachH),
		floor(s.X+halfWidth+reachH), floor(s.Y+playerHeight+up), floor(s.Z+halfWidth+reachH)); u != UncertainNone {
		p.resync(s, rep)
		return Result{Uncertain: u}
	}
	var tk tick
	tk.r = r
	p.prepare(&tk, s, env, rep.Yaw, rep.Pitch)
	if r.swim && (tk.water || tk.lava) {
		// 1.13+ fluids are not judged (physics.go says why): nothing to
		// search, learn again once out.
		p.resync(s, rep)
		return Result{Uncertain: UncertainUnsupported}
	}

	tx, ty, tz := rep.X, rep.Y, rep.Z
	if !rep.HasPos {
		tx, ty, tz = s.sentX, s.sentY, s.sentZ
	}
	best, bestC, bestD := p.search(s, env, &tk, tx, ty, tz)
	from, fromTk := *s, tk // the start the best outcome came from
	primaryTie, tie := p.hasTie, p.tie
	slack := s.Slack
	if !rep.HasPos {
		slack += r.threshold
	}
	// Where the last tick's candidates tied on position but not on
	// velocity (pushing against a ladder or not), the other velocity.
	if s.hasAlt && bestD > slack+earlyExit {
		alt := *s
		alt.VX, alt.VY, alt.VZ, alt.OnGround = s.altVX, s.altVY, s.altVZ, s.altGround
		if o, c, d := p.search(&alt, env, &tk, tx, ty, tz); d < bestD {
			best, bestC, bestD, from = o, c, d, alt
		}
	}
	// From 1.9 a client that moved less than the threshold since its last
	// position sends nothing: the report may follow ticks the edge never
	// saw. They are replayed with the keys last held, as long as they
	// stay within the threshold of the last position; and a client that
	// stood still starts from rest.
	if bestD > slack+earlyExit && r.skipsIdle && rep.HasPos {
		ahead := *s
		keys := candidate{forward: s.lastForward, strafe: s.lastStrafe, sprint: env.Sprinting == On, sneak: env.Sneaking == On,
			slimeWalk: r.slimeEveryTick, speed: speedOf(env.MoveSpeedHi, env.SpeedHi, env.SlowLo)}
		for range maxSkipped {
			var atk tick
			atk.r = r
			p.prepare(&atk, &ahead, env, rep.Yaw, rep.Pitch)
			o := p.simulate(&ahead, &keys, &atk)
			if dist(o.x, o.y, o.z, s.sentX, s.sentY, s.sentZ) > r.threshold+slack {
				break
			}
			ahead.X, ahead.Y, ahead.Z, ahead.VX, ahead.VY, ahead.VZ, ahead.OnGround, ahead.Stuck = o.x, o.y, o.z, o.vx, o.vy, o.vz, o.onGround, o.stuck
			p.prepare(&atk, &ahead, env, rep.Yaw, rep.Pitch)
			if o, c, d := p.search(&ahead, env, &atk, tx, ty, tz); d < bestD {
				best, bestC, bestD, from, fromTk = o, c, d, ahead, atk
			}
			if bestD <= slack+earlyExit {
				break
			}
		}
		rest := *s
		rest.X, rest.Y, rest.Z = s.sentX, s.sentY, s.sentZ
		rest.VX, rest.VZ = 0, 0
		if s.OnGround {
			rest.VY = -env.Gravity * verticalDrag
		}
		o, c, d := p.search(&rest, env, &tk, tx, ty, tz)
		// The client may have stood anywhere within the threshold of
		// its last report, and reports again only beyond it: the rest
		// reading is allowed two thresholds. That allowance may make it
		// fit; it never makes it the nearer of two misses. A walker
		// whose carried velocity was lost once would otherwise be read
		// as starting from rest on every tick, 0.058 off at walking
		// speed, with a velocity that never grows back
		// (TestRestReadingNeedsAFit).
		if fit := max(d-2*r.threshold, 0); fit <= p.Tolerance {
			d = fit
		}
		if d < bestD {
			best, bestC, bestD, from, fromTk = o, c, d+slack, rest, tk
		}
	}
	res := Result{Offset: max(bestD-slack, 0), Forward: bestC.forward, Strafe: bestC.strafe, Jump: bestC.jump,
		ErrX: tx - best.x, ErrY: ty - best.y, ErrZ: tz - best.z}
	if rep.Turning {
		res.Offset = max(abs(ty-best.y)-slack, 0)
	}
	sweep := aabb{min(s.X, best.x) - halfWidth, best.minY, min(s.Z, best.z) - halfWidth, max(s.X, best.x) + halfWidth, best.maxY, max(s.Z, best.z) + halfWidth}
	switch {
	case best.unsupported:
		res.Uncertain = UncertainUnsupported
	case p.g.uncertainIn(sweep):
		res.Uncertain = UncertainBlock
	case s.have < judgeAfter:
		// The velocity is not known yet: the first ticks after a resync
		// start from rest, which they may not be.
		res.Uncertain = UncertainResync
	case !s.locked && res.Offset > p.Tolerance && s.misses < maxLearnMisses:
		// Learned but not yet confirmed: a velocity learned across a
		// teleport or a tick the edge could not judge may be off; a few
		// misses are allowed before the first fit, never more (a client
		// that never fits is judged after them).
		res.Uncertain = UncertainResync
	}
	if res.Uncertain != UncertainNone {
		res.Offset = 0
	}

	// The next state.
	ex, ey, ez := tx-best.x, ty-best.y, tz-best.z
	next := State{X: best.x, Y: best.y, Z: best.z, VX: best.vx, VY: best.vy, VZ: best.vz, OnGround: best.onGround, Stuck: best.stuck,
		have: s.have, sentX: s.sentX, sentY: s.sentY, sentZ: s.sentZ}
	next.lastForward, next.lastStrafe, next.lastJump = bestC.forward, bestC.strafe, bestC.jump
	next.locked, next.misses = s.locked, s.misses
	if s.have >= judgeAfter && !s.locked {
		if res.Offset <= p.Tolerance && res.Uncertain == UncertainNone {
			next.locked = true
		} else {
			next.misses++
		}
	}
	if res.Uncertain != UncertainNone && res.Uncertain != UncertainResync {
		// The tick was not modelled: its velocity is a guess. Learn again.
		next.have, next.locked, next.misses = min(next.have, 1), false, 0
	}
	// A tie with another velocity: no keys against forward (pushing
	// against a ladder's wall moves no further than standing still, but
	// climbs).
	other := candidate{sneak: bestC.sneak, slimeWalk: bestC.slimeWalk, speed: bestC.speed}
	if bestC.forward == 0 && bestC.strafe == 0 {
		other.forward = 1
	}
	if primaryTie && dist(tie.x, tie.y, tie.z, best.x, best.y, best.z) < p.tieDistance() {
		next.hasAlt, next.altVX, next.altVY, next.altVZ, next.altGround = true, tie.vx, tie.vy, tie.vz, tie.onGround
	} else if o := p.simulate(&from, &other, &fromTk); dist(o.x, o.y, o.z, best.x, best.y, best.z) < p.tieDistance() &&
		dist(o.vx, o.vy, o.vz, best.vx, best.vy, best.vz) > earlyExit {
		next.hasAlt, next.altVX, next.altVY, next.altVZ, next.altGround = true, o.vx, o.vy, o.vz, o.onGround
	}
	if rep.HasPos {
		next.have = min(s.have+1, judgeAfter)
		next.X, next.Y, next.Z = rep.X, rep.Y, rep.Z
		next.sentX, next.sentY, next.sentZ = rep.X, rep.Y, rep.Z
		switch {
		case (s.have < judgeAfter || res.Uncertain == UncertainResync) && bestD > p.Tolerance:
			// Learning the velocity and no candidate fits (the start
			// velocity was a guess): the reported move with the tick's
			// drag and gravity, and the client's own ground flag. Also
			// on the misses allowed before the first fit: the predicted
			// velocity of a guess (a jump where the client stepped up
			// stairs the edge cannot shape) never fits, and would be
			// judged after them.
			next.OnGround = rep.OnGround
			next.VX, next.VY, next.VZ = roughVelocity(&tk, s, rep, env)
		case bestD-slack <= p.Tolerance:
			next.VX, next.VY, next.VZ = best.vx+ex*best.mx, best.vy+ey*best.my, best.vz+ez*best.mz
		}
		if rep.Turning && math.Hypot(ex, ez) > p.Tolerance {
			// The horizontal move of a tick whose look changed is not
			// judged (Report.Turning): the client may have moved with
			// another look than it sent. The look its input pushed it
			// along is the move less the velocity it carried; where a
			// candidate with that look fits, its velocity is the one to
			// go on from. A move no look explains (faster than any
			// input) keeps the predicted velocity, so a cheat that turns
			// every other tick cannot carry its extra speed.
			p.turnedVelocity(&next, s, env, r, rep, tx, ty, tz, slack)
		}
	} else {
		next.Slack = min(r.threshold+bestD, maxSlack)
	}
	*s = next
	res.Sims = p.sims
	return res
}

// turnedVelocity sets next's horizontal velocity from the candidate that
// fits a turning tick's report with the look the move itself points along.
func (p *Predictor) turnedVelocity(next, s *State, env *Env, r rules, rep *Report, tx, ty, tz, slack float64) {
	vx, vz := s.VX, s.VZ
	if abs(vx) < r.velocityFloor {
		vx = 0
	}
	if abs(vz) < r.velocityFloor {
		vz = 0
	}
	ax, az := tx-s.X-vx, tz-s.Z-vz
	if ax*ax+az*az < earlyExit*earlyExit {
		return
	}
	var tk tick
	tk.r = r
	p.prepare(&tk, s, env, float32(math.Atan2(-ax, az)*180/math.Pi), rep.Pitch)
	if o, _, d := p.search(s, env, &tk, tx, ty, tz); d-slack <= p.Tolerance {
		next.VX, next.VZ = o.vx, o.vz
	}
}

// tieDistance is how close two outcomes must end to tie on position: the
// offset up to which a report counts as honest (Tolerance). Pushing
// into a ladder's wall with a look a fraction of a degree off its axis
// also slides along the wall (1.7e-5 a tick at 0.05°), which tells the
// two apart by no more than any honest report may be off.
func (p *Predictor) tieDistance() float64 { return max(p.Tolerance, earlyExit) }

// resync starts afresh from a report the edge could not judge.
func (p *Predictor) resync(s *State, rep *Report) {
	if !rep.HasPos {
		s.have = 0
		return
	}
	vx, vy, vz := rep.X-s.sentX, rep.Y-s.sentY, rep.Z-s.sentZ
	*s = State{X: rep.X, Y: rep.Y, Z: rep.Z, VX: vx, VY: vy, VZ: vz, OnGround: rep.OnGround, have: 1,
		sentX: rep.X, sentY: rep.Y, sentZ: rep.Z}
}

// search tries every candidate input and returns the outcome nearest to
// (tx, ty, tz).
func (p *Predictor) search(s *State, env *Env, tk *tick, tx, ty, tz float64) (outcome, candidate, float64) {
	r := &tk.r
	// On a ladder candidates tie on position but not on velocity (pushing
	// into the wall climbs): no early exit there, and the first tie with
	// another velocity is kept (p.tie) for the next tick to try.
	ties := tk.climbable
	p.hasTie = false
	var best outcome
	var bestC candidate
	bestD := math.Inf(1)
	var c candidate
	// The keys the client held last tick, first: players hold keys for
	// many ticks, and where candidates tie on position (pushing against a
	// ladder moves no further than standing still) the held keys are the
	// ones that shape the next tick.
	c = candidate{forward: s.lastForward, strafe: s.lastStrafe, jump: s.lastJump && (s.OnGround || tk.water || tk.lava || tk.climbable),
		sprint: env.Sprinting == On, sneak: env.Sneaking == On, slimeWalk: r.slimeEveryTick,
		speed: speedOf(env.MoveSpeedHi, env.SpeedHi, env.SlowLo)}
	if o := p.simulate(s, &c, tk); true {
		best, bestC = o, c
		bestD = math.Sqrt((o.x-tx)*(o.x-tx) + (o.y-ty)*(o.y-ty) + (o.z-tz)*(o.z-tz))
		if bestD < earlyExit && !ties {
			return best, bestC, bestD
		}
	}
	jumps := 1
	if s.OnGround || tk.water || tk.lava || (r.climbOnJump && tk.climbable) {
		jumps = 2
	}
	sprints := triOptions(env.Sprinting)
	sneaks := triOptions(env.Sneaking)
	speeds := [2]float64{speedOf(env.MoveSpeedLo, env.SpeedLo, env.SlowHi), speedOf(env.MoveSpeedHi, env.SpeedHi, env.SlowLo)}
	nSpeeds := 2
	if speeds[0] == speeds[1] {
		nSpeeds = 1
	}
	slimeWalks := 1
	if !r.slimeEveryTick && tk.onSlime {
		slimeWalks = 2 // before 1.15 slime slows only on ticks that play a step sound
	}
	for j := range jumps {
		c.jump = j == 1
		for fwd := int8(-1); fwd <= 1; fwd++ {
			for str := int8(-1); str <= 1; str++ {
				for item := range 2 {
					if item == 1 && fwd == 0 && str == 0 {
						continue
					}
					for _, sprint := range sprints.list() {
						// A sprinting client stops sprinting, and says so, before
						// a tick without forward input or with an item in use.
						if sprint && (fwd <= 0 || item == 1) {
							continue
						}
						for _, sneak := range sneaks.list() {
							for k := range nSpeeds {
								for sw := range slimeWalks {
									c = candidate{forward: fwd, strafe: str, jump: j == 1, item: item == 1, sprint: sprint, sneak: sneak,
										speed: speeds[k], slimeWalk: r.slimeEveryTick || sw == 1}
									pulls := 1
									if tk.water && r.swim && sprint {
										pulls = 2
									}
									for pl := range pulls {
										c.swimPull = pl == 1
										o := p.simulate(s, &c, tk)
										d := math.Sqrt((o.x-tx)*(o.x-tx) + (o.y-ty)*(o.y-ty) + (o.z-tz)*(o.z-tz))
										if d < bestD-earlyExit {
											best, bestC, bestD = o, c, d
											p.hasTie = false
											if d < earlyExit && !ties {
												return best, bestC, bestD
											}
										} else if ties && !p.hasTie && d < bestD+p.tieDistance() &&
											dist(o.vx, o.vy, o.vz, best.vx, best.vy, best.vz) > earlyExit {
											p.tie, p.hasTie = o, true
											if bestD < earlyExit {
												return best, bestC, bestD // an exact fit and its tie: enough
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return best, bestC, bestD
}

// speedOf is the movement_speed attribute with the Speed and Slowness
// effects (each a multiply-total modifier), before sprinting.
func speedOf(base, speed, slow float64) float64 {
	return base * (1 + speedPerLevel*speed) * max(1-slowPerLevel*slow, 0)
}

// options is a Tri's possible values.
type options struct {
	vals [2]bool
	n    int
}

func (o *options) list() []bool { return o.vals[:o.n] }

func triOptions(t Tri) options {
	switch t {
	case On:
		return options{vals: [2]bool{true}, n: 1}
	case Off:
		return options{vals: [2]bool{false}, n: 1}
	}
	return options{vals: [2]bool{false, true}, n: 2}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// roughVelocity is the velocity after a reported move, for the ticks after
// a resync: the medium's drag and gravity, no collisions but the ground.
func roughVelocity(tk *tick, s *State, rep *Report, env *Env) (vx, vy, vz float64) {
	dx, dy, dz := rep.X-s.sentX, rep.Y-s.sentY, rep.Z-s.sentZ
	switch {
	case tk.water:
		return dx * waterDrag, dy*waterDrag - liquidGravity, dz * waterDrag
	case tk.lava:
		return dx * lavaDrag, dy*lavaDrag - liquidGravity, dz * lavaDrag
	}
	f := airFriction
	if s.OnGround {
		f *= tk.slip
	}
	vy = (dy - env.Gravity) * verticalDrag
	if rep.OnGround {
		vy = -env.Gravity * verticalDrag
	}
	return dx * f, vy, dz * f
}
