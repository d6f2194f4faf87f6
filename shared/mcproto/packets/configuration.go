package packets

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// FinishConfiguration ends the configuration state. The server sends it
// (clientbound) when it is done; the client sends it back (serverbound) to
// acknowledge, and play begins. It has no fields in either direction.
type FinishConfiguration struct{}

// DecodeFinishConfiguration checks that the body is empty.
func DecodeFinishConfiguration(body []byte, _ int32) (FinishConfiguration, error) {
	r := mcproto.NewReader(body)
	if err := r.Finish(); err != nil {
		return FinishConfiguration{}, fmt.Errorf("decode finish configuration: %w", err)
	}
	return FinishConfiguration{}, nil
}

// AppendTo appends the clientbound packet, the server's "configuration is
// done". It panics for protocols without a configuration state (< 1.20.2).
func (FinishConfiguration) AppendTo(dst []byte, protocol int32) []byte {
	id := mustID(protocol, mcproto.StateConfiguration, mcproto.Clientbound, KindFinishConfiguration)
	return mcproto.AppendVarInt(dst, id)
}

// AppendAck appends the serverbound packet, the client's acknowledgement.
func (FinishConfiguration) AppendAck(dst []byte, protocol int32) []byte {
	id := mustID(protocol, mcproto.StateConfiguration, mcproto.Serverbound, KindFinishConfiguration)
	return mcproto.AppendVarInt(dst, id)
}

// Network NBT (1.20.2+): a bare tag with no root name. A string tag is a
// complete text component.
const (
	nbtTagString = 0x08
	// maxNBTStringLen is the u16 byte length of an NBT string.
	maxNBTStringLen = 0xFFFF
	// maxReasonRunes caps the reasons AppendDisconnect writes. At 6 bytes
	// per rune at worst, in JSON escapes or modified UTF-8 surrogate pairs,
	// 4096 runes stay under both the NBT string limit (65535 bytes) and
	// vanilla's JSON text limit (262144 chars). Real reasons are a line or two.
	maxReasonRunes = 4096
)

// AppendDisconnect appends a Disconnect (id and data) carrying the plain
// text reason (DecodeLoginDisconnect and DecodePlayDisconnect read them), for the login, configuration or play state of a protocol:
// login: JSON {"text":reason}; configuration and play: the same JSON before
// 1.20.3 and an NBT string tag since. Over-long reasons are cut to
// maxReasonRunes. Login works for any protocol number; configuration and
// play need a supported one, and any other state panics.
func AppendDisconnect(dst []byte, s mcproto.State, protocol int32, reason string) []byte {
	reason = truncateRunes(reason, maxReasonRunes)
	switch s {
	case mcproto.StateLogin:
		return mcproto.AppendString(append(dst, idLoginDisconnect), textComponentJSON(reason))
	case mcproto.StateConfiguration, mcproto.StatePlay:
		dst = mcproto.AppendVarInt(dst, mustID(protocol, s, mcproto.Clientbound, KindDisconnect))
		if protocol >= mcproto.Protocol1_20_3 {
			return appendNBTString(dst, reason)
		}
		return mcproto.AppendString(dst, textComponentJSON(reason))
	}
	panic(fmt.Sprintf("packets: no disconnect packet in state %s", s))
}

// textComponentJSON returns {"text":s} with s escaped for JSON.
func textComponentJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // <, > and & are fine in chat; keep them readable
	if err := enc.Encode(struct {
		Text string `json:"text"`
	}{s}); err != nil {
		panic("packets: encode text component: " + err.Error()) // a struct of one string cannot fail
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// appendNBTString appends an unnamed NBT string tag. NBT strings are Java's
// modified UTF-8: U+0000 is C0 80 and characters above U+FFFF are written
// as two 3-byte surrogates.
func appendNBTString(dst []byte, s string) []byte {
	dst = append(dst, nbtTagString)
	lenAt := len(dst)
	dst = append(dst, 0, 0)
	for _, r := range s {
		n := len(dst) - lenAt - 2
		if n+6 > maxNBTStringLen {
			break // cannot happen below maxReasonRunes; keeps the length honest
		}
		switch {
		case r == 0:
			dst = append(dst, 0xC0, 0x80)
		case r < 0x80:
			dst = append(dst, byte(r))
		case r < 0x800:
			dst = append(dst, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
		case r < 0x10000:
			dst = appendMUTF8Unit(dst, uint16(r))
		default:
			r -= 0x10000
			dst = appendMUTF8Unit(dst, uint16(0xD800+(r>>10)))
			dst = appendMUTF8Unit(dst, uint16(0xDC00+(r&0x3FF)))
		}
	}
	binary.BigEndian.PutUint16(dst[lenAt:], uint16(len(dst)-lenAt-2))
	return dst
}

func appendMUTF8Unit(dst []byte, u uint16) []byte {
	return append(dst, 0xE0|byte(u>>12), 0x80|byte(u>>6)&0x3F, 0x80|byte(u)&0x3F)
}

// truncateRunes cuts s after n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
