package detect

import (
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Combat: attacks and the swings around them. The entity table
// (entities.go) follows the server's spawn, move and removal packets;
// attacks are judged against the positions the client could have seen
// (layer 4), their rate, and the arm swing vanilla sends with them.

const (
	chkSelfInteract CheckID = combatBase + iota
	chkReach
	chkHitbox
	chkInteractVector
	chkAttackRate
	chkCPS
	chkNoSwing
	chkMultiTarget
	chkBehind
)

// Eye heights (vanilla Player.getStandingEyeHeight / 1.8 getEyeHeight). The
// edge does not track poses, so a check takes the whole range an honest
// client could be in.
const (
	eyeStanding  = 1.62
	eyeSneak1_8  = 1.54 // 1.8: 1.62 − 0.08 while sneaking
	eyeLowest1_9 = 0.4  // 1.9+: elytra gliding; 1.14+ also swimming and crawling
	// collisionBorder1_8 is the 0.1 a 1.8 client adds around every entity
	// box when picking (Entity.getCollisionBorderSize).
	collisionBorder1_8 = 0.1
	// maxEntityScale is the largest value of the scale attribute (1.20.5+,
	// vanilla clamps it to 16). Without attribute tracking a vector check
	// must allow an entity that large.
	maxEntityScale = 16
	// vectorSlack absorbs float32 rounding of interact-at vectors and the
	// low-precision vector of 26.1.
	vectorSlack = 0.01
	// hitboxSlack widens the box for the experimental hitbox ray test,
	// which samples the look between two packets instead of knowing it.
	hitboxSlack = 0.1
	// hitboxExtraRange is how far beyond the reach a ray may meet the box
	// for combat.hitbox (docs/DETECTIONS.md: range + 3); distance is reach's job.
	hitboxExtraRange = 3
	// maxPendingHits bounds the attacks kept for the hitbox test until the
	// next tick packet; vanilla sends one or two per tick.
	maxPendingHits = 4
	// freqBucket and freqBuckets are NoCheatPlus's attack-frequency
	// buckets: sixteen of 500 ms, summed over 1, 2, 4, 8 and 16 buckets.
	freqBucket  = 500 * time.Millisecond
	freqBuckets = 16
	// cpsBuckets of freqBucket make the click window: 0.5–1 s of clicks.
	cpsBuckets = 2
	// steadyTickGap and steadyTicksNeeded decide when a 1.9–1.21.1 client
	// is ticking visibly: it sends a movement packet only on ticks it
	// moved or turned, so two attacks with no tick packet between may be
	// ticks apart unless the last three tick packets came a tick apart
	// (with jitter) and the attacks arrive within a tick of it.
	steadyTickGap     = 75 * time.Millisecond
	steadyTicksNeeded = 3
	// behindSlack widens the target's box for combat.behind by what the
	// edge cannot see of the attacker: the attack comes before the tick's
	// movement packet, so the attacker may have moved up to a tick since
	// its last position (sprint-jumping is under 0.7 blocks a tick; the
	// 1.9+ skipped-position threshold is added on top).
	behindSlack = 0.7
	// maxTurnAllowance caps the recent turn added to combat.behind's
	// angle: 90° + margin + 180° of turning is already a full circle.
	maxTurnAllowance = 180
	// digGrace is how long after a dig packet swings are taken as digging:
	// clients swing every tick while breaking a block.
	digGrace = time.Second
)

func combatSpecs() []Spec {
	return []Spec{
		{ID: chkSelfInteract, Key: "combat.self_interact", Layer: 4, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "an interact or attack aimed at the player's own entity"},
		{ID: chkReach, Key: "combat.reach", Layer: 4, Severity: detection.SeverityMedium, Action: detection.ActionDrop, Decay: 0.1,
			Description: "an attack beyond reach (3 blocks + margin) from the eye to the nearest point of any box the client could have seen the target in since its last probe answer; the hit is dropped. Creative, spectator, riding and teleporting players are exempt",
			Params:      map[string]float64{"range": 3.0, "margin": 0.4}},
		{ID: chkHitbox, Key: "combat.hitbox", Layer: 4, Severity: detection.SeverityLow, Action: detection.ActionAlert, Experimental: true, Decay: 0.1,
			Description: "an attack whose target no look between the attack and the next tick packet points at (exp: mineflayer's bot.attack does not aim)"},
		{ID: chkInteractVector, Key: "combat.interact_vector", Layer: 4, Severity: detection.SeverityHigh, Action: detection.ActionDrop, Decay: 0.05,
			Description: "an interact-at hit vector that is not finite or lies outside the target's box (players 0.6 × 1.8, other entities 4 × 12; × 16 from 1.20.5, where entities can be scaled)"},
		{ID: chkAttackRate, Key: "combat.attack_rate", Layer: 4, Severity: detection.SeverityMedium, Action: detection.ActionKick, KickVL: 10, Decay: 0.1,
			Description: "more attacks than NoCheatPlus's buckets allow (an autoclicker): 8 per 0.5 s, 15 per 1 s, 30 per 2 s, 60 per 4 s, 95 per 8 s; attacks above them are dropped, kick at VL 10",
			Params:      map[string]float64{"per_half_second": 8, "per_second": 15, "per_2_seconds": 30, "per_4_seconds": 60, "per_8_seconds": 95}},
		{ID: chkCPS, Key: "combat.cps", Layer: 4, Severity: detection.SeverityInfo, Action: detection.ActionAlert, Experimental: true, Decay: 0.1,
			Description: "more arm swings per second than the limit while not breaking a block (exp: butterfly and jitter clicking reach it)",
			Params:      map[string]float64{"max_cps": 20}},
		// Catalogued with the packet-order checks of layer 3; it lives here
		// because it shares the attack bookkeeping.
		{ID: chkMultiTarget, Key: "combat.multi_target", Layer: 4, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 5, Decay: 0.2,
			Description: "attacks on two different entities within one client tick (killaura): vanilla attacks what the crosshair picked, once per tick. On 1.9–1.21.1, where idle ticks send nothing, only while the client sends a movement packet every tick and both attacks arrive within a tick; the second attack is dropped, kick at VL 5"},
		{ID: chkBehind, Key: "combat.behind", Layer: 4, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 5, Decay: 0.1,
			Description: "an attack on an entity whose whole box (every position the client may see it at, widened by a tick of the attacker's own movement and every eye height) lies more than 90° + margin from the latest look, plus the turn of the last two looks: vanilla attacks only what its crosshair picked (killaura hitting a target behind the player). The attack is dropped, kick at VL 5. Creative, spectator, riding and teleporting players are exempt",
			Params:      map[string]float64{"margin_degrees": 30}},
		{ID: chkNoSwing, Key: "order.no_swing", Layer: 3, Severity: detection.SeverityMedium, Action: detection.ActionAlert, Decay: 0.1,
			Description: "an attack without the arm swing vanilla sends with it: 1.9+ swings after the attack before the next tick packet, 1.8 swings just before it (Grim PacketOrderB)"},
	}
}

// combatParams are the tunables, read once per player.
type combatParams struct {
	loaded     bool
	reachLimit float64 // range + margin
	rate       [5]int  // attack limits over 1, 2, 4, 8, 16 buckets
	maxCPS     int
	behindBase float64 // combat.behind: 90° + margin, in degrees
}

// freq counts events in fixed buckets, the newest at head.
type freq struct {
	b     [freqBuckets]uint16
	head  int
	start time.Time // start of the head bucket
}

func (f *freq) add(now time.Time) {
	if f.start.IsZero() {
		f.start = now
	}
	if d := now.Sub(f.start); d >= freqBucket {
		steps := d / freqBucket
		for i := time.Duration(0); i < min(steps, freqBuckets); i++ {
			f.head = (f.head + 1) % freqBuckets
			f.b[f.head] = 0
		}
		f.start = f.start.Add(steps * freqBucket)
	}
	if f.b[f.head] < math.MaxUint16 {
		f.b[f.head]++
	}
}

// sum is the count in the newest k buckets.
func (f *freq) sum(k int) int {
	s := 0
	for i := 0; i < k; i++ {
		s += int(f.b[(f.head-i+freqBuckets)%freqBuckets])
	}
	return s
}

// pendingHit is an attack waiting for the next tick packet's look.
type pendingHit struct {
	target     int32
	box        posBox // the target's box, hitbox included
	eye        [3]float64
	lo, hi     float64 // eye height range
	yaw, pitch float32
}

// combatChecks is the combat family's bookkeeping.
type combatChecks struct {
	prm  combatParams
	ents entityTable

	attacks freq
	clicks  freq
	digging bool
	lastDig time.Time

	swingOwed  bool // 1.9+: an attack not yet followed by its swing
	swingReady bool // 1.8: a swing the next attack may follow
	swingHeld  bool // 1.8: the held-item change allowed between them was used

	// hits is allocated on the first attack the hitbox check keeps: that
	// check is off by default, and 448 bytes per idle player add up.
	hits  *[maxPendingHits]pendingHit
	nHits int

	// Killaura: the first entity attacked since the last tick packet.
	tickTarget   int32
	tickAttacked bool
	tickAttackAt time.Time
	lastTick     time.Time
	steadyTicks  uint8 // consecutive tick packets at most steadyTickGap apart

	// turns are how far the last two looks turned (|Δyaw| + |Δpitch|, in
	// degrees, at least the angle between them): combat.behind allows a
	// player turning fast to have turned on by as much again.
	turns [2]float32
}

func (l *combatChecks) load(p *Player) {
	if l.prm.loaded {
		return
	}
	l.prm = combatParams{
		loaded:     true,
		reachLimit: p.param(chkReach, "range") + p.param(chkReach, "margin"),
		maxCPS:     int(p.param(chkCPS, "max_cps")),
		behindBase: 90 + p.param(chkBehind, "margin_degrees"),
	}
	for i, name := range [5]string{"per_half_second", "per_second", "per_2_seconds", "per_4_seconds", "per_8_seconds"} {
		l.prm.rate[i] = int(p.param(chkAttackRate, name))
	}
}

func (l *combatChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	l.load(p)
	v := pass
	legacy := p.info.Protocol < mcproto.Protocol1_9
	if pk.move.hasLook && p.self.haveLook {
		turn := float32(math.Abs(float64(wrapDegrees(pk.move.yaw-p.self.yaw)))) + float32(math.Abs(float64(pk.move.pitch-p.self.pitch)))
		l.turns[1], l.turns[0] = l.turns[0], turn
	}
	switch pk.kind {
	case packets.KindUseEntity:
		u := &pk.useEntity
		if p.self.haveEntityID && u.Target == p.self.entityID {
			return p.flag(chkSelfInteract, 1, pk.now, "target", itoa(int64(u.Target)))
		}
		switch u.Type {
		case packets.InteractAttack:
			v = l.attack(p, pk.now, u.Target)
		case packets.InteractAt:
			v = l.interactVector(p, pk.now, u)
		}
	case packets.KindAttack:
		a, err := packets.DecodeAttack(pk.data, p.info.Protocol)
		if err != nil {
			break
		}
		if p.self.haveEntityID && a.EntityID == p.self.entityID {
			return p.flag(chkSelfInteract, 1, pk.now, "target", itoa(int64(a.EntityID)))
		}
		v = l.attack(p, pk.now, a.EntityID)
	case packets.KindArmAnimation:
		v = l.swing(p, pk)
	case packets.KindHeldItemSlot:
		if legacy && l.swingReady && !l.swingHeld {
			l.swingHeld = true
		} else {
			l.swingReady = false
		}
	case packets.KindBlockDig:
		switch pk.dig.Status {
		case digStart:
			l.digging = p.self.gameMode() != packets.GameModeCreative // creative breaks at once
			l.lastDig = pk.now
		case digAbort, digFinish:
			l.digging = false
			l.lastDig = pk.now
		}
		l.swingReady = false
	case packets.KindKeepAlive:
		// Answered on the network thread in vanilla: it can fall anywhere,
		// even between a 1.8 swing and its attack.
	default:
		l.swingReady = false
	}
	if pk.tick {
		if pk.now.Sub(l.lastTick) <= steadyTickGap {
			if l.steadyTicks < math.MaxUint8 {
				l.steadyTicks++
			}
		} else {
			l.steadyTicks = 1
		}
		l.lastTick, l.tickAttacked = pk.now, false
		v = worse(v, l.onTick(p, pk))
	}
	return v
}

// attack runs the checks of one attack.
func (l *combatChecks) attack(p *Player, now time.Time, target int32) Verdict {
	if v := l.multiTarget(p, now, target); v.Outcome != Pass {
		return v
	}
	if v := l.behind(p, now, target); v.Outcome != Pass {
		return v
	}
	v := l.attackRate(p, now)
	v = worse(v, l.swingOnAttack(p, now))
	return worse(v, l.reach(p, now, target))
}

// multiTarget flags a second entity attacked within one client tick.
// Vanilla attacks the entity its crosshair picked, and picks once per
// tick: every click of one tick hits the same entity.
func (l *combatChecks) multiTarget(p *Player, now time.Time, target int32) Verdict {
	if !l.tickAttacked {
		l.tickTarget, l.tickAttacked, l.tickAttackAt = target, true, now
		return pass
	}
	if target == l.tickTarget || !p.on(chkMultiTarget) || !l.ticksVisible(p, now) {
		return pass
	}
	return p.flag(chkMultiTarget, 1, now, "first", itoa(int64(l.tickTarget)), "target", itoa(int64(target)))
}

// ticksVisible reports whether a tick boundary between the first attack
// of the tick and now would have shown as a tick packet: always on 1.8
// (a movement packet every tick) and on 1.21.2+ clients that end ticks;
// on 1.9–1.21.1 only while the client is moving or turning every tick.
func (l *combatChecks) ticksVisible(p *Player, now time.Time) bool {
	if p.info.Protocol < mcproto.Protocol1_9 || p.ticks.tickEndSeen {
		return true
	}
	return l.steadyTicks >= steadyTicksNeeded && now.Sub(l.lastTick) < tickDuration && now.Sub(l.tickAttackAt) < tickDuration
}

// behind flags an attack on an entity behind the player. A vanilla client
// attacks only the entity its crosshair picked, and the rotation it picked
// with is the one its movement packet sends right after the attack; the
// latest rotation the edge has is the tick before, so the player may have
// turned since: the allowance grows by the turn of the last two looks.
//
// The target's box (every position the client may see it at, hitbox and
// 1.8 pick border included, widened by behindSlack) is stretched upwards by
// the eye height range so one eye point stands for every eye height. The
// box lies wholly beyond the allowed angle exactly when its eight corners
// do: the set of directions more than 90° from the look is a convex cone.
// An eye inside the box never flags (its corners cannot all be behind).
func (l *combatChecks) behind(p *Player, now time.Time, target int32) Verdict {
	if !p.on(chkBehind) || !p.self.haveLook || l.combatExempt(p, now) {
		return pass
	}
	limit := l.prm.behindBase + float64(min(max(l.turns[0], l.turns[1]), maxTurnAllowance))
	if limit >= 180 {
		return pass
	}
	e := l.ents.get(target)
	if e == nil {
		return pass // not tracked: nothing to judge against
	}
	box := l.targetBox(p, e)
	grow := behindSlack
	if p.info.Protocol >= mcproto.Protocol1_9 {
		grow += movementThreshold(p.info.Protocol)
	}
	lo, hi := eyeRange(p.info.Protocol)
	for i := range box.min {
		box.min[i] -= grow
		box.max[i] += grow
	}
	box.max[1] += hi - lo
	eye := [3]float64{p.self.x, p.self.y + hi, p.self.z}
	dir := lookVector(p.self.yaw, p.self.pitch)
	cosLimit := math.Cos(limit * math.Pi / 180)
	closest := 180.0
	for c := 0; c < 8; c++ {
		var v [3]float64
		for i := range v {
			corner := box.min[i]
			if c&(1<<i) != 0 {
				corner = box.max[i]
			}
			v[i] = corner - eye[i]
		}
		n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		dot := dir[0]*v[0] + dir[1]*v[1] + dir[2]*v[2]
		if n < 1e-9 || dot >= cosLimit*n {
			return pass
		}
		closest = min(closest, math.Acos(max(-1, min(1, dot/n)))*180/math.Pi)
	}
	return p.flag(chkBehind, 1, now, "angle", ftoa(closest), "limit", ftoa(limit), "target", itoa(int64(target)))
}

// attackRate is NoCheatPlus's AttackFrequency: per-window limits over
// half-second buckets.
func (l *combatChecks) attackRate(p *Player, now time.Time) Verdict {
	l.attacks.add(now)
	for i, k := range [5]int{1, 2, 4, 8, 16} {
		if n := l.attacks.sum(k); n > l.prm.rate[i] {
			return p.flag(chkAttackRate, 1, now, "attacks", itoa(int64(n)), "window_ms", itoa(int64(k)*freqBucket.Milliseconds()))
		}
	}
	return pass
}

// swingOnAttack checks the swing around an attack. 1.9+ vanilla attacks
// and then swings (MultiPlayerGameMode.attack, then Player.swing); 1.8
// swings first (Minecraft.clickMouse), with at most the held-item sync
// between.
func (l *combatChecks) swingOnAttack(p *Player, now time.Time) Verdict {
	if p.self.gameMode() == packets.GameModeSpectator {
		return pass
	}
	if p.info.Protocol < mcproto.Protocol1_9 {
		ready := l.swingReady
		l.swingReady, l.swingHeld = false, false
		if !ready {
			return p.flag(chkNoSwing, 1, now, "order", "attack_before_swing")
		}
		return pass
	}
	owed := l.swingOwed
	l.swingOwed = true
	if owed {
		return p.flag(chkNoSwing, 1, now, "order", "attack_after_attack")
	}
	return pass
}

func (l *combatChecks) swing(p *Player, pk *serverPacket) Verdict {
	if p.info.Protocol < mcproto.Protocol1_9 {
		l.swingReady, l.swingHeld = true, false
	} else if pk.swing.Hand == packets.HandMain {
		l.swingOwed = false
	}
	if !p.on(chkCPS) || l.digging || (!l.lastDig.IsZero() && pk.now.Sub(l.lastDig) < digGrace) {
		return pass
	}
	l.clicks.add(pk.now)
	if n := l.clicks.sum(cpsBuckets); n > l.prm.maxCPS {
		return p.flag(chkCPS, 1, pk.now, "clicks", itoa(int64(n)))
	}
	return pass
}

// onTick runs at each tick packet: the 1.9+ swing is due, and pending hits
// meet the new look.
func (l *combatChecks) onTick(p *Player, pk *serverPacket) Verdict {
	v := pass
	if l.swingOwed {
		l.swingOwed = false
		v = p.flag(chkNoSwing, 1, pk.now, "order", "no_swing_before_tick")
	}
	if l.nHits > 0 {
		yaw, pitch := p.self.yaw, p.self.pitch
		if pk.move.hasLook {
			yaw, pitch = pk.move.yaw, pk.move.pitch
		}
		for i := 0; i < l.nHits; i++ {
			v = worse(v, l.judgeHit(p, pk.now, &l.hits[i], yaw, pitch))
		}
		l.nHits = 0
	}
	return v
}

// combatExempt reports when the edge's picture of the attacker is not good
// enough to judge distance: creative and spectator reach farther, a rider's
// position follows a vehicle the client does not report, and during a
// teleport the server's position for the player is stale.
func (l *combatChecks) combatExempt(p *Player, now time.Time) bool {
	gm := p.self.gameMode()
	return gm == packets.GameModeCreative || gm == packets.GameModeSpectator ||
		p.riding.may() || p.teleports.pending(now) || !p.self.havePos || p.self.dead
}

// eyeRange is the span of eye heights a client of this version can have.
func eyeRange(protocol int32) (lo, hi float64) {
	if protocol < mcproto.Protocol1_9 {
		return eyeSneak1_8, eyeStanding
	}
	return eyeLowest1_9, eyeStanding
}

// targetBox is the box, hitbox and 1.8 pick border included, that holds the
// target wherever the client may see it.
func (l *combatChecks) targetBox(p *Player, e *entity) posBox {
	b := e.possible(p.clock.acked, p.clock.nextSeq)
	w, h := otherWidth, otherHeight
	if e.player {
		w, h = playerWidth, playerHeight
	}
	grow := 0.0
	if p.info.Protocol < mcproto.Protocol1_9 {
		grow = collisionBorder1_8
	}
	b.min[0] -= w/2 + grow
	b.min[1] -= grow
	b.min[2] -= w/2 + grow
	b.max[0] += w/2 + grow
	b.max[1] += h + grow
	b.max[2] += w/2 + grow
	return b
}

// reach measures from the eye (its whole height range) to the nearest point
// of the target's possible box. Distance to the nearest point never exceeds
// the distance along any look, so an honest hit cannot fail it.
func (l *combatChecks) reach(p *Player, now time.Time, target int32) Verdict {
	if (!p.on(chkReach) && !p.on(chkHitbox)) || l.combatExempt(p, now) {
		return pass
	}
	e := l.ents.get(target)
	if e == nil {
		return pass // not tracked (table full, or parts of the ender dragon)
	}
	box := l.targetBox(p, e)
	lo, hi := eyeRange(p.info.Protocol)
	eye := [3]float64{p.self.x, p.self.y, p.self.z}
	if p.on(chkHitbox) && l.nHits < maxPendingHits {
		if l.hits == nil {
			l.hits = new([maxPendingHits]pendingHit)
		}
		l.hits[l.nHits] = pendingHit{target: target, box: box, eye: eye, lo: lo, hi: hi, yaw: p.self.yaw, pitch: p.self.pitch}
		l.nHits++
	}
	dx := max(0, box.min[0]-eye[0], eye[0]-box.max[0])
	dz := max(0, box.min[2]-eye[2], eye[2]-box.max[2])
	dy := max(0, box.min[1]-(eye[1]+hi), (eye[1]+lo)-box.max[1])
	dist := math.Sqrt(dx*dx + dy*dy + dz*dz)
	limit := l.prm.reachLimit
	if p.info.Protocol >= mcproto.Protocol1_9 {
		// The position may be up to the movement threshold old: 1.9+
		// clients skip positions below it.
		limit += movementThreshold(p.info.Protocol)
	}
	if dist <= limit {
		return pass
	}
	return p.flag(chkReach, 1, now, "distance", ftoa(dist), "limit", ftoa(limit), "target", itoa(int64(target)))
}

// judgeHit is the experimental hitbox test: some look between the one at the
// attack and the one of the next tick packet, from some eye height, must
// meet the target's box within range + 3.
func (l *combatChecks) judgeHit(p *Player, now time.Time, h *pendingHit, yaw, pitch float32) Verdict {
	box := h.box
	grow := hitboxSlack
	if p.info.Protocol >= mcproto.Protocol1_9 {
		grow += movementThreshold(p.info.Protocol)
	}
	for i := range box.min {
		box.min[i] -= grow
		box.max[i] += grow
	}
	reach := l.prm.reachLimit + hitboxExtraRange
	dyaw := wrapDegrees(yaw - h.yaw)
	const lookSamples = 4 // looks tried between the two packets
	const eyeSamples = 4  // eye heights tried across the range
	for s := 0; s <= lookSamples; s++ {
		f := float32(s) / lookSamples
		dir := lookVector(h.yaw+dyaw*f, h.pitch+(pitch-h.pitch)*f)
		for k := 0; k <= eyeSamples; k++ {
			y := h.eye[1] + h.lo + (h.hi-h.lo)*float64(k)/eyeSamples
			if rayHitsBox([3]float64{h.eye[0], y, h.eye[2]}, dir, &box, reach) {
				return pass
			}
		}
	}
	return p.flag(chkHitbox, 1, now, "target", itoa(int64(h.target)))
}

func wrapDegrees(d float32) float32 {
	d = float32(math.Mod(float64(d), 360))
	if d >= 180 {
		d -= 360
	} else if d < -180 {
		d += 360
	}
	return d
}

// lookVector is vanilla's view vector (Entity.calculateViewVector).
func lookVector(yaw, pitch float32) [3]float64 {
	y := float64(yaw) * math.Pi / 180
	x := float64(pitch) * math.Pi / 180
	return [3]float64{-math.Sin(y) * math.Cos(x), -math.Sin(x), math.Cos(y) * math.Cos(x)}
}

// rayHitsBox is the slab test: does the ray from o along unit dir meet the
// box within maxDist (or start inside it)?
func rayHitsBox(o, dir [3]float64, b *posBox, maxDist float64) bool {
	tmin, tmax := 0.0, maxDist
	for i := range o {
		if math.Abs(dir[i]) < 1e-12 {
			if o[i] < b.min[i] || o[i] > b.max[i] {
				return false
			}
			continue
		}
		t1 := (b.min[i] - o[i]) / dir[i]
		t2 := (b.max[i] - o[i]) / dir[i]
		if t1 > t2 {
			t1, t2 = t2, t1
		}
		tmin, tmax = max(tmin, t1), min(tmax, t2)
		if tmin > tmax {
			return false
		}
	}
	return true
}

// interactVector checks an interact-at hit vector against the target's box
// (Grim BadPacketsT). The vector is relative to the entity's position in
// the client's own view, so no interpolation allowance is needed.
func (l *combatChecks) interactVector(p *Player, now time.Time, u *packets.UseEntity) Verdict {
	x, y, z := float64(u.X), float64(u.Y), float64(u.Z)
	if !finite(x) || !finite(y) || !finite(z) {
		return p.flag(chkInteractVector, 1, now, "x", ftoa(x), "y", ftoa(y), "z", ftoa(z))
	}
	e := l.ents.get(u.Target)
	if e == nil {
		return pass
	}
	w, h := otherWidth, otherHeight
	if e.player {
		w, h = playerWidth, playerHeight
	}
	if p.info.Protocol >= mcproto.Protocol1_20_5 { // entities can be scaled
		w, h = w*maxEntityScale, h*maxEntityScale
	}
	slack := vectorSlack
	if p.info.Protocol < mcproto.Protocol1_9 {
		slack += collisionBorder1_8
	}
	half := w/2 + slack
	if math.Abs(x) > half || math.Abs(z) > half || y < -slack || y > h+slack {
		return p.flag(chkInteractVector, 1, now, "x", ftoa(x), "y", ftoa(y), "z", ftoa(z), "target", itoa(int64(u.Target)))
	}
	return pass
}

func (l *combatChecks) clientbound(p *Player, pk *clientPacket) {
	proto := p.info.Protocol
	acked, next := p.clock.acked, p.clock.nextSeq
	switch pk.kind {
	case packets.KindJoinGame, packets.KindRespawn:
		// The client drops every entity with its world.
		l.ents.clear()
		l.swingOwed, l.swingReady, l.nHits = false, false, 0
	case packets.KindSpawnEntity:
		if s, err := packets.DecodeSpawnEntity(pk.data, proto); err == nil {
			ptype, ok := playerTypeID(proto)
			l.spawn(p, s.EntityID, [3]float64{s.X, s.Y, s.Z}, ok && s.Type == ptype, next)
		}
	case packets.KindSpawnLivingEntity:
		if s, err := packets.DecodeSpawnLivingEntity(pk.data, proto); err == nil {
			l.spawn(p, s.EntityID, [3]float64{s.X, s.Y, s.Z}, false, next)
		}
	case packets.KindSpawnPlayer:
		if s, err := packets.DecodeSpawnPlayer(pk.data, proto); err == nil {
			l.spawn(p, s.EntityID, [3]float64{s.X, s.Y, s.Z}, true, next)
		}
	case packets.KindEntityRelMove:
		if m, err := packets.DecodeEntityRelMove(pk.data, proto); err == nil {
			l.moveBy(m.EntityID, m.DX, m.DY, m.DZ, acked, next)
		}
	case packets.KindEntityMoveLook:
		if m, err := packets.DecodeEntityMoveLook(pk.data, proto); err == nil {
			l.moveBy(m.EntityID, m.DX, m.DY, m.DZ, acked, next)
		}
	case packets.KindEntityTeleport:
		if t, err := packets.DecodeEntityTeleport(pk.data, proto); err == nil {
			if e := l.ents.get(t.EntityID); e != nil {
				to := [3]float64{t.X, t.Y, t.Z}
				for i, bit := range [3]uint32{packets.RelX, packets.RelY, packets.RelZ} {
					if t.Flags&bit != 0 { // 1.21.2+ relative components
						to[i] += e.pos[i]
					}
				}
				e.moveTo(to, acked, next)
			}
		}
	case packets.KindEntityPositionSync:
		if s, err := packets.DecodeEntityPositionSync(pk.data, proto); err == nil {
			if e := l.ents.get(s.EntityID); e != nil {
				e.moveTo([3]float64{s.X, s.Y, s.Z}, acked, next)
			}
		}
	case packets.KindEntityDestroy:
		if d, err := packets.DecodeEntityDestroy(pk.data, proto); err == nil {
			b := d.IDs
			for i := int32(0); i < d.Count && len(b) > 0; i++ {
				id, n, err := mcproto.ReadVarInt(b)
				if err != nil {
					break
				}
				l.ents.remove(id)
				b = b[n:]
			}
		}
	}
}

func (l *combatChecks) spawn(p *Player, id int32, pos [3]float64, player bool, next uint32) {
	if p.self.haveEntityID && id == p.self.entityID {
		return
	}
	l.ents.spawn(id, pos, player, next)
}

func (l *combatChecks) moveBy(id int32, dx, dy, dz float64, acked, next uint32) {
	if e := l.ents.get(id); e != nil {
		e.moveTo([3]float64{e.pos[0] + dx, e.pos[1] + dy, e.pos[2] + dz}, acked, next)
	}
}
