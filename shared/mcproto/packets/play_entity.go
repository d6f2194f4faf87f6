package packets

import "github.com/rustguard/rustguard/shared/mcproto"

// Clientbound entity and position packets: what the backend tells the
// client about where things are. Checks that judge reach, aim or movement
// replay these to know where the client believes entities (and itself)
// are. Move and teleport packets are the most frequent clientbound
// packets, so their decoders allocate nothing.
//
// Coordinates are blocks and angles degrees in every version: 1.8's fixed
// point (1/32 block), delta shorts (1/4096 block), velocity shorts
// (1/8000 block per tick) and angle bytes (1/256 turn) are converted
// exactly, so AppendData writes back the same bytes.

// Relative-movement flags of the position sync and entity teleport packets
// (vanilla's Relative enum; the Delta and RotateDelta bits are 1.21.2+).
const (
	RelX           uint32 = 1 << 0
	RelY           uint32 = 1 << 1
	RelZ           uint32 = 1 << 2
	RelYaw         uint32 = 1 << 3
	RelPitch       uint32 = 1 << 4
	RelDeltaX      uint32 = 1 << 5
	RelDeltaY      uint32 = 1 << 6
	RelDeltaZ      uint32 = 1 << 7
	RelRotateDelta uint32 = 1 << 8
)

// SyncPlayerPosition is the clientbound "Synchronize Player Position": a
// server-side teleport the client must confirm with TeleportConfirm
// (1.9+). Layouts:
//
//	1.8          x, y, z f64, yaw, pitch f32, flags i8
//	1.9–1.16.5   … , teleport id
//	1.17–1.19.3  … , teleport id, dismount vehicle
//	1.19.4–1.21.1 … , teleport id
//	1.21.2+      teleport id, x, y, z, dx, dy, dz f64, yaw, pitch f32, flags i32
type SyncPlayerPosition struct {
	TeleportID int32 // 1.9+
	X, Y, Z    float64
	VX, VY, VZ float64 // 1.21.2+
	Yaw, Pitch float32
	Flags      uint32 // Rel* bits; one byte before 1.21.2
	Dismount   bool   // 1.17–1.19.3
}

