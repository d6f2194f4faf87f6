package packets

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Client settings and plugin messages: rare packets whose fields a check
// may clamp (view distance) or inspect (brand, mod channels).

// Caps of these packets, from the vanilla readers.
const (
	// maxLocaleChars is ClientInformation.MAX_LANGUAGE_LENGTH (16). 1.8–1.11
	// read 7, but being looser than the backend costs nothing while being
	// stricter kicks players.
	maxLocaleChars = 16
	// maxChannelCharsOld is the 1.8–1.12.2 channel limit (a 20-char name).
	maxChannelCharsOld = 20
	// MaxPluginDataServerbound is vanilla's serverbound custom payload
	// limit (32767 bytes, "Payload may not be larger than 32767 bytes").
	MaxPluginDataServerbound = 32767
)

// ClientSettings is "Client Information" (play state; the same layout is
// sent in the configuration state since 1.20.2).
type ClientSettings struct {
	Locale         []byte
	ViewDistance   int8
	ChatMode       int32 // 0 full, 1 commands only, 2 hidden; a byte in 1.8
	ChatColors     bool
	SkinParts      uint8
	MainHand       int32 // 1.9+: 0 left, 1 right
	TextFiltering  bool  // 1.17+
	ServerListing  bool  // 1.18+
	ParticleStatus int32 // 1.21.2+: 0 all, 1 decreased, 2 minimal
}

// DecodeClientSettings decodes the client information.
func DecodeClientSettings(body []byte, protocol int32) (ClientSettings, error) {
	r := mcproto.NewReader(body)
	s := ClientSettings{Locale: r.StringBytes(maxLocaleChars), ViewDistance: r.Int8()}
	if protocol >= mcproto.Protocol1_9 {
		s.ChatMode = r.VarInt()
	} else {
		s.ChatMode = int32(r.Int8())
	}
	s.ChatColors = r.Bool()
	s.SkinParts = r.Byte()
	if protocol >= mcproto.Protocol1_9 {
		s.MainHand = r.VarInt()
	}
	if protocol >= playProto1_17 {
		s.TextFiltering = r.Bool()
	}
	if protocol >= playProto1_18 {
		s.ServerListing = r.Bool()
	}
	if protocol >= mcproto.Protocol1_21_2 {
		s.ParticleStatus = r.VarInt()
	}
	if err := finish(&r, "client settings"); err != nil {
		return ClientSettings{}, err
	}
	return s, nil
}

// AppendData appends the packet data.
func (s ClientSettings) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendByteArray(dst, s.Locale)
	dst = appendInt8(dst, s.ViewDistance)
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendVarInt(dst, s.ChatMode)
	} else {
		dst = appendInt8(dst, int8(s.ChatMode))
	}
	dst = mcproto.AppendBool(dst, s.ChatColors)
	dst = append(dst, s.SkinParts)
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendVarInt(dst, s.MainHand)
	}
	if protocol >= playProto1_17 {
		dst = mcproto.AppendBool(dst, s.TextFiltering)
	}
	if protocol >= playProto1_18 {
		dst = mcproto.AppendBool(dst, s.ServerListing)
	}
	if protocol >= mcproto.Protocol1_21_2 {
		dst = mcproto.AppendVarInt(dst, s.ParticleStatus)
	}
	return dst
}

// PluginMessage is the serverbound "Custom Payload" (play, and
// configuration since 1.20.2): a channel name and the rest of the packet
// as data (no length prefix in any version since 1.8). Channels are
// 20-char names before 1.13 and identifiers since. Clientbound payloads may
// be larger (1 MiB in vanilla) and are not decoded here.
type PluginMessage struct {
	Channel []byte
	Data    []byte
}

func maxChannelFor(protocol int32) int {
	if protocol < mcproto.Protocol1_13 {
		return maxChannelCharsOld
	}
	return maxIdentifierChars
}

// DecodePluginMessage decodes a serverbound plugin message, refusing data
// over vanilla's 32767-byte serverbound limit.
func DecodePluginMessage(body []byte, protocol int32) (PluginMessage, error) {
	r := mcproto.NewReader(body)
	m := PluginMessage{Channel: r.StringBytes(maxChannelFor(protocol))}
	if r.Err() == nil && r.Len() > MaxPluginDataServerbound {
		r.Fail(fmt.Errorf("payload of %d bytes > %d: %w", r.Len(), MaxPluginDataServerbound, mcproto.ErrArrayTooLong))
	}
	m.Data = r.Rest()
	if err := finish(&r, "plugin message"); err != nil {
		return PluginMessage{}, err
	}
	return m, nil
}

// AppendData appends the packet data.
func (m PluginMessage) AppendData(dst []byte, _ int32) []byte {
	dst = mcproto.AppendByteArray(dst, m.Channel)
	return append(dst, m.Data...)
}

// What a client that is a real game sends in these packets. The
// verification limbo (edge/internal/limbo) refuses anything else and the
// detection engine (edge/internal/detect, client.brand and
// crash.view_distance) flags it, by this one rule, so that a player the limbo
// let in is never flagged for the same field and the other way round
// (docs/DETECTIONS.md, "Admission").
const (
	// MinViewDistance is the smallest view distance the vanilla options
	// screen offers (2 chunks); a lower one is a crafted packet (Grim
	// CrashE) meant to make a server divide by it.
	MinViewDistance = 2
	// MaxBrandBytes is the longest client brand accepted, in bytes.
	// Vanilla reads up to 32767 characters, but the brands clients send
	// are a word or two: "vanilla", "fabric", "forge" ("fml,forge" before
	// 1.13), "quilt", a launcher's name with its version: 64 leaves room
	// for those, and bounds what a detection event records.
	MaxBrandBytes = 64
	// brandChannelLegacy and brandChannel carry the brand before and from
	// 1.13, when channels became namespaced identifiers.
	brandChannelLegacy = "MC|Brand"
	brandChannel       = "minecraft:brand"
)

// BrandChannel is the plugin channel the client brand travels on in
// protocol.
func BrandChannel(protocol int32) string {
	if protocol < mcproto.Protocol1_13 {
		return brandChannelLegacy
	}
	return brandChannel
}

// IsBrandChannel reports whether channel is the brand's in protocol. The
// other version's name is just another channel: a 1.13+ client cannot send
// MC|Brand as an identifier, and a 1.12 client's minecraft:brand is no brand.
func IsBrandChannel(channel []byte, protocol int32) bool {
	return string(channel) == BrandChannel(protocol)
}

// DecodeBrand decodes the data of a brand plugin message, one
// VarInt-prefixed string, and applies the brand rule: 1 to MaxBrandBytes
// bytes of printable ASCII, space or § (a formatting code: harmless, and
// the limbo has always let it through). Any other brand is an error
// wrapping ErrBadBrand, or an mcproto sentinel when the data is not one
// string. The brand aliases data. It
// allocates only for an error.
func DecodeBrand(data []byte) ([]byte, error) {
	r := mcproto.NewReader(data)
	b := r.StringBytes(MaxBrandBytes)
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("decode client brand: %w", err)
	}
	if len(b) == 0 || len(b) > MaxBrandBytes {
		return nil, fmt.Errorf("client brand of %d bytes: %w", len(b), ErrBadBrand)
	}
	for _, c := range string(b) { // StringBytes checked the UTF-8
		if (c < '!' || c > '~') && c != ' ' && c != '§' {
			return nil, fmt.Errorf("client brand character %U: %w", c, ErrBadBrand)
		}
	}
	return b, nil
}
