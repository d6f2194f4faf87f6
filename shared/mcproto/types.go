package mcproto

import (
	"encoding/binary"
	"encoding/hex"
	"math"
)

// UUID is a 128-bit player or entity id as it travels on the wire.
type UUID [16]byte

// String formats u with dashes (8-4-4-4-12).
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// Position is a block position.
type Position struct{ X, Y, Z int32 }

// UnpackPosition decodes a packed position for the given protocol.
func UnpackPosition(v uint64, protocol int32) Position {
	if protocol >= 477 { // 1.14: x 26 | z 26 | y 12
		return Position{
			X: int32(int64(v) >> 38),
			Y: int32(int64(v<<52) >> 52),
			Z: int32(int64(v<<26) >> 38),
		}
	}
	return Position{ // before 1.14: x 26 | y 12 | z 26
		X: int32(int64(v) >> 38),
		Y: int32(int64(v<<26) >> 52),
		Z: int32(int64(v<<38) >> 38),
	}
}

// Pack encodes p for the given protocol.
func (p Position) Pack(protocol int32) uint64 {
	x, y, z := uint64(p.X)&0x3FFFFFF, uint64(p.Y)&0xFFF, uint64(p.Z)&0x3FFFFFF
	if protocol >= 477 {
		return x<<38 | z<<12 | y
	}
	return x<<38 | y<<26 | z
}

// Append helpers build packets for the few frames the edge writes itself
// (disconnects, status answers, probes). They append to b and return it, so
// a caller can reuse one buffer.

// AppendString appends a VarInt-prefixed string.
func AppendString(b []byte, s string) []byte {
	b = AppendVarInt(b, int32(len(s)))
	return append(b, s...)
}

// AppendByteArray appends a VarInt-prefixed byte array.
func AppendByteArray(b, data []byte) []byte {
	b = AppendVarInt(b, int32(len(data)))
	return append(b, data...)
}

// AppendBool appends a boolean byte.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendUint16 appends a big-endian unsigned short.
func AppendUint16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }

// AppendInt32 appends a big-endian int.
func AppendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

// AppendInt64 appends a big-endian long.
func AppendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// AppendFloat32 appends a big-endian float.
func AppendFloat32(b []byte, v float32) []byte { return AppendInt32(b, int32(math.Float32bits(v))) }

// AppendFloat64 appends a big-endian double.
func AppendFloat64(b []byte, v float64) []byte { return AppendInt64(b, int64(math.Float64bits(v))) }

// AppendUUID appends a UUID.
func AppendUUID(b []byte, u UUID) []byte { return append(b, u[:]...) }