// DecodeSyncPlayerPosition decodes the position sync.
func DecodeSyncPlayerPosition(body []byte, protocol int32) (SyncPlayerPosition, error) {
	r := mcproto.NewReader(body)
	var p SyncPlayerPosition
	if protocol >= mcproto.Protocol1_21_2 {
		p.TeleportID = r.VarInt()
		p.X, p.Y, p.Z = r.Float64(), r.Float64(), r.Float64()
		p.VX, p.VY, p.VZ = r.Float64(), r.Float64(), r.Float64()
		p.Yaw, p.Pitch = r.Float32(), r.Float32()
		p.Flags = uint32(r.Int32())
	} else {
		p.X, p.Y, p.Z = r.Float64(), r.Float64(), r.Float64()
		p.Yaw, p.Pitch = r.Float32(), r.Float32()
		p.Flags = uint32(r.Byte())
		if protocol >= mcproto.Protocol1_9 {
			p.TeleportID = r.VarInt()
		}
		if protocol >= playProto1_17 && protocol < playProto1_19_4 {
			p.Dismount = r.Bool()
		}
	}
	if err := finish(&r, "sync player position"); err != nil {
		return SyncPlayerPosition{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p SyncPlayerPosition) AppendData(dst []byte, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_21_2 {
		dst = mcproto.AppendVarInt(dst, p.TeleportID)
		dst = appendVec3(dst, p.X, p.Y, p.Z)
		dst = appendVec3(dst, p.VX, p.VY, p.VZ)
		dst = mcproto.AppendFloat32(dst, p.Yaw)
		dst = mcproto.AppendFloat32(dst, p.Pitch)
		return mcproto.AppendInt32(dst, int32(p.Flags))
	}
	dst = appendVec3(dst, p.X, p.Y, p.Z)
	dst = mcproto.AppendFloat32(dst, p.Yaw)
	dst = mcproto.AppendFloat32(dst, p.Pitch)
	dst = append(dst, byte(p.Flags))
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendVarInt(dst, p.TeleportID)
	}
	if protocol >= playProto1_17 && protocol < playProto1_19_4 {
		dst = mcproto.AppendBool(dst, p.Dismount)
	}
	return dst
}

func appendVec3(dst []byte, x, y, z float64) []byte {
	dst = mcproto.AppendFloat64(dst, x)
	dst = mcproto.AppendFloat64(dst, y)
	return mcproto.AppendFloat64(dst, z)
}

// readAbsPos reads an absolute entity position: fixed-point i32 in 1.8,
// f64 since 1.9.
func readAbsPos(r *mcproto.Reader, protocol int32) (x, y, z float64) {
	if protocol < mcproto.Protocol1_9 {
		return fromFixed(r.Int32()), fromFixed(r.Int32()), fromFixed(r.Int32())
	}
	return r.Float64(), r.Float64(), r.Float64()
}

func appendAbsPos(dst []byte, x, y, z float64, protocol int32) []byte {
	if protocol < mcproto.Protocol1_9 {
		dst = mcproto.AppendInt32(dst, toFixed(x))
		dst = mcproto.AppendInt32(dst, toFixed(y))
		return mcproto.AppendInt32(dst, toFixed(z))
	}
	return appendVec3(dst, x, y, z)
}

func readAngle(r *mcproto.Reader) float32 { return AngleDegrees(r.Int8()) }

func appendAngle(dst []byte, deg float32) []byte { return appendInt8(dst, AngleByte(deg)) }

func readVelShorts(r *mcproto.Reader) (x, y, z float64) {
	return fromVel(r.Int16()), fromVel(r.Int16()), fromVel(r.Int16())
}

func appendVelShorts(dst []byte, x, y, z float64) []byte {
	dst = appendInt16(dst, toVel(x))
	dst = appendInt16(dst, toVel(y))
	return appendInt16(dst, toVel(z))
}

// SpawnEntity is "Spawn Entity" (objects before 1.19, every entity since).
// Layouts:
//
//	1.8          id, type i8, x, y, z fixed, pitch, yaw, data i32, [velocity if data ≠ 0]
//	1.9–1.13.2   id, uuid, type i8, x, y, z f64, pitch, yaw, data i32, velocity
//	1.14–1.18.2  type as VarInt
//	1.19–1.21.8  … , pitch, yaw, head yaw, data VarInt, velocity
//	1.21.9+      id, uuid, type, x, y, z, velocity LpVec3, pitch, yaw, head yaw, data
//
// Since 1.21.9 the velocity is re-quantized on encode (see LpVec3).
type SpawnEntity struct {
	EntityID            int32
	UUID                mcproto.UUID // 1.9+
	Type                int32
	X, Y, Z             float64
	Pitch, Yaw, HeadYaw float32 // degrees; HeadYaw 1.19+
	Data                int32
	VelX, VelY, VelZ    float64 // blocks per tick; 1.8 sends none when Data is 0
}

// DecodeSpawnEntity decodes the spawn.
func DecodeSpawnEntity(body []byte, protocol int32) (SpawnEntity, error) {
	r := mcproto.NewReader(body)
	s := SpawnEntity{EntityID: r.VarInt()}
	if protocol >= mcproto.Protocol1_9 {
		s.UUID = r.UUID()
	}
	if protocol >= playProto1_14 {
		s.Type = r.VarInt()
	} else {
		s.Type = int32(r.Int8())
	}
	s.X, s.Y, s.Z = readAbsPos(&r, protocol)
	if protocol >= playProto1_21_9 {
		s.VelX, s.VelY, s.VelZ = readLpVec3(&r)
	}
	s.Pitch, s.Yaw = readAngle(&r), readAngle(&r)
	if protocol >= mcproto.Protocol1_19 {
		s.HeadYaw = readAngle(&r)
		s.Data = r.VarInt()
	} else {
		s.Data = r.Int32()
	}
	if protocol < playProto1_21_9 && (protocol >= mcproto.Protocol1_9 || s.Data != 0) {
		s.VelX, s.VelY, s.VelZ = readVelShorts(&r)
	}
	if err := finish(&r, "spawn entity"); err != nil {
		return SpawnEntity{}, err
	}
	return s, nil
}

// AppendData appends the packet data.
func (s SpawnEntity) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, s.EntityID)
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendUUID(dst, s.UUID)
	}
	if protocol >= playProto1_14 {
		dst = mcproto.AppendVarInt(dst, s.Type)
	} else {
		dst = appendInt8(dst, int8(s.Type))
	}
	dst = appendAbsPos(dst, s.X, s.Y, s.Z, protocol)
	if protocol >= playProto1_21_9 {
		dst = appendLpVec3(dst, s.VelX, s.VelY, s.VelZ)
	}
	dst = appendAngle(dst, s.Pitch)
	dst = appendAngle(dst, s.Yaw)
	if protocol >= mcproto.Protocol1_19 {
		dst = appendAngle(dst, s.HeadYaw)
		dst = mcproto.AppendVarInt(dst, s.Data)
	} else {
		dst = mcproto.AppendInt32(dst, s.Data)
	}
	if protocol < playProto1_21_9 && (protocol >= mcproto.Protocol1_9 || s.Data != 0) {
		dst = appendVelShorts(dst, s.VelX, s.VelY, s.VelZ)
	}
	return dst
}

