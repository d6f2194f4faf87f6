package chunk

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcproto"
)

func dimensionOf(protocol int32) Dimension {
	if protocol >= proto1_18 {
		return Dimension{MinY: -64, Height: 384, SkyLight: true}
	}
	return Overworld116()
}

// Every protocol with a block table decodes columns written its way, with
// uniform, small-palette, 8-bit and global sections and gaps.
func TestRoundTripEveryProtocol(t *testing.T) {
	for _, p := range blocks.Protocols() {
		table, err := blocks.ForProtocol(p)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(table)
		rng := rand.New(rand.NewPCG(uint64(p), 1))
		dim := dimensionOf(p)
		n := int(dim.Height / 16)
		col := &testColumn{x: -3, z: 7, sections: make([]*[SectionBlocks]uint16, n)}
		distinct := []int{1, 2, 3, 5, 16, 17, 200, 300, 1}
		for i, k := range distinct {
			if i == 3 {
				continue // a gap: not sent (air)
			}
			col.sections[i] = randomSection(rng, k, table.Len())
		}
		for _, sky := range []bool{true, false} {
			body := encodeChunk(p, int(d.globalBits), col, sky)
			got, err := d.Chunk(body, Dimension{MinY: dim.MinY, Height: dim.Height, SkyLight: !sky}) // a wrong hint must not matter
			if err != nil {
				t.Fatalf("protocol %d sky %v: %v", p, sky, err)
			}
			if got.X != -3 || got.Z != 7 || !got.Full || len(got.Sections) != n {
				t.Fatalf("protocol %d: column %d,%d full %v with %d sections", p, got.X, got.Z, got.Full, len(got.Sections))
			}
			for y, want := range col.sections {
				for i := range SectionBlocks {
					w := uint16(0)
					if want != nil {
						w = want[i]
					}
					if g := got.Sections[y].At(i); g != w {
						t.Fatalf("protocol %d section %d block %d: %d, want %d", p, y, i, g, w)
					}
				}
			}
			if p >= proto1_14 {
				break // no light in the chunk: nothing differs
			}
		}
	}
}

// Truncating a valid chunk anywhere gives an error, never a panic or a
// partial column.
func TestTruncatedChunks(t *testing.T) {
	for _, p := range []int32{47, 340, 404, 498, 754, 756, 765, 770} {
		table, _ := blocks.ForProtocol(p)
		d := NewDecoder(table)
		rng := rand.New(rand.NewPCG(1, 2))
		dim := dimensionOf(p)
		col := &testColumn{sections: make([]*[SectionBlocks]uint16, dim.Height/16)}
		col.sections[0] = randomSection(rng, 6, table.Len())
		col.sections[2] = randomSection(rng, 40, table.Len())
		body := encodeChunk(p, int(d.globalBits), col, true)
		for cut := 0; cut < len(body); cut += 1 + cut/16 {
			if _, err := d.Chunk(body[:cut], dim); !errors.Is(err, ErrMalformed) {
				// Bytes after the data (block entities) are not read.
				if cut >= len(body)-1 {
					continue
				}
				t.Fatalf("protocol %d cut at %d of %d: err %v", p, cut, len(body), err)
			}
		}
	}
}

func TestChunkBulk18(t *testing.T) {
	table, _ := blocks.ForProtocol(47)
	d := NewDecoder(table)
	rng := rand.New(rand.NewPCG(3, 4))
	cols := []*testColumn{
		{x: 1, z: 2, sections: make([]*[SectionBlocks]uint16, 16)},
		{x: -5, z: 9, sections: make([]*[SectionBlocks]uint16, 16)},
	}
	cols[0].sections[3] = randomSection(rng, 7, table.Len())
	cols[1].sections[0] = randomSection(rng, 1, table.Len())
	cols[1].sections[15] = randomSection(rng, 300, table.Len())
	for _, sky := range []bool{true, false} {
		b := []byte{0}
		if sky {
			b[0] = 1
		}
		b = mcproto.AppendVarInt(b, int32(len(cols)))
		var data []byte
		for _, c := range cols {
			b = mcproto.AppendInt32(b, c.x)
			b = mcproto.AppendInt32(b, c.z)
			b = mcproto.AppendUint16(b, c.mask())
			one := encodeChunk(47, 13, c, sky)
			// the single chunk's data: after x, z, ground-up, mask and the VarInt length
			r := mcproto.NewReader(one[11:])
			data = append(data, r.ByteArray(MaxChunkData)...)
		}
		b = append(b, data...)
		i := 0
		err := d.ChunkBulk(b, func(c Column) error {
			want := cols[i]
			if c.X != want.x || c.Z != want.z {
				t.Fatalf("column %d at %d,%d", i, c.X, c.Z)
			}
			for y, s := range want.sections {
				for k := range SectionBlocks {
					w := uint16(0)
					if s != nil {
						w = s[k]
					}
					if g := c.Sections[y].At(k); g != w {
						t.Fatalf("bulk column %d section %d block %d: %d want %d", i, y, k, g, w)
					}
				}
			}
			i++
			return nil
		})
		if err != nil || i != 2 {
			t.Fatalf("bulk sky=%v: %v after %d columns", sky, err, i)
		}
		if err := d.ChunkBulk(b[:len(b)-1], func(Column) error { return nil }); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated bulk: %v", err)
		}
	}
}

