package chunk

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// maxDimensionTypes bounds the dimension types kept from one backend's
// registry: vanilla has four; a data pack adds a handful.
const maxDimensionTypes = 256

// maxDimensionName bounds the dimension type names kept (vanilla's are
// under 30 bytes); a longer name is not kept, so its dimension resolves as
// unknown and the player gets no world there. Without it 256 names of
// 32,767 characters would pin 24 MiB per player.
const maxDimensionName = 256

// maxRegistryEntries bounds a 1.20.5+ registry_data entry count before its
// entries are read (vanilla's largest registries hold a few hundred).
const maxRegistryEntries = 1 << 14

// DimensionTypes is what a backend told one player about its dimension
// types: heights by name, and (1.20.5+) the registry order that respawn and
// join game refer to by number. One per player connection (registries are
// sent per connection, in join game before 1.20.2 and in the configuration
// phase after).
type DimensionTypes struct {
	byName map[string]Dimension
	order  []string
}

// Resolve returns the dimension a join game or respawn named: from the
// packet itself, else the backend's registry, else vanilla's own types by
// name. ok is false for a dimension nobody described: the caller keeps no
// world there.
func (d *Decoder) Resolve(t *DimensionTypes, r Respawn) (Dimension, bool) {
	if r.Known {
		return r.Dimension, true
	}
	name := r.Name
	if name == "" && t != nil && r.ID >= 0 && int(r.ID) < len(t.order) {
		name = t.order[r.ID]
	}
	if t != nil {
		if dim, ok := t.byName[name]; ok {
			return dim, true
		}
	}
	return vanillaDimension(d.protocol, name)
}

func (t *DimensionTypes) add(name string, d Dimension) error {
	if len(name) > maxDimensionName {
		return nil
	}
	if t.byName == nil {
		t.byName = map[string]Dimension{}
	}
	if len(t.byName) >= maxDimensionTypes {
		return malformed(fmt.Sprintf("more than %d dimension types", maxDimensionTypes), nil)
	}
	t.byName[name] = d
	return nil
}

// dimElement reads a dimension type compound's payload (after its tag
// type and name): min_y, height (1.17+; 0 and 256 before) and has_skylight.
func dimElement(r *mcproto.Reader, depth int) (Dimension, bool) {
	d := Dimension{MinY: 0, Height: 256}
	hasMin, hasHeight := false, false
	for r.Err() == nil {
		ct := r.Byte()
		if ct == tagEnd || r.Err() != nil {
			break
		}
		name := string(r.Bytes(int(r.Uint16())))
		switch {
		case ct == tagInt && name == "min_y":
			d.MinY, hasMin = r.Int32(), true
		case ct == tagInt && name == "height":
			d.Height, hasHeight = r.Int32(), true
		case ct == tagByte && name == "has_skylight":
			d.SkyLight = r.Byte() != 0
		default:
			skipPayload(r, ct, depth+1)
		}
	}
	if hasMin != hasHeight {
		return d, false
	}
	return d, r.Err() == nil
}

// readCodec reads a registry codec NBT compound (join game 1.16.2–1.20.1,
// registry_data 1.20.2–1.20.4) and records its dimension types.
func (d *Decoder) readCodec(r *mcproto.Reader, t *DimensionTypes) error {
	if tt := r.Byte(); tt != tagCompound {
		return malformed(fmt.Sprintf("registry codec is NBT tag %d", tt), r.Err())
	}
	if d.protocol < proto1_20_2 {
		r.Bytes(int(r.Uint16()))
	}
	for r.Err() == nil {
		ct := r.Byte()
		if ct == tagEnd || r.Err() != nil {
			break
		}
		name := string(r.Bytes(int(r.Uint16())))
		if ct != tagCompound || name != "minecraft:dimension_type" {
			skipPayload(r, ct, 1)
			continue
		}
		// {"type": ..., "value": [{"name": ..., "id": ..., "element": {...}}]}
		for r.Err() == nil {
			it := r.Byte()
			if it == tagEnd || r.Err() != nil {
				break
			}
			iname := string(r.Bytes(int(r.Uint16())))
			if it != tagList || iname != "value" {
				skipPayload(r, it, 2)
				continue
			}
			et, n := r.Byte(), r.Int32()
			if r.Err() != nil || n < 0 || int64(n) > int64(r.Len()) || (n > 0 && et != tagCompound) {
				return malformed("dimension type list", r.Err())
			}
			for range n {
				var dname string
				var dim Dimension
				ok := false
				for r.Err() == nil {
					ft := r.Byte()
					if ft == tagEnd || r.Err() != nil {
						break
					}
					fname := string(r.Bytes(int(r.Uint16())))
					switch {
					case ft == tagString && fname == "name":
						dname = string(r.Bytes(int(r.Uint16())))
					case ft == tagCompound && fname == "element":
						dim, ok = dimElement(r, 4)
					default:
						skipPayload(r, ft, 4)
					}
				}
				if ok && dname != "" {
					if err := t.add(dname, dim); err != nil {
						return err
					}
				}
			}
		}
	}
	if err := r.Err(); err != nil {
		return malformed("registry codec", err)
	}
	return nil
}

