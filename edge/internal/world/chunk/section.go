package chunk

import (
	"slices"
	"unsafe"
)

// SectionBlocks is the number of blocks in a 16×16×16 section; a block's
// index is y<<8 | z<<4 | x with x, y, z in 0..15 (the order of every chunk
// format since 1.8).
const SectionBlocks = 16 * 16 * 16

// StateOutOfRange stands for a block state id too large for a Section
// (≥ 65535). No vanilla version has that many states (26.1 has under
// 30,000), so such an id is unknown to every block table, which is what
// prediction should assume about it.
const StateOutOfRange = 0xFFFF

// directBits is the entry width of a section with more than
// maxPaletteEntries distinct states: the entries are state ids themselves.
const directBits = 16

// maxPaletteEntries is the largest palette a Section keeps (8-bit entries);
// vanilla's indirect palettes stop at 8 bits too.
const maxPaletteEntries = 256

// Section holds the block states of one section in the replica's compact
// form, one of three:
//
//   - uniform: one state (air, deep stone), no words at all;
//   - flat: a palette of state ids and entries packed into uint64 words
//     with a power-of-two width (1, 2, 4, 8 bits, or 16 with no palette),
//     so no entry spans two words and a lookup is two shifts and a mask;
//   - cubes: the section's palette, then each 4×4×4 cube either one palette
//     entry or its own small palette and 1–8-bit entries. Terrain is
//     locally plain (a cube of stone, a cube of air, an ore vein in a few
//     cubes), so this is several times smaller than flat for the sections
//     that dominate memory; Packer picks whichever form is smaller.
//
// A Section is immutable once built: the store shares it between every
// player who sees it, and a block change builds a new one (Packer).
type Section struct {
	palette []uint16 // nil when bits == directBits
	data    []uint64 // flat: SectionBlocks*bits/64 words; cubes: the cube bytes (cubeBytes); nil when uniform
	bits    uint8    // flat width, 0 when uniform, cubeMode for cubes
}

// cubeMode marks a Section in the cube form.
const cubeMode = 0xFF

// The cube form's bytes: cubeCount little-endian uint16 headers, then the
// records. A header with cubeUniform set is a palette index (the whole cube
// is that state); otherwise it is the byte offset of the cube's record:
// n (2..64), n section-palette indices, then cubeBlocks entries of
// localBits(n) bits, least significant first.
const (
	cubeCount   = 64
	cubeBlocks  = 64
	cubeHeaders = 2 * cubeCount
	cubeUniform = 0x8000
)

func localBits(n int) int {
	switch {
	case n <= 2:
		return 1
	case n <= 4:
		return 2
	case n <= 16:
		return 4
	}
	return 8
}

// cubeOf maps a block index to its cube and its index inside the cube.
func cubeOf(i int) (c, l int) {
	x, z, y := i&15, i>>4&15, i>>8
	return (y>>2)<<4 | (z>>2)<<2 | x>>2, (y&3)<<4 | (z&3)<<2 | x&3
}

// cubeBytes views the data words of a cube-form section as bytes.
func cubeBytes(data []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 8*len(data))
}

// Valid reports whether the section holds blocks (the zero Section does not:
// it stands for "not sent").
func (s *Section) Valid() bool { return s.palette != nil || s.bits == directBits }

// Uniform returns the state when the whole section is one state.
func (s *Section) Uniform() (uint16, bool) {
	if s.bits == 0 && len(s.palette) == 1 {
		return s.palette[0], true
	}
	return 0, false
}

// At returns the state id of block i (y<<8 | z<<4 | x).
func (s *Section) At(i int) uint16 {
	i &= SectionBlocks - 1
	switch s.bits {
	case 0:
		if len(s.palette) == 0 {
			return 0
		}
		return s.palette[0]
	case directBits:
		return uint16(s.data[i>>2] >> (uint(i&3) * 16))
	case cubeMode:
		return s.cubeAt(i)
	}
	perWordLog := 6 - bitsLog[s.bits] // log2(64/bits)
	w := s.data[i>>perWordLog]
	shift := uint(i&(1<<perWordLog-1)) * uint(s.bits)
	v := w >> shift & (1<<s.bits - 1)
	return s.palette[v]
}

func (s *Section) cubeAt(i int) uint16 {
	b := cubeBytes(s.data)
	c, l := cubeOf(i)
	h := int(b[2*c]) | int(b[2*c+1])<<8
	if h&cubeUniform != 0 {
		return s.palette[h&^cubeUniform]
	}
	n := int(b[h])
	lb := localBits(n)
	bit := l * lb
	v := int(b[h+1+n+bit>>3]>>(bit&7)) & (1<<lb - 1)
	return s.palette[b[h+1+v]]
}

// bitsLog is log2 of the supported widths.
var bitsLog = [17]uint8{1: 0, 2: 1, 4: 2, 8: 3, 16: 4}

// Bytes is the memory the section holds: its header and its backing arrays.
// The store sums it against its budget.
func (s *Section) Bytes() int {
	return int(unsafe.Sizeof(*s)) + 2*cap(s.palette) + 8*cap(s.data)
}

// Equal reports whether a and b hold the same states in the same encoding
// (sections built by a Packer from the same states are Equal).
func (s *Section) Equal(o *Section) bool {
	return s.bits == o.bits && slices.Equal(s.palette, o.palette) && slices.Equal(s.data, o.data)
}

