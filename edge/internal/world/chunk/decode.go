package chunk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// Protocol numbers where the chunk and block packets change
// (docs/WORLD.md, "Chunk formats").
const (
	proto1_9    = 107 // paletted sections, unload_chunk
	proto1_13   = 393 // the flattening: no palette length for the global palette
	proto1_14   = 477 // block count per section, light and heightmaps split out, new position packing
	proto1_15   = 573 // biomes leave the data buffer
	proto1_16   = 735 // entries no longer span longs; ignoreOldData
	proto1_16_2 = 751 // biomes as VarInts; multi block change per section
	proto1_17   = 755 // variable height: section bit set; explosion counts as VarInt
	proto1_18   = 757 // every section sent, with a biome container
	proto1_19_3 = 761 // explosion centre as doubles
	proto1_20   = 763 // multi block change loses its light flag
	proto1_20_2 = 764 // NBT without the root name; unload_chunk is z, x
	proto1_20_3 = 765 // explosion block interaction
	proto1_21_2 = 768 // explosions carry no blocks
	proto1_21_5 = 770 // no length prefix on paletted data; heightmaps as arrays
)

// Limits on what a peer announces, checked before anything is read or kept.
const (
	// MaxChunkData is the largest chunk data buffer: vanilla's client
	// refuses more than 2 MiB ("Chunk Packet trying to allocate too much
	// memory on read").
	MaxChunkData = 2 << 20
	// MaxSections bounds a column: vanilla dimensions are at most 4064
	// blocks high (dimension_type height), 254 sections.
	MaxSections = 4064 / 16
	// maxBulkColumns bounds a 1.8 map chunk bulk: vanilla sends about 10
	// columns in one, and a 2 MiB frame holds at most ~10 fully built
	// columns; 1024 refuses nonsense before the metadata is read.
	maxBulkColumns = 1024
	// maxChangeRecords bounds one multi block change: a whole column's
	// blocks before 1.16.2 (16 sections of 4096), one section's after.
	maxChangeRecords = 16 * SectionBlocks
	// maxExplosionBlocks bounds one explosion's block list; each record is
	// three bytes, so the frame cap already bounds it near 2.8 million: a
	// power-100 explosion from a command removes far fewer than this.
	maxExplosionBlocks = 1 << 18
	// maxBiomes bounds the pre-1.18 biome arrays: 1024 per column until
	// 1.16.5, 64 per section in 1.17.
	maxBiomes = 64 * MaxSections
	// maxHeightmaps bounds 1.21.5+'s heightmap list: vanilla has six types.
	maxHeightmaps = 64
	// maxHeightmapLongs bounds one heightmap: 256 entries of up to 13 bits
	// (4064 high) without spanning fit in 52 longs; 256 leaves room.
	maxHeightmapLongs = 256
)

// ErrMalformed wraps every decode failure: the caller closes that backend
// connection (a hostile or broken server), never the edge.
var ErrMalformed = errors.New("malformed world packet")

func malformed(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%s: %w", what, ErrMalformed)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrMalformed, err)
}

// Dimension is what the decoder must know about the player's dimension:
// its lowest y and height (from Join Game or Respawn; 1.8–1.16: 0 and
// 256), and whether it has sky light (1.8–1.13 send sky light in chunks
// only there). SkyLight is a hint: the decoder tries the other way when
// the data does not fit.
type Dimension struct {
	MinY, Height int32
	SkyLight     bool
}

// Overworld116 is the dimension of every version before 1.17 (and of
// nether and end in later versions but for the sky light). A function, not
// a variable, so no importer can change it.
func Overworld116() Dimension { return Dimension{MinY: 0, Height: 256, SkyLight: true} }

func (d Dimension) sections() (minSection int32, n int, err error) {
	if d.Height <= 0 || d.Height%16 != 0 || d.Height/16 > MaxSections || d.MinY%16 != 0 {
		return 0, 0, malformed(fmt.Sprintf("dimension min_y %d height %d", d.MinY, d.Height), nil)
	}
	return d.MinY >> 4, int(d.Height / 16), nil
}

