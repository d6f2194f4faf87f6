package chunk

import (
	"errors"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcproto"
)

func nbtName(b []byte, t byte, name string) []byte {
	b = append(b, t)
	b = mcproto.AppendUint16(b, uint16(len(name)))
	return append(b, name...)
}

// dimCompound is a dimension type element's fields (without the compound
// tag), ended.
func dimFields(minY, height int32, sky bool) []byte {
	b := nbtName(nil, tagInt, "min_y")
	b = mcproto.AppendInt32(b, minY)
	b = nbtName(b, tagFloat, "ambient_light")
	b = mcproto.AppendFloat32(b, 0)
	b = nbtName(b, tagInt, "height")
	b = mcproto.AppendInt32(b, height)
	b = nbtName(b, tagByte, "has_skylight")
	if sky {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, tagEnd)
}

// codec is a registry codec as join game (1.16.2–1.20.1) and registry_data
// (1.20.2–1.20.4) carry it, with a biome registry to skip first.
func codec(protocol int32, types map[string][3]int32) []byte {
	b := []byte{tagCompound}
	if protocol < proto1_20_2 {
		b = append(b, 0, 0)
	}
	b = nbtName(b, tagCompound, "minecraft:worldgen/biome")
	b = nbtName(b, tagList, "value")
	b = append(b, tagCompound)
	b = mcproto.AppendInt32(b, 1)
	b = nbtName(b, tagString, "name")
	b = mcproto.AppendUint16(b, 6)
	b = append(b, "plains"...)
	b = append(b, tagEnd, tagEnd)
	b = nbtName(b, tagCompound, "minecraft:dimension_type")
	b = nbtName(b, tagString, "type")
	b = mcproto.AppendUint16(b, 3)
	b = append(b, "d_t"...)
	b = nbtName(b, tagList, "value")
	b = append(b, tagCompound)
	b = mcproto.AppendInt32(b, int32(len(types)))
	for name, v := range types {
		b = nbtName(b, tagString, "name")
		b = mcproto.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
		b = nbtName(b, tagInt, "id")
		b = mcproto.AppendInt32(b, v[2])
		b = nbtName(b, tagCompound, "element")
		b = append(b, dimFields(v[0], v[1], true)...)
		b = append(b, tagEnd)
	}
	return append(b, tagEnd, tagEnd)
}

func decoderFor(t *testing.T, p int32) *Decoder {
	t.Helper()
	table, err := blocks.ForProtocol(p)
	if err != nil {
		t.Fatal(err)
	}
	return NewDecoder(table)
}

