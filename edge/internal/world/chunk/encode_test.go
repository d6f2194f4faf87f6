package chunk

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"slices"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// This file writes chunk packets the way a server of each version does, for
// the formats flying-squid cannot record (1.21.5+, 1.8's bulk chunks) and
// for round trips over every protocol. It follows docs/WORLD.md, "Chunk
// formats", independently of the decoder's code paths.

// testColumn is a column of unpacked sections; nil sections are not sent.
type testColumn struct {
	x, z     int32
	sections []*[SectionBlocks]uint16
}

func (c *testColumn) mask() uint16 {
	var m uint16
	for i, s := range c.sections {
		if s != nil {
			m |= 1 << i
		}
	}
	return m
}

// wireBits is the width a server writes for a section with these states.
func wireBits(protocol int32, globalBits int, distinct int) (bits int, global bool) {
	switch {
	case distinct == 1 && protocol >= proto1_18:
		return 0, false
	case distinct <= 16:
		return 4, false
	case distinct <= 256:
		return 8, false
	}
	return globalBits, true
}

func packWire(protocol int32, vals []uint64, bits int) []uint64 {
	var out []uint64
	if protocol >= proto1_16 {
		per := 64 / bits
		out = make([]uint64, (len(vals)+per-1)/per)
		for i, v := range vals {
			out[i/per] |= v << (uint(i%per) * uint(bits))
		}
		return out
	}
	out = make([]uint64, (len(vals)*bits+63)/64)
	for i, v := range vals {
		bit := i * bits
		out[bit/64] |= v << uint(bit%64)
		if bit%64+bits > 64 {
			out[bit/64+1] |= v >> uint(64-bit%64)
		}
	}
	return out
}

func appendLongs(b []byte, protocol int32, longs []uint64) []byte {
	if protocol < proto1_21_5 {
		b = mcproto.AppendVarInt(b, int32(len(longs)))
	}
	for _, l := range longs {
		b = binary.BigEndian.AppendUint64(b, l)
	}
	return b
}

// appendContainer writes a paletted container of vals.
func appendContainer(b []byte, protocol int32, globalBits int, vals []uint16, biome bool) []byte {
	pal := slices.Clone(vals)
	slices.Sort(pal)
	pal = slices.Compact(pal)
	bits, global := wireBits(protocol, globalBits, len(pal))
	if biome && !global && bits > 0 {
		bits = max(1, 64-clz(uint64(len(pal)-1)))
		if bits > 3 {
			bits, global = 7, true
		}
	}
	b = append(b, byte(bits))
	if bits == 0 {
		b = mcproto.AppendVarInt(b, int32(pal[0]))
		if protocol < proto1_21_5 {
			b = mcproto.AppendVarInt(b, 0)
		}
		return b
	}
	entries := make([]uint64, len(vals))
	if global {
		if protocol >= proto1_9 && protocol < proto1_13 {
			b = mcproto.AppendVarInt(b, 0)
		}
		for i, v := range vals {
			entries[i] = uint64(v)
		}
	} else {
		b = mcproto.AppendVarInt(b, int32(len(pal)))
		for _, v := range pal {
			b = mcproto.AppendVarInt(b, int32(v))
		}
		for i, v := range vals {
			j, _ := slices.BinarySearch(pal, v)
			entries[i] = uint64(j)
		}
	}
	return appendLongs(b, protocol, packWire(protocol, entries, bits))
}

func clz(v uint64) int { return bits.LeadingZeros64(v) }

// appendHeightmaps writes a heightmap the way the version does.
func appendHeightmaps(b []byte, protocol int32) []byte {
	if protocol >= proto1_21_5 {
		b = mcproto.AppendVarInt(b, 1)
		b = mcproto.AppendVarInt(b, 4)
		return appendLongs(mcproto.AppendVarInt(b, 37), proto1_21_5, make([]uint64, 37))
	}
	b = append(b, tagCompound)
	if protocol < proto1_20_2 {
		b = append(b, 0, 0) // empty root name
	}
	b = append(b, tagLongArray, 0, 15)
	b = append(b, "MOTION_BLOCKING"...)
	b = binary.BigEndian.AppendUint32(b, 37)
	b = append(b, make([]byte, 37*8)...)
	return append(b, tagEnd)
}