// Column is one decoded chunk column.
type Column struct {
	X, Z int32
	// Full: the column replaces whatever was there. Otherwise (1.8–1.16
	// without ground-up) only the sections in Mask replace the old ones.
	Full bool
	// Unload: a 1.8 ground-up chunk with an empty mask removes the column.
	Unload bool
	Mask   uint16
	// MinSection is the section y of Sections[0] (block y / 16).
	MinSection int32
	Sections   []Section
}

// Change is one block state change at a world position.
type Change struct {
	X, Y, Z int32
	State   uint16
}

// Decoder decodes one protocol's world packets. It keeps scratch space (a
// few KiB) so that decoding allocates only what the result keeps; one per
// backend connection, not safe for concurrent use.
type Decoder struct {
	protocol   int32
	globalBits uint8
	pk         Packer
	palette    [maxPaletteEntries]uint16
	states     [SectionBlocks]uint16
	words      [maxWords]uint64
}

// NewDecoder returns a decoder for the protocol of table. The table tells
// how wide the global palette is (ceil(log2(states)) since the flattening;
// 13 bits before it).
func NewDecoder(table *blocks.Table) *Decoder {
	d := &Decoder{protocol: table.Protocol(), globalBits: 13}
	if d.protocol >= proto1_13 {
		d.globalBits = uint8(bits.Len(uint(table.Len() - 1)))
	}
	return d
}

// Protocol is the decoder's protocol number.
func (d *Decoder) Protocol() int32 { return d.protocol }

// clampState maps a wire state id to a Section's range.
func clampState(v int64) uint16 {
	if v < 0 || v >= StateOutOfRange {
		return StateOutOfRange
	}
	return uint16(v)
}

// Chunk decodes a map_chunk (level_chunk_with_light) body, the packet id
// already removed. dim is the receiving player's dimension.
func (d *Decoder) Chunk(body []byte, dim Dimension) (Column, error) {
	r := mcproto.NewReader(body)
	var c Column
	c.X, c.Z = r.Int32(), r.Int32()
	switch {
	case d.protocol < proto1_9:
		c.Full = r.Bool()
		c.Mask = r.Uint16()
		data := r.ByteArray(MaxChunkData)
		if err := r.Err(); err != nil {
			return c, malformed("map_chunk", err)
		}
		if c.Full && c.Mask == 0 {
			c.Unload = true
			return c, nil
		}
		err := d.columns18(data, []*Column{&c}, dim.SkyLight, true)
		return c, err
	case d.protocol < proto1_17:
		c.Full = r.Bool()
		if d.protocol >= proto1_16 && d.protocol < proto1_16_2 {
			r.Bool() // ignoreOldData
		}
		mask := r.VarInt()
		if mask < 0 || mask > 0xFFFF {
			return c, malformed(fmt.Sprintf("map_chunk: section mask %#x", mask), r.Err())
		}
		c.Mask = uint16(mask)
		if d.protocol >= proto1_14 {
			d.skipNBT(&r)
		}
		if d.protocol >= proto1_15 && c.Full {
			if d.protocol < proto1_16_2 {
				r.Bytes(1024 * 4)
			} else {
				skipVarInts(&r, maxBiomes)
			}
		}
		data := r.ByteArray(MaxChunkData)
		if err := r.Err(); err != nil {
			return c, malformed("map_chunk", err)
		}
		return c, d.sections19(data, &c, dim.SkyLight)
	case d.protocol < proto1_18:
		c.Full = true
		minSection, n, err := dim.sections()
		if err != nil {
			return c, err
		}
		c.MinSection = minSection
		present, err := readBitSet(&r, n)
		if err != nil {
			return c, err
		}
		d.skipNBT(&r)
		skipVarInts(&r, maxBiomes)
		data := r.ByteArray(MaxChunkData)
		if err := r.Err(); err != nil {
			return c, malformed("map_chunk", err)
		}
		return c, d.sections117(data, &c, present, n)
	default:
		c.Full = true
		minSection, n, err := dim.sections()
		if err != nil {
			return c, err
		}
		c.MinSection = minSection
		if d.protocol >= proto1_21_5 {
			skipHeightmaps(&r)
		} else {
			d.skipNBT(&r)
		}
		data := r.ByteArray(MaxChunkData)
		if err := r.Err(); err != nil {
			return c, malformed("map_chunk", err)
		}
		return c, d.sections118(data, &c, n)
	}
}

