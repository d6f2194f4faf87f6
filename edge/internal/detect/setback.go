package detect

import (
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The setback action (docs/DETECTIONS.md, "Actions"): a check that judges
// the player's position may, instead of dropping the move alone, move the
// client back to the last position the backend saw. The edge sends its own
// position packet (Verdict.Packet on Outcome Setback, which the relay
// writes to the client like a probe), drops every movement packet until the
// client has answered it, and swallows the answer, so the backend never
// sees the cheated position nor a teleport it did not send.
//
// Teleport ids (1.9+): a vanilla server counts its own up from 0 and wraps
// from MaxInt32 back to 0 (ServerGamePacketListenerImpl.teleport), so they
// are never negative; the edge's are the 65,536 most negative int32s
// (setbackIDBase + a sequence), which no backend counter reaches. 1.8 has
// no teleport id: the client answers with a position and rotation at the
// target, which the edge recognises by position (a setback is only ever
// sent while none of the backend's teleports is in flight: the movement
// checks stand down then, boundsExempt).

const (
	// setbackIDBase is the first of the edge's teleport ids: MinInt32.
	setbackIDBase = math.MinInt32
	// setbackIDRange is how many ids the edge cycles through.
	setbackIDRange = 1 << 16
	// setbackResend is how long the edge waits for the answer before it
	// sends the setback again: a client that processes packets answers
	// within its ping; one that does not stays frozen for the backend,
	// which is the point, but a resend covers a packet the client's
	// connection code dropped while changing state.
	setbackResend = 2 * time.Second
)

// setbackState is the edge's own teleport in flight.
type setbackState struct {
	pending   bool
	confirmed bool // 1.9+: the client's TeleportConfirm for it was seen
	id        int32
	seq       uint32
	target    [3]float64
	sent      time.Time
	packet    []byte // the last setback packet, reused
}

// isSetbackID reports whether a teleport id is in the edge's range.
func isSetbackID(id int32) bool { return id >= setbackIDBase && id < setbackIDBase+setbackIDRange }

// setbackServerbound handles client packets while a setback is in flight.
// own reports that the packet is the edge's business (the confirmation, the
// answering position, or a movement the backend must not see): it is
// dropped and the checks do not judge it. v may carry a resent setback.
func (p *Player) setbackServerbound(pk *serverPacket) (own bool, v Verdict) {
	sb := &p.setback
	switch pk.kind {
	case packets.KindTeleportConfirm:
		id := pk.teleport.TeleportID
		if !isSetbackID(id) {
			return false, pass
		}
		// Ours, pending or a late duplicate: the backend never sent it.
		if sb.pending && id == sb.id {
			sb.confirmed = true
		}
		return true, drop
	case packets.KindPlayerPosition, packets.KindPlayerPositionLook, packets.KindPlayerLook, packets.KindPlayerOnGround, packets.KindVehicleMove:
	default:
		return false, pass
	}
	if !sb.pending {
		return false, pass
	}
	m := &pk.move
	if pk.kind == packets.KindPlayerPositionLook && (sb.confirmed || p.info.Protocol < mcproto.Protocol1_9) &&
		math.Abs(m.x-sb.target[0]) <= teleportMatchEpsilon && math.Abs(m.y-sb.target[1]) <= teleportMatchEpsilon &&
		math.Abs(m.z-sb.target[2]) <= teleportMatchEpsilon {
		// The answer: the client is back where the backend saw it last.
		sb.pending, sb.confirmed = false, false
		p.self.x, p.self.y, p.self.z, p.self.havePos = m.x, m.y, m.z, true
		p.self.yaw, p.self.pitch, p.self.haveLook = m.yaw, m.pitch, true
		p.self.onGround = m.onGround
		p.movement.setbackAnswered(p, m)
		return true, drop
	}
	if pk.now.Sub(sb.sent) >= setbackResend {
		return true, p.sendSetback(pk.now, true)
	}
	return true, drop
}

// setbackVerdict turns a flag's Setback outcome into the packet that goes
// to the client: back to the last position the backend saw. With no such
// position (the bounds have not accepted one yet) or a setback already in
// flight, the move is only dropped.
func (p *Player) setbackVerdict(v Verdict, now time.Time) Verdict {
	if v.Outcome != Setback {
		return v
	}
	if p.setback.pending || !p.movement.motion.have {
		return drop
	}
	mo := &p.movement.motion
	p.setback.target = [3]float64{mo.x, mo.y, mo.z}
	p.setback.id = setbackIDBase + int32(p.setback.seq%setbackIDRange)
	p.setback.seq++
	return p.sendSetback(now, false)
}

// sendSetback builds the setback packet for the current target; resend
// keeps its id.
func (p *Player) sendSetback(now time.Time, resend bool) Verdict {
	sb := &p.setback
	pid := int32(-1)
	if p.table != nil {
		pid = p.table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindSyncPlayerPosition)
	}
	if pid < 0 {
		return drop
	}
	// Rotation relative (zero: the client keeps its look); position and,
	// from 1.21.2, velocity absolute: the client stops where it is put.
	pos := packets.SyncPlayerPosition{TeleportID: sb.id, X: sb.target[0], Y: sb.target[1], Z: sb.target[2],
		Flags: packets.RelYaw | packets.RelPitch}
	sb.packet = mcproto.AppendVarInt(sb.packet[:0], pid)
	sb.packet = pos.AppendData(sb.packet, p.info.Protocol)
	sb.pending, sb.sent = true, now
	if !resend {
		sb.confirmed = false
	}
	return Verdict{Outcome: Setback, Packet: sb.packet}
}

// setbackAnswered restarts the bounds at the setback's target: the backend
// saw nothing since it.
func (l *movementChecks) setbackAnswered(p *Player, m *move) {
	mo := &l.motion
	mo.have, mo.x, mo.y, mo.z, mo.vy, mo.fallSpeed = true, m.x, m.y, m.z, 0, 0
	l.ground(m.onGround)
	l.worldMotion = worldMotion{}
}

// SetbackPending reports whether the edge's own teleport waits for the
// client's answer (movement is dropped until then).
func (p *Player) SetbackPending() bool { return p.setback.pending }
