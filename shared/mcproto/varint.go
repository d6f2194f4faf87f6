package mcproto

// MaxVarIntLen and MaxVarLongLen are the widest legal encodings
// (docs/PROTOCOL.md, Framing).
const (
	MaxVarIntLen  = 5
	MaxVarLongLen = 10
)

// VarIntLen is the number of bytes AppendVarInt writes for v.
func VarIntLen(v int32) int {
	u := uint32(v)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// AppendVarInt appends v in VarInt encoding. Negative values use all 5 bytes.
func AppendVarInt(b []byte, v int32) []byte {
	u := uint32(v)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// AppendVarLong appends v in VarLong encoding.
func AppendVarLong(b []byte, v int64) []byte {
	u := uint64(v)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// ReadVarInt decodes a VarInt from the start of b and returns it with the
// number of bytes it used. It returns ErrShort when b ends inside the value
// and ErrVarIntTooBig when a fifth byte still has the continuation bit.
func ReadVarInt(b []byte) (int32, int, error) {
	var u uint32
	for i := 0; i < MaxVarIntLen; i++ {
		if i >= len(b) {
			return 0, 0, ErrShort
		}
		c := b[i]
		u |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int32(u), i + 1, nil
		}
	}
	return 0, 0, ErrVarIntTooBig
}

// ReadVarLong decodes a VarLong from the start of b.
func ReadVarLong(b []byte) (int64, int, error) {
	var u uint64
	for i := 0; i < MaxVarLongLen; i++ {
		if i >= len(b) {
			return 0, 0, ErrShort
		}
		c := b[i]
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int64(u), i + 1, nil
		}
	}
	return 0, 0, ErrVarIntTooBig
}
