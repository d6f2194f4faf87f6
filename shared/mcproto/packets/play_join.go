package packets

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Clientbound session packets from the backend: join game and respawn (so
// the edge knows the player's entity id, game mode and hardcore flag, which
// movement and combat checks depend on), and the play/configuration
// disconnect. Fields a check never reads stay raw, so the decoders survive
// the registry and world-info changes every release brings.

const (
	// hardcoreBit is the hardcore flag folded into the game-mode byte of
	// join game before 1.16.2.
	hardcoreBit = 0x08
	// maxComponentChars is vanilla's limit for JSON text components
	// (FriendlyByteBuf.MAX_COMPONENT_STRING_LENGTH, 262144).
	maxComponentChars = 262144
	// respawnTailNBT is what follows the game mode in 1.16.2–1.18.2
	// respawn: previous game mode, debug, flat, copy metadata.
	respawnTailNBT = 4
	// respawnPrefixOld is dimension i32 + difficulty u8 (before 1.14).
	respawnPrefixOld = 4 + 1
	// respawnPrefix1_14 is dimension i32 (1.14).
	respawnPrefix1_14 = 4
	// respawnPrefix1_15 is dimension i32 + hashed seed i64 (1.15).
	respawnPrefix1_15 = 4 + 8
)

// Game modes.
const (
	GameModeSurvival  = 0
	GameModeCreative  = 1
	GameModeAdventure = 2
	GameModeSpectator = 3
)

// JoinGame is the clientbound "Login (play)". The entity id is always
// first; the game mode moves:
//
//	1.8–1.16.1   entity id, game mode u8 with the hardcore bit (0x08), …
//	1.16.2–1.20.1 entity id, hardcore bool, game mode u8, …
//	1.20.2+      entity id, hardcore bool, world names, max players,
//	             view and simulation distance, three flags, dimension and
//	             world name, hashed seed, game mode, …
type JoinGame struct {
	EntityID int32
	Hardcore bool
	GameMode uint8
	Middle   []byte // 1.20.2+: the fields between hardcore and game mode, raw
	Rest     []byte // everything after the game mode, raw
}

// DecodeJoinGame decodes what the edge needs from join game.
func DecodeJoinGame(body []byte, protocol int32) (JoinGame, error) {
	r := mcproto.NewReader(body)
	j := JoinGame{EntityID: r.Int32()}
	switch {
	case protocol < playProto1_16_2:
		b := r.Byte()
		j.GameMode, j.Hardcore = b&^hardcoreBit, b&hardcoreBit != 0
	case protocol < mcproto.Protocol1_20_2:
		j.Hardcore = r.Bool()
		j.GameMode = r.Byte()
	default:
		j.Hardcore = r.Bool()
		start := r.Offset()
		n := r.VarInt()
		if checkCount(&r, n, unboundedList, 1) {
			for i := int32(0); i < n && r.Err() == nil; i++ {
				r.StringBytes(maxIdentifierChars)
			}
		}
		r.VarInt() // max players
		r.VarInt() // view distance
		r.VarInt() // simulation distance
		r.Bool()   // reduced debug info
		r.Bool()   // respawn screen
		r.Bool()   // limited crafting
		skipSpawnWorld(&r, protocol)
		r.Int64() // hashed seed
		if r.Err() == nil {
			j.Middle = rawSince(body, &r, start)
		}
		j.GameMode = r.Byte()
	}
	j.Rest = r.Rest()
	if err := finish(&r, "join game"); err != nil {
		return JoinGame{}, err
	}
	return j, nil
}

// skipSpawnWorld skips the dimension and world name that precede the
// hashed seed since 1.19 (respawn) and 1.20.2 (join game): two identifiers
// until 1.20.4, a dimension-type registry id and an identifier since.
func skipSpawnWorld(r *mcproto.Reader, protocol int32) {
	if protocol >= mcproto.Protocol1_20_5 {
		r.VarInt()
	} else {
		r.StringBytes(maxIdentifierChars)
	}
	r.StringBytes(maxIdentifierChars)
}

// AppendData appends the packet data. Before 1.20.2 Middle must be empty.
func (j JoinGame) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendInt32(dst, j.EntityID)
	switch {
	case protocol < playProto1_16_2:
		b := j.GameMode &^ hardcoreBit
		if j.Hardcore {
			b |= hardcoreBit
		}
		dst = append(dst, b)
	default:
		dst = mcproto.AppendBool(dst, j.Hardcore)
		dst = append(dst, j.Middle...)
		dst = append(dst, j.GameMode)
	}
	return append(dst, j.Rest...)
}

