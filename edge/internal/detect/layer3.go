package detect

import (
	"time"

	"github.com/rustguard/rustguard/shared/detection"
)

// Layer 3: clocks and latency, on top of the acknowledgement clock.

const (
	chkTxnRejected CheckID = layer3Base + iota
	chkProbeOrder
)

func layer3Specs() []Spec {
	return []Spec{
		{ID: chkTxnRejected, Key: "badpackets.txn_rejected", Layer: 3, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "an answer to the edge's window confirmation with accepted = false, which no vanilla client sends"},
		{ID: chkProbeOrder, Key: "latency.probe_order", Layer: 3, Severity: detection.SeverityHigh, Action: detection.ActionKick, KickVL: 5, Decay: 0.1,
			Description: "an answer to the edge's probe that skips earlier probes: the client dropped or reordered them (ping-cancelling knockback bypasses)"},
	}
}

type layer3State struct{}

// onAnswer is called for every answer to one of our probes.
func (l *layer3State) onAnswer(p *Player, now time.Time, known bool, skipped int) Verdict {
	if !known || skipped > 0 {
		return p.flag(chkProbeOrder, 1, now, "skipped", itoa(int64(skipped)))
	}
	return pass
}

func (l *layer3State) serverbound(p *Player, pk *serverPacket) Verdict { return pass }
func (l *layer3State) clientbound(p *Player, pk *clientPacket)         {}
