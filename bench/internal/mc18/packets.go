// Package mc18 builds and parses the few Minecraft 1.8 (protocol 47)
// packets the load tool exchanges: handshake, status, login and a handful of
// play packets. Builders append ID + data to a caller's buffer (mcconn adds
// the frame); parsers take the data after the ID and reject leftovers.
//
// 1.8 is the oldest version with compression and the one most PvP servers
// still run, so a proxy that parses play traffic has to handle it.
package mc18

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Protocol is the protocol number of 1.8–1.8.9 (docs/PROTOCOL.md, Protocol numbers).
const Protocol = mcproto.Protocol1_8

// Field limits from the 1.8 packet definitions (minecraft.wiki, protocol 47).
const (
	// MaxHostChars is the handshake's server address, String(255).
	MaxHostChars = 255
	// MaxNameChars is a player name, String(16).
	MaxNameChars = 16
	// UUIDChars is Login Success's dashed UUID string, String(36) in 1.8.
	UUIDChars = 36
	// MaxStatusChars is the status JSON, String(32767).
	MaxStatusChars = 32767
	// MaxChannelChars is a plugin-message channel, String(20) in 1.8.
	MaxChannelChars = 20
	// MaxDisconnectChars is a disconnect reason (JSON text), String(32767).
	MaxDisconnectChars = 32767
	// MaxServerIDChars is Encryption Request's server id, String(20).
	MaxServerIDChars = 20
	// MaxServerKeyBytes bounds the server's DER public key: a 4096-bit RSA
	// SubjectPublicKeyInfo (the largest key the edge loads) is 550 bytes.
	MaxServerKeyBytes = 1 << 10
	// MaxVerifyTokenBytes bounds the verify token (4 bytes from vanilla and
	// the edge).
	MaxVerifyTokenBytes = 64
)

// Packet IDs by state and direction (protocol 47).
const (
	HandshakeID = 0x00 // serverbound, handshake state

	StatusRequestID  = 0x00 // serverbound
	StatusPingID     = 0x01 // serverbound
	StatusResponseID = 0x00 // clientbound
	StatusPongID     = 0x01 // clientbound

	LoginStartID      = 0x00 // serverbound
	LoginDisconnectID = 0x00 // clientbound
	LoginSuccessID    = 0x02 // clientbound
	// EncryptionRequestID and EncryptionResponseID are online mode's
	// exchange (docs/PROTOCOL.md, "Online mode").
	EncryptionRequestID  = 0x01 // clientbound
	EncryptionResponseID = 0x01 // serverbound
	SetCompressionID     = 0x03 // clientbound

	KeepAliveClientboundID     = 0x00
	JoinGameID                 = 0x01 // clientbound
	ChatClientboundID          = 0x02
	SpawnPlayerID              = 0x0C // clientbound
	EntityRelMoveID            = 0x15 // clientbound
	EntityMoveLookID           = 0x17 // clientbound
	ChunkDataID                = 0x21 // clientbound
	TransactionClientboundID   = 0x32
	PluginMessageClientboundID = 0x3F
	PlayDisconnectID           = 0x40 // clientbound

	KeepAliveServerboundID     = 0x00
	PlayerPositionLookID       = 0x06 // serverbound
	TransactionServerboundID   = 0x0F
	PluginMessageServerboundID = 0x17
)

// More field limits of protocol 47.
const (
	// MaxChatChars is a clientbound chat message (JSON text), String(32767).
	MaxChatChars = 32767
	// FixedPointScale is 1.8's absolute entity position unit: 1/32 block
	// (an Int32 of x × 32); relative moves use the same unit in a byte.
	FixedPointScale = 32
	// metadataEnd terminates 1.8 entity metadata (index 127).
	metadataEnd = 0x7F
)

// AppendHandshake appends a Handshake packet.
func AppendHandshake(b []byte, protocol int32, host string, port uint16, intent int32) []byte {
	b = mcproto.AppendVarInt(b, HandshakeID)
	b = mcproto.AppendVarInt(b, protocol)
	b = mcproto.AppendString(b, host)
	b = mcproto.AppendUint16(b, port)
	return mcproto.AppendVarInt(b, intent)
}

// Handshake is a decoded Handshake packet.
type Handshake struct {
	Protocol int32
	Host     string
	Port     uint16
	Intent   int32
}

// ParseHandshake decodes Handshake data (after the ID).
func ParseHandshake(data []byte) (Handshake, error) {
	r := mcproto.NewReader(data)
	h := Handshake{
		Protocol: r.VarInt(),
		Host:     r.String(MaxHostChars),
		Port:     r.Uint16(),
		Intent:   r.VarInt(),
	}
	if err := r.Finish(); err != nil {
		return Handshake{}, fmt.Errorf("handshake: %w", err)
	}
	return h, nil
}