// SpawnLivingEntity is "Spawn Mob" (1.8–1.18.2; merged into SpawnEntity in 1.19).
// The type is a u8 before 1.11; entity metadata trails it before 1.15 and
// is kept raw.
type SpawnLivingEntity struct {
	EntityID            int32
	UUID                mcproto.UUID // 1.9+
	Type                int32
	X, Y, Z             float64
	Yaw, Pitch, HeadYaw float32
	VelX, VelY, VelZ    float64
	Metadata            []byte // before 1.15
}

// DecodeSpawnLivingEntity decodes the mob spawn.
func DecodeSpawnLivingEntity(body []byte, protocol int32) (SpawnLivingEntity, error) {
	if protocol >= mcproto.Protocol1_19 {
		return SpawnLivingEntity{}, notIn("spawn living entity", protocol)
	}
	r := mcproto.NewReader(body)
	s := SpawnLivingEntity{EntityID: r.VarInt()}
	if protocol >= mcproto.Protocol1_9 {
		s.UUID = r.UUID()
	}
	if protocol >= playProto1_11 {
		s.Type = r.VarInt()
	} else {
		s.Type = int32(r.Byte())
	}
	s.X, s.Y, s.Z = readAbsPos(&r, protocol)
	s.Yaw, s.Pitch, s.HeadYaw = readAngle(&r), readAngle(&r), readAngle(&r)
	s.VelX, s.VelY, s.VelZ = readVelShorts(&r)
	if protocol < playProto1_15 {
		s.Metadata = r.Rest()
	}
	if err := finish(&r, "spawn living entity"); err != nil {
		return SpawnLivingEntity{}, err
	}
	return s, nil
}

// AppendData appends the packet data.
func (s SpawnLivingEntity) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, s.EntityID)
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendUUID(dst, s.UUID)
	}
	if protocol >= playProto1_11 {
		dst = mcproto.AppendVarInt(dst, s.Type)
	} else {
		dst = append(dst, byte(s.Type))
	}
	dst = appendAbsPos(dst, s.X, s.Y, s.Z, protocol)
	dst = appendAngle(dst, s.Yaw)
	dst = appendAngle(dst, s.Pitch)
	dst = appendAngle(dst, s.HeadYaw)
	dst = appendVelShorts(dst, s.VelX, s.VelY, s.VelZ)
	if protocol < playProto1_15 {
		dst = append(dst, s.Metadata...)
	}
	return dst
}

