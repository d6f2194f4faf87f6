package chunk

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// fuzzProtocols are one protocol per format the decoders tell apart; the
// first input byte picks one, the rest is the packet body.
var fuzzProtocols = []int32{47, 110, 340, 404, 498, 578, 735, 754, 756, 758, 763, 765, 768, 770, 775}

func fuzzDecoder(t *testing.T, data []byte) (*Decoder, []byte) {
	if len(data) == 0 {
		return nil, nil
	}
	p := fuzzProtocols[int(data[0])%len(fuzzProtocols)]
	table, err := blocks.ForProtocol(p)
	if err != nil {
		t.Fatal(err)
	}
	return NewDecoder(table), data[1:]
}

func protocolByte(p int32) byte {
	for i, q := range fuzzProtocols {
		if q == p {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("protocol %d not in fuzzProtocols", p))
}

// seedChunks are valid chunks of every fuzzed format.
func seedChunks() [][]byte {
	var out [][]byte
	rng := rand.New(rand.NewPCG(7, 7))
	for _, p := range fuzzProtocols {
		table, _ := blocks.ForProtocol(p)
		d := NewDecoder(table)
		dim := dimensionOf(p)
		col := &testColumn{x: 1, z: -1, sections: make([]*[SectionBlocks]uint16, dim.Height/16)}
		col.sections[0] = randomSection(rng, 3, table.Len())
		out = append(out, append([]byte{protocolByte(p)}, encodeChunk(p, int(d.globalBits), col, true)...))
	}
	return out
}

// checkColumn asserts what a caller relies on after a nil error.
func checkColumn(t *testing.T, c Column) {
	if c.Unload {
		return
	}
	if len(c.Sections) == 0 || len(c.Sections) > MaxSections {
		t.Fatalf("%d sections", len(c.Sections))
	}
	for y := range c.Sections {
		s := &c.Sections[y]
		if !s.Valid() {
			if c.Full {
				t.Fatalf("full column with an empty section %d", y)
			}
			continue
		}
		var st, again [SectionBlocks]uint16
		s.Unpack(&st)
		var pk Packer
		re := pk.Pack(&st)
		re.Unpack(&again)
		if st != again {
			t.Fatalf("section %d does not survive a re-pack", y)
		}
	}
}

func FuzzChunk(f *testing.F) {
	for _, s := range seedChunks() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		c, err := d.Chunk(body, dimensionOf(d.protocol))
		if err == nil {
			checkColumn(t, c)
		}
	})
}

func FuzzChunkBulk(f *testing.F) {
	b := []byte{protocolByte(47), 1}
	b = mcproto.AppendVarInt(b, 1)
	b = mcproto.AppendInt32(mcproto.AppendInt32(b, 0), 0)
	b = mcproto.AppendUint16(b, 1)
	b = append(b, make([]byte, size18Blocks+2*size18Light+size18Biomes)...)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil || d.protocol >= proto1_9 {
			return
		}
		_ = d.ChunkBulk(body, func(c Column) error { checkColumn(t, c); return nil })
	})
}

func FuzzBlockChange(f *testing.F) {
	f.Add(append([]byte{protocolByte(765)}, mcproto.AppendVarInt(mcproto.AppendInt64(nil, 12345), 99)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		_, _ = d.BlockChange(body)
	})
}

func FuzzMultiBlockChange(f *testing.F) {
	f.Add(append([]byte{protocolByte(765)}, mcproto.AppendVarLong(mcproto.AppendVarInt(mcproto.AppendInt64(nil, 1<<42|2<<20|3), 1), 77<<12|0x123)...))
	old := mcproto.AppendVarInt(mcproto.AppendInt32(mcproto.AppendInt32(nil, 1), 2), 1)
	f.Add(append([]byte{protocolByte(340)}, append(old, 0x12, 64, 5)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		out, err := d.MultiBlockChange(body, nil)
		if err == nil && len(out) > maxChangeRecords {
			t.Fatalf("%d changes", len(out))
		}
	})
}

