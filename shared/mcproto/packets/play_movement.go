package packets

import "github.com/rustguard/rustguard/shared/mcproto"

// Serverbound movement: the most frequent packets of all (20 a second per
// player), so every decoder here returns a fixed-size struct and allocates
// nothing on success.

// Movement flag bits. Before 1.21.2 the packets carry an onGround bool,
// which decodes to MoveOnGround; since 1.21.2 (protocol 768) a flags byte
// replaces it (protocol.json "MovementFlags").
const (
	MoveOnGround            uint8 = 1 << 0
	MoveHorizontalCollision uint8 = 1 << 1
)

func readMoveFlags(r *mcproto.Reader, protocol int32) uint8 {
	if protocol >= mcproto.Protocol1_21_2 {
		return r.Byte() // vanilla ignores unknown bits; a check may not
	}
	if r.Bool() {
		return MoveOnGround
	}
	return 0
}

func appendMoveFlags(b []byte, flags uint8, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_21_2 {
		return append(b, flags)
	}
	return mcproto.AppendBool(b, flags&MoveOnGround != 0)
}

// PlayerPosition is "Set Player Position" (protocol.json packet_position).
// Y is the feet position (1.8 calls it feetY; 1.7's head Y is gone).
type PlayerPosition struct {
	X, Y, Z float64
	Flags   uint8 // MoveOnGround | MoveHorizontalCollision
}

// OnGround reports the client's on-ground claim.
func (p PlayerPosition) OnGround() bool { return p.Flags&MoveOnGround != 0 }

// HorizontalCollision reports the 1.21.2+ collision claim (false before).
func (p PlayerPosition) HorizontalCollision() bool { return p.Flags&MoveHorizontalCollision != 0 }

