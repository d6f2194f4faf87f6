package packets

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// The legacy server-list ping of clients 1.3–1.6 (docs/PROTOCOL.md, Status and the legacy ping). Its first
// byte is 0xFE where a modern client sends a frame length, so it must be
// recognised before any VarInt is read: read as a VarInt-framed stream,
// FE 01 announces a 254-byte frame and the connection hangs until a timeout.
const (
	legacyPingStart   = 0xFE // first byte of every legacy ping
	legacyPingPayload = 0x01 // 1.4+: asks for the §1 reply
	legacyPluginByte  = 0xFA // 1.6: a plugin message follows
	legacyKickByte    = 0xFF // the reply: a kick packet carrying the text
	legacyPingChannel = "MC|PingHost"

	// legacyMaxHostChars bounds the 1.6 host like the modern handshake
	// host (vanilla String(255)).
	legacyMaxHostChars = 255
	// legacyPingFixedLen is the 1.6 payload without the host: protocol
	// byte, u16 host length, i32 port.
	legacyPingFixedLen = 1 + 2 + 4
	// MaxLegacyPingLen is the longest legacy ping we accept:
	// FE 01 FA, u16 channel length, the UTF-16 channel name, u16 payload
	// length, then the payload with the longest host. A caller buffering a
	// fragmented 1.6 ping never needs more.
	MaxLegacyPingLen = 3 + 2 + 2*len(legacyPingChannel) + 2 + legacyPingFixedLen + 2*legacyMaxHostChars

	// legacyKickMaxChars is the longest reply a 1.6 client reads: its
	// kick packet decoder refuses strings over 256 characters, which breaks
	// the server list entry instead of showing it.
	legacyKickMaxChars = 256
)

// LegacyForm says which legacy ping a client sent and so which reply it
// understands.
type LegacyForm string

const (
	LegacyForm13 LegacyForm = "1.3" // bare FE: clients up to 1.3
	LegacyForm14 LegacyForm = "1.4" // FE 01: clients 1.4–1.5
	LegacyForm16 LegacyForm = "1.6" // FE 01 FA "MC|PingHost" …: clients 1.6
)

// LegacyPing is a parsed legacy ping. Protocol, Host and Port are set only
// for LegacyForm16.
type LegacyPing struct {
	Form     LegacyForm
	Protocol byte // 1.6.4 sends 78
	Host     string
	Port     int32
}

// IsLegacyPingStart reports whether the first byte of a connection starts a
// legacy ping rather than a frame.
func IsLegacyPingStart(b byte) bool { return b == legacyPingStart }