// SpawnPlayer is "Spawn Player" (1.8–1.20.1; players use SpawnEntity
// since 1.20.2). 1.8 adds the held item; metadata trails before 1.15.
type SpawnPlayer struct {
	EntityID    int32
	UUID        mcproto.UUID
	X, Y, Z     float64
	Yaw, Pitch  float32
	CurrentItem int16  // 1.8
	Metadata    []byte // before 1.15
}

// DecodeSpawnPlayer decodes the player spawn.
func DecodeSpawnPlayer(body []byte, protocol int32) (SpawnPlayer, error) {
	if protocol >= mcproto.Protocol1_20_2 {
		return SpawnPlayer{}, notIn("spawn player", protocol)
	}
	r := mcproto.NewReader(body)
	s := SpawnPlayer{EntityID: r.VarInt(), UUID: r.UUID()}
	s.X, s.Y, s.Z = readAbsPos(&r, protocol)
	s.Yaw, s.Pitch = readAngle(&r), readAngle(&r)
	if protocol < mcproto.Protocol1_9 {
		s.CurrentItem = r.Int16()
	}
	if protocol < playProto1_15 {
		s.Metadata = r.Rest()
	}
	if err := finish(&r, "spawn player"); err != nil {
		return SpawnPlayer{}, err
	}
	return s, nil
}

// AppendData appends the packet data.
func (s SpawnPlayer) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, s.EntityID)
	dst = mcproto.AppendUUID(dst, s.UUID)
	dst = appendAbsPos(dst, s.X, s.Y, s.Z, protocol)
	dst = appendAngle(dst, s.Yaw)
	dst = appendAngle(dst, s.Pitch)
	if protocol < mcproto.Protocol1_9 {
		dst = appendInt16(dst, s.CurrentItem)
	}
	if protocol < playProto1_15 {
		dst = append(dst, s.Metadata...)
	}
	return dst
}

// readDelta reads one relative-move component: i8 of 1/32 block in 1.8,
// i16 of 1/4096 block since 1.9.
func readDelta(r *mcproto.Reader, protocol int32) float64 {
	if protocol < mcproto.Protocol1_9 {
		return fromFixed(int32(r.Int8()))
	}
	return fromDelta(r.Int16())
}

func appendDelta(dst []byte, v float64, protocol int32) []byte {
	if protocol < mcproto.Protocol1_9 {
		return appendInt8(dst, int8(toFixed(v)))
	}
	return appendInt16(dst, toDelta(v))
}

// EntityRelMove is "Update Entity Position": a small relative move.
type EntityRelMove struct {
	EntityID   int32
	DX, DY, DZ float64
	OnGround   bool
}

// DecodeEntityRelMove decodes the relative move.
func DecodeEntityRelMove(body []byte, protocol int32) (EntityRelMove, error) {
	r := mcproto.NewReader(body)
	m := EntityRelMove{EntityID: r.VarInt()}
	m.DX, m.DY, m.DZ = readDelta(&r, protocol), readDelta(&r, protocol), readDelta(&r, protocol)
	m.OnGround = r.Bool()
	if err := finish(&r, "entity relative move"); err != nil {
		return EntityRelMove{}, err
	}
	return m, nil
}

// AppendData appends the packet data.
func (m EntityRelMove) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, m.EntityID)
	dst = appendDelta(dst, m.DX, protocol)
	dst = appendDelta(dst, m.DY, protocol)
	dst = appendDelta(dst, m.DZ, protocol)
	return mcproto.AppendBool(dst, m.OnGround)
}

// EntityMoveLook is "Update Entity Position and Rotation".
type EntityMoveLook struct {
	EntityID   int32
	DX, DY, DZ float64
	Yaw, Pitch float32
	OnGround   bool
}

