package detect

import (
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Layer 4: entities and combat.

const (
	chkSelfInteract CheckID = layer4Base + iota
)

func layer4Specs() []Spec {
	return []Spec{
		{ID: chkSelfInteract, Key: "combat.self_interact", Layer: 4, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "an interact or attack aimed at the player's own entity"},
	}
}

type layer4State struct{}

func (l *layer4State) serverbound(p *Player, pk *serverPacket) Verdict {
	if pk.kind == packets.KindUseEntity && p.self.haveEntityID && pk.useEntity.Target == p.self.entityID {
		return p.flag(chkSelfInteract, 1, pk.now, "target", itoa(int64(pk.useEntity.Target)))
	}
	return pass
}

func (l *layer4State) clientbound(p *Player, pk *clientPacket) {}
