package forwarding

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Player is what a backend is told about an authenticated player.
type Player struct {
	Addr       netip.Addr   // the player's address
	ID         mcproto.UUID // the account's UUID
	Name       string       // the account's name
	Properties []packets.Property
	// Protocol is the client's protocol: it caps the Velocity version.
	Protocol int32
	// Key is the 1.19–1.19.2 profile key the client sent in Login Start
	// (Velocity versions 2 and 3 carry it); nil otherwise.
	Key *ProfileKey
}

// ProfileKey is the chat-signing key of a 1.19–1.19.2 client.
type ProfileKey struct {
	Expiry    int64  // milliseconds since the epoch
	PublicKey []byte // DER
	Signature []byte // Mojang's signature of the key
}

// VelocityChannel is the login plugin channel a Velocity-aware backend
// asks on.
const VelocityChannel = "velocity:player_info"

// Velocity modern forwarding versions (what the backend's request byte
// names, the highest it understands).
const (
	// VelocityDefault: address, UUID, name, properties.
	VelocityDefault = 1
	// VelocityWithKey adds the 1.19 profile key.
	VelocityWithKey = 2
	// VelocityWithKeyV2 adds the 1.19.1–1.19.2 key and the UUID it is
	// linked to.
	VelocityWithKeyV2 = 3
	// VelocityLazySession: 1.19.3+, where the chat session arrives in play
	// and the payload is version 1's.
	VelocityLazySession = 4
	// velocityMax is the newest version the edge writes.
	velocityMax = VelocityLazySession
)

// MinVelocityProtocol is 1.13 (393): login plugin messages, which carry
// Velocity forwarding, do not exist before it.
const MinVelocityProtocol = 393

// RequestedVersion reads the version a velocity:player_info request asks
// for: its optional one-byte body, version 1 without it.
func RequestedVersion(data []byte) int {
	if len(data) == 1 {
		return int(data[0])
	}
	return VelocityDefault
}

// VelocityVersion is the version to answer a request for requested with:
// the highest both the backend and the player's client support. A 1.19.3+
// client has no key in Login Start, so it gets 4 (or 1); a 1.19 key fits
// only version 2 and a 1.19.1–1.19.2 key only version 3, which a backend
// asking for less cannot read, so those fall back to 1 without the key.
func VelocityVersion(requested int, p Player) int {
	requested = min(requested, velocityMax)
	switch {
	case requested <= VelocityDefault:
		return VelocityDefault
	case p.Protocol >= mcproto.Protocol1_19_3:
		if requested >= VelocityLazySession {
			return VelocityLazySession
		}
		return VelocityDefault
	case p.Key == nil:
		return VelocityDefault
	case p.Protocol < mcproto.Protocol1_19_1: // 1.19: the first key format
		return VelocityWithKey
	case requested >= VelocityWithKeyV2: // 1.19.1–1.19.2
		return VelocityWithKeyV2
	}
	return VelocityDefault
}

// AppendVelocityPayload appends the player data of version v: VarInt
// version, String address, UUID, String name, the properties (VarInt count;
// each String name, String value, Bool signed, String signature when
// signed), and for versions 2 and 3 the key (Int64 expiry, byte arrays of
// the public key and Mojang's signature), for version 3 followed by Bool +
// UUID of the account the key is linked to.
func AppendVelocityPayload(dst []byte, v int, p Player) []byte {
	dst = mcproto.AppendVarInt(dst, int32(v))
	dst = mcproto.AppendString(dst, p.Addr.Unmap().String())
	dst = mcproto.AppendUUID(dst, p.ID)
	dst = mcproto.AppendString(dst, p.Name)
	dst = mcproto.AppendVarInt(dst, int32(len(p.Properties)))
	for _, pr := range p.Properties {
		dst = mcproto.AppendString(dst, pr.Name)
		dst = mcproto.AppendString(dst, pr.Value)
		dst = mcproto.AppendBool(dst, pr.HasSignature)
		if pr.HasSignature {
			dst = mcproto.AppendString(dst, pr.Signature)
		}
	}
	if (v == VelocityWithKey || v == VelocityWithKeyV2) && p.Key != nil {
		dst = mcproto.AppendInt64(dst, p.Key.Expiry)
		dst = mcproto.AppendByteArray(dst, p.Key.PublicKey)
		dst = mcproto.AppendByteArray(dst, p.Key.Signature)
		if v == VelocityWithKeyV2 {
			// The key was checked for this account (the client's Login
			// Start named it, the session server confirmed it).
			dst = mcproto.AppendBool(dst, true)
			dst = mcproto.AppendUUID(dst, p.ID)
		}
	}
	return dst
}