// Respawn is the clientbound "Respawn", which also carries the game mode
// after a dimension change. Middle is the raw fields before the game mode,
// Rest those after.
type Respawn struct {
	Middle   []byte
	GameMode uint8
	Rest     []byte
}

// DecodeRespawn finds the game mode in the respawn packet. In
// 1.16.2–1.18.2 the dimension before it is an NBT compound; rather than
// walk NBT we read the game mode at its fixed distance from the end.
func DecodeRespawn(body []byte, protocol int32) (Respawn, error) {
	r := mcproto.NewReader(body)
	var p Respawn
	switch {
	case protocol < playProto1_14:
		p.Middle = r.Bytes(respawnPrefixOld)
	case protocol < playProto1_15:
		p.Middle = r.Bytes(respawnPrefix1_14)
	case protocol < playProto1_16:
		p.Middle = r.Bytes(respawnPrefix1_15)
	case protocol < playProto1_16_2:
		r.StringBytes(maxIdentifierChars) // dimension
		r.StringBytes(maxIdentifierChars) // world name
		r.Int64()                         // hashed seed
		if r.Err() == nil {
			p.Middle = rawSince(body, &r, 0)
		}
	case protocol < mcproto.Protocol1_19:
		if r.Len() < 1+1+respawnTailNBT { // NBT of at least one byte
			r.Fail(mcproto.ErrShort)
		}
		p.Middle = r.Bytes(r.Len() - 1 - respawnTailNBT)
	default:
		skipSpawnWorld(&r, protocol)
		r.Int64() // hashed seed
		if r.Err() == nil {
			p.Middle = rawSince(body, &r, 0)
		}
	}
	p.GameMode = r.Byte()
	p.Rest = r.Rest()
	if err := finish(&r, "respawn"); err != nil {
		return Respawn{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p Respawn) AppendData(dst []byte, _ int32) []byte {
	dst = append(dst, p.Middle...)
	dst = append(dst, p.GameMode)
	return append(dst, p.Rest...)
}

// PlayDisconnect is the clientbound disconnect of the play and
// configuration states. The reason is a JSON text component string before
// 1.20.3 and an NBT text component (the rest of the packet) since; it is
// kept raw either way.
type PlayDisconnect struct {
	Reason []byte
	NBT    bool // set by the decoder: Reason is NBT (1.20.3+)
}

// DecodePlayDisconnect decodes the disconnect reason.
func DecodePlayDisconnect(body []byte, protocol int32) (PlayDisconnect, error) {
	r := mcproto.NewReader(body)
	var d PlayDisconnect
	if protocol >= mcproto.Protocol1_20_3 {
		d.NBT = true
		if r.Len() == 0 {
			r.Fail(fmt.Errorf("empty NBT reason: %w", mcproto.ErrShort))
		}
		d.Reason = r.Rest()
	} else {
		d.Reason = r.StringBytes(maxComponentChars)
	}
	if err := finish(&r, "disconnect"); err != nil {
		return PlayDisconnect{}, err
	}
	return d, nil
}

// AppendData appends the packet data: Reason must already be in the
// version's form (JSON before 1.20.3, NBT since).
func (d PlayDisconnect) AppendData(dst []byte, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_20_3 {
		return append(dst, d.Reason...)
	}
	return mcproto.AppendByteArray(dst, d.Reason)
}