// A data pack that changes a vanilla dimension's height wins over the
// vanilla default, in every registry form.
func TestRegistryOverridesVanilla(t *testing.T) {
	custom := map[string][3]int32{"minecraft:overworld": {-128, 512, 0}, "example:sky": {0, 1024, 1}}
	// 1.19–1.20.1: the codec in join game, the dimension by name.
	d := decoderFor(t, 763)
	jg := mcproto.AppendInt32(nil, 1)
	jg = append(jg, 0, 0, 0)
	jg = mcproto.AppendVarInt(jg, 1)
	jg = mcproto.AppendString(jg, "minecraft:overworld")
	jg = append(jg, codec(763, custom)...)
	jg = mcproto.AppendString(jg, "example:sky")
	var types DimensionTypes
	r, err := d.JoinGame(jg, &types)
	if err != nil {
		t.Fatal(err)
	}
	if dim, ok := d.Resolve(&types, r); !ok || dim.Height != 1024 {
		t.Fatalf("join game dimension %+v %v", dim, ok)
	}
	if dim, _ := d.Resolve(&types, Respawn{Name: "minecraft:overworld"}); dim.MinY != -128 || dim.Height != 512 {
		t.Fatalf("overworld from the codec: %+v", dim)
	}
	// 1.20.2–1.20.4: the same codec in registry_data.
	d = decoderFor(t, 765)
	types = DimensionTypes{}
	if err := d.RegistryData(codec(765, custom), &types); err != nil {
		t.Fatal(err)
	}
	if dim, _ := d.Resolve(&types, Respawn{Name: "minecraft:overworld"}); dim.Height != 512 {
		t.Fatalf("1.20.4 overworld %+v", dim)
	}
	// 1.20.5+: one registry per packet; entries without data are vanilla's.
	d = decoderFor(t, 769)
	types = DimensionTypes{}
	rd := mcproto.AppendString(nil, "minecraft:dimension_type")
	rd = mcproto.AppendVarInt(rd, 3)
	rd = append(mcproto.AppendString(rd, "minecraft:overworld"), 0) // known pack: no data
	rd = append(mcproto.AppendString(rd, "example:sky"), 1, tagCompound)
	rd = append(rd, dimFields(-32, 320, false)...)
	rd = append(mcproto.AppendString(rd, "minecraft:the_nether"), 0)
	if err := d.RegistryData(rd, &types); err != nil {
		t.Fatal(err)
	}
	for id, want := range []Dimension{{-64, 384, true}, {-32, 320, false}, {0, 256, false}} {
		if dim, ok := d.Resolve(&types, Respawn{ID: int32(id)}); !ok || dim != want {
			t.Errorf("registry id %d: %+v %v, want %+v", id, dim, ok, want)
		}
	}
	if _, ok := d.Resolve(&types, Respawn{ID: 3}); ok {
		t.Error("an id past the registry resolved")
	}
	// Another registry is ignored.
	other := mcproto.AppendVarInt(mcproto.AppendString(nil, "minecraft:worldgen/biome"), 99999)
	if err := d.RegistryData(other, &types); err != nil {
		t.Fatal(err)
	}
}

// A name longer than any real one is not kept: its dimension is unknown.
func TestLongDimensionNamesAreNotKept(t *testing.T) {
	d := decoderFor(t, 769)
	long := string(make([]byte, maxDimensionName+1))
	rd := mcproto.AppendVarInt(mcproto.AppendString(nil, "minecraft:dimension_type"), 2)
	rd = append(mcproto.AppendString(rd, long), 1, tagCompound)
	rd = append(rd, dimFields(0, 256, true)...)
	rd = append(mcproto.AppendString(rd, "minecraft:the_end"), 0)
	var types DimensionTypes
	if err := d.RegistryData(rd, &types); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Resolve(&types, Respawn{ID: 0}); ok {
		t.Fatal("a dimension with a 257-byte name resolved")
	}
	if dim, ok := d.Resolve(&types, Respawn{ID: 1}); !ok || dim.Height != 256 {
		t.Fatalf("the entry after it: %+v %v", dim, ok)
	}
	if len(types.byName) != 1 {
		t.Fatalf("%d names kept", len(types.byName))
	}
}

func TestRegistryCountsAreChecked(t *testing.T) {
	d := decoderFor(t, 769)
	rd := mcproto.AppendVarInt(mcproto.AppendString(nil, "minecraft:dimension_type"), 1<<20)
	if err := d.RegistryData(rd, &DimensionTypes{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a million entries in a few bytes: %v", err)
	}
	d = decoderFor(t, 763)
	b := []byte{tagCompound, 0, 0}
	b = nbtName(b, tagCompound, "minecraft:dimension_type")
	b = nbtName(b, tagList, "value")
	b = append(b, tagCompound)
	b = mcproto.AppendInt32(b, 1<<30)
	if err := d.readCodec(ptr(mcproto.NewReader(b)), &DimensionTypes{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a list of 2^30 compounds: %v", err)
	}
	// NBT nested deeper than vanilla allows.
	deep := []byte{tagCompound, 0, 0}
	for range mcproto.MaxNBTDepth + 10 {
		deep = nbtName(deep, tagCompound, "x")
	}
	r := mcproto.NewReader(deep)
	d.skipNBT(&r)
	if !errors.Is(r.Err(), mcproto.ErrBadNBT) {
		t.Fatalf("deep NBT: %v", r.Err())
	}
}

func ptr[T any](v T) *T { return &v }