// AppendVelocityResponse appends the data of the Login Plugin Response
// that answers a velocity:player_info request for version v:
// HMAC-SHA256(secret, payload) followed by the payload.
func AppendVelocityResponse(dst, secret []byte, v int, p Player) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, sha256.Size)...)
	dst = AppendVelocityPayload(dst, v, p)
	mac := hmac.New(sha256.New, secret)
	mac.Write(dst[start+sha256.Size:])
	mac.Sum(dst[start:start])
	return dst
}

// BungeeGuardProperty is the property BungeeGuard's backend plugin reads
// the token from.
const BungeeGuardProperty = "bungeeguard-token"

// bungeeProperty is a property in BungeeCord's JSON (Gson's shape of its
// Property class).
type bungeeProperty struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Signature string `json:"signature,omitempty"`
}

// BungeeHost is the handshake host for BungeeCord legacy forwarding:
// host, the player's address, the UUID without dashes and the properties
// as JSON, separated by NUL. With a non-empty guardToken (BungeeGuard) the
// token is added as one more property. host is the routed host, never the
// client's: the client's own forwarding parts must not reach a backend.
// Any property of the profile that already claims to be a token is left
// out: the backend must see exactly one, the edge's.
func BungeeHost(host string, p Player, guardToken string) string {
	props := make([]bungeeProperty, 0, len(p.Properties)+1)
	for _, pr := range p.Properties {
		if pr.Name == BungeeGuardProperty {
			continue
		}
		props = append(props, bungeeProperty{Name: pr.Name, Value: pr.Value, Signature: pr.Signature})
	}
	if guardToken != "" {
		props = append(props, bungeeProperty{Name: BungeeGuardProperty, Value: guardToken})
	}
	js, _ := json.Marshal(props) // strings only: cannot fail
	var b strings.Builder
	b.Grow(len(host) + 64 + len(js))
	b.WriteString(host)
	b.WriteByte(0)
	b.WriteString(p.Addr.Unmap().String())
	b.WriteByte(0)
	b.WriteString(hex.EncodeToString(p.ID[:]))
	b.WriteByte(0)
	b.Write(js)
	return b.String()
}

// Mode is how an online-mode route tells the backend who the player is.
type Mode uint8

const (
	// None: nothing but the address (PROXY v2, when the edge sends it).
	None Mode = iota
	// Velocity: modern forwarding, answered on velocity:player_info.
	Velocity
	// BungeeCord: legacy forwarding in the handshake host.
	BungeeCord
	// BungeeGuard: legacy forwarding with a token property.
	BungeeGuard
)

// ParseMode reads the configuration's name of a mode (config.Forward*).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "none":
		return None, nil
	case "velocity":
		return Velocity, nil
	case "bungeecord":
		return BungeeCord, nil
	case "bungeeguard":
		return BungeeGuard, nil
	}
	return None, fmt.Errorf("forwarding %q: want velocity, bungeecord, bungeeguard or none", s)
}

func (m Mode) String() string {
	switch m {
	case Velocity:
		return "velocity"
	case BungeeCord:
		return "bungeecord"
	case BungeeGuard:
		return "bungeeguard"
	}
	return "none"
}
