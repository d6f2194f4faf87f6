package mcproto

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Reader decodes fields from one complete packet body. It never allocates:
// strings and byte arrays it returns alias the body, so copy them if they
// must outlive it. The first error sticks; check Err (or Finish) once at the
// end instead of after every field.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Reset points r at a new body and clears its error.
func (r *Reader) Reset(b []byte) { *r = Reader{b: b} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Offset is the number of bytes consumed so far.
func (r *Reader) Offset() int { return r.off }

// Rest returns the unread bytes and consumes them.
func (r *Reader) Rest() []byte {
	if r.err != nil {
		return nil
	}
	b := r.b[r.off:]
	r.off = len(r.b)
	return b
}

// Finish reports the sticky error, or ErrTrailingBytes when bytes are left:
// a known packet with leftovers is malformed or hostile (docs/PROTOCOL.md, Framing).
func (r *Reader) Finish() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%d bytes left: %w", len(r.b)-r.off, ErrTrailingBytes)
	}
	return nil
}

// Fail records err unless an error is already recorded.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 {
		r.err = ErrNegativeLength
		return nil
	}
	if n > len(r.b)-r.off {
		r.err = ErrShort
		r.off = len(r.b)
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

// VarInt reads a VarInt.
func (r *Reader) VarInt() int32 {
	if r.err != nil {
		return 0
	}
	v, n, err := ReadVarInt(r.b[r.off:])
	if err != nil {
		r.err = err
		return 0
	}
	r.off += n
	return v
}

// VarLong reads a VarLong.
func (r *Reader) VarLong() int64 {
	if r.err != nil {
		return 0
	}
	v, n, err := ReadVarLong(r.b[r.off:])
	if err != nil {
		r.err = err
		return 0
	}
	r.off += n
	return v
}

// Bool reads a boolean; any byte other than 0 and 1 is an error.
func (r *Reader) Bool() bool {
	b := r.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		r.Fail(fmt.Errorf("mcproto: boolean byte %#x", b[0]))
	}
	return b[0] == 1
}

// Byte reads an unsigned byte.
func (r *Reader) Byte() byte {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Int8 reads a signed byte.
func (r *Reader) Int8() int8 { return int8(r.Byte()) }

// Uint16 reads a big-endian unsigned short.
func (r *Reader) Uint16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

// Int16 reads a big-endian short.
func (r *Reader) Int16() int16 { return int16(r.Uint16()) }

// Int32 reads a big-endian int.
func (r *Reader) Int32() int32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Int64 reads a big-endian long.
func (r *Reader) Int64() int64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// Float32 reads a big-endian IEEE 754 float.
func (r *Reader) Float32() float32 { return math.Float32frombits(uint32(r.Int32())) }

// Float64 reads a big-endian IEEE 754 double.
func (r *Reader) Float64() float64 { return math.Float64frombits(uint64(r.Int64())) }

// UUID reads a 128-bit UUID.
func (r *Reader) UUID() (u UUID) {
	b := r.take(16)
	if b != nil {
		copy(u[:], b)
	}
	return u
}

// Position reads a packed block position. Layout changed in 1.14
// (protocol 477): x 26 | z 26 | y 12 since, x 26 | y 12 | z 26 before.
func (r *Reader) Position(protocol int32) Position {
	return UnpackPosition(uint64(r.Int64()), protocol)
}

// Bytes reads n raw bytes (aliasing the body).
func (r *Reader) Bytes(n int) []byte { return r.take(n) }

// ByteArray reads a VarInt-prefixed byte array of at most max bytes. The
// length is checked against max and against the bytes present before
// anything is sliced.
func (r *Reader) ByteArray(max int) []byte {
	n := r.VarInt()
	if r.err != nil {
		return nil
	}
	if n < 0 {
		r.err = ErrNegativeLength
		return nil
	}
	if int(n) > max {
		r.err = fmt.Errorf("byte array of %d > %d: %w", n, max, ErrArrayTooLong)
		return nil
	}
	return r.take(int(n))
}

// String reads a VarInt-prefixed UTF-8 string whose limit is maxChars UTF-16
// code units, as vanilla declares it. The byte count is checked against
// 3·maxChars before the bytes are touched, then the code units are counted
// (docs/PROTOCOL.md, Framing). The result aliases the body only through an unsafe-free
// conversion, so it allocates; use StringBytes on hot paths.
func (r *Reader) String(maxChars int) string {
	return string(r.StringBytes(maxChars))
}

// StringBytes is String without the copy: the bytes alias the body.
func (r *Reader) StringBytes(maxChars int) []byte {
	n := r.VarInt()
	if r.err != nil {
		return nil
	}
	if n < 0 {
		r.err = ErrNegativeLength
		return nil
	}
	if int64(n) > 3*int64(maxChars) {
		r.err = fmt.Errorf("string of %d bytes > 3×%d: %w", n, maxChars, ErrStringTooLong)
		return nil
	}
	b := r.take(int(n))
	if b == nil {
		return nil
	}
	if !utf8.Valid(b) {
		r.err = ErrBadUTF8
		return nil
	}
	if units := UTF16Units(b); units > maxChars {
		r.err = fmt.Errorf("string of %d chars > %d: %w", units, maxChars, ErrStringTooLong)
		return nil
	}
	return b
}

// UTF16Units counts the code units Java's String.length would give for UTF-8
// (or Java's modified UTF-8) b, the unit of vanilla's text limits: a 4-byte
// sequence is a surrogate pair and counts twice, continuation bytes count
// nothing. The edge's checks share it so every limit counts alike.
func UTF16Units(b []byte) int {
	n := 0
	for _, c := range b {
		switch {
		case c < 0x80 || c >= 0xC0 && c < 0xF0:
			n++ // a 1-byte char or the lead of a 2/3-byte sequence
		case c >= 0xF0:
			n += 2 // the lead of a 4-byte sequence: a surrogate pair
		}
	}
	return n
}