// JoinGame decodes the dimension part of a join game (login) body: the
// player's first dimension, and before 1.20.2 the registry codec, whose
// dimension types go into t.
func (d *Decoder) JoinGame(body []byte, t *DimensionTypes) (Respawn, error) {
	r := mcproto.NewReader(body)
	var out Respawn
	r.Int32() // entity id
	switch {
	case d.protocol < proto1_16:
		r.Byte() // game mode
		if d.protocol < 108 {
			out.ID = int32(r.Int8()) // 1.8 and 1.9.0: a byte
		} else {
			out.ID = r.Int32()
		}
		out.Dimension, out.Known = Overworld116(), true
		out.Dimension.SkyLight = out.ID == 0
	case d.protocol < proto1_20_2:
		if d.protocol >= proto1_16_2 {
			r.Bool() // hardcore
		}
		r.Byte()
		r.Byte() // game modes
		skipStrings(&r)
		if err := d.readCodec(&r, t); err != nil {
			return Respawn{}, err
		}
		switch {
		case d.protocol < proto1_16_2, d.protocol >= 759:
			out.Name = r.String(maxIdentifier)
		default:
			out.Dimension, out.Known = d.dimensionNBT(&r)
		}
		if r.Err() == nil && r.Len() > 0 {
			out.World = r.String(maxIdentifier)
		}
	default:
		r.Bool() // hardcore
		skipStrings(&r)
		r.VarInt()
		r.VarInt()
		r.VarInt() // max players, view and simulation distance
		r.Bool()
		r.Bool()
		r.Bool() // reduced debug info, respawn screen, limited crafting
		if d.protocol >= 766 {
			out.ID = r.VarInt()
		} else {
			out.Name = r.String(maxIdentifier)
		}
		if r.Err() == nil && r.Len() > 0 {
			out.World = r.String(maxIdentifier)
		}
	}
	if err := r.Err(); err != nil {
		return Respawn{}, malformed("join game", err)
	}
	return out, nil
}

// maxWorldNames bounds join game's world name list before it is read.
const maxWorldNames = 1024

func skipStrings(r *mcproto.Reader) {
	n := r.VarInt()
	if n < 0 || n > maxWorldNames || int(n) > r.Len() {
		r.Fail(fmt.Errorf("%d world names: %w", n, mcproto.ErrArrayTooLong))
		return
	}
	for range n {
		r.StringBytes(maxIdentifier)
	}
}

// RegistryData decodes a configuration-phase registry_data body (1.20.2+)
// into t: the whole codec until 1.20.4, one registry per packet after
// (only minecraft:dimension_type is kept; entries without data are
// vanilla's own types from the known packs and get their vanilla heights).
func (d *Decoder) RegistryData(body []byte, t *DimensionTypes) error {
	r := mcproto.NewReader(body)
	if d.protocol < proto1_20_2 {
		return malformed("registry_data before 1.20.2", nil)
	}
	if d.protocol < 766 {
		return d.readCodec(&r, t)
	}
	id := r.StringBytes(maxIdentifier)
	if err := r.Err(); err != nil {
		return malformed("registry_data", err)
	}
	if string(id) != "minecraft:dimension_type" {
		return nil
	}
	n := r.VarInt()
	if err := r.Err(); err != nil || n < 0 || n > maxRegistryEntries || int(n) > r.Len() {
		return malformed(fmt.Sprintf("registry_data: %d entries", n), r.Err())
	}
	t.order = t.order[:0]
	for range n {
		key := r.String(maxIdentifier)
		dim, ok := vanillaDimension(d.protocol, key)
		if r.Bool() {
			if tt := r.Byte(); tt != tagCompound {
				return malformed(fmt.Sprintf("dimension type %q is NBT tag %d", key, tt), r.Err())
			}
			dim, ok = dimElement(&r, 1)
		}
		if r.Err() != nil {
			break
		}
		if len(t.order) >= maxDimensionTypes {
			return malformed(fmt.Sprintf("more than %d dimension types", maxDimensionTypes), nil)
		}
		if len(key) > maxDimensionName {
			key = "" // keeps the registry order; resolves as unknown
		}
		t.order = append(t.order, key)
		if ok && key != "" {
			if err := t.add(key, dim); err != nil {
				return err
			}
		}
	}
	if err := r.Err(); err != nil {
		return malformed("registry_data", err)
	}
	return nil
}