func TestUnload18(t *testing.T) {
	table, _ := blocks.ForProtocol(47)
	d := NewDecoder(table)
	b := mcproto.AppendInt32(nil, 4)
	b = mcproto.AppendInt32(b, -4)
	b = append(b, 1, 0, 0)
	b = mcproto.AppendByteArray(b, nil)
	c, err := d.Chunk(b, Overworld116())
	if err != nil || !c.Unload || c.X != 4 || c.Z != -4 {
		t.Fatalf("1.8 unload: %+v %v", c, err)
	}
}

func TestBlockPackets(t *testing.T) {
	type tc struct {
		protocol int32
		body     []byte
		want     []Change
	}
	pos := func(p int32, x, y, z int32) []byte {
		return mcproto.AppendInt64(nil, int64(mcproto.Position{X: x, Y: y, Z: z}.Pack(p)))
	}
	var cases []tc
	for _, p := range []int32{47, 340, 498, 765} {
		cases = append(cases, tc{p, mcproto.AppendVarInt(pos(p, -100, 70, 33), 17), []Change{{-100, 70, 33, 17}}})
	}
	// Multi block change before 1.16.2: chunk x, z, records of (xz, y, state).
	old := mcproto.AppendInt32(mcproto.AppendInt32(nil, -2), 3)
	old = mcproto.AppendVarInt(old, 2)
	old = append(old, 0x1F, 64)
	old = mcproto.AppendVarInt(old, 5)
	old = append(old, 0xF0, 255)
	old = mcproto.AppendVarInt(old, 300)
	cases = append(cases, tc{340, old, []Change{{-32 + 1, 64, 48 + 15, 5}, {-32 + 15, 255, 48, 300}}})
	// 1.16.2+: section position (x 22, z 22, y 20 bits), [bool before 1.20], VarLong records.
	sec := func(x, y, z int64) []byte {
		return mcproto.AppendInt64(nil, (x&0x3FFFFF)<<42|(z&0x3FFFFF)<<20|y&0xFFFFF)
	}
	for _, p := range []int32{754, 765} {
		b := sec(-2, -4, 3)
		if p < proto1_20 {
			b = append(b, 0)
		}
		b = mcproto.AppendVarInt(b, 1)
		b = mcproto.AppendVarLong(b, 9000<<12|(1<<8|15<<4|2))
		cases = append(cases, tc{p, b, []Change{{-32 + 1, -64 + 2, 48 + 15, 9000}}})
	}
	for _, c := range cases {
		table, _ := blocks.ForProtocol(c.protocol)
		d := NewDecoder(table)
		var got []Change
		var err error
		if len(c.want) == 1 && len(c.body) == 8+mcproto.VarIntLen(int32(c.want[0].State)) {
			var ch Change
			ch, err = d.BlockChange(c.body)
			got = []Change{ch}
		} else {
			got, err = d.MultiBlockChange(c.body, nil)
		}
		if err != nil || len(got) != len(c.want) {
			t.Fatalf("protocol %d: %v %v", c.protocol, got, err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("protocol %d change %d: %+v, want %+v", c.protocol, i, got[i], c.want[i])
			}
		}
	}
}

