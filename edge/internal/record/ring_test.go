package record

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// held is the memory a ring holds in chunks, counted independently of its
// own bookkeeping.
func held(r *ring) int {
	n := cap(r.spare)
	for _, c := range r.chunks {
		n += cap(c.b)
	}
	return n
}

// TestRingMemoryBound pushes a long session of mixed sizes (with the
// occasional packet larger than a chunk) and checks after every push that
// the chunks stay within the budget and the bookkeeping is exact.
func TestRingMemoryBound(t *testing.T) {
	for _, budget := range []int{minRingBytes, 64 << 10, DefaultRingBytes} {
		r := newRing(budget, time.Hour)
		rng := rand.New(rand.NewPCG(1, uint64(budget)))
		data := make([]byte, 3*ringChunkSize)
		now := simStart
		for i := 0; i < 50_000; i++ {
			now = now.Add(time.Millisecond)
			n := rng.IntN(64)
			switch rng.IntN(100) {
			case 0:
				n = rng.IntN(3 * ringChunkSize)
			case 1:
				r.marker(tagProbe, now)
				continue
			}
			r.packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindPlayerPosition, data[:n], 0, now)
			if h := held(r); h != r.size || h > budget {
				t.Fatalf("budget %d, push %d: holds %d bytes, books %d", budget, i, h, r.size)
			}
			if cap(r.entry) > ringChunkSize {
				t.Fatalf("scratch of %d bytes kept", cap(r.entry))
			}
		}
		if !r.lost {
			t.Errorf("budget %d: ring never forgot anything after 50,000 packets", budget)
		}
	}
}

// TestRingSteadyStateAllocs: a full ring recycles its oldest chunk; small
// packets allocate nothing.
func TestRingSteadyStateAllocs(t *testing.T) {
	r := newRing(minRingBytes*4, time.Hour)
	data := make([]byte, 40)
	now := simStart
	push := func() {
		now = now.Add(time.Millisecond)
		r.packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindPlayerPosition, data, 0, now)
	}
	for i := 0; i < 10_000; i++ {
		push()
	}
	if a := testing.AllocsPerRun(10_000, push); a != 0 {
		t.Errorf("%v allocations per packet in a full ring, want 0", a)
	}
}

// TestRingKeepsNewestInOrder: after overflow the ring holds a contiguous
// run ending with the newest entry, decoded exactly.
func TestRingKeepsNewestInOrder(t *testing.T) {
	r := newRing(minRingBytes, time.Hour)
	now := simStart
	const n = 2000
	for i := 0; i < n; i++ {
		now = now.Add(time.Millisecond)
		d := []byte{byte(i), byte(i >> 8), 7, 7, 7}
		r.packet(mcproto.Direction(i%2), mcproto.StatePlay, packets.KindPlayerLook, d, i, now)
	}
	var got []int
	ok := r.each(func(e *ringEntry) {
		i := int(e.data[0]) | int(e.data[1])<<8
		want := simStart.Add(time.Duration(i+1) * time.Millisecond)
		if !e.t.Equal(want) || e.inflated != i || e.dir != mcproto.Direction(i%2) || e.kind != packets.KindPlayerLook ||
			e.st != mcproto.StatePlay || !bytes.Equal(e.data[2:], []byte{7, 7, 7}) || e.tag != tagPacket {
			t.Fatalf("entry %d decoded as %+v", i, e)
		}
		got = append(got, i)
	})
	if !ok {
		t.Fatal("entries do not decode")
	}
	if len(got) == 0 || got[len(got)-1] != n-1 {
		t.Fatalf("ring does not end with the newest entry: %v", got[max(0, len(got)-3):])
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("gap between %d and %d", got[i-1], got[i])
		}
	}
	if start, _ := r.start(); !start.Equal(simStart.Add(time.Duration(got[0]+1) * time.Millisecond)) {
		t.Errorf("start %v does not match the oldest entry", start)
	}
}

// TestRingWindow drops chunks older than the window, keeping what is new.
func TestRingWindow(t *testing.T) {
	r := newRing(DefaultRingBytes, 10*time.Second)
	data := make([]byte, 1000)
	now := simStart
	for i := 0; i < 20; i++ { // 20 s at one packet per second: 5 chunks
		r.packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindChat, data, 0, now)
		now = now.Add(time.Second)
	}
	start, ok := r.start()
	if !ok || now.Sub(start) > 10*time.Second+4*time.Second {
		t.Errorf("oldest kept %v before the last packet; window is 10 s (chunk granularity: 4 packets)", now.Sub(start))
	}
	if !r.lost {
		t.Error("expired chunks not marked as lost")
	}
	if r.size > 4*ringChunkSize {
		t.Errorf("ring holds %d bytes for ~10 s of 1 KB/s", r.size)
	}
}

// TestRingOversizedPacket: a packet larger than the budget empties the
// ring (it cannot keep a hole) and marks it lost.
func TestRingOversizedPacket(t *testing.T) {
	r := newRing(minRingBytes, time.Hour)
	r.packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindChat, []byte("hi"), 0, simStart)
	r.packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindEditBook, make([]byte, minRingBytes), 0, simStart)
	if _, ok := r.start(); ok || !r.lost || r.size != 0 {
		t.Errorf("after an oversized packet: kept=%v lost=%v size=%d", ok, r.lost, r.size)
	}
	// A packet just under a chunk and one over it both fit the budget.
	r = newRing(minRingBytes, time.Hour)
	r.packet(mcproto.Serverbound, mcproto.StatePlay, packets.KindEditBook, make([]byte, ringChunkSize+100), 0, simStart)
	if _, ok := r.start(); !ok || r.lost {
		t.Error("a packet larger than a chunk but within the budget was not kept")
	}
}
