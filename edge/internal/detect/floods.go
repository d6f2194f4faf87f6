package detect

import (
	"time"

	"github.com/rustguard/rustguard/shared/detection"
)

// Floods and undecodable packets (layer 0). Framing errors (frame widths,
// state caps, compression rules, trailing bytes in handshake and login) are
// caught by mcproto and edge/internal/conn before a packet gets here; what
// remains is malformed play packets and rates.

const (
	chkMalformed CheckID = floodBase + iota
	chkFloodPackets
	chkFloodBytes
	chkCompressRate
)

func floodSpecs() []Spec {
	return []Spec{
		{ID: chkMalformed, Key: "frame.size", Layer: 0, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "a play or configuration packet that does not decode: wrong size, trailing bytes, a string or array over its limit"},
		{ID: chkFloodPackets, Key: "flood.packets", Layer: 0, Severity: detection.SeverityMedium, Action: detection.ActionKick,
			Description: "more client packets per second than the budget, averaged over a window (Paper's packet limiter: 500/s over 7 s)",
			Params:      map[string]float64{"rate": 500, "window_seconds": 7}},
		{ID: chkFloodBytes, Key: "flood.bytes", Layer: 0, Severity: detection.SeverityMedium, Action: detection.ActionKick,
			Description: "more client bytes per second than the budget, averaged over a window (Sierra: 64,000 B/s)",
			Params:      map[string]float64{"rate": 64000, "window_seconds": 7}},
		{ID: chkCompressRate, Key: "compress.rate", Layer: 0, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "more decompressed bytes per second than the budget: compression bombs (Velocity: 5,242,880 B/s over 7 s)",
			Params:      map[string]float64{"rate": 5242880, "window_seconds": 7}},
	}
}

// bucket is a token bucket holding rate×window tokens, refilled at rate per
// second: the average over the window may not exceed rate. It is not a
// rate.Limiter on purpose: it runs on every packet (floods, chat, digging),
// where a limiter's mutex and its 80 bytes per budget would be paid for
// nothing (a Player is used by one goroutine at a time), and its rate and
// window are the policy's parameters, read at each call so a reload applies
// at once. LogSink, which runs per event, uses rate.Limiter.
type bucket struct {
	tokens float64
	last   time.Time
}

// take spends n tokens and reports whether the budget allowed it.
func (b *bucket) take(n, rate, window float64, now time.Time) bool {
	if b.fill(rate, window, now) < n {
		return false
	}
	b.tokens -= n
	return true
}

// fill refills the bucket up to now and returns its tokens. A cost known
// only afterwards is paid by taking it off tokens, which may then go
// below zero.
func (b *bucket) fill(rate, window float64, now time.Time) float64 {
	capacity := rate * window
	if b.last.IsZero() {
		b.tokens = capacity
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(capacity, b.tokens+dt*rate)
	}
	b.last = now
	return b.tokens
}

// floodChecks counts every client packet against the rate budgets.
type floodChecks struct {
	packets, bytes, inflate bucket
}

func (l *floodChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	v := pass
	if p.on(chkFloodPackets) && !p.takeRate(chkFloodPackets, &l.packets, 1, pk.now) {
		v = worse(v, p.flag(chkFloodPackets, 1, pk.now, "kind", pk.kind.String()))
	}
	if p.on(chkFloodBytes) && !p.takeRate(chkFloodBytes, &l.bytes, float64(len(pk.data)+1), pk.now) {
		v = worse(v, p.flag(chkFloodBytes, 1, pk.now, "kind", pk.kind.String(), "bytes", itoa(int64(len(pk.data)))))
	}
	if pk.inflated > 0 && p.on(chkCompressRate) && !p.takeRate(chkCompressRate, &l.inflate, float64(pk.inflated), pk.now) {
		v = worse(v, p.flag(chkCompressRate, 1, pk.now, "inflated", itoa(int64(pk.inflated))))
	}
	return v
}