func TestMultiBlockChangeCountIsChecked(t *testing.T) {
	table, _ := blocks.ForProtocol(765)
	d := NewDecoder(table)
	b := mcproto.AppendVarInt(mcproto.AppendInt64(nil, 0), 1<<20) // a million records in 9 bytes
	if _, err := d.MultiBlockChange(b, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err %v", err)
	}
}

func TestUnloadOrder(t *testing.T) {
	body := mcproto.AppendInt32(mcproto.AppendInt32(nil, 5), -6)
	for p, want := range map[int32][2]int32{340: {5, -6}, 763: {5, -6}, 764: {-6, 5}, 769: {-6, 5}} {
		table, _ := blocks.ForProtocol(p)
		x, z, err := NewDecoder(table).UnloadChunk(body)
		if err != nil || x != want[0] || z != want[1] {
			t.Errorf("protocol %d: %d,%d %v, want %v", p, x, z, err, want)
		}
	}
}

func TestExplosion(t *testing.T) {
	build := func(p int32, x, y, z float64, offs [][3]int8, kind int32) []byte {
		var b []byte
		if p >= proto1_19_3 {
			b = mcproto.AppendFloat64(mcproto.AppendFloat64(mcproto.AppendFloat64(nil, x), y), z)
		} else {
			b = mcproto.AppendFloat32(mcproto.AppendFloat32(mcproto.AppendFloat32(nil, float32(x)), float32(y)), float32(z))
		}
		b = mcproto.AppendFloat32(b, 4)
		if p >= proto1_17 {
			b = mcproto.AppendVarInt(b, int32(len(offs)))
		} else {
			b = mcproto.AppendInt32(b, int32(len(offs)))
		}
		for _, o := range offs {
			b = append(b, byte(o[0]), byte(o[1]), byte(o[2]))
		}
		b = mcproto.AppendFloat32(mcproto.AppendFloat32(mcproto.AppendFloat32(b, 0), 0), 0)
		if p >= proto1_20_3 {
			b = mcproto.AppendVarInt(b, kind)
			b = append(b, 1, 2, 3) // particles: not read
		}
		return b
	}
	offs := [][3]int8{{1, 0, -1}, {-2, 3, 0}}
	for _, c := range []struct {
		p       int32
		x       float64
		kind    int32
		wantX0  int32
		removes bool
	}{
		{47, -10.5, 0, -10 + 1, true},  // truncated
		{498, -10.5, 0, -11 + 1, true}, // floored
		{760, 3.2, 0, 3 + 1, true},
		{765, 3.2, 1, 3 + 1, true},
		{765, 3.2, 3, 0, false}, // wind charge: triggers, removes nothing
		{768, 3.2, 1, 0, false}, // 1.21.2+: block updates instead
	} {
		table, _ := blocks.ForProtocol(c.p)
		got, err := NewDecoder(table).Explosion(build(c.p, c.x, 64, 0, offs, c.kind), nil)
		if err != nil {
			t.Fatalf("protocol %d: %v", c.p, err)
		}
		if !c.removes {
			if len(got) != 0 {
				t.Errorf("protocol %d kind %d: %v, want none", c.p, c.kind, got)
			}
			continue
		}
		if len(got) != 2 || got[0].X != c.wantX0 || got[0].Y != 64 || got[0].Z != -1 || got[1].Y != 67 || got[0].State != 0 {
			t.Errorf("protocol %d: %+v", c.p, got)
		}
	}
}

