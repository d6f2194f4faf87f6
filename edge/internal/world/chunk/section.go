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
// form: a palette of state ids and entries packed into uint64 words with a
// power-of-two width (0, 1, 2, 4, 8 bits, or 16 with no palette), so no
// entry spans two words and a lookup is two shifts and a mask. A section of
// one state (air, deep stone) keeps no words at all.
//
// A Section is immutable once built: the store shares it between every
// player who sees it, and a block change builds a new one (Packer).
type Section struct {
	palette []uint16 // nil when bits == directBits
	data    []uint64 // SectionBlocks*bits/64 words; nil when bits == 0
	bits    uint8
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
	}
	perWordLog := 6 - bitsLog[s.bits] // log2(64/bits)
	w := s.data[i>>perWordLog]
	shift := uint(i&(1<<perWordLog-1)) * uint(s.bits)
	v := w >> shift & (1<<s.bits - 1)
	return s.palette[v]
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
	perWordLog := 6 - bitsLog[bits]
	data := make([]uint64, SectionBlocks*int(bits)/64)
	for i, v := range p.idx {
		data[i>>perWordLog] |= uint64(v) << (uint(i&(1<<perWordLog-1)) * uint(bits))
	}
	return Section{palette: pal, data: data, bits: bits}
}

// Uniform builds a one-state section (air above the terrain, the sections
// a ground-up chunk leaves out).
func Uniform(state uint16) Section { return Section{palette: []uint16{state}} }
