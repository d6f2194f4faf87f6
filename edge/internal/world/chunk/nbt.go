package chunk

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// NBT tag types (the network NBT of every version).
const (
	tagEnd = iota
	tagByte
	tagShort
	tagInt
	tagLong
	tagFloat
	tagDouble
	tagByteArray
	tagString
	tagList
	tagCompound
	tagIntArray
	tagLongArray
)

// fixedSize is the payload size of the fixed-width tags.
var fixedSize = [...]int{tagByte: 1, tagShort: 2, tagInt: 4, tagLong: 8, tagFloat: 4, tagDouble: 8}

// skipNBT skips one network NBT value: a root tag type, a root name before
// 1.20.2, the payload. Errors stick in r.
func (d *Decoder) skipNBT(r *mcproto.Reader) {
	t := r.Byte()
	if r.Err() != nil || t == tagEnd {
		return
	}
	if d.protocol < proto1_20_2 {
		r.Bytes(int(r.Uint16()))
	}
	skipPayload(r, t, 0)
}

// skipPayload skips the payload of a tag of type t. Lengths are checked
// against the bytes present (through the reader) before anything else, and
// nothing is allocated.
func skipPayload(r *mcproto.Reader, t byte, depth int) {
	if depth > maxNBTDepth {
		r.Fail(fmt.Errorf("NBT deeper than %d: %w", maxNBTDepth, ErrMalformed))
		return
	}
	switch t {
	case tagByte, tagShort, tagInt, tagLong, tagFloat, tagDouble:
		r.Bytes(fixedSize[t])
	case tagByteArray, tagIntArray, tagLongArray:
		n := r.Int32()
		size := 1
		switch t {
		case tagIntArray:
			size = 4
		case tagLongArray:
			size = 8
		}
		if n < 0 || int64(n)*int64(size) > int64(r.Len()) {
			r.Fail(fmt.Errorf("NBT array of %d: %w", n, mcproto.ErrArrayTooLong))
			return
		}
		r.Bytes(int(n) * size)
	case tagString:
		r.Bytes(int(r.Uint16()))
	case tagList:
		et := r.Byte()
		n := r.Int32()
		if r.Err() != nil {
			return
		}
		// Every element takes at least one byte except empty compounds'
		// End... which is one byte too: a count above the bytes left is a lie.
		if n < 0 || (n > 0 && et == tagEnd) || int64(n) > int64(r.Len()) {
			r.Fail(fmt.Errorf("NBT list of %d: %w", n, mcproto.ErrArrayTooLong))
			return
		}
		if et < tagByteArray && et != tagEnd {
			r.Bytes(int(n) * fixedSize[et])
			return
		}
		for i := int32(0); i < n && r.Err() == nil; i++ {
			skipPayload(r, et, depth+1)
		}
	case tagCompound:
		for r.Err() == nil {
			ct := r.Byte()
			if ct == tagEnd || r.Err() != nil {
				return
			}
			r.Bytes(int(r.Uint16()))
			skipPayload(r, ct, depth+1)
		}
	default:
		r.Fail(fmt.Errorf("NBT tag type %d: %w", t, ErrMalformed))
	}
}

// dimensionNBT reads a network NBT dimension type compound (1.16.2–1.18.2
// Respawn and Join Game): min_y and height from 1.17, 0 and 256 before,
// and has_skylight.
func (d *Decoder) dimensionNBT(r *mcproto.Reader) (Dimension, bool) {
	t := r.Byte()
	if r.Err() != nil {
		return Dimension{}, false
	}
	if t != tagCompound {
		r.Fail(fmt.Errorf("dimension type is NBT tag %d: %w", t, ErrMalformed))
		return Dimension{}, false
	}
	if d.protocol < proto1_20_2 {
		r.Bytes(int(r.Uint16()))
	}
	return dimElement(r, 0)
}
