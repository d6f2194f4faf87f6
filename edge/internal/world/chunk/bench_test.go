package chunk

import (
	"math/rand/v2"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
)

// BenchmarkDecodeChunk decodes the recorded flying-squid chunks of each
// version (and synthesised 1.21.5+ ones): MB/s is chunk packet bytes.
func BenchmarkDecodeChunk(b *testing.B) {
	for _, v := range fixtureVersions {
		fx := loadFixture(b, v)
		p := protocolOf(b, v)
		var bodies [][]byte
		size := 0
		for _, pk := range fx.Packets {
			if pk.Name == "map_chunk" {
				body := body(b, p, pk.Name, pk.Data)
				bodies = append(bodies, body)
				size += len(body)
			}
		}
		benchDecode(b, v, p, bodies, size)
	}
	// 1.21.5+ (no flying-squid release): terrain-like synthesised columns.
	p := int32(775)
	table, _ := blocks.ForProtocol(p)
	d := NewDecoder(table)
	rng := rand.New(rand.NewPCG(9, 9))
	var bodies [][]byte
	size := 0
	for range 16 {
		col := &testColumn{sections: make([]*[SectionBlocks]uint16, 24)}
		for y := range 10 {
			col.sections[y] = randomSection(rng, 2+rng.IntN(14), table.Len())
		}
		body := encodeChunk(p, int(d.globalBits), col, true)
		bodies = append(bodies, body)
		size += len(body)
	}
	benchDecode(b, "26.1-synthetic", p, bodies, size)
}

func benchDecode(b *testing.B, name string, p int32, bodies [][]byte, size int) {
	b.Run(name, func(b *testing.B) {
		table, err := blocks.ForProtocol(p)
		if err != nil {
			b.Fatal(err)
		}
		d := NewDecoder(table)
		dim := dimensionOf(p)
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range bodies {
				if _, err := d.Chunk(body, dim); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
