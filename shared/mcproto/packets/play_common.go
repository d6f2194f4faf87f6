package packets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// This file holds what the play-state decoders share: the protocol numbers
// they branch on, their sentinel errors, and the few compound field types
// (angles, fixed-point coordinates, low-precision vectors, item slots) that
// several packets carry. Layouts come from minecraft-data's protocol.json
// (play.toServer / play.toClient) for every release from 1.8 to 26.1.

// Protocol numbers the play layouts change at, beyond those in mcproto
// (docs/PROTOCOL.md, Protocol numbers). Prefixed so they cannot clash with other files of the
// package.
const (
	playProto1_11   = 315 // 1.11: chat 256 chars, float cursor, VarInt mob type
	playProto1_13_1 = 401 // 1.13.1: edit book gains hand
	playProto1_13_2 = 404 // 1.13.2: slot = present bool + VarInt id
	playProto1_14   = 477 // 1.14: block place starts with hand, inside-block flag
	playProto1_15   = 573 // 1.15: hashed seed, spawn metadata moves out
	playProto1_16   = 735 // 1.16: abilities flags only, use-entity sneaking
	playProto1_16_2 = 751 // 1.16.2: hardcore as its own bool, dimension NBT
	playProto1_17   = 755 // 1.17: ping/pong replace transactions
	playProto1_17_1 = 756 // 1.17.1: state id, destroy list back, book pages
	playProto1_18   = 757 // 1.18: server listing in client settings
	playProto1_19_4 = 762 // 1.19.4: position sync drops dismount
	playProto1_20   = 763 // 1.20: two-sided signs
	playProto1_21   = 767 // 1.21: use item carries rotation
	playProto1_21_4 = 769 // 1.21.4: vehicle move carries on-ground
	playProto1_21_5 = 770 // 1.21.5: last-seen checksum, hashed slots
	playProto1_21_9 = 773 // 1.21.9: spawn velocity as LpVec3
	playProto26_1   = 775 // 26.1: attack split from interact, LpVec3 hit
)

// Errors of the play decoders. Truncation, over-long strings and arrays come
// wrapped from mcproto (ErrShort, ErrStringTooLong, ErrArrayTooLong, …).
var (
	// ErrNotInProtocol means the packet does not exist in the protocol
	// version asked for (e.g. a transaction on 1.17): the caller picked the
	// decoder from a table that disagrees with ours, or was fed a bad Kind.
	ErrNotInProtocol = errors.New("packets: packet does not exist in this protocol version")
	// ErrBadField is a value the layout depends on that vanilla would refuse
	// to parse, such as an interact type outside 0–2.
	ErrBadField = errors.New("packets: invalid field value")
)

// Caps of the play decoders, each from the vanilla reader of that field.
const (
	// maxIdentifierChars is vanilla's readUtf() default, used for channel
	// names (1.13+) and world names.
	maxIdentifierChars = 32767
	// maxItemBytes bounds a raw item slot we keep without parsing it:
	// vanilla reads network NBT with a 2 MiB NbtAccounter quota, which is
	// also our serverbound inflate cap, so no legal item is larger.
	maxItemBytes = 2 << 20
	// maxWindowRestBytes bounds the raw tail of a 1.17+ click (changed
	// slots and the cursor item). Vanilla bounds it only by the frame, so
	// this is our serverbound inflate cap: the largest body that can exist.
	maxWindowRestBytes = mcproto.MaxServerboundInflate
	// unboundedList marks lists vanilla does not cap (entity ids, world
	// names): checkCount still bounds them by the bytes present.
	unboundedList = math.MaxInt32
)

// notIn wraps ErrNotInProtocol with the packet and version.
func notIn(packet string, protocol int32) error {
	return fmt.Errorf("%s at protocol %d: %w", packet, protocol, ErrNotInProtocol)
}

// finish closes a decode: the sticky error or trailing bytes, wrapped with
// the packet name. Errors allocate; successful decodes do not.
func finish(r *mcproto.Reader, packet string) error {
	if err := r.Finish(); err != nil {
		return fmt.Errorf("decode %s: %w", packet, err)
	}
	return nil
}

// appendInt16 and appendInt8 fill the gaps of mcproto's Append helpers.
func appendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendInt8(b []byte, v int8) []byte   { return append(b, byte(v)) }

// appendPosition appends a packed block position.
func appendPosition(b []byte, p mcproto.Position, protocol int32) []byte {
	return mcproto.AppendInt64(b, int64(p.Pack(protocol)))
}

// Angles travel as one byte: 256 steps per turn. Decoders expose degrees so
// a check can compare them with the float rotations of movement packets;
// the conversion is exact both ways (multiples of 1.40625°).
const angleStepsPerTurn = 256

