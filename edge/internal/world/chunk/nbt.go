package chunk

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// NBT tag types, named short for the dimension reader below.
const (
	tagEnd       = mcproto.TagEnd
	tagByte      = mcproto.TagByte
	tagInt       = mcproto.TagInt
	tagFloat     = mcproto.TagFloat
	tagString    = mcproto.TagString
	tagList      = mcproto.TagList
	tagCompound  = mcproto.TagCompound
	tagLongArray = mcproto.TagLongArray
)

// skipNBT skips one network NBT value (mcproto.SkipNBT); errors stick in
// r and the caller wraps them as ErrMalformed.
func (d *Decoder) skipNBT(r *mcproto.Reader) { mcproto.SkipNBT(r, d.protocol) }

// skipPayload skips the payload of a tag of type t (mcproto.SkipNBTPayload).
func skipPayload(r *mcproto.Reader, t byte, depth int) { mcproto.SkipNBTPayload(r, t, depth) }

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
