package packets

import (
	"fmt"
	"strings"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// MaxHostLen is the handshake host limit in UTF-16 units: vanilla's 255
// plus the legacy Forge token "\x00FML\x00" and one more, as Velocity allows
// (docs/PROTOCOL.md, Framing). Anything longer is not a client we serve.
const MaxHostLen = 255 + len("\x00FML\x00") + 1

// Handshake is the first packet of every modern connection (serverbound,
// handshake state, id 0x00).
type Handshake struct {
	Protocol int32  // the client's protocol; −1 by convention for a version probe
	Host     string // as sent, with any overloads; see ParseHost
	Port     uint16
	Intent   int32 // mcproto.IntentStatus, IntentLogin or IntentTransfer
}

// DecodeHandshake decodes a handshake body. The protocol argument is ignored
// (the handshake is what announces it); it is there so every decoder has the
// same shape. An intent other than 1, 2 or 3 is ErrBadIntent.
func DecodeHandshake(body []byte, _ int32) (Handshake, error) {
	r := mcproto.NewReader(body)
	h := Handshake{
		Protocol: r.VarInt(),
		Host:     r.String(MaxHostLen),
		Port:     r.Uint16(),
		Intent:   r.VarInt(),
	}
	if err := r.Finish(); err != nil {
		return Handshake{}, fmt.Errorf("decode handshake: %w", err)
	}
	if h.Intent < mcproto.IntentStatus || h.Intent > mcproto.IntentTransfer {
		return Handshake{}, fmt.Errorf("decode handshake: intent %d: %w", h.Intent, ErrBadIntent)
	}
	return h, nil
}

// AppendTo appends the handshake's id and data. The protocol argument is
// ignored; h.Protocol is what goes on the wire.
func (h Handshake) AppendTo(dst []byte, _ int32) []byte {
	dst = append(dst, idHandshake)
	dst = mcproto.AppendVarInt(dst, h.Protocol)
	dst = mcproto.AppendString(dst, h.Host)
	dst = mcproto.AppendUint16(dst, h.Port)
	return mcproto.AppendVarInt(dst, h.Intent)
}

// Legacy Forge handshake tokens (docs/PROTOCOL.md, Handshake): 1.7–1.12, 1.13–1.17 and
// 1.18–1.20.1. Modern Forge and NeoForge (1.20.2+) append a part that starts
// with modernForgePrefix instead.
const (
	forgeToken1 = "FML"
	forgeToken2 = "FML2"
	forgeToken3 = "FML3"

	modernForgePrefix = "FORGE"
	// realIPSeparator splits the TCPShield RealIP form
	// host///ip:port///timestamp///signature.
	realIPSeparator = "///"
)

// HostInfo is what the handshake host field says once its overloads are
// taken apart (docs/PROTOCOL.md, Handshake).
type HostInfo struct {
	// Host is the virtual host to route on: cut at the first "\x00" and at
	// "///", trailing dots trimmed, lowercased.
	Host string
	// ForgeMarker is the Forge part to keep for a Forge backend:
	// "\x00FML\x00", "\x00FML2\x00", "\x00FML3\x00", or "\x00" plus a
	// modern part starting with "FORGE". Empty for vanilla clients.
	ForgeMarker string
	// BungeeForwarded is set when the host has BungeeCord's legacy
	// forwarding shape host\x00ip\x00uuid[\x00properties]. A client that
	// sends it is trying to choose its own identity.
	BungeeForwarded bool
	// RealIP is set when the TCPShield "///" form is present.
	RealIP bool
	// Extra is set when other "\x00" parts are present that are neither a
	// Forge marker nor the BungeeCord shape.
	Extra bool
}

// ParseHost takes a raw handshake host apart. It never fails: an odd host
// is still routed on its first part, and the flags say what else was there.
func ParseHost(raw string) HostInfo {
	var h HostInfo
	s := raw
	if i := strings.Index(s, realIPSeparator); i >= 0 {
		h.RealIP = true
		s = s[:i]
	}
	host, rest, found := strings.Cut(s, "\x00")
	h.Host = strings.ToLower(strings.TrimRight(host, "."))
	if !found {
		return h
	}
	others, second := 0, ""
	for part := range strings.SplitSeq(rest, "\x00") {
		switch {
		case part == "":
		case h.ForgeMarker == "" && (part == forgeToken1 || part == forgeToken2 || part == forgeToken3):
			h.ForgeMarker = "\x00" + part + "\x00"
		case h.ForgeMarker == "" && strings.HasPrefix(part, modernForgePrefix):
			h.ForgeMarker = "\x00" + part
		default:
			others++
			if others == 2 {
				second = part
			}
		}
	}
	h.BungeeForwarded = others >= 2 && isUUIDString(second)
	h.Extra = others > 0 && !h.BungeeForwarded
	return h
}

// BackendHost is the host to put in the handshake sent to a backend: the
// cleaned host plus the Forge marker, never the client's forwarding parts.
func (h HostInfo) BackendHost() string { return h.Host + h.ForgeMarker }

// isUUIDString reports whether s is 32 hex digits, optionally with dashes in
// the 8-4-4-4-12 places (BungeeCord writes them without).
func isUUIDString(s string) bool {
	_, ok := parseUUIDString(s)
	return ok
}

// parseUUIDString parses 32 hex digits, optionally dashed 8-4-4-4-12.
func parseUUIDString(s string) (mcproto.UUID, bool) {
	var u mcproto.UUID
	switch len(s) {
	case 32:
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return u, false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	default:
		return u, false
	}
	for i := range u {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[i] = hi<<4 | lo
	}
	return u, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
