package detect

import (
	"math"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Layer 2: impossible values. A vanilla client cannot send these, so the
// defaults drop the packet and kick (docs/DETECTIONS.md, layer 2 and the crash
// rows of layer 0 that need decoded fields). Where mineflayer or a known
// client quirk can produce a value, the check only alerts, is experimental,
// or exempts the quirk; each Spec says which.

const (
	chkMoveNonFinite CheckID = layer2Base + iota
	chkMoveOutOfWorld
	chkInvalidPitch
	chkSlotRange
	chkSameSlot
	chkCreative
	chkDigFields
	chkUseFields
	chkSequence
	chkSequenceNegative
	chkBrand
	chkViewDistance
	chkSprintRepeat
	chkSneakRepeat
	chkClickFields
	chkAnvilName
	chkMountJump
	chkFly
)

// maxHorizontal is vanilla's world border limit for movement packets
// (ServerGamePacketListenerImpl rejects |x|, |z| above 3.0E7).
const maxHorizontal = 2.9999999e7

// Protocol numbers this file branches on beyond mcproto's.
const (
	l2Proto1_11    = 315 // placement cursor becomes a float
	l2Proto1_11_1  = 316 // anvil names 31 chars
	l2Proto1_12    = 335 // anvil names 35 chars
	l2Proto1_17    = 755 // anvil names 50 chars
	l2Proto1_21_11 = 774 // player action gains a status we do not know (stab)
)

// Field limits of the packets checked here, from the vanilla client.
const (
	// hotbarSlots is the number of hotbar slots (held slot 0..8).
	hotbarSlots = 9
	// maxJumpBoost is the horse jump strength ×100 (getJumpRidingScale ∈ [0,1]).
	maxJumpBoost = 100
	// minViewDistance is the smallest render distance the options screen
	// offers; below it is Grim's CrashE.
	minViewDistance = 2
	// maxBlockFace is the last Direction ordinal (down, up, north, south,
	// west, east).
	maxBlockFace = 5
	// useItemFace is the face byte of 1.8's "use the held item" placement.
	useItemFace = 255
	// maxCursorByte is 1.8–1.10's cursor byte at the far edge of a block
	// (the hit point ×16).
	maxCursorByte = 16
	// mineflayerUseCursor is the cursor mineflayer writes for 1.8 item use:
	// −1 as a byte, which decodes as 255/16.
	mineflayerUseCursor = float32(255) / cursorScale
	// mineflayerUseY is the y mineflayer writes for 1.8 item use (vanilla
	// writes −1).
	mineflayerUseY = 255
	// cursorScale converts cursor bytes to fractions of a block.
	cursorScale = 16
	// Click modes (ClickType ordinals) and the slots a vanilla click uses
	// outside the slot list.
	clickQuickMove  = 1
	clickSwap       = 2
	maxClickMode    = 6 // pickup_all
	slotOutside     = -999
	slotNone        = -1
	offhandBookSlot = 40 // the slot an off-hand book edit names (1.17.1+)
)

// Player action (block dig) statuses.
const (
	digStart     = 0
	digAbort     = 1
	digFinish    = 2
	digDropAll   = 3
	digDropOne   = 4
	digRelease   = 5
	digSwapHands = 6 // 1.9+
)

// Anvil rename limits: the text field's max length by version (Grim ExploitA).
const (
	anvilNameChars1_8    = 30
	anvilNameChars1_11_1 = 31
	anvilNameChars1_12   = 35
	anvilNameChars1_17   = 50
)

// Clientbound ability flags (ClientboundPlayerAbilitiesPacket).
const (
	abilityMayFly     = 0x04
	abilityInstabuild = 0x08
	// gameEventChangeGameMode is GameEventPacket.CHANGE_GAME_MODE: the
	// float value is the new game mode.
	gameEventChangeGameMode = 3
)

func layer2Specs() []Spec {
	return []Spec{
		{ID: chkMoveNonFinite, Key: "crash.move_non_finite", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionKick,
			Description: "a movement or vehicle-move packet with NaN or infinite coordinates or rotation (vanilla kicks too)"},
		{ID: chkMoveOutOfWorld, Key: "crash.move_out_of_world", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionKick,
			Description: "a movement or vehicle-move packet beyond the world border (|x| or |z| > 2.9999999E7) or with y beyond the int range"},
		{ID: chkInvalidPitch, Key: "badpackets.invalid_pitch", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 3, Decay: 0.05,
			Description: "a rotation with |pitch| > 90 degrees"},
		{ID: chkSlotRange, Key: "badpackets.slot_range", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "a held-item change to a slot outside 0..8"},
		{ID: chkSameSlot, Key: "badpackets.same_slot", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a held-item change to the slot the client already holds (vanilla and mineflayer only send changes); the first change after join, respawn or a server-set slot is exempt"},
		{ID: chkCreative, Key: "crash.creative", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "a creative inventory action while the server has not made the player creative (game mode or instabuild ability); while a game-mode change is in flight the action is dropped without a flag"},
		{ID: chkDigFields, Key: "badpackets.dig_fields", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop, Decay: 0.1,
			Description: "a player action with impossible fields: unknown status, face outside 0..5, or a drop/release/swap-hands action whose position is not 0,0,0, face not down or sequence not 0 (1.8 release with face 5, a mineflayer quirk, is exempt)"},
		{ID: chkUseFields, Key: "badpackets.use_fields", Layer: 2, Severity: detection.SeverityMedium, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a block placement or item use with impossible fields: 1.8 item use not at (-1,-1,-1) or with a cursor or an empty hand, 1.8-1.10 cursor beyond a block, face outside 0..5, hand not 0/1, non-finite cursor (mineflayer's 1.8 item use at y 255 with cursor -1 is exempt); alert only: client-side version translators rewrite these"},
		{ID: chkSequence, Key: "badpackets.sequence", Layer: 2, Severity: detection.SeverityMedium, Action: detection.ActionDrop, Decay: 0.1, Experimental: true,
			Description: "1.19+ block-prediction sequence of use item, place and dig start/finish not the last one + 1, or a cancelled dig with a sequence; experimental: mineflayer sends 0 for digs and placements"},
		{ID: chkSequenceNegative, Key: "crash.negative_sequence", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "a negative 1.19+ block-prediction sequence (vanilla counts up from 1; Grim CrashG)"},
		{ID: chkBrand, Key: "client.brand", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert,
			Description: "a client brand that is empty, longer than 64 bytes or not one well-formed string"},
		{ID: chkViewDistance, Key: "crash.view_distance", Layer: 2, Severity: detection.SeverityMedium, Action: detection.ActionRewrite, Rewrites: true,
			Description: "client settings with a view distance below 2: relayed with the view distance clamped to 2, every other field unchanged (Grim CrashE)"},
		{ID: chkSprintRepeat, Key: "badpackets.sprint_repeat", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a start (stop) sprinting action while the client's last report was already start (stop); the first after join, respawn or riding is exempt"},
		{ID: chkSneakRepeat, Key: "badpackets.sneak_repeat", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a start (stop) sneaking action while the client's last report was already start (stop); the first after join, respawn or riding is exempt"},
		{ID: chkClickFields, Key: "crash.click_fields", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionDrop,
			Description: "a window click with an unknown mode, a negative button in quick-move or swap, a swap from a negative slot, or a slot other than -999, -1 or 0..max_slot (Grim CrashF, Sierra)",
			Params:      map[string]float64{"max_slot": 127}},
		{ID: chkAnvilName, Key: "crash.anvil_name", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "an anvil rename longer than the client's text field (30, 31 from 1.11.1, 35 from 1.12, 50 from 1.17) or not a well-formed string; the MC|ItemName channel before 1.13, the rename packet from 1.13 (where a malformed one is frame.size)"},
		{ID: chkMountJump, Key: "badpackets.mount_jump", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "an entity action for another entity, with an unknown action, a horse jump outside 0..100, or a jump boost on any other action"},
		{ID: chkFly, Key: "badpackets.fly", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop, Decay: 0.1,
			Description: "an abilities packet that starts flying while neither the game mode (creative, spectator) nor the server's abilities allow flight, including changes still in flight"},
	}
}

// toggle is a sprint or sneak state as the client last reported it.
type toggle uint8

const (
	toggleUnknown toggle = iota // nothing reported since join, respawn or riding
	toggleOff
	toggleOn
)

// Capabilities the server grants; see serverCaps.
const (
	capCreative uint8 = 1 << iota // creative inventory actions allowed
	capMayFly                     // flying allowed
)

// capsOf is what a game mode and ability flags allow. The client derives
// abilities from the game mode on its own (GameType.updatePlayerAbilities)
// before the server's abilities packet arrives, so either grants.
func capsOf(gameMode, abilities uint8) uint8 {
	var c uint8
	if gameMode == packets.GameModeCreative || abilities&abilityInstabuild != 0 {
		c |= capCreative
	}
	if gameMode == packets.GameModeCreative || gameMode == packets.GameModeSpectator || abilities&abilityMayFly != 0 {
		c |= capMayFly
	}
	return c
}

// serverCaps tracks what the server allows, bound to the acknowledgement
// clock: a change sent to the client is certain only once the first probe
// sent after it is answered (docs/DETECTIONS.md, layer 3 "Probe design"). Until
// then the client may act under the old or the new state.
type serverCaps struct {
	gameMode, abilities uint8  // latest the server sent
	certain             uint8  // capabilities the client surely has
	possible            uint8  // capabilities any state still in flight grants (includes certain)
	settleAt            uint32 // probe sequence whose answer makes the latest certain; 0: settled
}

// reset sets a state the client cannot act before (join game).
func (c *serverCaps) reset(gameMode, abilities uint8) {
	c.gameMode, c.abilities = gameMode, abilities
	c.certain = capsOf(gameMode, abilities)
	c.possible, c.settleAt = c.certain, 0
}

// change records a state sent to the client before probe seq.
func (c *serverCaps) change(gameMode, abilities uint8, seq uint32) {
	if gameMode == c.gameMode && abilities == c.abilities {
		return // a resend must not push the settling probe further away
	}
	c.gameMode, c.abilities = gameMode, abilities
	c.possible |= capsOf(gameMode, abilities)
	c.settleAt = seq
}

// settle applies the latest state once its probe was answered.
func (c *serverCaps) settle(acked uint32) {
	if c.settleAt != 0 && acked >= c.settleAt {
		c.reset(c.gameMode, c.abilities)
	}
}

type layer2State struct {
	caps          serverCaps
	slotKnown     bool // p.self.heldSlot is what the client holds (no join, respawn or server-set slot since)
	sprint, sneak toggle
	seqKnown      bool  // lastSeq holds the last 1.19+ prediction sequence in this world
	lastSeq       int32 // 1.19+ block-prediction sequence
}

// resetClient forgets what the client reported, after join and respawn
// (a new client player and world: vanilla resets these on its side).
func (l *layer2State) resetClient() {
	l.slotKnown = false
	l.sprint, l.sneak = toggleUnknown, toggleUnknown
	l.seqKnown = false
}

func (l *layer2State) serverbound(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindPlayerPosition, packets.KindPlayerPositionLook, packets.KindPlayerLook:
		return l.move(p, pk, &pk.move)
	case packets.KindVehicleMove:
		l.sprint, l.sneak = toggleUnknown, toggleUnknown // riding, see below
		vm := &pk.vehicle
		if !finite(float64(vm.Yaw)) || !finite(float64(vm.Pitch)) {
			return p.flag(chkMoveNonFinite, 1, pk.now, "packet", "vehicle", "yaw", ftoa(float64(vm.Yaw)), "pitch", ftoa(float64(vm.Pitch)))
		}
		// A vehicle's pitch is the entity's own; only the position is held
		// to the player's rules.
		return l.move(p, pk, &move{x: vm.X, y: vm.Y, z: vm.Z, hasPos: true})
	case packets.KindHeldItemSlot:
		return l.heldSlot(p, pk)
	case packets.KindEntityAction:
		return l.entityAction(p, pk)
	case packets.KindSteerVehicle:
		// Riding: Grim exempts vehicles from the toggle checks (the server
		// clears sprinting on mount and clients differ in what they resend
		// after dismounting), so the next toggle is not compared.
		l.sprint, l.sneak = toggleUnknown, toggleUnknown
	case packets.KindAbilities:
		return l.abilities(p, pk)
	case packets.KindCreativeSlot:
		return l.creative(p, pk)
	case packets.KindBlockDig:
		return l.dig(p, pk)
	case packets.KindBlockPlace:
		return l.place(p, pk)
	case packets.KindUseItem:
		return l.useItem(p, pk)
	case packets.KindWindowClick:
		return l.click(p, pk)
	case packets.KindClientSettings:
		if vd := pk.settings.ViewDistance; vd < minViewDistance {
			v := p.flag(chkViewDistance, 1, pk.now, "view_distance", itoa(int64(vd)))
			if v.Outcome == Rewrite {
				// Clamped, every other field as the client sent it: a
				// server that divides by the view distance stays up and
				// the player keeps the settings it chose.
				s := pk.settings
				s.ViewDistance = minViewDistance
				p.rewrite = mcproto.AppendVarInt(p.rewrite[:0], p.table.ID(pk.state, mcproto.Serverbound, packets.KindClientSettings))
				p.rewrite = s.AppendData(p.rewrite, p.info.Protocol)
				v.Packet = p.rewrite
			}
			return v
		}
	case packets.KindPluginMessage:
		return l.plugin(p, pk)
	case packets.KindNameItem:
		return anvilName(p, pk, pk.nameItem.Name) // 1.13+: a packet of its own
	}
	return pass
}

func (l *layer2State) move(p *Player, pk *serverPacket, m *move) Verdict {
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

// heldSlot checks a held-item change. The client sends one only when the
// slot differs from the one it last sent (1.8 syncCurrentPlayItem, later
// ensureHasSentCarriedItem; mineflayer's setQuickBarSlot likewise), so a
// repeat is impossible unless the server moved the slot in between: then
// vanilla and mineflayer echo the server's slot once.
func (l *layer2State) heldSlot(p *Player, pk *serverPacket) Verdict {
	s := pk.slot.Slot
	known := l.slotKnown
	l.slotKnown = true
	if s < 0 || s >= hotbarSlots {
		return p.flag(chkSlotRange, 1, pk.now, "slot", itoa(int64(s)))
	}
	if known && s == p.self.heldSlot {
		return p.flag(chkSameSlot, 1, pk.now, "slot", itoa(int64(s)))
	}
	return pass
}

// entityAction checks the fields of an entity action and the sprint and
// sneak toggles. The client sends a toggle only when its state differs from
// the one it last sent (LocalPlayer.sendPosition compares with
// wasSprinting / wasShiftKeyDown), so two starts in a row are impossible
// within one client player; a respawn or a new world makes a new one.
func (l *layer2State) entityAction(p *Player, pk *serverPacket) Verdict {
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

func (l *layer2State) toggle(p *Player, pk *serverPacket, state *toggle, to toggle, id CheckID) Verdict {
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
func (l *layer2State) abilities(p *Player, pk *serverPacket) Verdict {
	if !pk.abilities.Flying() || !p.on(chkFly) {
		return pass
	}
	l.caps.settle(p.clock.acked)
	if l.caps.possible&capMayFly == 0 {
		return p.flag(chkFly, 1, pk.now, "game_mode", itoa(int64(l.caps.gameMode)), "abilities", itoa(int64(l.caps.abilities)))
	}
	return pass
}

// creative checks a creative inventory action (Grim CrashB). While a
// change that grants creative is in flight the client may already be
// creative: drop the action (the backend would refuse it if not) without a
// flag.
func (l *layer2State) creative(p *Player, pk *serverPacket) Verdict {
	if !p.on(chkCreative) {
		return pass
	}
	l.caps.settle(p.clock.acked)
	switch {
	case l.caps.certain&capCreative != 0:
		return pass
	case l.caps.possible&capCreative != 0:
		if enforcing(p, chkCreative) {
			return drop
		}
		return pass
	}
	return p.flag(chkCreative, 1, pk.now, "game_mode", itoa(int64(l.caps.gameMode)), "slot", itoa(int64(pk.creative.Slot)))
}

// maxDigStatus is the last player-action status a version knows; -1 means
// the version has statuses we do not know, so none is refused.
func maxDigStatus(protocol int32) int32 {
	switch {
	case protocol < mcproto.Protocol1_9:
		return digRelease
	case protocol < l2Proto1_21_11:
		return digSwapHands
	}
	return -1
}

// dig checks a player action (Grim BadPacketsL, BadPacketsH, CrashG).
// Vanilla sends the drop, release and swap actions with BlockPos.ZERO,
// Direction.DOWN and no prediction sequence; digging starts, finishes and
// predicts, aborts do not predict.
func (l *layer2State) dig(p *Player, pk *serverPacket) Verdict {
	d := &pk.dig
	proto := p.info.Protocol
	if m := maxDigStatus(proto); d.Status < 0 || m >= 0 && d.Status > m {
		return p.flag(chkDigFields, 1, pk.now, "status", itoa(int64(d.Status)))
	}
	switch d.Status {
	case digStart, digAbort, digFinish:
		if d.Face < 0 || d.Face > maxBlockFace {
			return p.flag(chkDigFields, 1, pk.now, "status", itoa(int64(d.Status)), "face", itoa(int64(d.Face)))
		}
		if proto < mcproto.Protocol1_19 {
			return pass
		}
		if d.Status == digAbort {
			return l.abortSequence(p, pk, d.Sequence)
		}
		return l.sequence(p, pk, d.Sequence)
	case digDropAll, digDropOne, digRelease, digSwapHands:
		loc := d.Location
		face := d.Face
		if proto < mcproto.Protocol1_9 && d.Status == digRelease && face == maxBlockFace {
			face = 0 // mineflayer 1.8 releases with face 5; vanilla with down
		}
		if loc.X != 0 || loc.Y != 0 || loc.Z != 0 || face != 0 || d.Sequence != 0 {
			return p.flag(chkDigFields, 1, pk.now, "status", itoa(int64(d.Status)),
				"x", itoa(int64(loc.X)), "y", itoa(int64(loc.Y)), "z", itoa(int64(loc.Z)),
				"face", itoa(int64(d.Face)), "sequence", itoa(int64(d.Sequence)))
		}
	}
	return pass
}

// sequence checks a 1.19+ block-prediction sequence: never negative, and
// one more than the last in this world (vanilla's
// BlockStatePredictionHandler counts every prediction it sends).
func (l *layer2State) sequence(p *Player, pk *serverPacket, seq int32) Verdict {
	if seq < 0 {
		return p.flag(chkSequenceNegative, 1, pk.now, "sequence", itoa(int64(seq)))
	}
	known, last := l.seqKnown, l.lastSeq
	l.seqKnown, l.lastSeq = true, seq
	if known && seq != last+1 && p.on(chkSequence) {
		return p.flag(chkSequence, 1, pk.now, "sequence", itoa(int64(seq)), "last", itoa(int64(last)), "packet", pk.kind.String())
	}
	return pass
}

// abortSequence checks the sequence of a cancelled dig, which vanilla
// sends without a prediction (0).
func (l *layer2State) abortSequence(p *Player, pk *serverPacket, seq int32) Verdict {
	switch {
	case seq < 0:
		return p.flag(chkSequenceNegative, 1, pk.now, "sequence", itoa(int64(seq)))
	case seq != 0 && p.on(chkSequence):
		return p.flag(chkSequence, 1, pk.now, "sequence", itoa(int64(seq)), "packet", "abort")
	}
	return pass
}

// place checks a block placement (Grim BadPacketsU for 1.8's item use).
func (l *layer2State) place(p *Player, pk *serverPacket) Verdict {
	b := &pk.place
	proto := p.info.Protocol
	if proto < mcproto.Protocol1_9 {
		if b.Face == useItemFace {
			return l.useItem8(p, pk)
		}
		if b.Face > maxBlockFace || b.CursorX*cursorScale > maxCursorByte || b.CursorY*cursorScale > maxCursorByte || b.CursorZ*cursorScale > maxCursorByte {
			return p.flag(chkUseFields, 1, pk.now, "face", itoa(int64(b.Face)),
				"cursor_x", ftoa(float64(b.CursorX)), "cursor_y", ftoa(float64(b.CursorY)), "cursor_z", ftoa(float64(b.CursorZ)))
		}
		return pass
	}
	if b.Face < 0 || b.Face > maxBlockFace || (b.Hand != packets.HandMain && b.Hand != packets.HandOff) {
		return p.flag(chkUseFields, 1, pk.now, "face", itoa(int64(b.Face)), "hand", itoa(int64(b.Hand)))
	}
	if !finite(float64(b.CursorX)) || !finite(float64(b.CursorY)) || !finite(float64(b.CursorZ)) ||
		proto < l2Proto1_11 && (b.CursorX*cursorScale > maxCursorByte || b.CursorY*cursorScale > maxCursorByte || b.CursorZ*cursorScale > maxCursorByte) {
		return p.flag(chkUseFields, 1, pk.now,
			"cursor_x", ftoa(float64(b.CursorX)), "cursor_y", ftoa(float64(b.CursorY)), "cursor_z", ftoa(float64(b.CursorZ)))
	}
	if proto >= mcproto.Protocol1_19 {
		return l.sequence(p, pk, b.Sequence)
	}
	return pass
}

// useItem8 checks 1.8's item use: vanilla sends it only while holding an
// item, at BlockPos(-1,-1,-1) with a zero cursor (C08PacketPlayerBlockPlacement(ItemStack)).
func (l *layer2State) useItem8(p *Player, pk *serverPacket) Verdict {
	b := &pk.place
	loc := b.Location
	posOK := loc.X == -1 && loc.Z == -1 && (loc.Y == -1 || loc.Y == mineflayerUseY)
	cursorOK := b.CursorX == b.CursorY && b.CursorY == b.CursorZ && (b.CursorX == 0 || b.CursorX == mineflayerUseCursor)
	if posOK && cursorOK && b.Item.Present {
		return pass
	}
	return p.flag(chkUseFields, 1, pk.now, "x", itoa(int64(loc.X)), "y", itoa(int64(loc.Y)), "z", itoa(int64(loc.Z)),
		"cursor_x", ftoa(float64(b.CursorX)), "item", boolString(b.Item.Present))
}

func (l *layer2State) useItem(p *Player, pk *serverPacket) Verdict {
	u := &pk.useItem
	if u.Hand != packets.HandMain && u.Hand != packets.HandOff {
		return p.flag(chkUseFields, 1, pk.now, "hand", itoa(int64(u.Hand)))
	}
	if p.info.Protocol >= mcproto.Protocol1_19 {
		return l.sequence(p, pk, u.Sequence)
	}
	return pass
}

// click checks the header of a window click (Grim CrashF; Sierra
// checkForInvalidSlot). Vanilla quick-moves and swaps only from a hovered
// slot, with the mouse button or hotbar key as button.
func (l *layer2State) click(p *Player, pk *serverPacket) Verdict {
	c := &pk.click
	bad := c.Mode < 0 || c.Mode > maxClickMode ||
		(c.Mode == clickQuickMove || c.Mode == clickSwap) && c.Button < 0 ||
		c.Mode == clickSwap && c.Slot < 0 ||
		c.Slot != slotOutside && c.Slot != slotNone && (c.Slot < 0 || float64(c.Slot) > p.param(chkClickFields, "max_slot"))
	if bad {
		return p.flag(chkClickFields, 1, pk.now, "mode", itoa(int64(c.Mode)), "button", itoa(int64(c.Button)), "slot", itoa(int64(c.Slot)))
	}
	return pass
}

// plugin checks the brand (Grim ClientBrand) and, before 1.13, the anvil
// rename that travels as MC|ItemName.
func (l *layer2State) plugin(p *Player, pk *serverPacket) Verdict {
	ch := pk.plugin.Channel
	switch {
	case isBrandChannel(ch):
		r := mcproto.NewReader(pk.plugin.Data)
		b := r.StringBytes(packets.MaxPluginDataServerbound)
		if err := r.Finish(); err != nil || len(b) == 0 || len(b) > maxBrandLen {
			return p.flag(chkBrand, 1, pk.now, "bytes", itoa(int64(len(pk.plugin.Data))))
		}
	case p.info.Protocol < mcproto.Protocol1_13 && string(ch) == legacyAnvilChannel:
		if len(pk.plugin.Data) == 0 {
			return pass // vanilla 1.8 reads an empty payload as "clear the name"
		}
		r := mcproto.NewReader(pk.plugin.Data)
		name := r.StringBytes(packets.MaxPluginDataServerbound)
		if err := r.Finish(); err != nil {
			return p.flag(chkAnvilName, 1, pk.now, "error", err.Error())
		}
		return anvilName(p, pk, name)
	}
	return pass
}

// anvilName checks a rename against the anvil's text field. Vanilla trims
// what is too long; its own client never sends more than the field holds.
func anvilName(p *Player, pk *serverPacket, name []byte) Verdict {
	if n := mcproto.UTF16Units(name); n > anvilNameLimit(p.info.Protocol) {
		return p.flag(chkAnvilName, 1, pk.now, "chars", itoa(int64(n)))
	}
	return pass
}

// legacyAnvilChannel carries the anvil rename before 1.13.
const legacyAnvilChannel = "MC|ItemName"

// anvilNameLimit is the anvil text field's length by version.
func anvilNameLimit(protocol int32) int {
	switch {
	case protocol >= l2Proto1_17:
		return anvilNameChars1_17
	case protocol >= l2Proto1_12:
		return anvilNameChars1_12
	case protocol >= l2Proto1_11_1:
		return anvilNameChars1_11_1
	}
	return anvilNameChars1_8
}

// clientbound tracks what the server grants and when the client's own
// state restarts.
func (l *layer2State) clientbound(p *Player, pk *clientPacket) {
	switch pk.kind {
	case packets.KindJoinGame:
		// player.go decoded the game mode into p.self before this hook.
		l.caps.reset(p.self.gameMode, l.caps.abilities)
		l.resetClient()
	case packets.KindRespawn:
		l.caps.change(p.self.gameMode, l.caps.abilities, p.clock.nextSeq)
		l.resetClient()
	case packets.KindGameStateChange:
		r := mcproto.NewReader(pk.data)
		reason, value := r.Byte(), r.Float32()
		if r.Finish() == nil && reason == gameEventChangeGameMode && value >= 0 && value <= packets.GameModeSpectator {
			l.caps.change(uint8(value), l.caps.abilities, p.clock.nextSeq)
		}
	case packets.KindPlayerAbilitiesClientbound:
		r := mcproto.NewReader(pk.data)
		flags := r.Byte()
		r.Float32() // flying speed
		r.Float32() // walking speed / field of view modifier
		if r.Finish() == nil {
			l.caps.change(l.caps.gameMode, flags, p.clock.nextSeq)
		}
	case packets.KindHeldItemSlot:
		l.slotKnown = false // the client echoes the server's slot once
	}
}

// enforcing reports whether check id's flags would take an action rather
// than only alert, so a check can drop quietly where a flag would be unfair.
func enforcing(p *Player, id CheckID) bool {
	c := &p.pol.checks[id]
	return c.enabled && c.Action >= detection.ActionDrop && (c.mode == ModeEnforce || c.mode == ModeDefault && !c.Experimental)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
