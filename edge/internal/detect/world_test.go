package detect

import (
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Block states used in the tests: before the flattening (1.13) a state is
// id<<4 | metadata; after, the global state id.
func stoneState(proto int32) uint16 {
	if proto < mcproto.Protocol1_13 {
		return 1 << 4
	}
	return 1
}

// testWorld is a block map standing in for the player's world.View: the
// columns the player holds, the blocks in them (absent: air) and the
// sections changed, with when.
type testWorld struct {
	columns map[[2]int32]bool
	blocks  map[[3]int32]uint16
	changed map[[3]int32]time.Time // section (x>>4, y>>4, z>>4)
	edits   []testEdit
}

type testEdit struct {
	x, y, z int32
	state   uint16
	seq     int32
}

func newTestWorld() *testWorld {
	return &testWorld{columns: map[[2]int32]bool{}, blocks: map[[3]int32]uint16{}, changed: map[[3]int32]time.Time{}}
}

// load marks the columns covering x0..x1, z0..z1 loaded.
func (w *testWorld) load(x0, z0, x1, z1 int32) {
	for cx := x0 >> 4; cx <= x1>>4; cx++ {
		for cz := z0 >> 4; cz <= z1>>4; cz++ {
			w.columns[[2]int32{cx, cz}] = true
		}
	}
}

func (w *testWorld) set(x, y, z int32, state uint16) { w.blocks[[3]int32{x, y, z}] = state }

func (w *testWorld) Block(x, y, z int32) (uint16, bool) {
	if !w.columns[[2]int32{x >> 4, z >> 4}] {
		return 0, false
	}
	return w.blocks[[3]int32{x, y, z}], true
}

func (w *testWorld) Box(x0, y0, z0, x1, y1, z1 int32, dst []uint16) bool {
	if int((x1-x0+1)*(y1-y0+1)*(z1-z0+1)) > len(dst) {
		return false
	}
	i := 0
	for y := y0; y <= y1; y++ {
		for z := z0; z <= z1; z++ {
			for x := x0; x <= x1; x++ {
				st, ok := w.Block(x, y, z)
				if !ok {
					return false
				}
				dst[i] = st
				i++
			}
		}
	}
	return true
}

func (w *testWorld) ChangedAfter(x, y, z int32, t time.Time) bool {
	c, ok := w.changed[[3]int32{x >> 4, y >> 4, z >> 4}]
	return ok && c.After(t)
}

func (w *testWorld) Predict(x, y, z int32, state uint16, seq int32) {
	w.edits = append(w.edits, testEdit{x, y, z, state, seq})
}

func mustTable(t testing.TB, proto int32) *blocks.Table {
	t.Helper()
	tb, err := blocks.ForProtocol(proto)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// A region is read only where everything in it is known: the player has a
// world, every column is loaded, nothing there changed since the last
// answered probe, and the player did not just edit a block.
func TestReadRegionIsKnownOrNothing(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		if _, ok := s.p.readRegion(0, 63, 0, 1, 64, 1, s.now); ok {
			t.Fatal("a player without a world read a region")
		}
		w := newTestWorld()
		s.p.SetWorld(w, mustTable(t, proto))
		if _, ok := s.p.readRegion(0, 63, 0, 1, 64, 1, s.now); ok {
			t.Fatal("a region in a column not loaded read as known (it must be unknown, not air)")
		}
		w.load(0, 0, 15, 15)
		w.set(1, 63, 1, stoneState(proto))
		r, ok := s.p.readRegion(0, 63, 0, 1, 64, 1, s.now)
		if !ok {
			t.Fatal("a loaded region did not read")
		}
		if got, _ := r.at(1, 63, 1); got.Shape() != blocks.ShapeFull {
			t.Fatalf("stone reads as %v", got.Shape())
		}
		if got, _ := r.at(0, 64, 0); got.Shape() != blocks.ShapeEmpty {
			t.Fatalf("air reads as %v", got.Shape())
		}
		// Outside the box it read, nothing: not a neighbour's block, not a
		// panic (region.at says why readers ask past their box).
		for _, b := range [][3]int32{{-1, 63, 0}, {2, 63, 0}, {0, 62, 0}, {0, 65, 0}, {0, 63, -1}, {0, 63, 2}} {
			if _, ok := r.at(b[0], b[1], b[2]); ok {
				t.Errorf("block %v outside the region read as known", b)
			}
		}
		// Spanning into a column the player lacks: unknown.
		if _, ok := s.p.readRegion(15, 63, 0, 16, 64, 1, s.now); ok {
			t.Fatal("a region reaching an unloaded column read as known")
		}
		// A section changed after the last answered probe: the client
		// may still show the old state.
		s.advance(time.Millisecond)
		w.changed[[3]int32{0, 3, 0}] = s.now
		if _, ok := s.p.readRegion(0, 63, 0, 1, 64, 1, s.now); ok {
			t.Fatal("a section changed after the last answered probe read as known")
		}
		s.ack()
		if _, ok := s.p.readRegion(0, 63, 0, 1, 64, 1, s.now); !ok {
			t.Fatal("after the probe answer the change is settled, yet the region did not read")
		}
		// Too large for the scratch space: nothing, never a partial read.
		if _, ok := s.p.readRegion(0, 0, 0, 15, 15, 15, s.now); ok {
			t.Fatal("an oversized region read")
		}
		s.p.SetWorld(nil, nil)
		if s.p.HasWorld() {
			t.Fatal("SetWorld(nil) left a world")
		}
	})
}

