package detect

import (
	"bytes"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Chat and commands: what a player types (layer 5). Rates drop what is
// over the limit and kick only when an operator sets action "kick" with a
// kick_vl (docs/DETECTIONS.md "Severity and action policy"); text vanilla's
// chat screen cannot produce is dropped. chat.lookup_string is raised here
// and by the families whose packets carry text (payloads, inventory).

const (
	chkLookupString CheckID = chatBase + iota
	chkChatInvalid
	chkBlankTab
	chkSpamCommand
	chkSpamTab
	chkChatRate
	chkTabLength
	chkChatFlood
)

// Vanilla's chat spam limit (ServerGamePacketListenerImpl.detectRateSpam):
// each message adds 20 to a counter that loses 1 per tick, and a counter
// above 200 disconnects the player ("disconnect.spam"): eleven messages at
// once, or a sustained rate above one a second.
const (
	chatSpamPerMessage = 20
	chatSpamKick       = 200
)

// tabNoSpaceChars: a tab-complete longer than this with no space in its
// first this-many characters is Grim's CrashH "invalid" case.
const tabNoSpaceChars = 64

func chatSpecs() []Spec {
	return []Spec{
		{ID: chkLookupString, Key: "chat.lookup_string", Layer: 5, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "chat, commands, tab-complete text, sign lines, book pages and title, plugin channel names and anvil names containing ${ (JNDI/Log4Shell-style lookups)"},
		{ID: chkChatInvalid, Key: "chat.invalid", Layer: 5, Severity: detection.SeverityMedium, Action: detection.ActionDrop, Decay: 0.1,
			Description: "chat or command text with characters vanilla refuses (section sign, control characters), an empty chat message, or on 1.19.1+ a chat message with leading or trailing spaces or starting with / (the client trims chat and sends commands separately; click events cannot send chat since 1.19.1)"},
		{ID: chkBlankTab, Key: "chat.blank_tab", Layer: 5, Severity: detection.SeverityInfo, Action: detection.ActionAlert, Experimental: true,
			Description: "a 1.13+ tab-complete request for / alone or blank text (Grim ChatA); experimental: mineflayer sends / after commands"},
		{ID: chkSpamCommand, Key: "spam.command", Layer: 5, Severity: detection.SeverityLow, Action: detection.ActionDrop, Decay: 0.5,
			Description: "commands faster than one per interval_ms (Velocity command-rate-limit) beyond a burst of burst: a lag spike delivers commands sent apart together; over the limit they are dropped; to kick, set action kick and kick_vl",
			Params:      map[string]float64{"interval_ms": 50, "burst": 3}},
		{ID: chkSpamTab, Key: "spam.tab", Layer: 5, Severity: detection.SeverityLow, Action: detection.ActionDrop, Decay: 0.5,
			Description: "tab-complete requests faster than one per interval_ms (Velocity) or above rate per second averaged over window_seconds (Paper's limit of 500); to kick, set action kick and kick_vl",
			Params:      map[string]float64{"interval_ms": 10, "rate": 20, "window_seconds": 25}},
		{ID: chkChatRate, Key: "chat.rate", Layer: 5, Severity: detection.SeverityLow, Action: detection.ActionDrop, Decay: 0.5,
			Description: "chat messages above rate per second averaged over window_seconds (no reference default: twice what vanilla servers allow); to kick, set action kick and kick_vl",
			Params:      map[string]float64{"rate": 2, "window_seconds": 10}},
		{ID: chkChatFlood, Key: "chat.flood", Layer: 5, Severity: detection.SeverityMedium, Action: detection.ActionKick,
			Description: "chat beyond vanilla's own spam kick: +20 per message, −1 per tick, above 200 (vanilla disconnects such a client; it exempts operators, which the edge cannot see, so commands are left to spam.command)"},
		{ID: chkTabLength, Key: "spam.tab_length", Layer: 5, Severity: detection.SeverityMedium, Action: detection.ActionDrop, Decay: 0.1,
			Description: "tab-complete text longer than max_length chars, or longer than 64 with no space in the first 64 (Grim CrashH; raise max_length for backends whose operators run long commands)",
			Params:      map[string]float64{"max_length": 256}},
	}
}

// chatChecks is the chat family's bookkeeping.
type chatChecks struct {
	commands bucket    // one token per interval_ms, burst deep
	lastTab  time.Time // last tab-complete relayed
	tab      bucket
	chat     bucket
	spam     float64   // vanilla's chat spam counter
	spamAt   time.Time // when it was last brought up to date
}

func (l *chatChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindChat:
		return l.chatMessage(p, pk)
	case packets.KindChatCommand, packets.KindChatCommandSigned:
		return l.command(p, pk, pk.command.Command)
	case packets.KindTabComplete:
		return l.tabComplete(p, pk)
	}
	return pass
}

// chatMessage checks a chat packet; before 1.19 it also carries commands.
func (l *chatChecks) chatMessage(p *Player, pk *serverPacket) Verdict {
	msg := pk.chat.Message
	proto := p.info.Protocol
	if proto < mcproto.Protocol1_19 && len(msg) > 0 && msg[0] == '/' {
		return l.command(p, pk, msg)
	}
	v := l.flood(p, pk)
	if v.Outcome == Kick {
		return v
	}
	if hasLookup(msg) {
		v = worse(v, p.flag(chkLookupString, 1, pk.now, "field", "chat"))
	}
	if why := invalidChat(msg, proto); why != "" {
		v = worse(v, p.flag(chkChatInvalid, 1, pk.now, "field", "chat", "reason", why))
	}
	if v.Outcome == Pass && p.on(chkChatRate) &&
		!p.takeRate(chkChatRate, &l.chat, 1, pk.now) {
		v = p.flag(chkChatRate, 1, pk.now)
	}
	return v
}