func TestRespawnDimension(t *testing.T) {
	str := func(s string) []byte { return mcproto.AppendString(nil, s) }
	nbtDim := func(p int32, minY, height int32) []byte {
		b := []byte{tagCompound}
		if p < proto1_20_2 {
			b = append(b, 0, 0)
		}
		b = append(b, tagString, 0, 7)
		b = append(b, "effects"...)
		b = append(b, 0, 3, 'a', 'b', 'c')
		b = append(b, tagInt, 0, 5)
		b = append(b, "min_y"...)
		b = mcproto.AppendInt32(b, minY)
		b = append(b, tagList, 0, 1, 'l', tagCompound)
		b = mcproto.AppendInt32(b, 1)
		b = append(b, tagEnd)
		b = append(b, tagInt, 0, 6)
		b = append(b, "height"...)
		b = mcproto.AppendInt32(b, height)
		b = append(b, tagByte, 0, 12)
		b = append(b, "has_skylight"...)
		b = append(b, 1)
		return append(b, tagEnd)
	}
	for _, c := range []struct {
		p     int32
		body  []byte
		want  Dimension
		known bool
	}{
		{47, mcproto.AppendInt32(nil, -1), Dimension{0, 256, false}, true},
		{340, mcproto.AppendInt32(nil, 0), Dimension{0, 256, true}, true},
		{735, str("minecraft:the_end"), Dimension{0, 256, false}, true},
		{756, nbtDim(756, -128, 512), Dimension{-128, 512, true}, true},
		{754, nbtDim(754, 0, 256), Dimension{0, 256, true}, true},
		{765, str("minecraft:overworld"), Dimension{-64, 384, true}, true},
		{765, str("custom:tall"), Dimension{}, false},
		{767, mcproto.AppendVarInt(nil, 2), Dimension{}, false},
	} {
		table, _ := blocks.ForProtocol(c.p)
		d := NewDecoder(table)
		// From 1.16 the world's name follows the type; later fields are not read.
		got, err := d.Respawn(append(append(c.body, str("plugin:arena")...), 9, 9, 9))
		if err != nil {
			t.Fatalf("protocol %d: %v", c.p, err)
		}
		if wantWorld := c.p >= proto1_16; (got.World == "plugin:arena") != wantWorld {
			t.Errorf("protocol %d: world %q", c.p, got.World)
		}
		dim, ok := d.Resolve(nil, got)
		if ok != c.known || ok && dim != c.want {
			t.Errorf("protocol %d: %+v → %+v %v, want %+v known=%v", c.p, got, dim, ok, c.want, c.known)
		}
	}
}

func TestWorldBorder(t *testing.T) {
	f := mcproto.AppendFloat64
	legacy := decoderFor(t, 340)
	modern := decoderFor(t, 769)
	b := DefaultBorder()
	steps := []struct {
		d    *Decoder
		kind BorderPacket
		body []byte
		want Border
	}{
		{legacy, BorderLegacy, f(f(f(f(mcproto.AppendVarInt(nil, borderActionInit), 10), -20), 100), 50),
			Border{}},
		{legacy, BorderLegacy, f(mcproto.AppendVarInt(nil, borderActionSize), 64), Border{}},
		{legacy, BorderLegacy, mcproto.AppendVarInt(mcproto.AppendVarInt(nil, borderActionWarningBlocks), 5), Border{}},
		{modern, BorderCenter, f(f(nil, 1.5), 2.5), Border{}},
		{modern, BorderLerp, mcproto.AppendVarLong(f(f(nil, 64), 32), 5000), Border{}},
	}
	// The init step also carries speed, portal boundary and two warnings.
	steps[0].body = mcproto.AppendVarInt(mcproto.AppendVarInt(mcproto.AppendVarInt(mcproto.AppendVarLong(steps[0].body, 2000), 29999984), 5), 15)
	wants := []Border{
		{X: 10, Z: -20, OldDiameter: 100, Diameter: 50, LerpMillis: 2000},
		{X: 10, Z: -20, OldDiameter: 64, Diameter: 64},
		{X: 10, Z: -20, OldDiameter: 64, Diameter: 64},
		{X: 1.5, Z: 2.5, OldDiameter: 64, Diameter: 64},
		{X: 1.5, Z: 2.5, OldDiameter: 64, Diameter: 32, LerpMillis: 5000},
	}
	for i, s := range steps {
		if err := s.d.WorldBorder(s.kind, s.body, &b); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if b != wants[i] {
			t.Fatalf("step %d: %+v, want %+v", i, b, wants[i])
		}
	}
	// Out of vanilla's bounds: refused, and the border is unchanged.
	for _, body := range [][]byte{f(f(nil, math.NaN()), 0), f(f(nil, 3e7), 0)} {
		if err := modern.WorldBorder(BorderCenter, body, &b); !errors.Is(err, ErrMalformed) || b != wants[4] {
			t.Fatalf("bad centre accepted: %v %+v", err, b)
		}
	}
	if err := modern.WorldBorder(BorderLegacy, nil, &b); !errors.Is(err, ErrMalformed) {
		t.Fatal("legacy border packet accepted on 1.21.4")
	}
}