// DecodeEntityMoveLook decodes the relative move with rotation.
func DecodeEntityMoveLook(body []byte, protocol int32) (EntityMoveLook, error) {
	r := mcproto.NewReader(body)
	m := EntityMoveLook{EntityID: r.VarInt()}
	m.DX, m.DY, m.DZ = readDelta(&r, protocol), readDelta(&r, protocol), readDelta(&r, protocol)
	m.Yaw, m.Pitch = readAngle(&r), readAngle(&r)
	m.OnGround = r.Bool()
	if err := finish(&r, "entity move look"); err != nil {
		return EntityMoveLook{}, err
	}
	return m, nil
}

// AppendData appends the packet data.
func (m EntityMoveLook) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, m.EntityID)
	dst = appendDelta(dst, m.DX, protocol)
	dst = appendDelta(dst, m.DY, protocol)
	dst = appendDelta(dst, m.DZ, protocol)
	dst = appendAngle(dst, m.Yaw)
	dst = appendAngle(dst, m.Pitch)
	return mcproto.AppendBool(dst, m.OnGround)
}

// EntityLook is "Update Entity Rotation".
type EntityLook struct {
	EntityID   int32
	Yaw, Pitch float32
	OnGround   bool
}

// DecodeEntityLook decodes the rotation.
func DecodeEntityLook(body []byte, _ int32) (EntityLook, error) {
	r := mcproto.NewReader(body)
	m := EntityLook{EntityID: r.VarInt(), Yaw: readAngle(&r), Pitch: readAngle(&r), OnGround: r.Bool()}
	if err := finish(&r, "entity look"); err != nil {
		return EntityLook{}, err
	}
	return m, nil
}

// AppendData appends the packet data.
func (m EntityLook) AppendData(dst []byte, _ int32) []byte {
	dst = mcproto.AppendVarInt(dst, m.EntityID)
	dst = appendAngle(dst, m.Yaw)
	dst = appendAngle(dst, m.Pitch)
	return mcproto.AppendBool(dst, m.OnGround)
}

// EntityTeleport is "Teleport Entity". Up to 1.21.1 it is an absolute
// position with angle bytes (fixed point in 1.8). Since 1.21.2 it carries
// velocity, float rotations and relative flags; the old meaning moved to
// EntityPositionSync.
type EntityTeleport struct {
	EntityID   int32
	X, Y, Z    float64
	VX, VY, VZ float64 // 1.21.2+
	Yaw, Pitch float32
	Flags      uint32 // 1.21.2+, Rel* bits
	OnGround   bool
}

// DecodeEntityTeleport decodes the teleport.
func DecodeEntityTeleport(body []byte, protocol int32) (EntityTeleport, error) {
	r := mcproto.NewReader(body)
	t := EntityTeleport{EntityID: r.VarInt()}
	if protocol >= mcproto.Protocol1_21_2 {
		t.X, t.Y, t.Z = r.Float64(), r.Float64(), r.Float64()
		t.VX, t.VY, t.VZ = r.Float64(), r.Float64(), r.Float64()
		t.Yaw, t.Pitch = r.Float32(), r.Float32()
		t.Flags = uint32(r.Int32())
	} else {
		t.X, t.Y, t.Z = readAbsPos(&r, protocol)
		t.Yaw, t.Pitch = readAngle(&r), readAngle(&r)
	}
	t.OnGround = r.Bool()
	if err := finish(&r, "entity teleport"); err != nil {
		return EntityTeleport{}, err
	}
	return t, nil
}

// AppendData appends the packet data.
func (t EntityTeleport) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, t.EntityID)
	if protocol >= mcproto.Protocol1_21_2 {
		dst = appendVec3(dst, t.X, t.Y, t.Z)
		dst = appendVec3(dst, t.VX, t.VY, t.VZ)
		dst = mcproto.AppendFloat32(dst, t.Yaw)
		dst = mcproto.AppendFloat32(dst, t.Pitch)
		dst = mcproto.AppendInt32(dst, int32(t.Flags))
	} else {
		dst = appendAbsPos(dst, t.X, t.Y, t.Z, protocol)
		dst = appendAngle(dst, t.Yaw)
		dst = appendAngle(dst, t.Pitch)
	}
	return mcproto.AppendBool(dst, t.OnGround)
}

