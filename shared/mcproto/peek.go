package mcproto

import (
	"errors"
	"fmt"
	"math/bits"
)

// PeekInflate decodes only the first len(dst) bytes of a zlib stream into
// dst and returns how many it wrote (fewer when the stream is shorter).
//
// compress/flate decodes a whole window (up to 32 KiB) before it returns
// the first byte, so reading a packet id through it costs as much as
// inflating a chunk. A relay that classifies every large clientbound frame
// needs a handful of bytes, so this decoder stops as soon as dst is full:
// it reads the block header, builds the Huffman tables of the first block
// and decodes a few symbols. It verifies nothing past what it decodes (no
// Adler-32): a corrupt tail is the receiver's business, and the relay
// forwards the frame unchanged.
func PeekInflate(dst, zlibData []byte) (int, error) {
	if len(zlibData) < 2 {
		return 0, fmt.Errorf("zlib header: %w", ErrBadCompression)
	}
	cmf, flg := zlibData[0], zlibData[1]
	if cmf&0x0f != 8 || cmf>>4 > 7 || (uint16(cmf)<<8|uint16(flg))%31 != 0 || flg&0x20 != 0 {
		return 0, fmt.Errorf("zlib header %02x%02x: %w", cmf, flg, ErrBadCompression)
	}
	p := peeker{in: zlibData[2:], out: dst}
	err := p.run()
	if errors.Is(err, errPeekFull) {
		err = nil
	}
	return p.n, err
}

var (
	errPeekFull = errors.New("peek buffer full")
	errPeekData = fmt.Errorf("deflate data: %w", ErrBadCompression)
)

// huffman is a canonical Huffman code in counting form: count[l] codes of
// length l, symbols sorted by code, plus a lookup table for codes of up to
// fastBits bits (entry: symbol<<4 | length; 0 means "take the slow path").
// The code-length code of a dynamic block is at most 7 bits, so its ~300
// symbols decode by lookup: that is most of a peek's work.
type huffman struct {
	count  [16]uint16
	symbol [288]uint16
	fast   [1 << fastBits]uint16
}

// fastBits covers the code-length code exactly (its codes are at most 7
// bits); the literal code decodes a handful of symbols per peek and is not
// worth a table.
const fastBits = 7

func (h *huffman) build(lengths []uint8) error { return h.buildTable(lengths, true) }

// buildTable builds the code; withFast also fills the lookup table (the
// distance code decodes too few symbols in a peek to pay for one).
func (h *huffman) buildTable(lengths []uint8, withFast bool) error {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return errPeekData // over-subscribed
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	if !withFast {
		h.fast = [1 << fastBits]uint16{} // no entries: decode takes the slow path
		return nil
	}
	// Canonical codes (RFC 1951 §3.2.2), bit-reversed because the stream
	// packs Huffman codes from their most significant bit.
	h.fast = [1 << fastBits]uint16{}
	var next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + int(h.count[l-1])) << 1
		next[l] = code
	}
	next[0] = 0
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		if l > fastBits {
			continue
		}
		rev := int(bits.Reverse16(uint16(c)) >> (16 - l))
		for j := rev; j < 1<<fastBits; j += 1 << l {
			h.fast[j] = uint16(sym)<<4 | uint16(l)
		}
	}
	return nil
}

// Length and distance bases and extra bits (RFC 1951 §3.2.5).
var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// clOrder is the order of code-length code lengths in a dynamic header.
	clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

type peeker struct {
	in     []byte
	pos    int
	bitbuf uint32
	bitcnt uint
	out    []byte
	n      int
	lit    huffman
	dist   huffman
}

func (p *peeker) bits(need uint) (uint32, error) {
	for p.bitcnt < need {
		if p.pos >= len(p.in) {
			return 0, errPeekData
		}
		p.bitbuf |= uint32(p.in[p.pos]) << p.bitcnt
		p.pos++
		p.bitcnt += 8
	}
	v := p.bitbuf & (1<<need - 1)
	p.bitbuf >>= need
	p.bitcnt -= need
	return v, nil
}

func (p *peeker) put(b byte) error {
	if p.n == len(p.out) {
		return errPeekFull
	}
	p.out[p.n] = b
	p.n++
	return nil
}

