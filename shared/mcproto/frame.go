package mcproto

import (
	"fmt"
	"io"
	"sync"
)

// Frame limits (docs/PROTOCOL.md, Framing and Hostile input).
const (
	// MaxFrameLength is the largest frame body a 3-byte length field can
	// announce: 2^21 − 1. Vanilla, Velocity and gate share this bound.
	MaxFrameLength = 1<<21 - 1
	// MaxFrameHeaderLen is the widest legal length field.
	MaxFrameHeaderLen = 3
	// MaxEmptyFrames is how many zero-length frames in a row we tolerate.
	// They carry nothing; gate skips at most 10, Sonar closes at once. A few
	// are tolerated so an odd client is not kicked, a run is refused so an
	// empty-frame loop is not free work for us.
	MaxEmptyFrames = 8
)

// ParseFrameHeader reads the length field at the start of b. It returns the
// body length and the width of the field, ErrShort when b ends inside the
// field, and ErrLengthTooWide when the third byte still has the continuation
// bit. Padded encodings that fit in 3 bytes are legal.
func ParseFrameHeader(b []byte) (bodyLen, headerLen int, err error) {
	var v int
	for i := 0; i < MaxFrameHeaderLen; i++ {
		if i >= len(b) {
			return 0, 0, ErrShort
		}
		c := b[i]
		v |= int(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, ErrLengthTooWide
}

// AppendFrame appends a length-prefixed frame holding body.
func AppendFrame(dst, body []byte) []byte {
	dst = AppendVarInt(dst, int32(len(body)))
	return append(dst, body...)
}

// Buffer size classes for framers. Small is what an idle or handshaking
// connection needs; the larger classes are reached only when reads keep
// filling the buffer (bulk traffic) or a frame in progress is bigger.
var bufClasses = [...]int{4 << 10, 16 << 10, 64 << 10, 256 << 10}

// BufferPool recycles framer buffers by size class. It is owned by whoever
// constructs framers (one per listener), never a package global, so tests
// and benchmarks see their own pools.
type BufferPool struct {
	classes [len(bufClasses)]sync.Pool
	base    int // smallest class actually used, from the configured buffer size
}

// NewBufferPool returns a pool whose smallest buffer is minSize bytes
// (rounded up to a size class; the original design's (docs/DESIGN.md) buffer_size, 4096 by default).
func NewBufferPool(minSize int) *BufferPool {
	p := &BufferPool{}
	for i, c := range bufClasses {
		p.base = i
		if c >= minSize {
			break
		}
	}
	return p
}

// get returns a buffer of the class. Buffers travel as *[]byte so putting
// one back does not allocate a new slice header each time.
func (p *BufferPool) get(class int) *[]byte {
	if v := p.classes[class].Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, bufClasses[class])
	return &b
}

func (p *BufferPool) put(class int, bp *[]byte) {
	*bp = (*bp)[:bufClasses[class]]
	p.classes[class].Put(bp)
}

// classFor is the smallest class holding n bytes, or the largest class.
func classFor(n int) int {
	for i, c := range bufClasses {
		if c >= n {
			return i
		}
	}
	return len(bufClasses) - 1
}

// Framer splits one direction of a connection into frames. It holds only
// the bytes that have actually arrived: the buffer grows as data arrives,
// never to a size a peer merely announces, and goes back to the pool when
// everything received has been consumed, so an idle connection holds no
// buffer at all.
//
// Typical use, one goroutine per direction:
//
//	n, err := src.Read(f.Space()); f.Commit(n)
//	for { raw, body, err := f.Next(); if raw == nil { break } … }
//	f.Release()
type Framer struct {
	pool    *BufferPool
	buf     []byte
	bp      *[]byte // the pooled buffer behind buf; nil for an odd-sized one
	r, w    int     // unread bytes are buf[r:w]
	max     int     // largest body accepted in the current state
	empties int
	class   int // size class of buf (−1 for an odd-sized buffer)
	hint    int // class to take next: rises while reads fill the buffer (bulk), falls when they do not
}

// NewFramer returns a framer drawing buffers from pool (nil: plain
// allocations) and accepting bodies of at most max bytes.
func NewFramer(pool *BufferPool, max int) *Framer {
	if pool == nil {
		pool = NewBufferPool(bufClasses[0])
	}
	return &Framer{pool: pool, max: max, class: -1, hint: pool.base}
}

// SetMax changes the largest accepted body, e.g. when the state changes.
func (f *Framer) SetMax(max int) { f.max = max }

// Max is the current body cap.
func (f *Framer) Max() int { return f.max }

// Buffered returns the received bytes not yet returned by Next.
func (f *Framer) Buffered() []byte { return f.buf[f.r:f.w] }

// Space returns free space to read into. It compacts the buffer and grows
// it only when the frame in progress or the recent read pattern needs more;
// growth is bounded by the current cap plus the header.
func (f *Framer) Space() []byte {
	pending := f.w - f.r
	want := 0 // the smallest class that should hold pending bytes + room
	if f.buf == nil {
		// Never more than the current cap can use: before login the caps
		// are a few KiB, and bulk traffic cannot exist there.
		want = min(f.hint, max(classFor(f.max+MaxFrameHeaderLen), f.pool.base))
	} else if f.w == len(f.buf) {
		if f.r > 0 && pending < len(f.buf)/2 {
			// Compact: the frame in progress fits in the front half.
			copy(f.buf, f.buf[f.r:f.w])
			f.r, f.w = 0, pending
			return f.buf[f.w:]
		}
		// The buffer is full of one unfinished frame: grow.
		want = f.class + 1
		if f.class < 0 {
			want = len(bufClasses)
		}
	} else {
		return f.buf[f.w:]
	}
	f.regrow(want, pending)
	return f.buf[f.w:]
}

// regrow moves the pending bytes into a buffer of the given class (or, past
// the largest class, a buffer just big enough for the largest legal frame
// that could be in progress).
func (f *Framer) regrow(class, pending int) {
	var nb []byte
	var nbp *[]byte
	if class >= 0 && class < len(bufClasses) {
		nbp = f.pool.get(class)
		nb = *nbp
	} else {
		class = -1
		size := 2 * len(f.buf)
		if limit := f.max + MaxFrameHeaderLen; size > limit {
			size = limit
		}
		if size <= pending {
			size = pending + 1
		}
		nb = make([]byte, size)
	}
	copy(nb, f.buf[f.r:f.w])
	if f.bp != nil {
		f.pool.put(f.class, f.bp)
	}
	f.buf, f.bp, f.class, f.r, f.w = nb, nbp, class, 0, pending
}

// Mark returns a position in the received bytes; Since(mark) returns the
// frames consumed after it. A relay marks, takes several frames with Next,
// and writes them with one call. Marks are invalidated by Space.
func (f *Framer) Mark() int { return f.r }

// Since returns the bytes consumed by Next after mark, in one slice.
func (f *Framer) Since(mark int) []byte { return f.buf[mark:f.r] }

// Unread makes the last n bytes consumed by Next unread again, so the next
// call to Next returns them once more: for a relay that cannot classify a
// frame yet and keeps it for later. n must not exceed what Next returned
// since the last call to Space.
func (f *Framer) Unread(n int) {
	if n < 0 || n > f.r {
		panic("mcproto: Unread of more than was consumed")
	}
	f.r -= n
}

// TakeBuffered returns every received byte not yet consumed and marks them
// consumed: for handing a stream over to a raw copy (an encrypted or spliced
// leg) without losing what was already read.
func (f *Framer) TakeBuffered() []byte {
	b := f.buf[f.r:f.w]
	f.r = f.w
	return b
}

// Load appends bytes received elsewhere (e.g. after a PROXY header).
func (f *Framer) Load(b []byte) {
	for len(b) > 0 {
		n := copy(f.Space(), b)
		f.Commit(n)
		b = b[n:]
	}
}

// Commit records that n bytes were written into the slice Space returned.
func (f *Framer) Commit(n int) {
	if n <= 0 {
		return
	}
	switch free := len(f.buf) - f.w; {
	case n == free && f.hint < len(bufClasses)-1:
		f.hint++
	case n < free/4 && f.hint > f.pool.base:
		f.hint--
	}
	f.w += n
}

// Release gives the buffer back to the pool when nothing is pending. Call it
// before blocking on a read so an idle connection holds no buffer.
func (f *Framer) Release() {
	if f.buf != nil && f.r == f.w {
		if f.bp != nil {
			f.pool.put(f.class, f.bp)
		}
		f.buf, f.bp, f.r, f.w, f.class = nil, nil, 0, 0, -1
	}
}

// Next returns the next complete frame: raw is the whole frame including its
// length field (what a relay forwards), body the bytes after the length
// field. Both alias the framer's buffer and stay valid until the next call to
// Space. raw is nil when no complete frame is buffered yet. A zero-length
// frame is skipped (counted against MaxEmptyFrames) and returned with an empty
// body, so a relay can still forward it byte for byte.
func (f *Framer) Next() (raw, body []byte, err error) {
	b := f.buf[f.r:f.w]
	n, h, err := ParseFrameHeader(b)
	if err != nil {
		if err == ErrShort {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	if n > f.max {
		return nil, nil, fmt.Errorf("frame of %d bytes > cap %d: %w", n, f.max, ErrFrameTooLarge)
	}
	if n == 0 {
		f.empties++
		if f.empties > MaxEmptyFrames {
			return nil, nil, ErrEmptyFrames
		}
	} else {
		f.empties = 0
	}
	if h+n > len(b) {
		return nil, nil, nil
	}
	f.r += h + n
	return b[: h+n : h+n], b[h : h+n : h+n], nil
}

// FrameReader reads frames from a stream: a Framer plus the reading. It is
// for the simple sequential uses (status pings, tests, tools); the relay
// drives a Framer itself to batch writes.
type FrameReader struct {
	src io.Reader
	f   *Framer
}

// NewFrameReader returns a FrameReader on src accepting bodies up to max.
func NewFrameReader(src io.Reader, max int) *FrameReader {
	return &FrameReader{src: src, f: NewFramer(nil, max)}
}

// Framer exposes the underlying framer (to change caps or read leftovers).
func (fr *FrameReader) Framer() *Framer { return fr.f }

// Next returns the next frame's body, reading as needed. The body is valid
// until the next call. io.EOF is returned only on a clean frame boundary;
// a stream that ends inside a frame yields io.ErrUnexpectedEOF.
func (fr *FrameReader) Next() ([]byte, error) {
	for {
		raw, body, err := fr.f.Next()
		if err != nil {
			return nil, err
		}
		if raw != nil {
			return body, nil
		}
		n, err := fr.src.Read(fr.f.Space())
		fr.f.Commit(n)
		if err != nil {
			if n > 0 {
				continue
			}
			if err == io.EOF && len(fr.f.Buffered()) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}