// EntityPositionSync is 1.21.2+'s "Synchronize Entity Position"
// (sync_entity_position): the absolute position a teleport used to carry,
// plus velocity.
type EntityPositionSync struct {
	EntityID   int32
	X, Y, Z    float64
	VX, VY, VZ float64
	Yaw, Pitch float32
	OnGround   bool
}

// DecodeEntityPositionSync decodes the position sync.
func DecodeEntityPositionSync(body []byte, protocol int32) (EntityPositionSync, error) {
	if protocol < mcproto.Protocol1_21_2 {
		return EntityPositionSync{}, notIn("entity position sync", protocol)
	}
	r := mcproto.NewReader(body)
	s := EntityPositionSync{EntityID: r.VarInt()}
	s.X, s.Y, s.Z = r.Float64(), r.Float64(), r.Float64()
	s.VX, s.VY, s.VZ = r.Float64(), r.Float64(), r.Float64()
	s.Yaw, s.Pitch = r.Float32(), r.Float32()
	s.OnGround = r.Bool()
	if err := finish(&r, "entity position sync"); err != nil {
		return EntityPositionSync{}, err
	}
	return s, nil
}

// AppendData appends the packet data.
func (s EntityPositionSync) AppendData(dst []byte, _ int32) []byte {
	dst = mcproto.AppendVarInt(dst, s.EntityID)
	dst = appendVec3(dst, s.X, s.Y, s.Z)
	dst = appendVec3(dst, s.VX, s.VY, s.VZ)
	dst = mcproto.AppendFloat32(dst, s.Yaw)
	dst = mcproto.AppendFloat32(dst, s.Pitch)
	return mcproto.AppendBool(dst, s.OnGround)
}

// EntityDestroy is "Remove Entities": a VarInt-counted list of entity ids,
// except in 1.17.0 where the packet removes a single entity (its
// destroy_entity). The ids stay as their raw VarInts so decoding does not
// allocate; AppendIDs expands them. Vanilla sets no limit on the count;
// ours is the body itself (every id takes at least one byte), so a count
// never buys iterations or memory beyond the bytes received.
type EntityDestroy struct {
	Count int32
	IDs   []byte // Count concatenated VarInts
}

// NewEntityDestroy builds the packet for the given ids.
func NewEntityDestroy(ids ...int32) EntityDestroy {
	d := EntityDestroy{Count: int32(len(ids))}
	for _, id := range ids {
		d.IDs = mcproto.AppendVarInt(d.IDs, id)
	}
	return d
}

// AppendIDs appends the decoded ids to dst.
func (d EntityDestroy) AppendIDs(dst []int32) []int32 {
	r := mcproto.NewReader(d.IDs)
	for i := int32(0); i < d.Count && r.Err() == nil; i++ {
		if id := r.VarInt(); r.Err() == nil {
			dst = append(dst, id)
		}
	}
	return dst
}

// DecodeEntityDestroy decodes the removal.
func DecodeEntityDestroy(body []byte, protocol int32) (EntityDestroy, error) {
	r := mcproto.NewReader(body)
	var d EntityDestroy
	if protocol == playProto1_17 {
		d.Count = 1
		r.VarInt()
		d.IDs = rawSince(body, &r, 0)
	} else {
		n := r.VarInt()
		if checkCount(&r, n, unboundedList, 1) {
			start := r.Offset()
			for i := int32(0); i < n && r.Err() == nil; i++ {
				r.VarInt()
			}
			if r.Err() == nil {
				d.Count, d.IDs = n, rawSince(body, &r, start)
			}
		}
	}
	if err := finish(&r, "entity destroy"); err != nil {
		return EntityDestroy{}, err
	}
	return d, nil
}

// AppendData appends the packet data. In 1.17.0 Count must be 1.
func (d EntityDestroy) AppendData(dst []byte, protocol int32) []byte {
	if protocol != playProto1_17 {
		dst = mcproto.AppendVarInt(dst, d.Count)
	}
	return append(dst, d.IDs...)
}
