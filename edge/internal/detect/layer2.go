package detect

import (
	"math"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Layer 2: impossible values. A vanilla client cannot send these, so the
// defaults drop the packet and kick (detections.md, layer 2 and the crash
// rows of layer 0 that need decoded fields).

const (
	chkMoveNonFinite CheckID = layer2Base + iota
	chkMoveOutOfWorld
	chkInvalidPitch
	chkSlotRange
)

// maxHorizontal is vanilla's world border limit for movement packets
// (ServerGamePacketListenerImpl rejects |x|, |z| above 3.0E7).
const maxHorizontal = 2.9999999e7

func layer2Specs() []Spec {
	return []Spec{
		{ID: chkMoveNonFinite, Key: "crash.move_non_finite", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionKick,
			Description: "a movement packet with NaN or infinite coordinates or rotation (vanilla kicks too)"},
		{ID: chkMoveOutOfWorld, Key: "crash.move_out_of_world", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionKick,
			Description: "a movement packet beyond the world border (|x| or |z| > 2.9999999E7) or with y beyond the int range"},
		{ID: chkInvalidPitch, Key: "badpackets.invalid_pitch", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 3, Decay: 0.05,
			Description: "a rotation with |pitch| > 90 degrees"},
		{ID: chkSlotRange, Key: "badpackets.slot_range", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "a held-item change to a slot outside 0..8"},
	}
}

type layer2State struct{}

func (l *layer2State) serverbound(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindPlayerPosition, packets.KindPlayerPositionLook, packets.KindPlayerLook:
		return l.move(p, pk)
	case packets.KindHeldItemSlot:
		if s := pk.slot.Slot; s < 0 || s > 8 {
			return p.flag(chkSlotRange, 1, pk.now, "slot", itoa(int64(s)))
		}
	}
	return pass
}

func (l *layer2State) move(p *Player, pk *serverPacket) Verdict {
	m := &pk.move
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

func (l *layer2State) clientbound(p *Player, pk *clientPacket) {}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
