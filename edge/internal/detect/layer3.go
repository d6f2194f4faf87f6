package detect

import (
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Layer 3: clocks and latency, on top of the acknowledgement clock, and the
// movement bookkeeping they need: which movement packets are client ticks
// (teleport answers and the 1.17–1.20.5 duplicate are not), the teleport
// queue, and whether the player may be riding something.

const (
	chkTxnRejected CheckID = layer3Base + iota
	chkProbeOrder
	chkTimerBalance
	chkReminder
	chkKeepAliveOrder
	chkProbeTimeout
	chkTeleportIgnored
)

const (
	// tickDuration is one client tick: vanilla runs 20 ticks a second.
	tickDuration = 50 * time.Millisecond
	// maxPendingTeleports bounds the teleport queue. Vanilla servers send
	// one teleport at a time and wait for its confirmation; a backend that
	// sends more overwrites the oldest, which then just goes unjudged.
	maxPendingTeleports = 8
	// keepAliveRing bounds the keep-alive ids remembered. Vanilla sends
	// one every 15 s and kicks after 30 s without an answer, so two or
	// three are ever outstanding.
	keepAliveRing = 16
	// stallGap is the silence between two tick packets after which the
	// client may owe catch-up ticks: two missed ticks. Shorter gaps are
	// within the drift.
	stallGap = 2 * tickDuration
	// pingWindow is half the span over which the lowest recent ping is
	// taken as the link's baseline (two windows are kept).
	pingWindow = 10 * time.Second
	// deathAnswerDelay is how long after a death a 1.8 teleport may go
	// unanswered: mineflayer delays its answer to the respawn teleport by
	// 1.5 s (physics.js), vanilla does not.
	deathAnswerDelay = 3 * time.Second
	// teleportMatchEpsilon is how close a position must be to a teleport's
	// target to be its answer. The client echoes the target's doubles
	// exactly; the slack only absorbs float formatting by other clients.
	teleportMatchEpsilon = 1e-4
	// ridingGraceTicks is how many tick packets riding evidence lasts:
	// riders up to 1.21.1 steer every tick (after their rotation), so
	// three ticks without a steer mean the player got off.
	ridingGraceTicks = 3
	// teleportGrace is how long a teleport waits for its answer before it
	// no longer excuses the player's position: mineflayer answers the
	// respawn teleport 1.5 s late, vanilla at once.
	teleportGrace = 3 * time.Second
	// timedOutMessage is what a player kicked by the probe timeout reads:
	// it is the vanilla wording, and an honest player on a dead link never
	// reads it anyway.
	timedOutMessage = "Timed out"
)

// Movement thresholds (vanilla LocalPlayer.sendPosition): a 1.9+ client
// sends a position only when it moved more than this, so the position the
// server knows can be this far off. 1.18.2 lowered it.
const (
	moveThreshold       = 0.03
	moveThreshold1_18_2 = 0.0002
	protocol1_17        = 755
	protocol1_18_2      = 758
	protocol1_21        = 767
)

func movementThreshold(protocol int32) float64 {
	if protocol >= protocol1_18_2 {
		return moveThreshold1_18_2
	}
	return moveThreshold
}

func layer3Specs() []Spec {
	return []Spec{
		{ID: chkTxnRejected, Key: "badpackets.txn_rejected", Layer: 3, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "an answer to the edge's window confirmation with accepted = false, which no vanilla client sends"},
		{ID: chkProbeOrder, Key: "latency.probe_order", Layer: 3, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 5, Decay: 0.1,
			Description: "an answer to the edge's probe that skips earlier probes: the client dropped or reordered them (ping-cancelling knockback bypasses)"},
		{ID: chkTimerBalance, Key: "timer.balance", Layer: 3, Severity: detection.SeverityMedium, Action: detection.ActionKick, KickVL: 60, Decay: 1,
			Description: "more client ticks than real time allows: +50 ms per tick packet against the probe clock, with a drift allowance (Grim Timer); the clock floor pauses after a client stall so catch-up ticks pass. Excess ticks are dropped",
			Params:      map[string]float64{"drift_ms": 120, "stall_slack_ms": 40, "max_stall_ms": 10000}},
		{ID: chkReminder, Key: "movement.reminder", Layer: 3, Severity: detection.SeverityLow, Action: detection.ActionAlert, Decay: 0.05,
			Description: "more movement packets in a row without a position than vanilla's 20-tick reminder allows (20 up to 1.8, 19 after) and no position for a few seconds; riders and respawns are exempt",
			Params:      map[string]float64{"max_flying_legacy": 20, "max_flying": 19, "min_gap_ms": 3000}},
		{ID: chkKeepAliveOrder, Key: "latency.keepalive_order", Layer: 3, Severity: detection.SeverityMedium, Action: detection.ActionAlert, Decay: 0.05,
			Description: "a keep-alive answer with an id the server never sent, or one that skips an earlier unanswered id"},
		{ID: chkProbeTimeout, Key: "latency.probe_timeout", Layer: 3, Severity: detection.SeverityMedium, Action: detection.ActionKick,
			Description: "one of the edge's probes unanswered for too long while the client keeps sending other packets: kicked as timed out",
			Params:      map[string]float64{"timeout_seconds": 60}},
		{ID: chkTeleportIgnored, Key: "movement.teleport_ignored", Layer: 3, Severity: detection.SeverityLow, Action: detection.ActionAlert, Experimental: true, Decay: 0.05,
			Description: "a probe sent after a server teleport is answered before the teleport is (confirmation on 1.9+, the position answer on 1.8)"},
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

// l3params are the tunables, read once per player: map lookups by name
// are too slow for every movement packet.
type l3params struct {
	loaded            bool
	drift, stallSlack time.Duration
	maxStall          time.Duration
	maxFlyingLegacy   int
	maxFlying         int
	reminderGap       time.Duration
	probeTimeout      time.Duration
}

type layer3State struct {
	prm l3params

	// tick is whether the packet being processed is a tick packet
	// (layer 4 reads it after layer 3 ran).
	tick bool

	// Timer (Grim's model): balance advances 50 ms per tick packet and is
	// floored at the probe clock minus the drift; ahead of now is too many
	// ticks.
	balance      time.Time
	timerStarted bool
	freezeUntil  time.Time // no floors before this: the client may owe catch-up ticks
	lastTick     time.Time
	pingWinStart time.Time
	pingMinCur   time.Duration
	pingMinPrev  time.Duration
	// tickEndSeen switches 1.21.2+ clients that send ClientTickEnd to
	// counting it; mineflayer never sends it.
	tickEndSeen    bool
	movesSinceTick uint8

	// Reminder.
	noPos   int
	lastPos time.Time
	rotOnly bool // the run so far is rotations only (how riders look on 1.21.2+)

	// Riding. The edge does not see passengers being set, so it infers
	// riding from the client: riders steer every tick up to 1.21.1 and
	// send vehicle moves while controlling; from 1.21.2 a passenger sends
	// rotations only, so after a mount attempt (an interaction) riding is
	// assumed until the next tick position.
	rideLeft   uint8 // tick packets the last riding evidence still covers
	rideSticky bool  // 1.21.2+: interacted and no position since

	tp        [maxPendingTeleports]pendingTeleport
	tpHead    int
	tpN       int
	lastDeath time.Time
	dead      bool
	timedOut  bool // flagged as timed out; again only after an answer

	ka        [keepAliveRing]int64
	kaHead    int
	kaN       int
	kaEvicted int // ids forgotten unanswered: that many unknown answers are excused
}

func (l *layer3State) load(p *Player) {
	if l.prm.loaded {
		return
	}
	ms := func(id CheckID, name string) time.Duration {
		return time.Duration(p.param(id, name) * float64(time.Millisecond))
	}
	l.prm = l3params{
		loaded:          true,
		drift:           ms(chkTimerBalance, "drift_ms"),
		stallSlack:      ms(chkTimerBalance, "stall_slack_ms"),
		maxStall:        ms(chkTimerBalance, "max_stall_ms"),
		maxFlyingLegacy: int(p.param(chkReminder, "max_flying_legacy")),
		maxFlying:       int(p.param(chkReminder, "max_flying")),
		reminderGap:     ms(chkReminder, "min_gap_ms"),
		probeTimeout:    time.Duration(p.param(chkProbeTimeout, "timeout_seconds") * float64(time.Second)),
	}
}

// onAnswer is called for every answer to one of our probes, after the
// clock took it in.
func (l *layer3State) onAnswer(p *Player, now time.Time, known bool, skipped int) Verdict {
	if !known || skipped > 0 {
		return p.flag(chkProbeOrder, 1, now, "skipped", itoa(int64(skipped)))
	}
	l.load(p)
	l.timedOut = false
	l.timerFloor(p, now)
	return l.teleportsIgnored(p, now)
}

// timerFloor lifts the balance to the probe clock minus the drift: a client
// that fell behind cannot bank the ticks it did not send. A delayed answer
// (ping above the link's baseline) means the client stalled and may send
// the ticks it owes right after, so floors pause for as long as it stalled.
func (l *layer3State) timerFloor(p *Player, now time.Time) {
	ping := p.clock.ping
	if l.pingWinStart.IsZero() || now.Sub(l.pingWinStart) > pingWindow {
		l.pingMinPrev, l.pingMinCur, l.pingWinStart = l.pingMinCur, ping, now
		if l.pingMinPrev == 0 {
			l.pingMinPrev = ping
		}
	} else {
		l.pingMinCur = min(l.pingMinCur, ping)
	}
	if excess := ping - min(l.pingMinCur, l.pingMinPrev); excess > l.prm.stallSlack {
		l.freeze(now, excess)
	}
	if now.Before(l.freezeUntil) {
		return
	}
	floor := p.clock.clock.Add(-l.prm.drift)
	if !l.timerStarted || l.balance.Before(floor) {
		l.balance = floor
		l.timerStarted = true
	}
}

func (l *layer3State) freeze(now time.Time, d time.Duration) {
	if until := now.Add(min(d, l.prm.maxStall)); until.After(l.freezeUntil) {
		l.freezeUntil = until
	}
}

func (l *layer3State) serverbound(p *Player, pk *serverPacket) Verdict {
	l.load(p)
	l.tick = false
	v := l.probeTimeout(p, pk)
	if v.Outcome == Kick {
		return v
	}
	switch pk.kind {
	case packets.KindPlayerPosition, packets.KindPlayerPositionLook, packets.KindPlayerLook, packets.KindPlayerOnGround:
		v = worse(v, l.movement(p, pk))
	case packets.KindTickEnd:
		l.tick = true
		l.tickEndSeen = true
		l.rideTick()
		l.movesSinceTick = 0
		v = worse(v, l.timerTick(p, pk.now))
	case packets.KindTeleportConfirm:
		l.confirmTeleport(pk.teleport.TeleportID)
	case packets.KindSteerVehicle, packets.KindVehicleMove:
		// Riders send one of these every tick up to 1.21.1 and while
		// steering since; they never send a position.
		l.rideLeft = ridingGraceTicks
		l.noPos = 0
	case packets.KindPlayerInput:
		l.rideLeft = ridingGraceTicks // sent by riders on input changes (1.21.2+)
	case packets.KindUseEntity:
		if pk.useEntity.Type != packets.InteractAttack { // mounting is an interaction
			l.rideLeft = ridingGraceTicks
			l.rideSticky = p.info.Protocol >= mcproto.Protocol1_21_2
		}
	case packets.KindKeepAlive:
		if pk.state == mcproto.StatePlay {
			v = worse(v, l.keepAliveAnswer(p, pk))
		}
	}
	return v
}

// probeTimeout kicks a client that keeps talking but stopped answering our
// probes. A client that sends nothing at all is closed by the relay's idle
// timeout instead.
func (l *layer3State) probeTimeout(p *Player, pk *serverPacket) Verdict {
	oldest, ok := p.clock.oldestOutstanding()
	if !ok || l.timedOut || pk.now.Sub(oldest) <= l.prm.probeTimeout {
		return pass
	}
	l.timedOut = true
	v := p.flag(chkProbeTimeout, 1, pk.now, "waited_ms", itoa(pk.now.Sub(oldest).Milliseconds()))
	if v.Outcome == Kick {
		v.Reason = timedOutMessage
	}
	return v
}

// movement classifies a movement packet and runs the timer and reminder.
func (l *layer3State) movement(p *Player, pk *serverPacket) Verdict {
	m := &pk.move
	answer := m.hasPos && m.hasLook && l.matchTeleport(m)
	tick := !answer && !l.isDuplicate(p, m)
	l.tick = tick
	v := pass
	if tick {
		counts := true
		if l.tickEndSeen {
			// ClientTickEnd is the tick; a second movement without one
			// in between means a tick boundary all the same.
			counts = l.movesSinceTick > 0
			if l.movesSinceTick < math.MaxUint8 {
				l.movesSinceTick++
			}
		}
		if counts {
			v = l.timerTick(p, pk.now)
		}
		l.rideTick()
		if m.hasPos { // walking, not riding
			l.rideLeft, l.rideSticky = 0, false
		}
	}
	return worse(v, l.reminder(p, pk))
}

// timerTick adds one tick to the balance.
func (l *layer3State) timerTick(p *Player, now time.Time) Verdict {
	if !l.lastTick.IsZero() {
		if gap := now.Sub(l.lastTick); gap > stallGap {
			l.freeze(now, gap)
		}
	}
	l.lastTick = now
	if !l.timerStarted || !p.on(chkTimerBalance) {
		return pass
	}
	l.balance = l.balance.Add(tickDuration)
	if !l.balance.After(now) {
		return pass
	}
	ahead := l.balance.Sub(now)
	l.balance = l.balance.Add(-tickDuration) // the flagged tick does not count twice
	return p.flag(chkTimerBalance, 1, now, "ahead_ms", itoa(ahead.Milliseconds()))
}

// isDuplicate recognises the extra position+rotation 1.17–1.20.5 clients
// send when using an item (MC-12363): same ground flag, within the movement
// threshold of the last position. Riders on those versions send a
// position+rotation only as that duplicate (Grim isMojangStupid).
func (l *layer3State) isDuplicate(p *Player, m *move) bool {
	proto := p.info.Protocol
	if proto < protocol1_17 || proto >= protocol1_21 || !m.hasPos || !m.hasLook || !p.self.havePos {
		return false
	}
	if l.riding() {
		return true
	}
	if m.onGround != p.self.onGround {
		return false
	}
	dx, dy, dz := m.x-p.self.x, m.y-p.self.y, m.z-p.self.z
	t := movementThreshold(proto)
	return dx*dx+dy*dy+dz*dz < t*t
}

// reminder counts movement packets without a position. Vanilla sends a
// position at least every 20 ticks (BadPacketsE); mineflayer every second
// of wall time, so after an event-loop stall its catch-up ticks can add a
// few: a flag needs both the count and a gap in time.
func (l *layer3State) reminder(p *Player, pk *serverPacket) Verdict {
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
	if l.noPos <= limit || pk.now.Sub(l.lastPos) <= l.prm.reminderGap || l.riding() || l.dead {
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

// matchTeleport reports whether a position+rotation answers a pending
// teleport and removes it (and any older ones the client skipped). After a
// confirmation (1.9+) the next position+rotation is the answer; otherwise
// the position must be the teleport's target.
func (l *layer3State) matchTeleport(m *move) bool {
	pos := [3]float64{m.x, m.y, m.z}
	for i := 0; i < l.tpN; i++ {
		t := &l.tp[(l.tpHead+i)%maxPendingTeleports]
		if t.confirmed || t.matches(pos) {
			l.tpHead = (l.tpHead + i + 1) % maxPendingTeleports
			l.tpN -= i + 1
			return true
		}
	}
	return false
}

func (t *pendingTeleport) matches(pos [3]float64) bool {
	for i := range pos {
		if t.relative&(1<<i) == 0 && math.Abs(pos[i]-t.target[i]) > teleportMatchEpsilon {
			return false
		}
	}
	return true
}

// confirmTeleport marks a teleport confirmed; older unconfirmed ones were
// superseded (the client confirms in order).
func (l *layer3State) confirmTeleport(id int32) {
	for i := 0; i < l.tpN; i++ {
		t := &l.tp[(l.tpHead+i)%maxPendingTeleports]
		if t.id == id && !t.confirmed {
			t.confirmed = true
			l.tpHead = (l.tpHead + i) % maxPendingTeleports
			l.tpN -= i
			return
		}
	}
}

// riding reports whether the player may be riding: its position as the
// server knows it then follows a vehicle the client does not report.
func (l *layer3State) riding() bool { return l.rideLeft > 0 || l.rideSticky }

func (l *layer3State) rideTick() {
	if l.rideLeft > 0 {
		l.rideLeft--
	}
}

// teleportPending reports whether a recent server teleport still waits for
// the client's position answer: until then the server's idea of the
// player's position is stale. Old ones stop counting, so a client cannot
// keep itself exempt by never answering.
func (l *layer3State) teleportPending(now time.Time) bool {
	for i := 0; i < l.tpN; i++ {
		if now.Sub(l.tp[(l.tpHead+i)%maxPendingTeleports].sent) < teleportGrace {
			return true
		}
	}
	return false
}

// teleportsIgnored flags a teleport the client should have handled before
// the probe it just answered (exp): the client processes packets in order,
// so by then a 1.9+ client has confirmed it and a 1.8 client has sent its
// position answer (1.8 has no confirmation).
func (l *layer3State) teleportsIgnored(p *Player, now time.Time) Verdict {
	v := pass
	for i := 0; i < l.tpN; i++ {
		t := &l.tp[(l.tpHead+i)%maxPendingTeleports]
		if t.noJudge || t.confirmed || p.clock.acked < t.seq {
			continue
		}
		t.noJudge = true // one flag per teleport
		v = worse(v, p.flag(chkTeleportIgnored, 1, now, "teleport_id", itoa(int64(t.id))))
	}
	return v
}

func (l *layer3State) clientbound(p *Player, pk *clientPacket) {
	switch pk.kind {
	case packets.KindSyncPlayerPosition:
		s, err := packets.DecodeSyncPlayerPosition(pk.data, p.info.Protocol)
		if err != nil {
			return
		}
		l.addTeleport(p, s, pk.now)
		l.noPos, l.lastPos = 0, pk.now
	case packets.KindJoinGame, packets.KindRespawn:
		l.noPos, l.lastPos, l.dead = 0, pk.now, false
		l.rideLeft, l.rideSticky = 0, false
		l.tpN = 0
	case packets.KindUpdateHealth:
		if health, ok := decodeHealth(pk.data); ok {
			if health <= 0 && !l.dead {
				l.lastDeath = pk.now
			}
			l.dead = health <= 0
		}
	case packets.KindKeepAlive:
		if k, err := packets.DecodeKeepAlive(pk.data, p.info.Protocol); err == nil {
			l.keepAliveSent(k.ID)
		}
	}
}

func (l *layer3State) addTeleport(p *Player, s packets.SyncPlayerPosition, now time.Time) {
	t := pendingTeleport{id: s.TeleportID, target: [3]float64{s.X, s.Y, s.Z}, seq: p.clock.nextSeq, sent: now}
	for i, bit := range [3]uint32{packets.RelX, packets.RelY, packets.RelZ} {
		if s.Flags&bit != 0 {
			t.relative |= 1 << i
		}
	}
	// mineflayer answers a teleport that follows a death 1.5 s late, after
	// later probes; vanilla answers at once.
	t.noJudge = l.dead || (!l.lastDeath.IsZero() && now.Sub(l.lastDeath) < deathAnswerDelay)
	if l.tpN == maxPendingTeleports {
		l.tpHead = (l.tpHead + 1) % maxPendingTeleports
		l.tpN--
	}
	l.tp[(l.tpHead+l.tpN)%maxPendingTeleports] = t
	l.tpN++
}

// keepAliveSent remembers a keep-alive id the backend sent.
func (l *layer3State) keepAliveSent(id int64) {
	if l.kaN == keepAliveRing {
		l.kaHead = (l.kaHead + 1) % keepAliveRing
		l.kaN--
		l.kaEvicted++
	}
	l.ka[(l.kaHead+l.kaN)%keepAliveRing] = id
	l.kaN++
}

// keepAliveAnswer matches a client keep-alive with the ids sent. Clients
// answer each keep-alive once and in order (vanilla answers them on the
// network thread as they arrive; Grim BadPacketsO, KeepAliveOrder).
func (l *layer3State) keepAliveAnswer(p *Player, pk *serverPacket) Verdict {
	id := pk.keepAlive.ID
	for i := 0; i < l.kaN; i++ {
		if l.ka[(l.kaHead+i)%keepAliveRing] != id {
			continue
		}
		l.kaHead = (l.kaHead + i + 1) % keepAliveRing
		l.kaN -= i + 1
		if i > 0 {
			return p.flag(chkKeepAliveOrder, 1, pk.now, "id", itoa(id), "skipped", itoa(int64(i)))
		}
		return pass
	}
	if l.kaEvicted > 0 {
		l.kaEvicted--
		return pass
	}
	return p.flag(chkKeepAliveOrder, 1, pk.now, "id", itoa(id), "unknown", "true")
}

// decodeHealth reads the health of UpdateHealth (a float first in every
// version).
func decodeHealth(data []byte) (float32, bool) {
	r := mcproto.NewReader(data)
	h := r.Float32()
	return h, r.Err() == nil
}
