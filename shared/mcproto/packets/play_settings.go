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