// encodeChunk writes a map_chunk body (no packet id) for protocol.
func encodeChunk(protocol int32, globalBits int, c *testColumn, sky bool) []byte {
	b := mcproto.AppendInt32(nil, c.x)
	b = mcproto.AppendInt32(b, c.z)
	var data []byte
	switch {
	case protocol < proto1_9:
		b = append(b, 1)
		b = mcproto.AppendUint16(b, c.mask())
		for _, s := range c.sections {
			if s != nil {
				for _, v := range s {
					data = binary.LittleEndian.AppendUint16(data, v)
				}
			}
		}
		n := len(data) / size18Blocks
		data = append(data, make([]byte, n*size18Light)...)
		if sky {
			data = append(data, make([]byte, n*size18Light)...)
		}
		data = append(data, make([]byte, 256)...)
		return mcproto.AppendByteArray(b, data)
	case protocol < proto1_17:
		b = append(b, 1)
		if protocol >= proto1_16 && protocol < proto1_16_2 {
			b = append(b, 1)
		}
		b = mcproto.AppendVarInt(b, int32(c.mask()))
		if protocol >= proto1_14 {
			b = appendHeightmaps(b, protocol)
		}
		if protocol >= proto1_15 {
			if protocol < proto1_16_2 {
				b = append(b, make([]byte, 4096)...)
			} else {
				b = mcproto.AppendVarInt(b, 1024)
				b = append(b, make([]byte, 1024)...)
			}
		}
		for _, s := range c.sections {
			if s == nil {
				continue
			}
			if protocol >= proto1_14 {
				data = mcproto.AppendUint16(data, 4096)
			}
			data = appendContainer(data, protocol, globalBits, s[:], false)
			if protocol < proto1_14 {
				data = append(data, make([]byte, size18Light)...)
				if sky {
					data = append(data, make([]byte, size18Light)...)
				}
			}
		}
		switch {
		case protocol < proto1_13:
			data = append(data, make([]byte, 256)...)
		case protocol < proto1_15:
			data = append(data, make([]byte, 1024)...)
		}
	case protocol < proto1_18:
		words := make([]uint64, (len(c.sections)+63)/64)
		for i, s := range c.sections {
			if s != nil {
				words[i/64] |= 1 << (i % 64)
			}
		}
		b = mcproto.AppendVarInt(b, int32(len(words)))
		for _, w := range words {
			b = binary.BigEndian.AppendUint64(b, w)
		}
		b = appendHeightmaps(b, protocol)
		b = mcproto.AppendVarInt(b, int32(64*len(c.sections)))
		b = append(b, make([]byte, 64*len(c.sections))...)
		for _, s := range c.sections {
			if s != nil {
				data = mcproto.AppendUint16(data, 4096)
				data = appendContainer(data, protocol, globalBits, s[:], false)
			}
		}
	default:
		b = appendHeightmaps(b, protocol)
		biomes := make([]uint16, 64)
		for _, s := range c.sections {
			data = mcproto.AppendUint16(data, 4096)
			if s == nil {
				s = new([SectionBlocks]uint16)
			}
			data = appendContainer(data, protocol, globalBits, s[:], false)
			data = appendContainer(data, protocol, globalBits, biomes, true)
		}
	}
	b = mcproto.AppendByteArray(b, data)
	b = mcproto.AppendVarInt(b, 0) // block entities
	return b
}

// randomSection fills a section with n distinct states from a generator.
func randomSection(rng *rand.Rand, n int, maxState int) *[SectionBlocks]uint16 {
	pal := make([]uint16, n)
	for i := range pal {
		pal[i] = uint16(rng.IntN(maxState))
	}
	var s [SectionBlocks]uint16
	for i := range s {
		if i < n {
			s[i] = pal[i]
		} else {
			s[i] = pal[rng.IntN(n)]
		}
	}
	rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return &s
}