// The player's own digs and places reach the replica as unknown blocks
// until the server settles them: a dig start (instant in creative, else
// not), a dig finish (the server may refuse it, and need not tell the
// digger) and a placement (the edge does not know the block); the blocks
// near an edit are uncertain for a while whatever the replica says.
func TestOwnEditsArePredicted(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		w := newTestWorld()
		w.load(-16, -16, 31, 31)
		s.p.SetWorld(w, mustTable(t, proto))
		s.ack()
		seq := func(n int32) int32 {
			if proto >= mcproto.Protocol1_19 {
				return n
			}
			return -1
		}
		loc := mcproto.Position{X: 1, Y: 63, Z: 1}
		s.sb(packets.KindBlockDig, packets.BlockDig{Status: digStart, Location: loc, Face: 1, Sequence: 1})
		s.sb(packets.KindBlockDig, packets.BlockDig{Status: digAbort, Location: loc, Face: 1})
		s.sb(packets.KindBlockDig, packets.BlockDig{Status: digFinish, Location: loc, Face: 1, Sequence: 2})
		place := packets.BlockPlace{Location: loc, Face: 1, Sequence: 3}
		if proto < mcproto.Protocol1_9 {
			place.Item = itemStack(proto, true)
		}
		s.sb(packets.KindBlockPlace, place)
		want := []testEdit{
			{1, 63, 1, uint16(stateUncertain), seq(1)},
			{1, 63, 1, uint16(stateUncertain), seq(2)},
			{1, 63, 1, uint16(stateUncertain), seq(3)},
			{1, 64, 1, uint16(stateUncertain), seq(3)},
		}
		if len(w.edits) != len(want) {
			t.Fatalf("edits %+v, want %+v", w.edits, want)
		}
		for i := range want {
			if w.edits[i] != want[i] {
				t.Errorf("edit %d: %+v, want %+v", i, w.edits[i], want[i])
			}
		}
		if got := s.p.world.table.Lookup(int32(stateUncertain)).Shape(); got != blocks.ShapeUnknown {
			t.Fatalf("a predicted placement reads as %v, want unknown", got)
		}
		if _, ok := s.p.readRegion(0, 62, 0, 2, 64, 2, s.now); ok {
			t.Fatal("the blocks next to a fresh edit read as certain")
		}
		s.advance(editGrace)
		s.ack()
		if _, ok := s.p.readRegion(0, 62, 0, 2, 64, 2, s.now); !ok {
			t.Fatal("the edit grace never ends")
		}
		if proto < mcproto.Protocol1_9 {
			// 1.8's use-item form (face 255) places nothing.
			n := len(w.edits)
			s.sb(packets.KindBlockPlace, packets.BlockPlace{Location: mcproto.Position{X: -1, Y: -1, Z: -1}, Face: useItemFace, Item: itemStack(proto, true)})
			if len(w.edits) != n {
				t.Fatal("1.8's item use was recorded as a placement")
			}
		}
	})
}
