package blocks

import (
	"compress/flate"
	"io"
	"strings"
	"testing"
)

func TestShapesEveryTableProtocol(t *testing.T) {
	for _, p := range Protocols() {
		st, err := ShapesForProtocol(p)
		if err != nil {
			t.Fatalf("protocol %d: %v", p, err)
		}
		tb, _ := ForProtocol(p)
		// The classes and the boxes agree on what is a full cube.
		for id := int32(0); id < int32(tb.Len()); id++ {
			boxes, _, known := st.Boxes(id)
			if tb.Lookup(id).Shape() == ShapeFull && (!known || len(boxes) != 1 || boxes[0] != (Box{0, 0, 0, 1, 1, 1})) {
				t.Fatalf("protocol %d state %d: class full, boxes %v (known %v)", p, id, boxes, known)
			}
			if tb.Lookup(id).Shape() == ShapeUnknown && known {
				t.Fatalf("protocol %d state %d: class unknown, boxes known", p, id)
			}
		}
	}
}

func TestShapesExamples(t *testing.T) {
	legacy, err := ShapesForProtocol(47)
	if err != nil {
		t.Fatal(err)
	}
	// 1.8 oak stairs (id 53, metadata 0): a bottom slab and a step, whose
	// corners depend on neighbours.
	boxes, flags, known := legacy.Boxes(53 << 4)
	if !known || len(boxes) != 2 || flags&ShapeNeighbours == 0 {
		t.Errorf("1.8 oak stairs: %v flags %v known %v", boxes, flags, known)
	}
	// 1.8 soul sand (id 88): 0.875 high.
	if boxes, _, _ := legacy.Boxes(88 << 4); len(boxes) != 1 || boxes[0].MaxY != 0.875 {
		t.Errorf("1.8 soul sand: %v", boxes)
	}
	// 1.8 bed (id 26) carries the bed flag.
	if _, flags, _ := legacy.Boxes(26 << 4); flags&ShapeBed == 0 {
		t.Errorf("1.8 bed: flags %v", flags)
	}
	modern, err := ShapesForProtocol(765)
	if err != nil {
		t.Fatal(err)
	}
	// Air is known and empty; ids past the table are unknown.
	if boxes, _, known := modern.Boxes(0); !known || len(boxes) != 0 {
		t.Errorf("1.20.4 air: %v known %v", boxes, known)
	}
	if _, _, known := modern.Boxes(1 << 20); known {
		t.Error("an id past the table is known")
	}
	// Modern stairs carry their corners in the state: no neighbour flag.
	tb, _ := ForProtocol(765)
	for id := int32(0); id < int32(tb.Len()); id++ {
		if tb.Lookup(id).Shape() == ShapeStairs {
			if _, flags, _ := modern.Boxes(id); flags&ShapeNeighbours != 0 {
				t.Fatalf("1.20.4 stairs state %d flagged neighbour-dependent", id)
			}
		}
	}
}

func TestShapesEmbeddedSize(t *testing.T) {
	n, err := io.Copy(io.Discard, flate.NewReader(strings.NewReader(shapesBin)))
	if err != nil || n != shapesInflated {
		t.Fatalf("inflated %d bytes (%v), want %d", n, err, shapesInflated)
	}
}

func TestShapesFluidLevels(t *testing.T) {
	legacy, _ := ShapesForProtocol(47)
	// 1.8 flowing water (id 8) metadata 3 is level 3.
	if _, f, _ := legacy.Boxes(8<<4 | 3); f.FluidLevel() != 3 {
		t.Errorf("1.8 water meta 3: level %d", f.FluidLevel())
	}
	tb, _ := ForProtocol(765)
	modern, _ := ShapesForProtocol(765)
	// The first water state is the source (level 0), the next level 1.
	for id := int32(0); id < int32(tb.Len()); id++ {
		if tb.Lookup(id).Movement() == MoveWater && !tb.Lookup(id).Water() == false {
			_, f0, _ := modern.Boxes(id)
			_, f1, _ := modern.Boxes(id + 1)
			if f0.FluidLevel() != 0 || f1.FluidLevel() != 1 {
				t.Errorf("1.20.4 water states %d, %d: levels %d, %d", id, id+1, f0.FluidLevel(), f1.FluidLevel())
			}
			break
		}
	}
}
