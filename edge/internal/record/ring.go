package record

import (
	"encoding/binary"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// ringChunkSize is the unit of ring memory. An idle player holds one chunk
// (nothing before its first packet), so with on-detection recording on, ten
// thousand players cost 40 MiB at rest; a busy one (~20 KB/s of movement
// and entity updates) fills a chunk every 200 ms, and a full ring reuses its
// oldest chunk instead of allocating.
const ringChunkSize = 4 << 10

// ring keeps a player's most recent records while no detection has asked
// for them: at most budget bytes of memory and records no older than window
// (at chunk granularity). Entries are kept in an in-memory layout with
// times relative to the ring's first entry (so they keep the monotonic
// clock reading the recorder's times carry), and dropping the oldest chunk
// needs no re-encoding:
//
//	tag byte (tagPacket, tagProbe, tagFlag), int64 nanoseconds since base, then
//	for packets: dir, state, u16 Kind (in-process numbering: a ring never
//	leaves the process), VarInt inflated, VarInt length, data.
type ring struct {
	budget int
	window time.Duration
	base   time.Time // time of the first entry ever kept; entry times are offsets from it
	based  bool
	chunks []ringChunk // oldest first
	spare  []byte      // a freed chunk kept for reuse
	size   int         // Σ cap of chunks + cap of spare: the memory held
	lost   bool        // records were dropped: the ring no longer starts at the session's start
	entry  []byte      // scratch for encoding one entry
}

type ringChunk struct {
	b    []byte
	last time.Time // time of the newest entry
}

func newRing(budget int, window time.Duration) *ring {
	return &ring{budget: budget, window: window}
}

// packet keeps one packet.
func (r *ring) packet(dir mcproto.Direction, st mcproto.State, kind packets.Kind, data []byte, inflated int, t time.Time) {
	e := append(r.entry[:0], tagPacket)
	e = binary.BigEndian.AppendUint64(e, uint64(r.offset(t)))
	e = append(e, byte(dir), byte(st))
	e = binary.BigEndian.AppendUint16(e, uint16(kind))
	e = mcproto.AppendVarInt(e, int32(inflated))
	e = mcproto.AppendVarInt(e, int32(len(data)))
	if len(e)+len(data) > r.budget {
		// Larger than the whole ring: it cannot be kept, and neither can
		// anything older, or the replay would skip a packet in the middle.
		r.reset()
		r.lost = true
		return
	}
	e = append(e, data...)
	r.push(e, t)
	if cap(e) > ringChunkSize {
		r.entry = nil // do not pin a large scratch buffer
	} else {
		r.entry = e
	}
}

// marker keeps a probe or flag marker.
func (r *ring) marker(tag byte, t time.Time) {
	e := append(r.entry[:0], tag)
	e = binary.BigEndian.AppendUint64(e, uint64(r.offset(t)))
	r.push(e, t)
	r.entry = e
}

// offset is t's offset from the ring's base, setting the base first.
func (r *ring) offset(t time.Time) time.Duration {
	if !r.based {
		r.base, r.based = t, true
	}
	return t.Sub(r.base)
}

// at is the time of an entry offset.
func (r *ring) at(b []byte) time.Time {
	return r.base.Add(time.Duration(binary.BigEndian.Uint64(b)))
}

// push appends an encoded entry, making room first.
func (r *ring) push(e []byte, t time.Time) {
	r.expire(t)
	if n := len(r.chunks); n > 0 {
		last := &r.chunks[n-1]
		if cap(last.b)-len(last.b) >= len(e) {
			last.b = append(last.b, e...)
			last.last = t
			return
		}
	}
	b := r.chunk(max(ringChunkSize, len(e)))
	r.chunks = append(r.chunks, ringChunk{b: append(b, e...), last: t})
}

// chunk returns an empty chunk of capacity c, evicting the oldest chunks
// until it fits the budget. c is at most the budget (packet checks).
func (r *ring) chunk(c int) []byte {
	if c == ringChunkSize && r.spare != nil {
		b := r.spare
		r.spare = nil
		return b // already counted in size
	}
	if r.spare != nil && r.size+c > r.budget {
		r.size -= cap(r.spare)
		r.spare = nil
	}
	for r.size+c > r.budget && len(r.chunks) > 0 {
		old := r.popOldest()
		if c == ringChunkSize && cap(old) == ringChunkSize {
			return old[:0] // reuse: size already counts it
		}
		r.size -= cap(old)
	}
	r.size += c
	return make([]byte, 0, c)
}

// popOldest removes the oldest chunk and returns it (still counted in size).
func (r *ring) popOldest() []byte {
	old := r.chunks[0].b
	copy(r.chunks, r.chunks[1:])
	r.chunks[len(r.chunks)-1] = ringChunk{}
	r.chunks = r.chunks[:len(r.chunks)-1]
	r.lost = true
	return old
}

// expire drops chunks whose newest entry is older than the window.
func (r *ring) expire(now time.Time) {
	if r.window <= 0 {
		return
	}
	limit := now.Add(-r.window)
	for len(r.chunks) > 0 && r.chunks[0].last.Before(limit) {
		old := r.popOldest()
		if r.spare == nil && cap(old) == ringChunkSize {
			r.spare = old[:0]
		} else {
			r.size -= cap(old)
		}
	}
}

// reset forgets everything.
func (r *ring) reset() {
	if len(r.chunks) > 0 {
		r.lost = true
	}
	for i := range r.chunks {
		r.chunks[i] = ringChunk{}
	}
	r.chunks = r.chunks[:0]
	r.spare = nil
	r.size = 0
	r.entry = nil
}

// start is the time of the oldest entry kept.
func (r *ring) start() (time.Time, bool) {
	if len(r.chunks) == 0 {
		return time.Time{}, false
	}
	b := r.chunks[0].b
	return r.at(b[1:9]), true
}

// ringEntry is one decoded entry; data aliases the chunk.
type ringEntry struct {
	tag      byte
	t        time.Time
	dir      mcproto.Direction
	st       mcproto.State
	kind     packets.Kind
	inflated int
	data     []byte
}

// each calls f for every entry, oldest first. Entries were written by this
// process, so a decoding failure is a bug; it stops the walk.
func (r *ring) each(f func(e *ringEntry)) bool {
	for _, c := range r.chunks {
		b := c.b
		for len(b) > 0 {
			var e ringEntry
			if len(b) < 9 {
				return false
			}
			e.tag = b[0]
			e.t = r.at(b[1:9])
			b = b[9:]
			if e.tag == tagPacket {
				if len(b) < 4 {
					return false
				}
				e.dir, e.st = mcproto.Direction(b[0]), mcproto.State(b[1])
				e.kind = packets.Kind(binary.BigEndian.Uint16(b[2:4]))
				b = b[4:]
				inflated, n, err := mcproto.ReadVarInt(b)
				if err != nil {
					return false
				}
				b = b[n:]
				size, n, err := mcproto.ReadVarInt(b)
				if err != nil || size < 0 || int(size) > len(b)-n {
					return false
				}
				e.inflated = int(inflated)
				e.data = b[n : n+int(size)]
				b = b[n+int(size):]
			}
			f(&e)
		}
	}
	return true
}