// AngleDegrees converts a wire angle byte to degrees in [-180, 180).
func AngleDegrees(a int8) float32 { return float32(a) * (360.0 / angleStepsPerTurn) }

// AngleByte converts degrees to the nearest wire angle byte, wrapping
// around a full turn as the client does.
func AngleByte(deg float32) int8 {
	return int8(int64(math.Round(float64(deg) * angleStepsPerTurn / 360)))
}

// Fixed-point scales of entity coordinates (minecraft.wiki, "Java Edition
// protocol", Data types).
const (
	fixedPointScale  = 32   // 1.8 absolute positions and 1.8 deltas: 1/32 block
	deltaScale       = 4096 // 1.9+ relative moves: 1/4096 block (32 × 128)
	velocityPerBlock = 8000 // velocity shorts: 1/8000 block per tick
)

func fromFixed(v int32) float64 { return float64(v) / fixedPointScale }
func toFixed(v float64) int32   { return int32(int64(math.Round(v * fixedPointScale))) }
func fromDelta(v int16) float64 { return float64(v) / deltaScale }
func toDelta(v float64) int16   { return int16(int64(math.Round(v * deltaScale))) }
func fromVel(v int16) float64   { return float64(v) / velocityPerBlock }
func toVel(v float64) int16     { return int16(int64(math.Round(v * velocityPerBlock))) }

// Low-precision vectors ("lpVec3": 1.21.9+ entity velocity, the 26.1
// interaction point). The zero vector is one 0x00 byte. Otherwise six bytes
// form a 48-bit value v = b0 | b1<<8 | (big-endian u32 of b2..b5)<<16:
// bits 0–1 are the low scale bits, bit 2 says a VarInt with the rest of
// the scale (scale>>2) follows, and bits 3, 18 and 33 start the 15-bit x,
// y and z codes q, each meaning (min(q, 32766)·2/32766 − 1)·scale. The
// encoder picks scale = ceil(max |component|), so a round trip through it
// is lossy (about 6e-5 of the scale).
const (
	lpMaxQuantized = 32766.0               // largest 15-bit code vanilla emits
	lpAbsMin       = 3.051944088384301e-5  // below this the vector is sent as zero
	lpAbsMax       = 1.7179869183e10       // vanilla clamps larger components
	lpFixedLen     = 6                     // bytes of the packed form
	lpComponent    = 0x7fff                // mask of one 15-bit component
	lpScaleBits    = 3                     // low bits: scale (2) + continuation (1)
	lpContinuation = 4                     // first-byte bit: VarInt scale follows
	lpShiftY       = lpScaleBits + 15      // bit offset of the y component
	lpShiftZ       = lpScaleBits + 15 + 15 // bit offset of the z component
)

func lpUnpack(v uint64) float64 {
	return math.Min(float64(v&lpComponent), lpMaxQuantized)*2/lpMaxQuantized - 1
}

func lpPack(v float64) uint64 {
	return uint64(int64(math.Floor((v*0.5+0.5)*lpMaxQuantized + 0.5)))
}

func lpSanitize(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(-lpAbsMax, math.Min(v, lpAbsMax))
}

// readLpVec3 reads a low-precision vector.
func readLpVec3(r *mcproto.Reader) (x, y, z float64) {
	b := r.Bytes(1)
	if b == nil || b[0] == 0 {
		return 0, 0, 0
	}
	rest := r.Bytes(lpFixedLen - 1)
	if rest == nil {
		return 0, 0, 0
	}
	packed := uint64(b[0]) | uint64(rest[0])<<8 | uint64(binary.BigEndian.Uint32(rest[1:]))<<16
	scale := uint64(b[0] & 3)
	if b[0]&lpContinuation != 0 {
		scale |= uint64(uint32(r.VarInt())) << 2
	}
	s := float64(scale)
	return lpUnpack(packed>>lpScaleBits) * s, lpUnpack(packed>>lpShiftY) * s, lpUnpack(packed>>lpShiftZ) * s
}

// appendLpVec3 encodes a low-precision vector the way vanilla does. It is
// lossy: decoding gives the nearest representable values.
func appendLpVec3(b []byte, x, y, z float64) []byte {
	x, y, z = lpSanitize(x), lpSanitize(y), lpSanitize(z)
	m := math.Max(math.Abs(x), math.Max(math.Abs(y), math.Abs(z)))
	if m < lpAbsMin {
		return append(b, 0)
	}
	scale := uint64(math.Ceil(m))
	big := scale&3 != scale
	markers := scale
	if big {
		markers = scale&3 | lpContinuation
	}
	s := float64(scale)
	packed := markers | lpPack(x/s)<<lpScaleBits | lpPack(y/s)<<lpShiftY | lpPack(z/s)<<lpShiftZ
	b = append(b, byte(packed), byte(packed>>8))
	b = binary.BigEndian.AppendUint32(b, uint32(packed>>16))
	if big {
		b = mcproto.AppendVarInt(b, int32(uint32(scale>>2)))
	}
	return b
}