// AppendLoginStart appends a 1.8 Login Start (name only; later versions add
// a UUID, docs/PROTOCOL.md, Login).
func AppendLoginStart(b []byte, name string) []byte {
	b = mcproto.AppendVarInt(b, LoginStartID)
	return mcproto.AppendString(b, name)
}

// ParseLoginStart decodes 1.8 Login Start data.
func ParseLoginStart(data []byte) (string, error) {
	r := mcproto.NewReader(data)
	name := r.String(MaxNameChars)
	if err := r.Finish(); err != nil {
		return "", fmt.Errorf("login start: %w", err)
	}
	return name, nil
}

// EncryptionRequest is what an online-mode server asks the client to
// encrypt: its DER public key and a verify token. The slices alias the
// packet data.
type EncryptionRequest struct {
	ServerID    string
	PublicKey   []byte
	VerifyToken []byte
}

// AppendEncryptionRequest appends a 1.8 Encryption Request.
func AppendEncryptionRequest(b []byte, e EncryptionRequest) []byte {
	b = mcproto.AppendVarInt(b, EncryptionRequestID)
	b = mcproto.AppendString(b, e.ServerID)
	b = mcproto.AppendByteArray(b, e.PublicKey)
	return mcproto.AppendByteArray(b, e.VerifyToken)
}

// ParseEncryptionRequest decodes 1.8 Encryption Request data.
func ParseEncryptionRequest(data []byte) (EncryptionRequest, error) {
	r := mcproto.NewReader(data)
	e := EncryptionRequest{
		ServerID:    r.String(MaxServerIDChars),
		PublicKey:   r.ByteArray(MaxServerKeyBytes),
		VerifyToken: r.ByteArray(MaxVerifyTokenBytes),
	}
	if err := r.Finish(); err != nil {
		return EncryptionRequest{}, fmt.Errorf("encryption request: %w", err)
	}
	return e, nil
}

// AppendEncryptionResponse appends a 1.8 Encryption Response: the shared
// secret and the verify token, each already encrypted with the server's
// key.
func AppendEncryptionResponse(b, secret, token []byte) []byte {
	b = mcproto.AppendVarInt(b, EncryptionResponseID)
	b = mcproto.AppendByteArray(b, secret)
	return mcproto.AppendByteArray(b, token)
}

// AppendSetCompression appends Set Compression.
func AppendSetCompression(b []byte, threshold int32) []byte {
	b = mcproto.AppendVarInt(b, SetCompressionID)
	return mcproto.AppendVarInt(b, threshold)
}

// ParseSetCompression decodes Set Compression data.
func ParseSetCompression(data []byte) (int32, error) {
	r := mcproto.NewReader(data)
	t := r.VarInt()
	if err := r.Finish(); err != nil {
		return 0, fmt.Errorf("set compression: %w", err)
	}
	return t, nil
}

// AppendLoginSuccess appends a 1.8 Login Success: the UUID as a dashed
// String(36), then the name.
func AppendLoginSuccess(b []byte, id mcproto.UUID, name string) []byte {
	b = mcproto.AppendVarInt(b, LoginSuccessID)
	b = mcproto.AppendString(b, id.String())
	return mcproto.AppendString(b, name)
}

// ParseLoginSuccess decodes 1.8 Login Success data.
func ParseLoginSuccess(data []byte) (uuid, name string, err error) {
	r := mcproto.NewReader(data)
	uuid = r.String(UUIDChars)
	name = r.String(MaxNameChars)
	if err := r.Finish(); err != nil {
		return "", "", fmt.Errorf("login success: %w", err)
	}
	return uuid, name, nil
}

// OfflineUUID is the UUID an offline-mode server gives a name
// (mcproto.OfflineUUID).
func OfflineUUID(name string) mcproto.UUID { return mcproto.OfflineUUID(name) }

// AppendJoinGame appends a 1.8 Join Game for a survival player in the
// overworld.
func AppendJoinGame(b []byte, entityID int32) []byte {
	b = mcproto.AppendVarInt(b, JoinGameID)
	b = mcproto.AppendInt32(b, entityID)
	b = append(b, 0) // game mode: survival
	b = append(b, 0) // dimension: overworld
	b = append(b, 1) // difficulty: easy
	b = append(b, 100)
	b = mcproto.AppendString(b, "default")
	return mcproto.AppendBool(b, false) // reduced debug info
}