func FuzzExplosion(f *testing.F) {
	b := mcproto.AppendFloat32(mcproto.AppendFloat32(mcproto.AppendFloat32(nil, 1), 2), 3)
	b = mcproto.AppendInt32(mcproto.AppendFloat32(b, 4), 1)
	f.Add(append([]byte{protocolByte(340)}, append(b, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		out, err := d.Explosion(body, nil)
		if err == nil && len(out) > maxExplosionBlocks {
			t.Fatalf("%d blocks", len(out))
		}
	})
}

func FuzzRespawn(f *testing.F) {
	f.Add(append([]byte{protocolByte(765)}, mcproto.AppendString(nil, "minecraft:overworld")...))
	f.Add([]byte{protocolByte(756), tagCompound, 0, 0, tagInt, 0, 5, 'm', 'i', 'n', '_', 'y', 0, 0, 0, 0, tagEnd})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		_, _ = d.Respawn(body)
	})
}

func FuzzJoinGame(f *testing.F) {
	f.Add(append([]byte{protocolByte(763)}, 0, 0, 0, 1, 0, 0, 0, 0, tagCompound, 0, 0, tagEnd, 0))
	f.Add(append([]byte{protocolByte(47)}, 0, 0, 0, 1, 0, 0xFF, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		var types DimensionTypes
		if r, err := d.JoinGame(body, &types); err == nil {
			d.Resolve(&types, r)
		}
		if len(types.byName) > maxDimensionTypes {
			t.Fatalf("%d dimension types", len(types.byName))
		}
	})
}

func FuzzRegistryData(f *testing.F) {
	rd := mcproto.AppendVarInt(mcproto.AppendString(nil, "minecraft:dimension_type"), 1)
	rd = append(mcproto.AppendString(rd, "a:b"), 1, tagCompound, tagInt, 0, 6, 'h', 'e', 'i', 'g', 'h', 't', 0, 0, 1, 0, tagEnd)
	f.Add(append([]byte{protocolByte(775)}, rd...))
	f.Add([]byte{protocolByte(765), tagCompound, tagEnd})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		var types DimensionTypes
		_ = d.RegistryData(body, &types)
		if len(types.order) > maxDimensionTypes || len(types.byName) > maxDimensionTypes {
			t.Fatalf("%d/%d dimension types", len(types.order), len(types.byName))
		}
	})
}

func FuzzWorldBorder(f *testing.F) {
	f.Add(append([]byte{protocolByte(340), byte(BorderLegacy)}, mcproto.AppendFloat64(mcproto.AppendVarInt(nil, 0), 10)...))
	f.Add(append([]byte{protocolByte(775), byte(BorderCenter)}, mcproto.AppendFloat64(mcproto.AppendFloat64(nil, 1), 2)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil || len(body) == 0 {
			return
		}
		b := DefaultBorder()
		if err := d.WorldBorder(BorderPacket(body[0]%6), body[1:], &b); err == nil {
			if math.IsNaN(b.Diameter) || b.Diameter < 0 || b.Diameter > maxBorderDiameter {
				t.Fatalf("accepted %+v", b)
			}
		}
	})
}

func FuzzUnloadChunk(f *testing.F) {
	f.Add(append([]byte{protocolByte(765)}, 0, 0, 0, 1, 0, 0, 0, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := fuzzDecoder(t, data)
		if d == nil {
			return
		}
		_, _, _ = d.UnloadChunk(body)
	})
}

// TestWriteFuzzSeeds writes the seeds above into testdata/fuzz so that they
// are committed as the corpus (go test runs them as regular tests). Run with
// RUSTGUARD_WRITE_FUZZ_SEEDS=1 after changing a format.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("RUSTGUARD_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set RUSTGUARD_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzChunk")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzChunk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seedChunks() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d-protocol-%d", i, fuzzProtocols[s[0]])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