// flood is vanilla's spam counter, counted on every chat message the client
// sends (dropped or not: vanilla would have counted it).
func (l *chatChecks) flood(p *Player, pk *serverPacket) Verdict {
	if l.spamAt.IsZero() {
		l.spamAt = pk.now
	}
	if ticks := pk.now.Sub(l.spamAt) / tickDuration; ticks > 0 {
		l.spam = max(0, l.spam-float64(ticks))
		l.spamAt = l.spamAt.Add(ticks * tickDuration)
	}
	l.spam += chatSpamPerMessage
	if l.spam > chatSpamKick && p.on(chkChatFlood) {
		return p.flag(chkChatFlood, 1, pk.now, "counter", ftoa(l.spam))
	}
	return pass
}

// invalidChat says why a chat message is one no vanilla client sends, or "".
// Vanilla's chat screen trims and skips empty input (normalizeChatMessage);
// click events send chat untrimmed until 1.19.1, when they became
// commands-only.
func invalidChat(msg []byte, protocol int32) string {
	switch {
	case len(msg) == 0:
		return "empty"
	case hasIllegalChatChar(msg):
		return "illegal_char"
	case protocol < mcproto.Protocol1_19_1:
		return ""
	case msg[0] == ' ' || msg[len(msg)-1] == ' ':
		return "whitespace"
	case msg[0] == '/':
		return "slash"
	}
	return ""
}

// hasIllegalChatChar reports a character vanilla refuses in chat
// (SharedConstants.isAllowedChatCharacter: not §, not below space, not DEL).
func hasIllegalChatChar(b []byte) bool {
	for i, c := range b {
		if c < ' ' || c == 0x7F || c == 0xC2 && i+1 < len(b) && b[i+1] == 0xA7 {
			return true
		}
	}
	return false
}

// command checks a command (1.19+ command packets, or a / chat line
// before). Commands typed as "/" alone or with a leading space after the
// slash are legal (the client normalises, then strips the slash), so only
// characters are checked.
func (l *chatChecks) command(p *Player, pk *serverPacket, cmd []byte) Verdict {
	v := pass
	if hasLookup(cmd) {
		v = p.flag(chkLookupString, 1, pk.now, "field", "command")
	}
	if hasIllegalChatChar(cmd) {
		v = worse(v, p.flag(chkChatInvalid, 1, pk.now, "field", "command", "reason", "illegal_char"))
	}
	if v.Outcome == Pass && p.on(chkSpamCommand) {
		// A bucket, not a minimum gap: the edge stamps packets when it
		// reads them, and commands a client sent 300 ms apart arrive a
		// few milliseconds apart after a stall anywhere on the way.
		interval := paramDuration(p, chkSpamCommand, "interval_ms").Seconds()
		burst := max(1, p.param(chkSpamCommand, "burst"))
		if interval > 0 && !l.commands.take(1, 1/interval, burst*interval, pk.now) {
			return p.flag(chkSpamCommand, 1, pk.now, "tokens", ftoa(l.commands.tokens))
		}
	}
	return v
}

// tabComplete checks a tab-complete request.
func (l *chatChecks) tabComplete(p *Player, pk *serverPacket) Verdict {
	text := pk.tab.Text
	v := pass
	if hasLookup(text) {
		v = p.flag(chkLookupString, 1, pk.now, "field", "tab_complete")
	}
	if p.info.Protocol >= mcproto.Protocol1_13 && p.on(chkBlankTab) && blankTab(text) {
		v = worse(v, p.flag(chkBlankTab, 1, pk.now, "text", string(text)))
	}
	if p.on(chkTabLength) {
		n := mcproto.UTF16Units(text)
		if float64(n) > p.param(chkTabLength, "max_length") {
			v = worse(v, p.flag(chkTabLength, 1, pk.now, "chars", itoa(int64(n))))
		} else if n > tabNoSpaceChars {
			if sp := unitsBefore(text, ' '); sp < 0 || sp >= tabNoSpaceChars {
				v = worse(v, p.flag(chkTabLength, 1, pk.now, "chars", itoa(int64(n)), "first_space", itoa(int64(sp))))
			}
		}
	}
	if v.Outcome != Pass || !p.on(chkSpamTab) {
		return v
	}
	if !l.lastTab.IsZero() && pk.now.Sub(l.lastTab) < paramDuration(p, chkSpamTab, "interval_ms") {
		return worse(v, p.flag(chkSpamTab, 1, pk.now, "since_ms", itoa(pk.now.Sub(l.lastTab).Milliseconds())))
	}
	if !p.takeRate(chkSpamTab, &l.tab, 1, pk.now) {
		return worse(v, p.flag(chkSpamTab, 1, pk.now, "reason", "rate"))
	}
	l.lastTab = pk.now
	return v
}

// blankTab reports "/" alone or text of spaces only.
func blankTab(text []byte) bool {
	if len(text) == 1 && text[0] == '/' {
		return true
	}
	return len(bytes.TrimSpace(text)) == 0
}

// hasLookup reports "${" in b.
func hasLookup(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '$')
		if i < 0 || i+1 >= len(b) {
			return false
		}
		if b[i+1] == '{' {
			return true
		}
		b = b[i+1:]
	}
}

// unitsBefore is the UTF-16 index of the first c in b, or -1.
func unitsBefore(b []byte, c byte) int {
	i := bytes.IndexByte(b, c)
	if i < 0 {
		return -1
	}
	return mcproto.UTF16Units(b[:i])
}

// paramDuration reads a check parameter given in milliseconds.
func paramDuration(p *Player, id CheckID, name string) time.Duration {
	return time.Duration(p.param(id, name) * float64(time.Millisecond))
}
