package detect

import (
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Timer and probes: the client's clock against the edge's acknowledgement
// clock (clock.go). Too many ticks for the time that passed, answers to the
// edge's probes that skip some or never come, keep-alive answers the server
// never asked for.

const (
	chkTxnRejected CheckID = timerBase + iota
	chkProbeOrder
	chkTimerBalance
	chkKeepAliveOrder
	chkProbeTimeout
)

const (
	// keepAliveRing bounds the keep-alive ids remembered. Vanilla sends
	// one every 15 s and kicks after 30 s without an answer, so two or
	// three are ever outstanding.
	keepAliveRing = 16
	// stallGap is the silence between two tick packets after which the
	// client may owe catch-up ticks: two missed ticks. Shorter gaps are
	// within the drift.
	stallGap = 2 * tickDuration
	// stepRemainder is the time a client's fixed-step loop (vanilla's
	// timer, mineflayer's physics accumulator) carries without having paid
	// a tick for it yet: up to one tick. With a call late by up to stallGap
	// (not a stall, so nothing freezes the floor) a client can be stallGap
	// + stepRemainder = 150 ms behind real time when it answers a probe,
	// and a loaded client's event loop answers the probes that arrived
	// while it was busy before its overdue timer pays those ticks. The
	// drift (120 ms by default) covers the late call and network jitter;
	// the floor leaves the remainder on top, or the next ticks come up to
	// ~30 ms "ahead" of the clock (seen on a loaded machine: 10–17 ms).
	stepRemainder = tickDuration
	// pingWindow is half the span over which the lowest recent ping is
	// taken as the link's baseline (two windows are kept).
	pingWindow = 10 * time.Second
	// timedOutMessage is what a player kicked by the probe timeout reads:
	// it is the vanilla wording, and an honest player on a dead link never
	// reads it anyway.
	timedOutMessage = "Timed out"
)

func timerSpecs() []Spec {
	return []Spec{
		{ID: chkTxnRejected, Key: "badpackets.txn_rejected", Layer: 3, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "an answer to the edge's window confirmation with accepted = false, which no vanilla client sends"},
		{ID: chkProbeOrder, Key: "latency.probe_order", Layer: 3, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 5, Decay: 0.1,
			Description: "an answer to the edge's probe that skips earlier probes: the client dropped or reordered them (ping-cancelling knockback bypasses)"},
		{ID: chkTimerBalance, Key: "timer.balance", Layer: 3, Severity: detection.SeverityMedium, Action: detection.ActionKick, KickVL: 60, Decay: 1,
			Description: "more client ticks than real time allows: +50 ms per tick packet against the probe clock, with a drift allowance plus one tick for the time a client's fixed-step loop has not paid yet (Grim Timer); the clock floor pauses after a client stall so catch-up ticks pass. Excess ticks are dropped",
			Params:      map[string]float64{"drift_ms": 120, "stall_slack_ms": 40, "max_stall_ms": 10000}},
		{ID: chkKeepAliveOrder, Key: "latency.keepalive_order", Layer: 3, Severity: detection.SeverityMedium, Action: detection.ActionAlert, Decay: 0.05,
			Description: "a keep-alive answer with an id the server never sent, or one that skips an earlier unanswered id"},
		{ID: chkProbeTimeout, Key: "latency.probe_timeout", Layer: 3, Severity: detection.SeverityMedium, Action: detection.ActionKick,
			Description: "one of the edge's probes unanswered for too long while the client keeps sending other packets: kicked as timed out",
			Params:      map[string]float64{"timeout_seconds": 60}},
	}
}

// timerParams are the tunables, read once per player: map lookups by name
// are too slow for every movement packet.
type timerParams struct {
	loaded            bool
	drift, stallSlack time.Duration
	maxStall          time.Duration
	probeTimeout      time.Duration
}

// timerChecks is the timer family's bookkeeping.
type timerChecks struct {
	prm timerParams

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

	timedOut bool // flagged as timed out; again only after an answer

	ka        [keepAliveRing]int64
	kaHead    int
	kaN       int
	kaEvicted int // ids forgotten unanswered: that many unknown answers are excused
}

func (l *timerChecks) load(p *Player) {
	if l.prm.loaded {
		return
	}
	l.prm = timerParams{
		loaded:       true,
		drift:        paramDuration(p, chkTimerBalance, "drift_ms"),
		stallSlack:   paramDuration(p, chkTimerBalance, "stall_slack_ms"),
		maxStall:     paramDuration(p, chkTimerBalance, "max_stall_ms"),
		probeTimeout: time.Duration(p.param(chkProbeTimeout, "timeout_seconds") * float64(time.Second)),
	}
}

// onAnswer is called for every answer to one of our probes, after the
// clock took it in.
func (l *timerChecks) onAnswer(p *Player, now time.Time, known bool, skipped int) Verdict {
	if !known || skipped > 0 {
		return p.flag(chkProbeOrder, 1, now, "skipped", itoa(int64(skipped)))
	}
	l.load(p)
	l.timedOut = false
	l.timerFloor(p, now)
	return pass
}

// timerFloor lifts the balance to the probe clock minus the drift and the
// step remainder (stepRemainder): a client
// that fell behind cannot bank the ticks it did not send. A delayed answer
// (ping above the link's baseline) means the client stalled and may send
// the ticks it owes right after, so floors pause for as long as it stalled.
func (l *timerChecks) timerFloor(p *Player, now time.Time) {
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
	floor := p.clock.clock.Add(-l.prm.drift - stepRemainder)
	if !l.timerStarted || l.balance.Before(floor) {
		l.balance = floor
		l.timerStarted = true
	}
}

func (l *timerChecks) freeze(now time.Time, d time.Duration) {
	if until := now.Add(min(d, l.prm.maxStall)); until.After(l.freezeUntil) {
		l.freezeUntil = until
	}
}

func (l *timerChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	l.load(p)
	v := l.probeTimeout(p, pk)
	if v.Outcome == Kick {
		return v
	}
	if pk.timerTick {
		v = worse(v, l.timerTick(p, pk.now))
	}
	if pk.kind == packets.KindKeepAlive && pk.state == mcproto.StatePlay {
		v = worse(v, l.keepAliveAnswer(p, pk))
	}
	return v
}

// probeTimeout kicks a client that keeps talking but stopped answering our
// probes. A client that sends nothing at all is closed by the relay's idle
// timeout instead.
func (l *timerChecks) probeTimeout(p *Player, pk *serverPacket) Verdict {
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

// timerTick adds one tick to the balance.
func (l *timerChecks) timerTick(p *Player, now time.Time) Verdict {
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

func (l *timerChecks) clientbound(p *Player, pk *clientPacket) {
	if pk.kind == packets.KindKeepAlive {
		if k, err := packets.DecodeKeepAlive(pk.data, p.info.Protocol); err == nil {
			l.keepAliveSent(k.ID)
		}
	}
}

// keepAliveSent remembers a keep-alive id the backend sent.
func (l *timerChecks) keepAliveSent(id int64) {
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
func (l *timerChecks) keepAliveAnswer(p *Player, pk *serverPacket) Verdict {
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
