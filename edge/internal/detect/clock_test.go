package detect

import (
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestProbeRingGrows: the probe ring starts empty, is as long as the most
// probes ever in flight (rounded up to a power of two, at least
// minProbeRing), stops at maxOutstanding, and keeps the outstanding probes
// in order across every growth, wherever the ring's head was.
func TestProbeRingGrows(t *testing.T) {
	const protocol = 769 // ping ids carry the sequence number
	var c ackClock
	c.init(protocol, packets.Lookup(protocol))
	if c.ring != nil {
		t.Fatalf("a new clock holds a ring of %d", len(c.ring))
	}
	now := t0
	send := func() bool {
		now = now.Add(probeInterval)
		return len(c.probe(now, nil)) > 0
	}
	idOf := func(seq uint32) int32 { return pingIDBase | int32(seq&0xFFFF) }

	// An honest client: one or two probes in flight, answered in order.
	for seq := uint32(1); seq <= 100; seq++ {
		if !send() {
			t.Fatalf("probe %d not sent", seq)
		}
		if seq > 1 {
			if skipped, ok := c.answer(idOf(seq-1), now); !ok || skipped != 0 {
				t.Fatalf("answer %d: skipped %d, known %v", seq-1, skipped, ok)
			}
		}
	}
	if len(c.ring) != minProbeRing {
		t.Fatalf("ring of %d after two probes in flight at most, want %d", len(c.ring), minProbeRing)
	}

	// A client that stops answering: the ring grows with what is in flight
	// (its head is mid-ring now, so every growth unwraps it) and stops at
	// the cap, where probing pauses.
	first := c.nextSeq - 1 // still outstanding
	for c.n < maxOutstanding {
		if !send() {
			t.Fatalf("probe refused with %d outstanding", c.n)
		}
		if want := max(minProbeRing, ceilPow2(c.n)); len(c.ring) != want {
			t.Fatalf("%d outstanding in a ring of %d, want %d", c.n, len(c.ring), want)
		}
	}
	if send() {
		t.Fatalf("probe sent with %d outstanding", c.n)
	}
	if len(c.ring) != maxOutstanding {
		t.Fatalf("ring of %d at the cap, want %d", len(c.ring), maxOutstanding)
	}
	if oldest, ok := c.oldestOutstanding(); !ok || !oldest.Equal(t0.Add(100*probeInterval)) {
		t.Fatalf("oldest outstanding %v, %v; want the send time of probe %d", oldest, ok, first)
	}
	// The answers come back in order: every probe is where it was.
	for seq := first; seq < first+maxOutstanding; seq++ {
		if skipped, ok := c.answer(idOf(seq), now); !ok || skipped != 0 || c.acked != seq {
			t.Fatalf("answer %d: skipped %d, known %v, acked %d", seq, skipped, ok, c.acked)
		}
	}
	if c.n != 0 {
		t.Fatalf("%d outstanding after every answer", c.n)
	}
	// The ring keeps its size: a client that lagged once will again, and
	// a shrink would allocate on the next lag.
	if !send() || len(c.ring) != maxOutstanding {
		t.Fatalf("after the lag: ring of %d", len(c.ring))
	}
}

// ceilPow2 is the least power of two ≥ n.
func ceilPow2(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// TestProbeRingSkip: an answer that skips older probes still finds its own
// after the ring grew around a wrapped head.
func TestProbeRingSkip(t *testing.T) {
	const protocol = 769
	var c ackClock
	c.init(protocol, packets.Lookup(protocol))
	now := t0
	for range 3 {
		now = now.Add(probeInterval)
		c.probe(now, nil)
	}
	if _, ok := c.answer(pingIDBase|2, now); !ok { // skips 1; head at 2
		t.Fatal("answer 2 unknown")
	}
	for range 6 { // 3..9 in flight: grows from 4 with the head at 2
		now = now.Add(probeInterval)
		c.probe(now, nil)
	}
	skipped, ok := c.answer(pingIDBase|6, now.Add(time.Millisecond))
	if !ok || skipped != 3 || c.acked != 6 || c.n != 3 {
		t.Fatalf("answer 6: skipped %d, known %v, acked %d, %d outstanding; want 3 skipped (3, 4, 5), 3 left", skipped, ok, c.acked, c.n)
	}
	if c.skipped != 4 {
		t.Fatalf("%d skipped in all, want 4", c.skipped)
	}
}