// ItemStack is an item slot kept as raw bytes. Only the header (presence,
// item id, count) is decoded: parsing NBT or data components is the
// backend's job and the costliest thing a hostile client can ask for. Raw
// is what AppendData writes back; the header fields are informational.
type ItemStack struct {
	Present bool
	ID      int32 // registry id; before 1.13 a legacy block/item id
	Count   int32
	Raw     []byte // the whole slot as it travelled, aliasing the body
}

// parseItemHeader decodes the item header at the start of raw. The slot
// layout is protocol.json's "slot" (before 1.20.5) or "Slot" /
// "UntrustedSlot" (1.20.5+; minecraft-data lists the 1.20.5 count as i8,
// vanilla writes a VarInt, which is the same byte for counts below 128):
//
//	1.8–1.13.1   i16 id (negative: empty), i8 count, [i16 damage < 1.13], NBT
//	1.13.2–1.20.4 bool present, VarInt id, i8 count, NBT
//	1.20.5+      VarInt count (≤ 0: empty), VarInt id, components
func parseItemHeader(raw []byte, protocol int32) (ItemStack, error) {
	it := ItemStack{Raw: raw}
	r := mcproto.NewReader(raw)
	switch {
	case protocol >= mcproto.Protocol1_20_5:
		it.Count = r.VarInt()
		if it.Count > 0 {
			it.Present = true
			it.ID = r.VarInt()
		}
	case protocol >= playProto1_13_2:
		it.Present = r.Bool()
		if it.Present {
			it.ID = r.VarInt()
			it.Count = int32(r.Int8())
		}
	default:
		id := r.Int16()
		if id >= 0 {
			it.Present = true
			it.ID = int32(id)
			it.Count = int32(r.Int8())
		}
	}
	if err := r.Err(); err != nil {
		return ItemStack{}, fmt.Errorf("item header: %w", err)
	}
	return it, nil
}

// readItemTail reads an item slot that runs to the end of the body
// (creative action, 1.8 click). It keeps the raw bytes under the cap.
func readItemTail(r *mcproto.Reader, protocol int32) ItemStack {
	if r.Len() > maxItemBytes {
		r.Fail(fmt.Errorf("item of %d bytes > %d: %w", r.Len(), maxItemBytes, mcproto.ErrArrayTooLong))
		return ItemStack{}
	}
	raw := r.Rest()
	if r.Err() != nil {
		return ItemStack{}
	}
	it, err := parseItemHeader(raw, protocol)
	if err != nil {
		r.Fail(err)
	}
	return it
}

// splitItemTrailer takes an item slot followed by a fixed-width trailer of
// n bytes from the rest of the body. Vanilla locates the end of such a slot
// by parsing its NBT; we avoid that by taking the trailer from the end,
// which matches every vanilla client. A client that pads the trailing
// VarInt is misread and refused, which only non-vanilla clients do.
func splitItemTrailer(r *mcproto.Reader, n int, protocol int32) (ItemStack, []byte) {
	if r.Len() < n+1 { // an empty slot still has one byte
		r.Fail(mcproto.ErrShort)
		return ItemStack{}, nil
	}
	if r.Len()-n > maxItemBytes {
		r.Fail(fmt.Errorf("item of %d bytes > %d: %w", r.Len()-n, maxItemBytes, mcproto.ErrArrayTooLong))
		return ItemStack{}, nil
	}
	raw := r.Bytes(r.Len() - n)
	it, err := parseItemHeader(raw, protocol)
	if err != nil {
		r.Fail(err)
	}
	return it, r.Bytes(n)
}

// checkCount validates a list count against its cap and against the bytes
// left, given the smallest encoding of one element: a count is never
// trusted for more iterations than the body could hold.
func checkCount(r *mcproto.Reader, n int32, max, minElem int) bool {
	switch {
	case r.Err() != nil:
		return false
	case n < 0:
		r.Fail(mcproto.ErrNegativeLength)
		return false
	case int(n) > max:
		r.Fail(fmt.Errorf("list of %d > %d: %w", n, max, mcproto.ErrArrayTooLong))
		return false
	case int64(n)*int64(minElem) > int64(r.Len()):
		r.Fail(fmt.Errorf("list of %d with %d bytes left: %w", n, r.Len(), mcproto.ErrShort))
		return false
	}
	return true
}
