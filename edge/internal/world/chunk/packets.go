package chunk

import (
	"fmt"
	"math"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// BlockChange decodes a block_change (block_update) body.
func (d *Decoder) BlockChange(body []byte) (Change, error) {
	r := mcproto.NewReader(body)
	p := r.Position(d.protocol)
	state := r.VarInt()
	if err := r.Finish(); err != nil {
		return Change{}, malformed("block_change", err)
	}
	return Change{X: p.X, Y: p.Y, Z: p.Z, State: clampState(int64(state))}, nil
}

// MultiBlockChange decodes a multi_block_change (section_blocks_update)
// body and appends its changes to out.
func (d *Decoder) MultiBlockChange(body []byte, out []Change) ([]Change, error) {
	r := mcproto.NewReader(body)
	if d.protocol < proto1_16_2 {
		cx, cz := r.Int32(), r.Int32()
		n := r.VarInt()
		// A record is at least three bytes: refuse counts the body cannot hold.
		if err := r.Err(); err != nil || n < 0 || n > maxChangeRecords || int(n)*3 > r.Len() {
			return out, malformed(fmt.Sprintf("multi_block_change: %d records", n), r.Err())
		}
		for range n {
			h := r.Byte()
			y := r.Byte()
			state := r.VarInt()
			out = append(out, Change{X: cx<<4 | int32(h>>4), Y: int32(y), Z: cz<<4 | int32(h&15), State: clampState(int64(state))})
		}
		if err := r.Finish(); err != nil {
			return out, malformed("multi_block_change", err)
		}
		return out, nil
	}
	v := r.Int64()
	sx, sz, sy := int32(v>>42), int32(v<<22>>42), int32(v<<44>>44)
	if d.protocol < proto1_20 {
		r.Bool() // trust edges / suppress light updates
	}
	n := r.VarInt()
	if err := r.Err(); err != nil || n < 0 || n > SectionBlocks || int(n) > r.Len() {
		return out, malformed(fmt.Sprintf("multi_block_change: %d records", n), r.Err())
	}
	for range n {
		rec := r.VarLong()
		local := int32(rec & 0xFFF)
		out = append(out, Change{
			X: sx<<4 | local>>8&15, Y: sy<<4 | local&15, Z: sz<<4 | local>>4&15,
			State: clampState(rec >> 12),
		})
	}
	if err := r.Finish(); err != nil {
		return out, malformed("multi_block_change", err)
	}
	return out, nil
}

// UnloadChunk decodes an unload_chunk (forget_level_chunk) body, 1.9+; on
// 1.8 an unload is a map_chunk with Column.Unload.
func (d *Decoder) UnloadChunk(body []byte) (x, z int32, err error) {
	r := mcproto.NewReader(body)
	a, b := r.Int32(), r.Int32()
	if err := r.Finish(); err != nil {
		return 0, 0, malformed("unload_chunk", err)
	}
	if d.protocol >= proto1_20_2 {
		return b, a, nil
	}
	return a, b, nil
}

// Explosion decodes the blocks an explosion removes and appends them to out
// as changes to air (state 0 in every version). From 1.21.2 the server
// sends block updates instead and the packet carries none; from 1.20.3 a
// wind charge's explosion (block interaction "trigger") removes nothing.
func (d *Decoder) Explosion(body []byte, out []Change) ([]Change, error) {
	if d.protocol >= proto1_21_2 {
		return out, nil
	}
	r := mcproto.NewReader(body)
	var x, y, z float64
	if d.protocol >= proto1_19_3 {
		x, y, z = r.Float64(), r.Float64(), r.Float64()
	} else {
		x, y, z = float64(r.Float32()), float64(r.Float32()), float64(r.Float32())
	}
	r.Float32() // radius
	var n int32
	if d.protocol >= proto1_17 {
		n = r.VarInt()
	} else {
		n = r.Int32()
	}
	if err := r.Err(); err != nil || n < 0 || n > maxExplosionBlocks || int(n)*3 > r.Len() {
		return out, malformed(fmt.Sprintf("explosion: %d blocks", n), r.Err())
	}
	if math.IsNaN(x) || math.IsNaN(y) || math.IsNaN(z) || math.Abs(x) > 3e7 || math.Abs(y) > 3e7 || math.Abs(z) > 3e7 {
		return out, malformed("explosion centre outside the world", nil)
	}
	// The offsets are relative to the centre's block: truncated before 1.14
	// (an int cast in the client), floored since.
	bx, by, bz := int32(x), int32(y), int32(z)
	if d.protocol >= proto1_14 {
		bx, by, bz = int32(math.Floor(x)), int32(math.Floor(y)), int32(math.Floor(z))
	}
	start := len(out)
	for range n {
		out = append(out, Change{X: bx + int32(r.Int8()), Y: by + int32(r.Int8()), Z: bz + int32(r.Int8())})
	}
	r.Float32()
	r.Float32()
	r.Float32() // the player's knockback: prediction's business, not the world's
	if d.protocol >= proto1_20_3 {
		// 0 keep, 1 destroy, 2 destroy with decay, 3 trigger (wind charges).
		if kind := r.VarInt(); kind == 0 || kind == 3 {
			out = out[:start]
		}
	}
	// Particles and sound follow; their layouts change often and say nothing
	// about blocks, so they are left unread.
	if err := r.Err(); err != nil {
		return out[:start], malformed("explosion", err)
	}
	return out, nil
}

// Respawn is what a respawn packet says about the new dimension.
type Respawn struct {
	// ID is the dimension before 1.16 (-1 nether, 0 overworld, 1 end) or
	// the dimension type's registry id from 1.20.5.
	ID int32
	// Name is the dimension type's identifier (1.16–1.16.1, 1.19–1.20.4).
	Name string
	// Dimension holds min y and height when the packet itself gives them
	// (before 1.19); otherwise Decoder.Resolve looks the name or id up.
	Dimension Dimension
	Known     bool
	// World is the world's own name (1.16+; "minecraft:overworld", or a
	// plugin's world): two worlds of one dimension type are different
	// worlds, and must not share columns. Empty when the packet ends
	// before it (the dimension type then names the world).
	World string
}

// maxIdentifier is vanilla's identifier length limit (ResourceLocation read with 32767).
const maxIdentifier = 32767

// Respawn decodes the dimension part of a respawn body.
func (d *Decoder) Respawn(body []byte) (Respawn, error) {
	r := mcproto.NewReader(body)
	var out Respawn
	switch {
	case d.protocol < proto1_16:
		out.ID = r.Int32()
		out.Dimension, out.Known = Overworld116(), true
		out.Dimension.SkyLight = out.ID == 0
	case d.protocol < proto1_16_2:
		out.Name = r.String(maxIdentifier)
	case d.protocol < 759: // 1.19 names the type instead of sending it
		out.Dimension, out.Known = d.dimensionNBT(&r)
	case d.protocol < 766: // 1.20.5 sends a registry id
		out.Name = r.String(maxIdentifier)
	default:
		out.ID = r.VarInt()
	}
	if d.protocol >= proto1_16 && r.Err() == nil && r.Len() > 0 {
		out.World = r.String(maxIdentifier)
	}
	if err := r.Err(); err != nil {
		return Respawn{}, malformed("respawn", err)
	}
	return out, nil
}

// vanillaDimension returns the vanilla dimension types' heights by name.
func vanillaDimension(protocol int32, name string) (Dimension, bool) {
	switch name {
	case "minecraft:overworld", "minecraft:overworld_caves":
		if protocol >= proto1_18 {
			return Dimension{MinY: -64, Height: 384, SkyLight: true}, true
		}
		return Overworld116(), true
	case "minecraft:the_nether", "minecraft:the_end":
		return Dimension{MinY: 0, Height: 256}, true
	}
	return Dimension{}, false
}