// DecodePlayerPosition decodes x, y, z f64 and the on-ground bool or flags.
func DecodePlayerPosition(body []byte, protocol int32) (PlayerPosition, error) {
	r := mcproto.NewReader(body)
	p := PlayerPosition{X: r.Float64(), Y: r.Float64(), Z: r.Float64()}
	p.Flags = readMoveFlags(&r, protocol)
	if err := finish(&r, "player position"); err != nil {
		return PlayerPosition{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p PlayerPosition) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendFloat64(dst, p.X)
	dst = mcproto.AppendFloat64(dst, p.Y)
	dst = mcproto.AppendFloat64(dst, p.Z)
	return appendMoveFlags(dst, p.Flags, protocol)
}

// PlayerPositionLook is "Set Player Position and Rotation"
// (packet_position_look).
type PlayerPositionLook struct {
	X, Y, Z    float64
	Yaw, Pitch float32
	Flags      uint8
}

// OnGround reports the client's on-ground claim.
func (p PlayerPositionLook) OnGround() bool { return p.Flags&MoveOnGround != 0 }

// HorizontalCollision reports the 1.21.2+ collision claim.
func (p PlayerPositionLook) HorizontalCollision() bool {
	return p.Flags&MoveHorizontalCollision != 0
}

// DecodePlayerPositionLook decodes x, y, z f64, yaw, pitch f32 and flags.
func DecodePlayerPositionLook(body []byte, protocol int32) (PlayerPositionLook, error) {
	r := mcproto.NewReader(body)
	p := PlayerPositionLook{X: r.Float64(), Y: r.Float64(), Z: r.Float64(), Yaw: r.Float32(), Pitch: r.Float32()}
	p.Flags = readMoveFlags(&r, protocol)
	if err := finish(&r, "player position and rotation"); err != nil {
		return PlayerPositionLook{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p PlayerPositionLook) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendFloat64(dst, p.X)
	dst = mcproto.AppendFloat64(dst, p.Y)
	dst = mcproto.AppendFloat64(dst, p.Z)
	dst = mcproto.AppendFloat32(dst, p.Yaw)
	dst = mcproto.AppendFloat32(dst, p.Pitch)
	return appendMoveFlags(dst, p.Flags, protocol)
}

// PlayerLook is "Set Player Rotation" (packet_look).
type PlayerLook struct {
	Yaw, Pitch float32
	Flags      uint8
}

// OnGround reports the client's on-ground claim.
func (p PlayerLook) OnGround() bool { return p.Flags&MoveOnGround != 0 }

// HorizontalCollision reports the 1.21.2+ collision claim.
func (p PlayerLook) HorizontalCollision() bool { return p.Flags&MoveHorizontalCollision != 0 }

// DecodePlayerLook decodes yaw, pitch f32 and flags.
func DecodePlayerLook(body []byte, protocol int32) (PlayerLook, error) {
	r := mcproto.NewReader(body)
	p := PlayerLook{Yaw: r.Float32(), Pitch: r.Float32()}
	p.Flags = readMoveFlags(&r, protocol)
	if err := finish(&r, "player rotation"); err != nil {
		return PlayerLook{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p PlayerLook) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendFloat32(dst, p.Yaw)
	dst = mcproto.AppendFloat32(dst, p.Pitch)
	return appendMoveFlags(dst, p.Flags, protocol)
}

// PlayerOnGround is the movement packet without position or rotation
// ("Set Player Movement Flags", 1.8's Player packet; packet_flying).
type PlayerOnGround struct {
	Flags uint8
}

// OnGround reports the client's on-ground claim.
func (p PlayerOnGround) OnGround() bool { return p.Flags&MoveOnGround != 0 }

// HorizontalCollision reports the 1.21.2+ collision claim.
func (p PlayerOnGround) HorizontalCollision() bool { return p.Flags&MoveHorizontalCollision != 0 }

// DecodePlayerOnGround decodes the flags byte or on-ground bool.
func DecodePlayerOnGround(body []byte, protocol int32) (PlayerOnGround, error) {
	r := mcproto.NewReader(body)
	p := PlayerOnGround{Flags: readMoveFlags(&r, protocol)}
	if err := finish(&r, "player movement flags"); err != nil {
		return PlayerOnGround{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p PlayerOnGround) AppendData(dst []byte, protocol int32) []byte {
	return appendMoveFlags(dst, p.Flags, protocol)
}

// VehicleMove is the serverbound "Move Vehicle" (1.9+): where the client
// says the vehicle it steers is. OnGround exists from 1.21.4.
type VehicleMove struct {
	X, Y, Z    float64
	Yaw, Pitch float32
	OnGround   bool
}

// DecodeVehicleMove decodes x, y, z f64, yaw, pitch f32 [, on ground].
func DecodeVehicleMove(body []byte, protocol int32) (VehicleMove, error) {
	if protocol < mcproto.Protocol1_9 {
		return VehicleMove{}, notIn("vehicle move", protocol)
	}
	r := mcproto.NewReader(body)
	v := VehicleMove{X: r.Float64(), Y: r.Float64(), Z: r.Float64(), Yaw: r.Float32(), Pitch: r.Float32()}
	if protocol >= playProto1_21_4 {
		v.OnGround = r.Bool()
	}
	if err := finish(&r, "vehicle move"); err != nil {
		return VehicleMove{}, err
	}
	return v, nil
}

// AppendData appends the packet data.
func (v VehicleMove) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendFloat64(dst, v.X)
	dst = mcproto.AppendFloat64(dst, v.Y)
	dst = mcproto.AppendFloat64(dst, v.Z)
	dst = mcproto.AppendFloat32(dst, v.Yaw)
	dst = mcproto.AppendFloat32(dst, v.Pitch)
	if protocol >= playProto1_21_4 {
		dst = mcproto.AppendBool(dst, v.OnGround)
	}
	return dst
}

// TickEnd is the empty "Client Tick End" (1.21.2+), sent once per client
// tick: it lets a check count ticks instead of guessing them from time.
type TickEnd struct{}

// DecodeTickEnd checks that the packet is empty.
func DecodeTickEnd(body []byte, protocol int32) (TickEnd, error) {
	if protocol < mcproto.Protocol1_21_2 {
		return TickEnd{}, notIn("tick end", protocol)
	}
	r := mcproto.NewReader(body)
	return TickEnd{}, finish(&r, "tick end")
}

// AppendData appends nothing: the packet has no data.
func (TickEnd) AppendData(dst []byte, _ int32) []byte { return dst }

// TeleportConfirm is "Confirm Teleportation" (1.9+): the client's answer
// to a server position sync, echoing its teleport id.
type TeleportConfirm struct {
	TeleportID int32
}

// DecodeTeleportConfirm decodes the VarInt teleport id.
func DecodeTeleportConfirm(body []byte, protocol int32) (TeleportConfirm, error) {
	if protocol < mcproto.Protocol1_9 {
		return TeleportConfirm{}, notIn("teleport confirm", protocol)
	}
	r := mcproto.NewReader(body)
	t := TeleportConfirm{TeleportID: r.VarInt()}
	if err := finish(&r, "teleport confirm"); err != nil {
		return TeleportConfirm{}, err
	}
	return t, nil
}

// AppendData appends the packet data.
func (t TeleportConfirm) AppendData(dst []byte, _ int32) []byte {
	return mcproto.AppendVarInt(dst, t.TeleportID)
}
