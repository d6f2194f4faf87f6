package mcproto

import "fmt"

// Network NBT tag types: item stacks, chunk data, dimension types and book
// payloads all carry NBT, and the edge skips most of it.
const (
	TagEnd byte = iota
	TagByte
	TagShort
	TagInt
	TagLong
	TagFloat
	TagDouble
	TagByteArray
	TagString
	TagList
	TagCompound
	TagIntArray
	TagLongArray
)

// MaxNBTDepth is vanilla's NBT nesting limit (NbtAccounter): deeper is
// refused, as vanilla refuses it, before it can exhaust a stack.
const MaxNBTDepth = 512

// tagFixed is the payload size of the fixed-width tags.
var tagFixed = [...]int{TagByte: 1, TagShort: 2, TagInt: 4, TagLong: 8, TagFloat: 4, TagDouble: 8}

// SkipNBT skips one network NBT value: the root tag type (TagEnd: no
// value), the root's name before 1.20.2, then the payload. Errors stick in
// r.
func SkipNBT(r *Reader, protocol int32) {
	t := r.Byte()
	if r.Err() != nil || t == TagEnd {
		return
	}
	if protocol < Protocol1_20_2 {
		r.Bytes(int(r.Uint16()))
	}
	SkipNBTPayload(r, t, 0)
}

// SkipNBTPayload skips the payload of a tag of type t found at nesting
// depth. Every count is checked against the bytes left before anything is
// skipped (each element takes at least a byte, so a larger count is a
// lie), and nothing is allocated: a peer's NBT costs its own length.
func SkipNBTPayload(r *Reader, t byte, depth int) {
	if depth > MaxNBTDepth {
		r.Fail(fmt.Errorf("NBT deeper than %d: %w", MaxNBTDepth, ErrBadNBT))
		return
	}
	switch t {
	case TagByte, TagShort, TagInt, TagLong, TagFloat, TagDouble:
		r.Bytes(tagFixed[t])
	case TagByteArray, TagIntArray, TagLongArray:
		n := r.Int32()
		size := int64(1)
		switch t {
		case TagIntArray:
			size = 4
		case TagLongArray:
			size = 8
		}
		if n < 0 || int64(n)*size > int64(r.Len()) {
			r.Fail(fmt.Errorf("NBT array of %d: %w", n, ErrArrayTooLong))
			return
		}
		r.Bytes(int(int64(n) * size))
	case TagString:
		r.Bytes(int(r.Uint16()))
	case TagList:
		et := r.Byte()
		n := r.Int32()
		if r.Err() != nil {
			return
		}
		if n < 0 || (n > 0 && et == TagEnd) || int64(n) > int64(r.Len()) {
			r.Fail(fmt.Errorf("NBT list of %d: %w", n, ErrArrayTooLong))
			return
		}
		if et != TagEnd && et < TagByteArray {
			r.Bytes(int(n) * tagFixed[et])
			return
		}
		for i := int32(0); i < n && r.Err() == nil; i++ {
			SkipNBTPayload(r, et, depth+1)
		}
	case TagCompound:
		for r.Err() == nil {
			ct := r.Byte()
			if ct == TagEnd || r.Err() != nil {
				return
			}
			r.Bytes(int(r.Uint16()))
			SkipNBTPayload(r, ct, depth+1)
		}
	default:
		r.Fail(fmt.Errorf("NBT tag type %d: %w", t, ErrBadNBT))
	}
}