// Unpack writes every block's state into dst.
func (s *Section) Unpack(dst *[SectionBlocks]uint16) {
	if v, ok := s.Uniform(); ok {
		for i := range dst {
			dst[i] = v
		}
		return
	}
	for i := range dst {
		dst[i] = s.At(i)
	}
}

// Packer builds Sections from unpacked states. It keeps scratch space so
// that building allocates only what the Section keeps; one Packer per
// goroutine.
type Packer struct {
	idx     [SectionBlocks]uint8
	sorted  [SectionBlocks]uint16
	palette []uint16
	cube    [cubeHeaders + cubeCount*(1+cubeBlocks+cubeBlocks)]byte // the largest cube form
	local   [maxPaletteEntries]int16                                // section index → local index + 1
}

// linearPalette is how many distinct states the packer looks up linearly
// before it sorts: terrain sections mostly hold fewer.
const linearPalette = 16

// Pack builds the compact Section of states.
func (p *Packer) Pack(states *[SectionBlocks]uint16) Section {
	pal := p.palette[:0]
	last, lastIdx := states[0], uint8(0)
	pal = append(pal, last)
	for i, v := range states {
		if v == last {
			p.idx[i] = lastIdx
			continue
		}
		j := slices.Index(pal, v)
		if j < 0 {
			if len(pal) == linearPalette {
				p.palette = pal
				return p.packSorted(states)
			}
			j = len(pal)
			pal = append(pal, v)
		}
		last, lastIdx = v, uint8(j)
		p.idx[i] = lastIdx
	}
	p.palette = pal
	return p.build(pal)
}

// packSorted palettizes with a sort: for sections with many states.
func (p *Packer) packSorted(states *[SectionBlocks]uint16) Section {
	p.sorted = *states
	s := p.sorted[:]
	slices.Sort(s)
	pal := slices.Compact(s)
	if len(pal) > maxPaletteEntries {
		data := make([]uint64, SectionBlocks*directBits/64)
		for i, v := range states {
			data[i>>2] |= uint64(v) << (uint(i&3) * 16)
		}
		return Section{data: data, bits: directBits}
	}
	for i, v := range states {
		j, _ := slices.BinarySearch(pal, v)
		p.idx[i] = uint8(j)
	}
	return p.build(pal)
}

// PackIndexed builds a Section from a palette and per-block indices into it
// (every index must be < len(palette) ≤ maxPaletteEntries): the decoders'
// path for indirect containers, which need no palettizing.
func (p *Packer) PackIndexed(palette []uint16, idx *[SectionBlocks]uint8) Section {
	p.idx = *idx
	return p.build(palette)
}

// build packs p.idx with palette into the narrowest power-of-two width.
func (p *Packer) build(palette []uint16) Section {
	pal := slices.Clone(palette)
	var bits uint8
	switch n := len(pal); {
	case n <= 1:
		return Section{palette: pal}
	case n <= 2:
		bits = 1
	case n <= 4:
		bits = 2
	case n <= 16:
		bits = 4
	default:
		bits = 8
	}
	flatBytes := SectionBlocks * int(bits) / 8
	if n := p.packCubes(); n < flatBytes {
		data := make([]uint64, (n+7)/8)
		copy(cubeBytes(data), p.cube[:n])
		return Section{palette: pal, data: data, bits: cubeMode}
	}
	perWordLog := 6 - bitsLog[bits]
	data := make([]uint64, SectionBlocks*int(bits)/64)
	for i, v := range p.idx {
		data[i>>perWordLog] |= uint64(v) << (uint(i&(1<<perWordLog-1)) * uint(bits))
	}
	return Section{palette: pal, data: data, bits: bits}
}

// packCubes writes the cube form of p.idx into p.cube and returns its size.
func (p *Packer) packCubes() int {
	var vals [cubeBlocks]uint8
	var locals [cubeBlocks]uint8
	off := cubeHeaders
	for c := range cubeCount {
		cy, cz, cx := c>>4, c>>2&3, c&3
		n := 0
		for l := range cubeBlocks {
			v := p.idx[(cy<<2|l>>4)<<8|(cz<<2|l>>2&3)<<4|cx<<2|l&3]
			if p.local[v] == 0 {
				locals[n] = v
				n++
				p.local[v] = int16(n)
			}
			vals[l] = uint8(p.local[v] - 1)
		}
		for _, v := range locals[:n] {
			p.local[v] = 0
		}
		if n == 1 {
			h := cubeUniform | int(locals[0])
			p.cube[2*c], p.cube[2*c+1] = byte(h), byte(h>>8)
			continue
		}
		p.cube[2*c], p.cube[2*c+1] = byte(off), byte(off>>8)
		p.cube[off] = byte(n)
		copy(p.cube[off+1:], locals[:n])
		lb := localBits(n)
		d := p.cube[off+1+n : off+1+n+cubeBlocks*lb/8]
		clear(d)
		for l, v := range vals {
			bit := l * lb
			d[bit>>3] |= v << (bit & 7)
		}
		off += 1 + n + cubeBlocks*lb/8
	}
	return off
}

// Uniform builds a one-state section (air above the terrain, the sections
// a ground-up chunk leaves out).
func Uniform(state uint16) Section { return Section{palette: []uint16{state}} }