// ParseLegacyPing parses the legacy ping at the start of b and returns it
// with the number of bytes it used. A 1.6 ping may arrive in several reads:
// while it is incomplete the error is mcproto.ErrShort and the caller should
// read more, up to MaxLegacyPingLen bytes. A bare FE is the pre-1.4 form and
// FE 01 the 1.4 form, as vanilla reads them: the caller decides how long to
// wait for more bytes before calling.
func ParseLegacyPing(b []byte) (LegacyPing, int, error) {
	switch {
	case len(b) == 0:
		return LegacyPing{}, 0, mcproto.ErrShort
	case b[0] != legacyPingStart:
		return LegacyPing{}, 0, ErrNotLegacyPing
	case len(b) == 1:
		return LegacyPing{Form: LegacyForm13}, 1, nil
	case b[1] != legacyPingPayload:
		return LegacyPing{}, 0, fmt.Errorf("byte %#x after 0xfe: %w", b[1], ErrBadLegacyPing)
	case len(b) == 2:
		return LegacyPing{Form: LegacyForm14}, 2, nil
	case b[2] != legacyPluginByte:
		return LegacyPing{}, 0, fmt.Errorf("byte %#x after 0xfe01: %w", b[2], ErrBadLegacyPing)
	}
	off := 3
	chanLen, ok := legacyU16(b, off)
	if !ok {
		return LegacyPing{}, 0, mcproto.ErrShort
	}
	if int(chanLen) != len(legacyPingChannel) {
		return LegacyPing{}, 0, fmt.Errorf("channel of %d chars: %w", chanLen, ErrBadLegacyPing)
	}
	off += 2
	if len(b) < off+2*len(legacyPingChannel) {
		return LegacyPing{}, 0, mcproto.ErrShort
	}
	for i := 0; i < len(legacyPingChannel); i++ {
		if b[off+2*i] != 0 || b[off+2*i+1] != legacyPingChannel[i] {
			return LegacyPing{}, 0, fmt.Errorf("channel is not %s: %w", legacyPingChannel, ErrBadLegacyPing)
		}
	}
	off += 2 * len(legacyPingChannel)
	payloadLen, ok := legacyU16(b, off)
	if !ok {
		return LegacyPing{}, 0, mcproto.ErrShort
	}
	off += 2
	if payloadLen < legacyPingFixedLen || payloadLen > legacyPingFixedLen+2*legacyMaxHostChars {
		return LegacyPing{}, 0, fmt.Errorf("payload of %d bytes: %w", payloadLen, ErrBadLegacyPing)
	}
	end := off + int(payloadLen)
	if len(b) < end {
		return LegacyPing{}, 0, mcproto.ErrShort
	}
	p := b[off:end]
	hostLen := int(binary.BigEndian.Uint16(p[1:3]))
	if legacyPingFixedLen+2*hostLen != len(p) {
		return LegacyPing{}, 0, fmt.Errorf("host of %d chars in a %d-byte payload: %w", hostLen, len(p), ErrBadLegacyPing)
	}
	units := make([]uint16, hostLen)
	for i := range units {
		units[i] = binary.BigEndian.Uint16(p[3+2*i:])
	}
	return LegacyPing{
		Form:     LegacyForm16,
		Protocol: p[0],
		Host:     string(utf16.Decode(units)),
		Port:     int32(binary.BigEndian.Uint32(p[3+2*hostLen:])),
	}, end, nil
}

func legacyU16(b []byte, off int) (uint16, bool) {
	if len(b) < off+2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(b[off:]), true
}

// AppendLegacyKick appends the reply to a legacy ping: 0xFF, a u16 length
// in UTF-16 units, then the UTF-16BE text. Clients up to 1.3 get
// "motd§online§max"; 1.4+ get "§1\x00protocol\x00version\x00motd\x00online\x00max".
// Separator characters are removed from the fields, and the MOTD is cut so
// the text stays within the 256 characters a 1.6 client accepts.
func AppendLegacyKick(dst []byte, form LegacyForm, protocol, version, motd string, online, maxPlayers int) []byte {
	var prefix, suffix string
	if form == LegacyForm13 {
		// § separates the fields, so it cannot appear inside the MOTD.
		motd = strings.ReplaceAll(motd, "§", "")
		suffix = "§" + strconv.Itoa(online) + "§" + strconv.Itoa(maxPlayers)
	} else {
		clean := strings.NewReplacer("\x00", "").Replace
		prefix = "§1\x00" + clean(protocol) + "\x00" + clean(version) + "\x00"
		motd = clean(motd)
		suffix = "\x00" + strconv.Itoa(online) + "\x00" + strconv.Itoa(maxPlayers)
	}
	head := utf16.Encode([]rune(prefix))
	text := utf16.Encode([]rune(motd))
	tail := utf16.Encode([]rune(suffix))
	budget := max(legacyKickMaxChars-len(head)-len(tail), 0)
	if len(text) > budget {
		text = text[:budget]
		if n := len(text); n > 0 && isHighSurrogate(text[n-1]) {
			text = text[:n-1] // do not leave half a surrogate pair
		}
	}
	units := len(head) + len(text) + len(tail)
	dst = append(dst, legacyKickByte)
	dst = binary.BigEndian.AppendUint16(dst, uint16(units))
	for _, part := range [][]uint16{head, text, tail} {
		for _, u := range part {
			dst = binary.BigEndian.AppendUint16(dst, u)
		}
	}
	return dst
}

func isHighSurrogate(u uint16) bool { return u >= 0xD800 && u < 0xDC00 }