// AppendChunkData appends a 1.8 Chunk Data packet carrying sections, the
// raw section bytes (block ids, light, biomes in the real game). The tool
// only needs the size and shape of a chunk, not a valid world.
func AppendChunkData(b []byte, x, z int32, bitmask uint16, sections []byte) []byte {
	b = mcproto.AppendVarInt(b, ChunkDataID)
	b = mcproto.AppendInt32(b, x)
	b = mcproto.AppendInt32(b, z)
	b = mcproto.AppendBool(b, true) // ground-up continuous
	b = mcproto.AppendUint16(b, bitmask)
	return mcproto.AppendByteArray(b, sections)
}

// AppendKeepAlive appends a 1.8 Keep Alive (VarInt id; 1.12.2 changed it to
// a long) with the given packet ID, so both directions share one builder.
func AppendKeepAlive(b []byte, packetID, id int32) []byte {
	b = mcproto.AppendVarInt(b, packetID)
	return mcproto.AppendVarInt(b, id)
}

// ParseKeepAlive decodes 1.8 Keep Alive data.
func ParseKeepAlive(data []byte) (int32, error) {
	r := mcproto.NewReader(data)
	id := r.VarInt()
	if err := r.Finish(); err != nil {
		return 0, fmt.Errorf("keep alive: %w", err)
	}
	return id, nil
}

// AppendPluginMessage appends a 1.8 Plugin Message: channel, then the data
// as the rest of the packet (1.8 has no length prefix for it).
func AppendPluginMessage(b []byte, packetID int32, channel string, data []byte) []byte {
	b = mcproto.AppendVarInt(b, packetID)
	b = mcproto.AppendString(b, channel)
	return append(b, data...)
}

// ParsePluginMessage decodes 1.8 Plugin Message data. payload aliases data.
func ParsePluginMessage(data []byte) (channel string, payload []byte, err error) {
	r := mcproto.NewReader(data)
	channel = r.String(MaxChannelChars)
	payload = r.Rest()
	if err := r.Err(); err != nil {
		return "", nil, fmt.Errorf("plugin message: %w", err)
	}
	return channel, payload, nil
}

// AppendStatusRequest appends a Status Request (no fields).
func AppendStatusRequest(b []byte) []byte { return mcproto.AppendVarInt(b, StatusRequestID) }

// AppendStatusResponse appends a Status Response carrying json.
func AppendStatusResponse(b []byte, json string) []byte {
	b = mcproto.AppendVarInt(b, StatusResponseID)
	return mcproto.AppendString(b, json)
}

// ParseStatusResponse decodes Status Response data. Backends may append
// data after the JSON (docs/PROTOCOL.md, Framingleftover bytes), so leftovers are
// tolerated here.
func ParseStatusResponse(data []byte) (string, error) {
	r := mcproto.NewReader(data)
	s := r.String(MaxStatusChars)
	if err := r.Err(); err != nil {
		return "", fmt.Errorf("status response: %w", err)
	}
	return s, nil
}

// AppendPing appends a Ping Request or Pong Response (same layout) with the
// given packet ID.
func AppendPing(b []byte, packetID int32, payload int64) []byte {
	b = mcproto.AppendVarInt(b, packetID)
	return mcproto.AppendInt64(b, payload)
}

// ParsePing decodes Ping/Pong data.
func ParsePing(data []byte) (int64, error) {
	r := mcproto.NewReader(data)
	v := r.Int64()
	if err := r.Finish(); err != nil {
		return 0, fmt.Errorf("ping: %w", err)
	}
	return v, nil
}

// AppendDisconnect appends a Disconnect (login 0x00 or play 0x40) with a
// plain-text reason as a JSON text component.
func AppendDisconnect(b []byte, packetID int32, reasonJSON string) []byte {
	b = mcproto.AppendVarInt(b, packetID)
	return mcproto.AppendString(b, reasonJSON)
}

// ParseDisconnect decodes Disconnect data.
func ParseDisconnect(data []byte) (string, error) {
	r := mcproto.NewReader(data)
	s := r.String(MaxDisconnectChars)
	if err := r.Finish(); err != nil {
		return "", fmt.Errorf("disconnect: %w", err)
	}
	return s, nil
}

// AppendChat appends a 1.8 clientbound Chat Message: the JSON text and its
// position (0 chat box, 1 system message, 2 above the hotbar).
func AppendChat(b []byte, json string, position byte) []byte {
	b = mcproto.AppendVarInt(b, ChatClientboundID)
	b = mcproto.AppendString(b, json)
	return append(b, position)
}