// ChunkBulk decodes a 1.8 map_chunk_bulk body and calls fn for every
// column, in order. The Column passed to fn is only valid during the call
// for its Sections slice header; the Sections themselves may be kept.
func (d *Decoder) ChunkBulk(body []byte, fn func(Column) error) error {
	if d.protocol >= proto1_9 {
		return malformed("map_chunk_bulk after 1.8", nil)
	}
	r := mcproto.NewReader(body)
	sky := r.Bool()
	n := r.VarInt()
	if err := r.Err(); err != nil {
		return malformed("map_chunk_bulk", err)
	}
	// Each column's meta is 10 bytes: refuse a count the body cannot hold.
	if n < 0 || n > maxBulkColumns || int(n)*10 > r.Len() {
		return malformed(fmt.Sprintf("map_chunk_bulk: %d columns", n), nil)
	}
	cols := make([]Column, n)
	ptrs := make([]*Column, n)
	for i := range cols {
		cols[i] = Column{X: r.Int32(), Z: r.Int32(), Full: true, Mask: r.Uint16()}
		ptrs[i] = &cols[i]
	}
	if err := d.columns18(r.Rest(), ptrs, sky, false); err != nil {
		return err
	}
	for _, c := range cols {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// 1.8 section layout sizes: 4096 little-endian uint16 states (id<<4|meta),
// then 2048 bytes of block light, 2048 of sky light, per section, and 256
// biome bytes per ground-up column.
const (
	size18Blocks = SectionBlocks * 2
	size18Light  = SectionBlocks / 2
	size18Biomes = 256
)

// columns18 decodes the 1.8 data of one map_chunk (exact: the buffer must
// hold exactly the columns) or of a bulk (each column's blocks, block
// light, sky light if sky, biomes). For a single chunk, sky is a hint and
// the buffer's length decides.
func (d *Decoder) columns18(data []byte, cols []*Column, sky, single bool) error {
	if single {
		c := cols[0]
		n := bits.OnesCount16(c.Mask)
		base := n * (size18Blocks + size18Light)
		if c.Full {
			base += size18Biomes
		}
		switch len(data) {
		case base + n*size18Light:
			sky = true
		case base:
			sky = false
		default:
			return malformed(fmt.Sprintf("map_chunk: %d bytes for %d sections", len(data), n), nil)
		}
	}
	off := 0
	for _, c := range cols {
		n := bits.OnesCount16(c.Mask)
		size := n * (size18Blocks + size18Light)
		if sky {
			size += n * size18Light
		}
		if c.Full {
			size += size18Biomes
		}
		if size > len(data)-off {
			return malformed(fmt.Sprintf("map_chunk 1.8: column %d,%d needs %d bytes, %d left", c.X, c.Z, size, len(data)-off), nil)
		}
		c.Sections = make([]Section, 16)
		blocks := data[off:]
		for y := range 16 {
			if c.Mask&(1<<y) == 0 {
				if c.Full {
					c.Sections[y] = Uniform(0)
				}
				continue
			}
			for i := range SectionBlocks {
				d.states[i] = binary.LittleEndian.Uint16(blocks[2*i:])
			}
			c.Sections[y] = d.pk.Pack(&d.states)
			blocks = blocks[size18Blocks:]
		}
		off += size
	}
	if off != len(data) {
		return malformed(fmt.Sprintf("map_chunk 1.8: %d bytes left", len(data)-off), nil)
	}
	return nil
}

// sections19 decodes the 1.9–1.16 data buffer: the sections in c.Mask,
// light per section before 1.14, biomes at the end (1.9–1.14, ground-up).
func (d *Decoder) sections19(data []byte, c *Column, sky bool) error {
	err := d.sections19Light(data, c, sky)
	if err != nil && d.protocol < proto1_14 {
		// The sky light hint was wrong (a nether column while we thought
		// overworld, or the reverse): the data decides.
		if err2 := d.sections19Light(data, c, !sky); err2 == nil {
			return nil
		}
	}
	return err
}

func (d *Decoder) sections19Light(data []byte, c *Column, sky bool) error {
	r := mcproto.NewReader(data)
	c.Sections = make([]Section, 16)
	for y := range 16 {
		if c.Mask&(1<<y) == 0 {
			if c.Full {
				c.Sections[y] = Uniform(0)
			}
			continue
		}
		if d.protocol >= proto1_14 {
			r.Int16() // non-air block count: we count nothing from it
		}
		s, err := d.blockContainer(&r, false)
		if err != nil {
			return err
		}
		c.Sections[y] = s
		if d.protocol < proto1_14 {
			r.Bytes(size18Light)
			if sky {
				r.Bytes(size18Light)
			}
		}
	}
	if c.Full {
		switch {
		case d.protocol < proto1_13:
			r.Bytes(256)
		case d.protocol < proto1_15:
			r.Bytes(256 * 4)
		}
	}
	if err := r.Finish(); err != nil {
		return malformed(fmt.Sprintf("map_chunk %d,%d", c.X, c.Z), err)
	}
	return nil
}

// sections117 decodes 1.17's data: the sections in the present bit set.
func (d *Decoder) sections117(data []byte, c *Column, present []uint64, n int) error {
	r := mcproto.NewReader(data)
	c.Sections = make([]Section, n)
	for y := range n {
		if present[y/64]&(1<<(y%64)) == 0 {
			c.Sections[y] = Uniform(0)
			continue
		}
		r.Int16()
		s, err := d.blockContainer(&r, false)
		if err != nil {
			return err
		}
		c.Sections[y] = s
	}
	if err := r.Finish(); err != nil {
		return malformed(fmt.Sprintf("map_chunk %d,%d", c.X, c.Z), err)
	}
	return nil
}

// sections118 decodes the 1.18+ data: every section of the dimension, each
// a block count, a block container and a biome container.
func (d *Decoder) sections118(data []byte, c *Column, n int) error {
	r := mcproto.NewReader(data)
	c.Sections = make([]Section, n)
	for y := range n {
		r.Int16()
		s, err := d.blockContainer(&r, true)
		if err != nil {
			return err
		}
		c.Sections[y] = s
		if err := d.skipBiomes(&r); err != nil {
			return err
		}
	}
	if err := r.Finish(); err != nil {
		return malformed(fmt.Sprintf("map_chunk %d,%d: %d sections", c.X, c.Z, n), err)
	}
	return nil
}

// blockContainer reads one section's block states: bits per entry, the
// palette, the packed entries. single allows 0 bits (1.18+: one state, no
// entries).
func (d *Decoder) blockContainer(r *mcproto.Reader, single bool) (Section, error) {
	b := r.Byte()
	if err := r.Err(); err != nil {
		return Section{}, malformed("section", err)
	}
	bits := int(b)
	switch {
	case bits == 0 && single:
		v := clampState(int64(r.VarInt()))
		if d.protocol < proto1_21_5 {
			if n := r.VarInt(); n != 0 {
				return Section{}, malformed(fmt.Sprintf("single-state section with %d longs", n), r.Err())
			}
		}
		if err := r.Err(); err != nil {
			return Section{}, malformed("section", err)
		}
		return Uniform(v), nil
	case bits <= 8:
		bits = max(bits, 4) // vanilla widens small palettes to 4 bits
		n := r.VarInt()
		if err := r.Err(); err != nil {
			return Section{}, malformed("section palette", err)
		}
		if n <= 0 || n > 1<<bits {
			return Section{}, malformed(fmt.Sprintf("palette of %d entries for %d bits", n, bits), nil)
		}
		pal := d.palette[:n]
		for i := range pal {
			pal[i] = clampState(int64(r.VarInt()))
		}
		if err := d.readIndices(r, bits, len(pal)); err != nil {
			return Section{}, err
		}
		return d.pk.build(pal), nil
	default:
		if d.protocol >= proto1_9 && d.protocol < proto1_13 {
			if n := r.VarInt(); n != 0 { // the empty palette before 1.13
				return Section{}, malformed(fmt.Sprintf("global palette section with %d palette entries", n), r.Err())
			}
		}
		if d.protocol >= proto1_21_5 {
			bits = int(d.globalBits) // vanilla reads the global width, not the byte
		}
		if bits > directBits {
			return Section{}, malformed(fmt.Sprintf("%d bits per block", bits), nil)
		}
		if err := d.readStates(r, bits); err != nil {
			return Section{}, err
		}
		return d.pk.Pack(&d.states), nil
	}
}

// longsFor is the number of longs that hold SectionBlocks entries.
func (d *Decoder) longsFor(entries, bits int) int {
	if d.protocol < proto1_16 {
		return (entries*bits + 63) / 64
	}
	per := 64 / bits
	return (entries + per - 1) / per
}

// maxWords is the most longs one container needs: 4096 entries of 16 bits.
const maxWords = SectionBlocks * directBits / 64

// packedLongs reads the long count (checked against what the width needs)
// and the longs, into the decoder's scratch words.
func (d *Decoder) packedLongs(r *mcproto.Reader, entries, bits int) ([]uint64, error) {
	want := d.longsFor(entries, bits)
	if d.protocol < proto1_21_5 {
		n := r.VarInt()
		if err := r.Err(); err != nil {
			return nil, malformed("packed data", err)
		}
		if int(n) != want {
			return nil, malformed(fmt.Sprintf("%d longs for %d entries of %d bits, want %d", n, entries, bits, want), nil)
		}
	}
	if want > maxWords {
		return nil, malformed(fmt.Sprintf("%d longs", want), nil)
	}
	raw := r.Bytes(want * 8)
	if err := r.Err(); err != nil {
		return nil, malformed("packed data", err)
	}
	words := d.words[:want]
	for i := range words {
		words[i] = binary.BigEndian.Uint64(raw[i*8:])
	}
	return words, nil
}

// unpackInto unpacks SectionBlocks entries of width bits (≤ 16): from 1.16
// each long holds 64/bits whole entries, before it entries run on across
// longs.
func (d *Decoder) unpackInto(words []uint64, bits int, dst *[SectionBlocks]uint16) {
	mask := uint64(1)<<bits - 1
	if d.protocol >= proto1_16 {
		per := 64 / bits
		i := 0
		for _, w := range words {
			for k := 0; k < per && i < SectionBlocks; k++ {
				dst[i] = uint16(w & mask)
				w >>= uint(bits)
				i++
			}
		}
		return
	}
	for i := range dst {
		bit := i * bits
		word, off := bit>>6, uint(bit&63)
		v := words[word] >> off
		if off+uint(bits) > 64 {
			v |= words[word+1] << (64 - off)
		}
		dst[i] = uint16(v & mask)
	}
}

func (d *Decoder) readIndices(r *mcproto.Reader, bits int, paletteLen int) error {
	words, err := d.packedLongs(r, SectionBlocks, bits)
	if err != nil {
		return err
	}
	d.unpackInto(words, bits, &d.states)
	var top uint16
	for i, v := range d.states {
		top = max(top, v)
		d.pk.idx[i] = uint8(v)
	}
	if int(top) >= paletteLen {
		return malformed(fmt.Sprintf("palette index %d of %d", top, paletteLen), nil)
	}
	return nil
}

func (d *Decoder) readStates(r *mcproto.Reader, bits int) error {
	words, err := d.packedLongs(r, SectionBlocks, bits)
	if err != nil {
		return err
	}
	d.unpackInto(words, bits, &d.states)
	if bits == directBits {
		for i, v := range d.states {
			if v == 0xFFFF {
				d.states[i] = StateOutOfRange
			}
		}
	}
	return nil
}

// skipBiomes skips a 1.18+ biome container (64 entries): 0 bits one
// biome, 1–3 a palette, more the global biome ids.
func (d *Decoder) skipBiomes(r *mcproto.Reader) error {
	bits := int(r.Byte())
	switch {
	case bits == 0:
		r.VarInt()
		if d.protocol < proto1_21_5 {
			if n := r.VarInt(); n != 0 {
				return malformed(fmt.Sprintf("single-biome container with %d longs", n), r.Err())
			}
		}
		if err := r.Err(); err != nil {
			return malformed("biomes", err)
		}
		return nil
	case bits <= 3:
		n := r.VarInt()
		if err := r.Err(); err != nil {
			return malformed("biome palette", err)
		}
		if n <= 0 || n > 1<<bits {
			return malformed(fmt.Sprintf("biome palette of %d for %d bits", n, bits), nil)
		}
		for range n {
			r.VarInt()
		}
	case bits > 32:
		return malformed(fmt.Sprintf("%d bits per biome", bits), nil)
	}
	// Global biome ids are as wide as the biome registry needs; the server
	// writes that width (vanilla writes its storage's), so the byte is it.
	_, err := d.packedLongs(r, 64, bits)
	return err
}

// readBitSet reads a 1.17 section bit set (VarInt long count, longs) for n
// sections.
func readBitSet(r *mcproto.Reader, n int) ([]uint64, error) {
	count := r.VarInt()
	if err := r.Err(); err != nil {
		return nil, malformed("section bit set", err)
	}
	words := (n + 63) / 64
	if count < 0 || int(count) > words {
		return nil, malformed(fmt.Sprintf("section bit set of %d longs for %d sections", count, n), nil)
	}
	out := make([]uint64, words)
	for i := range int(count) {
		out[i] = uint64(r.Int64())
	}
	if n%64 != 0 && out[words-1]>>(n%64) != 0 {
		return nil, malformed("section bit set names sections above the dimension", nil)
	}
	if err := r.Err(); err != nil {
		return nil, malformed("section bit set", err)
	}
	return out, nil
}

// skipVarInts skips a VarInt-counted VarInt array of at most max entries.
func skipVarInts(r *mcproto.Reader, max int) {
	n := r.VarInt()
	if r.Err() != nil {
		return
	}
	if n < 0 || int(n) > max || int(n) > r.Len() {
		r.Fail(fmt.Errorf("%d entries: %w", n, mcproto.ErrArrayTooLong))
		return
	}
	for range n {
		r.VarInt()
	}
}

// skipHeightmaps skips 1.21.5+'s heightmaps: (type, long array) pairs.
func skipHeightmaps(r *mcproto.Reader) {
	n := r.VarInt()
	if n < 0 || n > maxHeightmaps {
		r.Fail(fmt.Errorf("%d heightmaps: %w", n, mcproto.ErrArrayTooLong))
		return
	}
	for range n {
		r.VarInt()
		longs := r.VarInt()
		if longs < 0 || longs > maxHeightmapLongs {
			r.Fail(fmt.Errorf("heightmap of %d longs: %w", longs, mcproto.ErrArrayTooLong))
			return
		}
		r.Bytes(int(longs) * 8)
	}
}
