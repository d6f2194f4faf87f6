package detect

import (
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Interaction: digging, placing, using items and choosing the held slot.
// A vanilla client sends these with fields in fixed ranges and, from 1.19,
// with block-prediction sequences that count up; where mineflayer or a
// known client quirk can produce a value, the check only alerts, is
// experimental, or exempts the quirk, and its Spec says which.

const (
	chkSlotRange CheckID = interactionBase + iota
	chkSameSlot
	chkDigFields
	chkUseFields
	chkSequence
	chkSequenceNegative
)

// Field limits of the packets checked here, from the vanilla client.
const (
	// hotbarSlots is the number of hotbar slots (held slot 0..8).
	hotbarSlots = 9
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

func interactionSpecs() []Spec {
	return []Spec{
		{ID: chkSlotRange, Key: "badpackets.slot_range", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "a held-item change to a slot outside 0..8"},
		{ID: chkSameSlot, Key: "badpackets.same_slot", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a held-item change to the slot the client already holds (vanilla and mineflayer only send changes); the first change after join, respawn or a server-set slot is exempt"},
		{ID: chkDigFields, Key: "badpackets.dig_fields", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop, Decay: 0.1,
			Description: "a player action with impossible fields: unknown status, face outside 0..5, or a drop/release/swap-hands action whose position is not 0,0,0, face not down or sequence not 0 (1.8 release with face 5, a mineflayer quirk, is exempt)"},
		{ID: chkUseFields, Key: "badpackets.use_fields", Layer: 2, Severity: detection.SeverityMedium, Action: detection.ActionAlert, Decay: 0.1,
			Description: "a block placement or item use with impossible fields: 1.8 item use not at (-1,-1,-1) or with a cursor or an empty hand, 1.8-1.10 cursor beyond a block, face outside 0..5, hand not 0/1, non-finite cursor (mineflayer's 1.8 item use at y 255 with cursor -1 is exempt); alert only: client-side version translators rewrite these"},
		{ID: chkSequence, Key: "badpackets.sequence", Layer: 2, Severity: detection.SeverityMedium, Action: detection.ActionDrop, Decay: 0.1, Experimental: true,
			Description: "1.19+ block-prediction sequence of use item, place and dig start/finish not the last one + 1, or a cancelled dig with a sequence; experimental: mineflayer sends 0 for digs and placements"},
		{ID: chkSequenceNegative, Key: "crash.negative_sequence", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "a negative 1.19+ block-prediction sequence (vanilla counts up from 1; Grim CrashG)"},
	}
}

// interactionChecks is the interaction family's bookkeeping.
type interactionChecks struct {
	slotKnown bool              // p.self.heldSlot is what the client holds (no join, respawn or server-set slot since)
	seqKnown  bool              // lastSeq holds the last 1.19+ prediction sequence in this world
	lastSeq   int32             // 1.19+ block-prediction sequence
	bounds    interactionBounds // interaction_bounds.go
	brk       breakChecks       // interaction_break.go
}

func (l *interactionChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	if v := l.interact(p, pk); v.Outcome != Pass {
		return v
	}
	return l.brk.serverbound(p, pk)
}

func (l *interactionChecks) interact(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindHeldItemSlot:
		return l.heldSlot(p, pk)
	case packets.KindBlockDig:
		if v := l.dig(p, pk); v.Outcome != Pass {
			return v
		}
		return l.bounds.dig(p, pk)
	case packets.KindBlockPlace:
		if v := l.place(p, pk); v.Outcome != Pass {
			return v
		}
		return l.bounds.place(p, pk)
	case packets.KindUseItem:
		return l.useItem(p, pk)
	}
	return pass
}

// heldSlot checks a held-item change. The client sends one only when the
// slot differs from the one it last sent (1.8 syncCurrentPlayItem, later
// ensureHasSentCarriedItem; mineflayer's setQuickBarSlot likewise), so a
// repeat is impossible unless the server moved the slot in between: then
// vanilla and mineflayer echo the server's slot once.
func (l *interactionChecks) heldSlot(p *Player, pk *serverPacket) Verdict {
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

// maxDigStatus is the last player-action status a version knows; -1 means
// the version has statuses we do not know, so none is refused.
func maxDigStatus(protocol int32) int32 {
	switch {
	case protocol < mcproto.Protocol1_9:
		return digRelease
	case protocol < mcproto.Protocol1_21_11: // 1.21.11 adds a status we do not know (stab)
		return digSwapHands
	}
	return -1
}

// dig checks a player action (Grim BadPacketsL, BadPacketsH, CrashG).
// Vanilla sends the drop, release and swap actions with BlockPos.ZERO,
// Direction.DOWN and no prediction sequence; digging starts, finishes and
// predicts, aborts do not predict.
func (l *interactionChecks) dig(p *Player, pk *serverPacket) Verdict {
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
func (l *interactionChecks) sequence(p *Player, pk *serverPacket, seq int32) Verdict {
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
func (l *interactionChecks) abortSequence(p *Player, pk *serverPacket, seq int32) Verdict {
	switch {
	case seq < 0:
		return p.flag(chkSequenceNegative, 1, pk.now, "sequence", itoa(int64(seq)))
	case seq != 0 && p.on(chkSequence):
		return p.flag(chkSequence, 1, pk.now, "sequence", itoa(int64(seq)), "packet", "abort")
	}
	return pass
}

// place checks a block placement (Grim BadPacketsU for 1.8's item use).
func (l *interactionChecks) place(p *Player, pk *serverPacket) Verdict {
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
		proto < mcproto.Protocol1_11 && (b.CursorX*cursorScale > maxCursorByte || b.CursorY*cursorScale > maxCursorByte || b.CursorZ*cursorScale > maxCursorByte) {
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
func (l *interactionChecks) useItem8(p *Player, pk *serverPacket) Verdict {
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

func (l *interactionChecks) useItem(p *Player, pk *serverPacket) Verdict {
	u := &pk.useItem
	if u.Hand != packets.HandMain && u.Hand != packets.HandOff {
		return p.flag(chkUseFields, 1, pk.now, "hand", itoa(int64(u.Hand)))
	}
	if p.info.Protocol >= mcproto.Protocol1_19 {
		return l.sequence(p, pk, u.Sequence)
	}
	return pass
}

// clientbound forgets what the client reported when the server moves the
// held slot (the client echoes it once) or starts a new client player
// (join and respawn: vanilla resets these on its side).
func (l *interactionChecks) clientbound(p *Player, pk *clientPacket) {
	l.brk.clientbound(p, pk)
	switch pk.kind {
	case packets.KindJoinGame, packets.KindRespawn:
		l.slotKnown = false
		l.seqKnown = false
	case packets.KindHeldItemSlot:
		l.slotKnown = false
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