// decode reads one symbol with code h, a bit at a time: only a few symbols
// are ever decoded, so table-driven decoding would cost more to build.
func (p *peeker) decode(h *huffman) (int, error) {
	for p.bitcnt < fastBits && p.pos < len(p.in) {
		p.bitbuf |= uint32(p.in[p.pos]) << p.bitcnt
		p.pos++
		p.bitcnt += 8
	}
	if e := h.fast[p.bitbuf&(1<<fastBits-1)]; e != 0 && uint(e&15) <= p.bitcnt {
		p.bitbuf >>= e & 15
		p.bitcnt -= uint(e & 15)
		return int(e >> 4), nil
	}
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := p.bits(1)
		if err != nil {
			return 0, err
		}
		code |= int(b)
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+(code-first)]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errPeekData
}

func (p *peeker) run() error {
	for {
		final, err := p.bits(1)
		if err != nil {
			return err
		}
		typ, err := p.bits(2)
		if err != nil {
			return err
		}
		switch typ {
		case 0:
			err = p.stored()
		case 1:
			p.fixedTables()
			err = p.codes()
		case 2:
			if err = p.dynamicTables(); err == nil {
				err = p.codes()
			}
		default:
			err = errPeekData
		}
		if err != nil {
			return err
		}
		if final == 1 {
			return nil
		}
	}
}

func (p *peeker) stored() error {
	p.bitbuf, p.bitcnt = 0, 0 // to a byte boundary
	if p.pos+4 > len(p.in) {
		return errPeekData
	}
	n := int(p.in[p.pos]) | int(p.in[p.pos+1])<<8
	if nn := int(p.in[p.pos+2]) | int(p.in[p.pos+3])<<8; n != ^nn&0xffff {
		return errPeekData
	}
	p.pos += 4
	for i := 0; i < n; i++ {
		if p.pos >= len(p.in) {
			return errPeekData
		}
		if err := p.put(p.in[p.pos]); err != nil {
			return err
		}
		p.pos++
	}
	return nil
}

func (p *peeker) fixedTables() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	_ = p.lit.buildTable(l[:], false)
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	_ = p.dist.buildTable(d[:], false)
}

func (p *peeker) dynamicTables() error {
	hlit, err := p.bits(5)
	if err != nil {
		return err
	}
	hdist, err := p.bits(5)
	if err != nil {
		return err
	}
	hclen, err := p.bits(4)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(hlit)+257, int(hdist)+1, int(hclen)+4
	if nlen > 286 || ndist > 30 {
		return errPeekData
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		v, err := p.bits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(v)
	}
	var clh huffman
	if err := clh.build(cl[:]); err != nil {
		return err
	}
	var lengths [286 + 30]uint8
	for i := 0; i < nlen+ndist; {
		sym, err := p.decode(&clh)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errPeekData
			}
			val = lengths[i-1]
			v, err := p.bits(2)
			if err != nil {
				return err
			}
			rep = 3 + int(v)
		case 17:
			v, err := p.bits(3)
			if err != nil {
				return err
			}
			rep = 3 + int(v)
		default:
			v, err := p.bits(7)
			if err != nil {
				return err
			}
			rep = 11 + int(v)
		}
		if i+rep > nlen+ndist {
			return errPeekData
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errPeekData // no end-of-block code
	}
	if err := p.lit.buildTable(lengths[:nlen], false); err != nil {
		return err
	}
	return p.dist.buildTable(lengths[nlen:nlen+ndist], false)
}

func (p *peeker) codes() error {
	for {
		sym, err := p.decode(&p.lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			if err := p.put(byte(sym)); err != nil {
				return err
			}
		case sym == 256:
			return nil
		default:
			sym -= 257
			if sym >= 29 {
				return errPeekData
			}
			e, err := p.bits(uint(lenExtra[sym]))
			if err != nil {
				return err
			}
			length := int(lenBase[sym]) + int(e)
			ds, err := p.decode(&p.dist)
			if err != nil {
				return err
			}
			if ds >= 30 {
				return errPeekData
			}
			e, err = p.bits(uint(distExtra[ds]))
			if err != nil {
				return err
			}
			dist := int(distBase[ds]) + int(e)
			if dist > p.n {
				return errPeekData // refers before the start of the stream
			}
			for ; length > 0; length-- {
				if err := p.put(p.out[p.n-dist]); err != nil {
					return err
				}
			}
		}
	}
}
