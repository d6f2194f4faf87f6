package detect

import (
	"bytes"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Layer 5: spam and exploit payloads.

const (
	chkLookupString CheckID = layer5Base + iota
)

func layer5Specs() []Spec {
	return []Spec{
		{ID: chkLookupString, Key: "chat.lookup_string", Layer: 5, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "chat, commands or sign text containing ${ (JNDI/Log4Shell-style lookups)"},
	}
}

type layer5State struct{}

var lookupMarker = []byte("${")

func (l *layer5State) serverbound(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindChat:
		if bytes.Contains(pk.chat.Message, lookupMarker) {
			return p.flag(chkLookupString, 1, pk.now, "field", "chat")
		}
	case packets.KindChatCommand, packets.KindChatCommandSigned:
		if bytes.Contains(pk.command.Command, lookupMarker) {
			return p.flag(chkLookupString, 1, pk.now, "field", "command")
		}
	}
	return pass
}

func (l *layer5State) clientbound(p *Player, pk *clientPacket) {}
