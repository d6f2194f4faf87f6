package detect

import (
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The per-player state several check families read. Each family keeps its
// own bookkeeping in its own type; what more than one of them needs lives
// here, on the Player, written in one place: what the server granted (game
// mode, abilities) bound to the acknowledgement clock, whether the player
// is alive, the teleports the client still owes an answer, whether it may
// be riding, and which movement packets are client ticks.

const (
	// tickDuration is one client tick: vanilla runs 20 ticks a second.
	tickDuration = 50 * time.Millisecond
	// maxPendingTeleports bounds the teleport queue. Vanilla servers send
	// one teleport at a time and wait for its confirmation; a backend that
	// sends more overwrites the oldest, which then just goes unjudged.
	maxPendingTeleports = 8
	// teleportMatchEpsilon is how close a position must be to a teleport's
	// target to be its answer. The client echoes the target's doubles
	// exactly; the slack only absorbs float formatting by other clients.
	teleportMatchEpsilon = 1e-4
	// teleportGrace is how long a teleport waits for its answer before it
	// no longer excuses the player's position: mineflayer answers the
	// respawn teleport 1.5 s late, vanilla at once.
	teleportGrace = 3 * time.Second
	// deathAnswerDelay is how long after a death a 1.8 teleport may go
	// unanswered: mineflayer delays its answer to the respawn teleport by
	// 1.5 s (physics.js), vanilla does not.
	deathAnswerDelay = 3 * time.Second
	// ridingGraceTicks is how many tick packets riding evidence lasts:
	// riders up to 1.21.1 steer every tick (after their rotation), so
	// three ticks without a steer mean the player got off.
	ridingGraceTicks = 3
)

// Movement thresholds (vanilla LocalPlayer.sendPosition): a client sends a
// position only when it moved more than this since the last one it sent
// (or every 20 ticks), so the position the server knows can be this far
// off. 1.18.2 lowered it.
const (
	moveThreshold       = 0.03
	moveThreshold1_18_2 = 0.0002
)

func movementThreshold(protocol int32) float64 {
	if protocol >= mcproto.Protocol1_18_2 {
		return moveThreshold1_18_2
	}
	return moveThreshold
}

// Clientbound ability flags (ClientboundPlayerAbilitiesPacket).
const (
	abilityMayFly     = 0x04
	abilityInstabuild = 0x08
	// gameEventChangeGameMode is GameEventPacket.CHANGE_GAME_MODE: the
	// float value is the new game mode.
	gameEventChangeGameMode = 3
)

// selfState is what the server has told the client about the player and
// what the client has said about itself.
type selfState struct {
	entityID     int32
	haveEntityID bool
	// caps is the game mode and abilities the server granted, bound to
	// the acknowledgement clock; caps.gameMode is the latest one sent.
	caps       serverCaps
	x, y, z    float64
	yaw, pitch float32
	haveLook   bool // the client has sent its rotation
	onGround   bool
	havePos    bool
	heldSlot   int16
	dead       bool      // the server's last health update was 0 or less
	lastDeath  time.Time // when it last said so
}

// gameMode is the latest game mode the server sent (survival 0, creative
// 1, adventure 2, spectator 3).
func (s *selfState) gameMode() uint8 { return s.caps.gameMode }

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
// sent after it is answered (docs/DETECTIONS.md, "The acknowledgement
// clock"). Until then the client may act under the old or the new state.
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

// pendingTeleport is a server teleport the client has not answered with its
// position yet.
type pendingTeleport struct {
	id        int32
	target    [3]float64
	relative  uint8  // bit i: component i is relative, any value matches
	seq       uint32 // first probe sent after the teleport
	sent      time.Time
	confirmed bool // TeleportConfirm seen (1.9+)
	noJudge   bool // sent right after a death (mineflayer quirk) or already judged
}

func (t *pendingTeleport) matches(pos [3]float64) bool {
	for i := range pos {
		if t.relative&(1<<i) == 0 && math.Abs(pos[i]-t.target[i]) > teleportMatchEpsilon {
			return false
		}
	}
	return true
}

// teleportQueue holds the server's teleports the client has not answered,
// oldest first, in a fixed ring.
type teleportQueue struct {
	tp   [maxPendingTeleports]pendingTeleport
	head int
	n    int
}

func (q *teleportQueue) at(i int) *pendingTeleport { return &q.tp[(q.head+i)%maxPendingTeleports] }

func (q *teleportQueue) clear() { q.n = 0 }

func (q *teleportQueue) add(t pendingTeleport) {
	if q.n == maxPendingTeleports {
		q.head = (q.head + 1) % maxPendingTeleports
		q.n--
	}
	q.tp[(q.head+q.n)%maxPendingTeleports] = t
	q.n++
}

// match reports whether a position+rotation answers a pending teleport and
// removes it (and any older ones the client skipped). After a confirmation
// (1.9+) the next position+rotation is the answer; otherwise the position
// must be the teleport's target.
func (q *teleportQueue) match(m *move) bool {
	pos := [3]float64{m.x, m.y, m.z}
	for i := 0; i < q.n; i++ {
		t := q.at(i)
		if t.confirmed || t.matches(pos) {
			q.head = (q.head + i + 1) % maxPendingTeleports
			q.n -= i + 1
			return true
		}
	}
	return false
}

// confirm marks a teleport confirmed; older unconfirmed ones were
// superseded (the client confirms in order).
func (q *teleportQueue) confirm(id int32) {
	for i := 0; i < q.n; i++ {
		t := q.at(i)
		if t.id == id && !t.confirmed {
			t.confirmed = true
			q.head = (q.head + i) % maxPendingTeleports
			q.n -= i
			return
		}
	}
}

// pending reports whether a recent server teleport still waits for the
// client's position answer: until then the server's idea of the player's
// position is stale. Old ones stop counting, so a client cannot keep
// itself exempt by never answering.
func (q *teleportQueue) pending(now time.Time) bool {
	for i := 0; i < q.n; i++ {
		if now.Sub(q.at(i).sent) < teleportGrace {
			return true
		}
	}
	return false
}

// riding infers whether the player may be riding. The edge does not see
// passengers being set, so it takes the client's word: riders steer every
// tick up to 1.21.1 and send vehicle moves while controlling; from 1.21.2
// a passenger sends rotations only, so after a mount attempt (an
// interaction) riding is assumed until the next tick position.
type riding struct {
	left   uint8 // tick packets the last riding evidence still covers
	sticky bool  // 1.21.2+: interacted and no position since
}

// may reports whether the player may be riding: its position as the server
// knows it then follows a vehicle the client does not report.
func (r *riding) may() bool { return r.left > 0 || r.sticky }

func (r *riding) evidence() { r.left = ridingGraceTicks }

func (r *riding) tick() {
	if r.left > 0 {
		r.left--
	}
}

func (r *riding) reset() { *r = riding{} }

// ticks classifies serverbound packets into client ticks (docs/DETECTIONS.md,
// "How the checks work"): a movement packet is a tick unless it answers a
// teleport or is the 1.17–1.20.5 duplicate; on 1.21.2+ ClientTickEnd is one
// too.
type ticks struct {
	// tickEndSeen switches 1.21.2+ clients that send ClientTickEnd to
	// counting it; mineflayer never sends it.
	tickEndSeen    bool
	movesSinceTick uint8
}

// classify marks pk's tick flags and keeps the shared movement state
// (teleports, riding) up to date. It runs before the checks.
func (p *Player) classify(pk *serverPacket) {
	switch pk.kind {
	case packets.KindPlayerPosition, packets.KindPlayerPositionLook, packets.KindPlayerLook, packets.KindPlayerOnGround:
		m := &pk.move
		pk.teleportAnswer = m.hasPos && m.hasLook && p.teleports.match(m)
		pk.tick = !pk.teleportAnswer && !p.isDuplicate(m)
		if !pk.tick {
			return
		}
		pk.timerTick = true
		if p.ticks.tickEndSeen {
			// ClientTickEnd is the tick; a second movement without one
			// in between means a tick boundary all the same.
			pk.timerTick = p.ticks.movesSinceTick > 0
			if p.ticks.movesSinceTick < math.MaxUint8 {
				p.ticks.movesSinceTick++
			}
		}
		p.riding.tick()
		if m.hasPos { // walking, not riding
			p.riding.reset()
		}
	case packets.KindTickEnd:
		pk.tick, pk.timerTick = true, true
		p.ticks.tickEndSeen = true
		p.riding.tick()
		p.ticks.movesSinceTick = 0
	case packets.KindTeleportConfirm:
		p.teleports.confirm(pk.teleport.TeleportID)
	case packets.KindSteerVehicle, packets.KindVehicleMove:
		// Riders send one of these every tick up to 1.21.1 and while
		// steering since; they never send a position.
		p.riding.evidence()
	case packets.KindPlayerInput:
		p.riding.evidence() // sent by riders on input changes (1.21.2+)
	case packets.KindUseEntity:
		if pk.useEntity.Type != packets.InteractAttack { // mounting is an interaction
			p.riding.evidence()
			p.riding.sticky = p.info.Protocol >= mcproto.Protocol1_21_2
		}
	}
}

// isDuplicate recognises the extra position+rotation 1.17–1.20.5 clients
// send when using an item (MC-12363): same ground flag, within the movement
// threshold of the last position. Riders on those versions send a
// position+rotation only as that duplicate (Grim isMojangStupid).
func (p *Player) isDuplicate(m *move) bool {
	proto := p.info.Protocol
	if proto < mcproto.Protocol1_17 || proto >= mcproto.Protocol1_21 || !m.hasPos || !m.hasLook || !p.self.havePos {
		return false
	}
	if p.riding.may() {
		return true
	}
	if m.onGround != p.self.onGround {
		return false
	}
	dx, dy, dz := m.x-p.self.x, m.y-p.self.y, m.z-p.self.z
	t := movementThreshold(proto)
	return dx*dx+dy*dy+dz*dz < t*t
}

// clientboundState updates the shared state from a server packet, before
// the families' hooks run.
func (p *Player) clientboundState(pk *clientPacket) {
	switch pk.kind {
	case packets.KindJoinGame:
		gm := p.self.caps.gameMode
		if j, err := packets.DecodeJoinGame(pk.data, p.info.Protocol); err == nil {
			p.self.entityID, p.self.haveEntityID, gm = j.EntityID, true, j.GameMode
		}
		p.self.caps.reset(gm, p.self.caps.abilities)
		p.newWorld(pk.now)
	case packets.KindRespawn:
		if r, err := packets.DecodeRespawn(pk.data, p.info.Protocol); err == nil {
			p.self.caps.change(r.GameMode, p.self.caps.abilities, p.clock.nextSeq)
		}
		p.newWorld(pk.now)
	case packets.KindGameStateChange:
		r := mcproto.NewReader(pk.data)
		reason, value := r.Byte(), r.Float32()
		if r.Finish() == nil && reason == gameEventChangeGameMode && value >= 0 && value <= packets.GameModeSpectator {
			p.self.caps.change(uint8(value), p.self.caps.abilities, p.clock.nextSeq)
		}
	case packets.KindPlayerAbilitiesClientbound:
		r := mcproto.NewReader(pk.data)
		flags := r.Byte()
		r.Float32() // flying speed
		r.Float32() // walking speed / field of view modifier
		if r.Finish() == nil {
			p.self.caps.change(p.self.caps.gameMode, flags, p.clock.nextSeq)
		}
	case packets.KindSyncPlayerPosition:
		if s, err := packets.DecodeSyncPlayerPosition(pk.data, p.info.Protocol); err == nil {
			p.addTeleport(s, pk.now)
			pk.teleport = true
		}
	case packets.KindUpdateHealth:
		if health, ok := decodeHealth(pk.data); ok {
			if health <= 0 && !p.self.dead {
				p.self.lastDeath = pk.now
			}
			p.self.dead = health <= 0
		}
	}
}

// newWorld is a join or respawn: the client starts a new player in a new
// world, alive, on foot, with no teleport to answer.
func (p *Player) newWorld(now time.Time) {
	p.self.dead = false
	p.riding.reset()
	p.teleports.clear()
	p.setback.pending = false // the server places the player anew
}

func (p *Player) addTeleport(s packets.SyncPlayerPosition, now time.Time) {
	t := pendingTeleport{id: s.TeleportID, target: [3]float64{s.X, s.Y, s.Z}, seq: p.clock.nextSeq, sent: now}
	for i, bit := range [3]uint32{packets.RelX, packets.RelY, packets.RelZ} {
		if s.Flags&bit != 0 {
			t.relative |= 1 << i
		}
	}
	// mineflayer answers a teleport that follows a death 1.5 s late, after
	// later probes; vanilla answers at once.
	t.noJudge = p.self.dead || (!p.self.lastDeath.IsZero() && now.Sub(p.self.lastDeath) < deathAnswerDelay)
	p.teleports.add(t)
}

// decodeHealth reads the health of UpdateHealth (a float first in every
// version).
func decodeHealth(data []byte) (float32, bool) {
	r := mcproto.NewReader(data)
	h := r.Float32()
	return h, r.Err() == nil
}
