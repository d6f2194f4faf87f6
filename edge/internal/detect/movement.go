package detect

import (
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Movement: what a movement, vehicle-move, abilities or entity-action
// packet says about the player that no vanilla client can say: coordinates
// and rotations that are not numbers or lie beyond the world, a pitch past
// straight up or down, flying without the right to fly, sprint and sneak
// toggles that repeat, a horse jump out of range, positions withheld for
// longer than vanilla's reminder allows, server teleports left unanswered.

const (
	chkMoveNonFinite CheckID = movementBase + iota
	chkMoveOutOfWorld
	chkInvalidPitch
	chkFly
	chkSprintRepeat
	chkSneakRepeat
	chkMountJump
	chkReminder
	chkTeleportIgnored
)

// maxHorizontal is vanilla's world border limit for movement packets
// (ServerGamePacketListenerImpl rejects |x|, |z| above 3.0E7).
const maxHorizontal = 2.9999999e7

// maxJumpBoost is the horse jump strength ×100 (getJumpRidingScale ∈ [0,1]).
const maxJumpBoost = 100

func movementSpecs() []Spec {
	return []Spec{
		{ID: chkMoveNonFinite, Key: "crash.move_non_finite", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionKick,
			Description: "a movement or vehicle-move packet with NaN or infinite coordinates or rotation (vanilla kicks too)"},
		{ID: chkMoveOutOfWorld, Key: "crash.move_out_of_world", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionKick,
			Description: "a movement or vehicle-move packet beyond the world border (|x| or |z| > 2.9999999E7) or with y beyond the int range"},
		{ID: chkInvalidPitch, Key: "badpackets.invalid_pitch", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "a rotation with |pitch| > 90 degrees: no vanilla client can send one (it clamps the pitch), so the first one kicks"},
		{ID: chkFly, Key: "badpackets.fly", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop, Decay: 0.1,
			Description: "an abilities packet that starts flying while neither the game mode (creative, spectator) nor the server's abilities allow flight, including changes still in flight"},
		{ID: chkSprintRepeat, Key: "badpackets.sprint_repeat", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a start (stop) sprinting action while the client's last report was already start (stop); the first after join, respawn or riding is exempt"},
		{ID: chkSneakRepeat, Key: "badpackets.sneak_repeat", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a start (stop) sneaking action while the client's last report was already start (stop); the first after join, respawn or riding is exempt"},
		{ID: chkMountJump, Key: "badpackets.mount_jump", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "an entity action for another entity, with an unknown action, a horse jump outside 0..100, or a jump boost on any other action"},
		{ID: chkReminder, Key: "movement.reminder", Layer: 3, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.05,
			Description: "more movement packets in a row without a position than vanilla's 20-tick reminder allows (20 up to 1.8, 19 after) and no position for a few seconds; riders and respawns are exempt",
			Params:      map[string]float64{"max_flying_legacy": 20, "max_flying": 19, "min_gap_ms": 3000}},
		{ID: chkTeleportIgnored, Key: "movement.teleport_ignored", Layer: 3, Severity: detection.SeverityLow, Action: detection.ActionAlert, Experimental: true, Decay: 0.05,
			Description: "a probe sent after a server teleport is answered before the teleport is (confirmation on 1.9+, the position answer on 1.8)"},
	}
}

// toggle is a sprint or sneak state as the client last reported it.
type toggle uint8

const (
	toggleUnknown toggle = iota // nothing reported since join, respawn or riding
	toggleOff
	toggleOn
)

// movementParams are the tunables, read once per player: map lookups by
// name are too slow for every movement packet.
type movementParams struct {
	loaded          bool
	maxFlyingLegacy int
	maxFlying       int
	reminderGap     time.Duration
}

// movementChecks is the movement family's bookkeeping.
type movementChecks struct {
	prm           movementParams
	sprint, sneak toggle

	motion      motion      // movement_bounds.go
	worldMotion worldMotion // movement_world.go

	// The position reminder.
	noPos   int
	lastPos time.Time
	rotOnly bool // the run so far is rotations only (how riders look on 1.21.2+)
}

func (l *movementChecks) load(p *Player) {
	if l.prm.loaded {
		return
	}
	l.prm = movementParams{
		loaded:          true,
		maxFlyingLegacy: int(p.param(chkReminder, "max_flying_legacy")),
		maxFlying:       int(p.param(chkReminder, "max_flying")),
		reminderGap:     paramDuration(p, chkReminder, "min_gap_ms"),
	}
}

func (l *movementChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	l.load(p)
	switch pk.kind {
	case packets.KindPlayerPosition, packets.KindPlayerPositionLook, packets.KindPlayerLook, packets.KindPlayerOnGround:
		v := pass
		if pk.kind != packets.KindPlayerOnGround {
			v = l.values(p, pk, &pk.move)
		}
		v = worse(v, l.reminder(p, pk))
		if v.Outcome == Pass || v.Outcome == Rewrite {
			v = worse(v, l.bounds(p, pk))
		}
		if v.Outcome == Pass || v.Outcome == Rewrite {
			v = worse(v, p.judgePrediction(pk))
		}
		return v
	case packets.KindTickEnd:
		return l.bounds(p, pk)
	case packets.KindVehicleMove:
		l.motion.have = false // the player moves with the vehicle
		p.prediction.reset()
		// Riding: Grim exempts vehicles from the toggle checks (the server
		// clears sprinting on mount and clients differ in what they resend
		// after dismounting), so the next toggle is not compared.
		l.sprint, l.sneak = toggleUnknown, toggleUnknown
		l.noPos = 0 // riders never send a position
		vm := &pk.vehicle
		if !finite(float64(vm.Yaw)) || !finite(float64(vm.Pitch)) {
			return p.flag(chkMoveNonFinite, 1, pk.now, "packet", "vehicle", "yaw", ftoa(float64(vm.Yaw)), "pitch", ftoa(float64(vm.Pitch)))
		}
		// A vehicle's pitch is the entity's own; only the position is held
		// to the player's rules.
		return l.values(p, pk, &move{x: vm.X, y: vm.Y, z: vm.Z, hasPos: true})
	case packets.KindSteerVehicle:
		l.sprint, l.sneak = toggleUnknown, toggleUnknown
		l.noPos = 0
		l.motion.have = false
	case packets.KindEntityAction:
		l.boundsEvent(p, pk)
		return l.entityAction(p, pk)
	case packets.KindBlockDig:
		l.boundsEvent(p, pk)
	case packets.KindUseEntity:
		p.prediction.event(pk)
	case packets.KindAbilities:
		return l.abilities(p, pk)
	}
	return pass
}

// values checks the numbers of a movement: finite, inside the world, and a
// pitch vanilla can reach.
func (l *movementChecks) values(p *Player, pk *serverPacket, m *move) Verdict {
	if m.hasPos {
		if !finite(m.x) || !finite(m.y) || !finite(m.z) {
			return p.flag(chkMoveNonFinite, 1, pk.now, "x", ftoa(m.x), "y", ftoa(m.y), "z", ftoa(m.z))
		}
		if math.Abs(m.x) > maxHorizontal || math.Abs(m.z) > maxHorizontal || math.Abs(m.y) > math.MaxInt32 {
			return p.flag(chkMoveOutOfWorld, 1, pk.now, "x", ftoa(m.x), "y", ftoa(m.y), "z", ftoa(m.z))
		}
	}
	if m.hasLook {
		if !finite(float64(m.yaw)) || !finite(float64(m.pitch)) {
			return p.flag(chkMoveNonFinite, 1, pk.now, "yaw", ftoa(float64(m.yaw)), "pitch", ftoa(float64(m.pitch)))
		}
		if m.pitch > 90 || m.pitch < -90 {
			return p.flag(chkInvalidPitch, 1, pk.now, "pitch", ftoa(float64(m.pitch)))
		}
	}
	return pass
}

// entityAction checks the fields of an entity action and the sprint and
// sneak toggles. The client sends a toggle only when its state differs from
// the one it last sent (LocalPlayer.sendPosition compares with
// wasSprinting / wasShiftKeyDown), so two starts in a row are impossible
// within one client player; a respawn or a new world makes a new one.
func (l *movementChecks) entityAction(p *Player, pk *serverPacket) Verdict {
	a := pk.action
	v := pass
	act := a.Normalized(p.info.Protocol)
	switch {
	case act == packets.ActionUnknown:
		v = p.flag(chkMountJump, 1, pk.now, "action", itoa(int64(a.Action)))
	case p.self.haveEntityID && a.EntityID != p.self.entityID:
		v = p.flag(chkMountJump, 1, pk.now, "entity", itoa(int64(a.EntityID)), "self", itoa(int64(p.self.entityID)))
	case act == packets.ActionStartHorseJump && (a.JumpBoost < 0 || a.JumpBoost > maxJumpBoost):
		v = p.flag(chkMountJump, 1, pk.now, "jump_boost", itoa(int64(a.JumpBoost)))
	case act != packets.ActionStartHorseJump && a.JumpBoost != 0:
		v = p.flag(chkMountJump, 1, pk.now, "jump_boost", itoa(int64(a.JumpBoost)), "action", itoa(int64(act)))
	}
	switch act {
	case packets.ActionStartSprinting:
		v = worse(v, l.toggle(p, pk, &l.sprint, toggleOn, chkSprintRepeat))
	case packets.ActionStopSprinting:
		v = worse(v, l.toggle(p, pk, &l.sprint, toggleOff, chkSprintRepeat))
	case packets.ActionStartSneaking:
		v = worse(v, l.toggle(p, pk, &l.sneak, toggleOn, chkSneakRepeat))
	case packets.ActionStopSneaking:
		v = worse(v, l.toggle(p, pk, &l.sneak, toggleOff, chkSneakRepeat))
	}
	return v
}

func (l *movementChecks) toggle(p *Player, pk *serverPacket, state *toggle, to toggle, id CheckID) Verdict {
	was := *state
	*state = to
	if was == to {
		return p.flag(id, 1, pk.now, "state", toggleName(to))
	}
	return pass
}

func toggleName(t toggle) string {
	if t == toggleOn {
		return "start"
	}
	return "stop"
}

// abilities checks the client's claim to fly. Changes in flight count as
// granted: the vanilla server ignores flying without may-fly anyway, so
// passing an ambiguous packet is harmless and flagging it would be unfair.
func (l *movementChecks) abilities(p *Player, pk *serverPacket) Verdict {
	if !pk.abilities.Flying() || !p.on(chkFly) {
		return pass
	}
	caps := &p.self.caps
	caps.settle(p.clock.acked)
	if caps.possible&capMayFly == 0 {
		return p.flag(chkFly, 1, pk.now, "game_mode", itoa(int64(caps.gameMode)), "abilities", itoa(int64(caps.abilities)))
	}
	return pass
}

// reminder counts movement packets without a position. Vanilla sends a
// position at least every 20 ticks (BadPacketsE); mineflayer every second
// of wall time, so after an event-loop stall its catch-up ticks can add a
// few: a flag needs both the count and a gap in time.
func (l *movementChecks) reminder(p *Player, pk *serverPacket) Verdict {
	m := &pk.move
	if l.lastPos.IsZero() {
		l.lastPos = pk.now
	}
	if m.hasPos {
		l.noPos, l.rotOnly, l.lastPos = 0, true, pk.now
		return pass
	}
	l.noPos++
	if !m.hasLook {
		l.rotOnly = false
	}
	limit := l.prm.maxFlying
	if p.info.Protocol < mcproto.Protocol1_9 {
		limit = l.prm.maxFlyingLegacy
	}
	if l.noPos <= limit || pk.now.Sub(l.lastPos) <= l.prm.reminderGap || p.riding.may() || p.self.dead {
		return pass
	}
	// From 1.21.2 a rider sends rotations alone every tick and steers
	// only on input changes: a run of rotations is what riding looks like.
	if p.info.Protocol >= mcproto.Protocol1_21_2 && l.rotOnly {
		return pass
	}
	n := l.noPos
	l.noPos = 0
	return p.flag(chkReminder, 1, pk.now, "without_position", itoa(int64(n)), "since_ms", itoa(pk.now.Sub(l.lastPos).Milliseconds()))
}

// teleportsIgnored flags a teleport the client should have handled before
// the probe it just answered (exp): the client processes packets in order,
// so by then a 1.9+ client has confirmed it and a 1.8 client has sent its
// position answer (1.8 has no confirmation).
func (l *movementChecks) teleportsIgnored(p *Player, now time.Time) Verdict {
	v := pass
	q := &p.teleports
	for i := 0; i < q.n; i++ {
		t := q.at(i)
		if t.noJudge || t.confirmed || p.clock.acked < t.seq {
			continue
		}
		t.noJudge = true // one flag per teleport
		v = worse(v, p.flag(chkTeleportIgnored, 1, now, "teleport_id", itoa(int64(t.id))))
	}
	return v
}

func (l *movementChecks) clientbound(p *Player, pk *clientPacket) {
	l.boundsClientbound(p, pk)
	p.prediction.clientbound(pk)
	switch pk.kind {
	case packets.KindSyncPlayerPosition:
		if pk.teleport {
			l.noPos, l.lastPos = 0, pk.now
		}
	case packets.KindJoinGame, packets.KindRespawn:
		// A new client player: its toggles start unknown, and the
		// reminder counts from the respawn.
		l.sprint, l.sneak = toggleUnknown, toggleUnknown
		l.noPos, l.lastPos = 0, pk.now
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