// ParseChat decodes 1.8 clientbound Chat Message data.
func ParseChat(data []byte) (json string, position byte, err error) {
	r := mcproto.NewReader(data)
	json = r.String(MaxChatChars)
	position = r.Byte()
	if err := r.Finish(); err != nil {
		return "", 0, fmt.Errorf("chat: %w", err)
	}
	return json, position, nil
}

// AppendSpawnPlayer appends a 1.8 Spawn Player for another player standing
// at (x, y, z) in blocks, holding nothing, with empty metadata.
func AppendSpawnPlayer(b []byte, entityID int32, id mcproto.UUID, x, y, z float64) []byte {
	b = mcproto.AppendVarInt(b, SpawnPlayerID)
	b = mcproto.AppendVarInt(b, entityID)
	b = mcproto.AppendUUID(b, id)
	for _, v := range [3]float64{x, y, z} {
		b = mcproto.AppendInt32(b, int32(v*FixedPointScale))
	}
	b = append(b, 0, 0)            // yaw, pitch (angles in 1/256 turns)
	b = mcproto.AppendUint16(b, 0) // current item: none
	return append(b, metadataEnd)  // no metadata
}

// AppendEntityRelMove appends a 1.8 Entity Relative Move of (dx, dy, dz)
// in 1/32 block.
func AppendEntityRelMove(b []byte, entityID int32, dx, dy, dz int8, onGround bool) []byte {
	b = mcproto.AppendVarInt(b, EntityRelMoveID)
	b = mcproto.AppendVarInt(b, entityID)
	b = append(b, byte(dx), byte(dy), byte(dz))
	return mcproto.AppendBool(b, onGround)
}

// AppendEntityMoveLook appends a 1.8 Entity Look And Relative Move: a move
// in 1/32 block and a rotation in 1/256 turns.
func AppendEntityMoveLook(b []byte, entityID int32, dx, dy, dz int8, yaw, pitch byte, onGround bool) []byte {
	b = mcproto.AppendVarInt(b, EntityMoveLookID)
	b = mcproto.AppendVarInt(b, entityID)
	b = append(b, byte(dx), byte(dy), byte(dz), yaw, pitch)
	return mcproto.AppendBool(b, onGround)
}

// Transaction is a 1.8 Confirm Transaction, the same layout both ways. A
// server that sends accepted = false makes the client answer with the same
// window and action and accepted = true; the edge's probes are such
// transactions (docs/DETECTIONS.md, "Probe design").
type Transaction struct {
	Window   int8
	Action   int16
	Accepted bool
}

// AppendTransaction appends a Confirm Transaction with the given packet ID
// (TransactionClientboundID or TransactionServerboundID).
func AppendTransaction(b []byte, packetID int32, t Transaction) []byte {
	b = mcproto.AppendVarInt(b, packetID)
	b = append(b, byte(t.Window))
	b = mcproto.AppendUint16(b, uint16(t.Action))
	return mcproto.AppendBool(b, t.Accepted)
}

// ParseTransaction decodes Confirm Transaction data.
func ParseTransaction(data []byte) (Transaction, error) {
	r := mcproto.NewReader(data)
	t := Transaction{Window: r.Int8(), Action: r.Int16(), Accepted: r.Bool()}
	if err := r.Finish(); err != nil {
		return Transaction{}, fmt.Errorf("transaction: %w", err)
	}
	return t, nil
}

// PositionLook is a 1.8 Player Position And Look (serverbound): feet
// position in blocks, rotation in degrees, ground flag.
type PositionLook struct {
	X, Y, Z    float64
	Yaw, Pitch float32
	OnGround   bool
}

// AppendPositionLook appends a serverbound Player Position And Look.
func AppendPositionLook(b []byte, p PositionLook) []byte {
	b = mcproto.AppendVarInt(b, PlayerPositionLookID)
	b = mcproto.AppendFloat64(b, p.X)
	b = mcproto.AppendFloat64(b, p.Y)
	b = mcproto.AppendFloat64(b, p.Z)
	b = mcproto.AppendFloat32(b, p.Yaw)
	b = mcproto.AppendFloat32(b, p.Pitch)
	return mcproto.AppendBool(b, p.OnGround)
}

// ParsePositionLook decodes serverbound Player Position And Look data.
func ParsePositionLook(data []byte) (PositionLook, error) {
	r := mcproto.NewReader(data)
	p := PositionLook{X: r.Float64(), Y: r.Float64(), Z: r.Float64(), Yaw: r.Float32(), Pitch: r.Float32(), OnGround: r.Bool()}
	if err := r.Finish(); err != nil {
		return PositionLook{}, fmt.Errorf("position and look: %w", err)
	}
	return p, nil
}
