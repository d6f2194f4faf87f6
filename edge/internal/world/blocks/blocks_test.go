package blocks

import (
	"compress/flate"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Every protocol the packet tables serve has a block table: a version the
// edge relays but cannot classify would silently run without a world.
func TestEveryPacketProtocolHasTable(t *testing.T) {
	have := map[int32]bool{}
	for _, p := range Protocols() {
		have[p] = true
	}
	for _, p := range packets.Protocols() {
		if !have[p] {
			t.Errorf("protocol %d (%s): no block table", p, packets.VersionName(p))
		}
	}
}

func TestUnknownProtocol(t *testing.T) {
	if _, err := ForProtocol(5); !errors.Is(err, ErrNoTable) {
		t.Fatalf("ForProtocol(5) = %v, want ErrNoTable", err)
	}
}

// The embedded data inflates to exactly what the generated index says.
func TestEmbeddedSize(t *testing.T) {
	n, err := io.Copy(io.Discard, flate.NewReader(strings.NewReader(tablesBin)))
	if err != nil || n != inflatedSize {
		t.Fatalf("inflated %d bytes (%v), want %d", n, err, inflatedSize)
	}
	for _, e := range protocolTables {
		if e.offset+e.length > inflatedSize {
			t.Errorf("protocol %d: table past the end", e.protocol)
		}
	}
}

// Spot checks against state ids read from minecraft-data by hand
// (1.8: id<<4|metadata; 1.20.4: blocks.json minStateId + property offsets).
func TestSpotChecks(t *testing.T) {
	type want struct {
		id    int32
		shape Shape
		move  Movement
		water bool
	}
	cases := map[int32][]want{
		47: {
			{0, ShapeEmpty, MoveNone, false},                // air
			{1 << 4, ShapeFull, MoveNone, false},            // stone
			{53 << 4, ShapeStairs, MoveNone, false},         // oak_stairs
			{44 << 4, ShapeSlabBottom, MoveNone, false},     // stone_slab, lower half
			{44<<4 | 8, ShapeSlabTop, MoveNone, false},      // stone_slab, upper half
			{85 << 4, ShapeFence, MoveNone, false},          // fence
			{139 << 4, ShapeFence, MoveNone, false},         // cobblestone_wall
			{9 << 4, ShapeEmpty, MoveWater, true},           // water
			{11 << 4, ShapeEmpty, MoveLava, false},          // lava
			{65<<4 | 2, ShapePartial, MoveClimbable, false}, // ladder
			{30 << 4, ShapeEmpty, MoveCobweb, false},        // web
			{79 << 4, ShapeFull, MoveIce, false},            // ice
			{165 << 4, ShapeFull, MoveSlime, false},         // slime
			{88 << 4, ShapePartial, MoveSoulSand, false},    // soul_sand (0.875 high)
			{4000, ShapeUnknown, MoveNone, false},           // past the last block
		},
		765: { // 1.20.3/1.20.4
			{1, ShapeFull, MoveNone, false},               // stone
			{2885, ShapeStairs, MoveNone, false},          // oak_stairs default (not waterlogged)
			{2874, ShapeStairs, MoveNone, true},           // oak_stairs, waterlogged
			{11162, ShapeSlabTop, MoveNone, true},         // oak_slab type=top waterlogged
			{11165, ShapeSlabBottom, MoveNone, false},     // oak_slab default
			{11166, ShapeFull, MoveNone, true},            // oak_slab type=double waterlogged
			{5848, ShapeFence, MoveNone, false},           // oak_fence default
			{80, ShapeEmpty, MoveWater, true},             // water
			{96, ShapeEmpty, MoveLava, false},             // lava
			{4655, ShapePartial, MoveClimbable, false},    // ladder default
			{12941, ShapeFull, MoveBlueIce, false},        // blue_ice
			{5780, ShapeFull, MoveIce, false},             // ice
			{10364, ShapeFull, MoveSlime, false},          // slime_block
			{19445, ShapePartial, MoveHoney, false},       // honey_block
			{5850, ShapePartial, MoveSoulSand, false},     // soul_sand
			{2004, ShapeEmpty, MoveCobweb, false},         // cobweb
			{22318, ShapeEmpty, MovePowderSnow, false},    // powder_snow
			{12960, ShapeEmpty, MoveBubbleDown, true},     // bubble_column drag=true
			{12961, ShapeEmpty, MoveBubbleUp, true},       // bubble_column drag=false
			{18403, ShapePartial, MoveScaffolding, false}, // scaffolding default
			{12760, ShapeEmpty, MoveNone, true},           // kelp
			{2355, ShapeEmpty, MoveNone, false},           // torch
			{5772, ShapeEmpty, MoveNone, false},           // snow, 1 layer: no collision
			{5773, ShapePartial, MoveNone, false},         // snow, 2 layers
			{-1, ShapeUnknown, MoveNone, false},
			{1 << 20, ShapeUnknown, MoveNone, false},
		},
	}
	for p, list := range cases {
		tab, err := ForProtocol(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range list {
			got := tab.Lookup(w.id)
			if got.Shape() != w.shape || got.Movement() != w.move || got.Water() != w.water {
				t.Errorf("protocol %d state %d: %v/%v/water=%v, want %v/%v/water=%v",
					p, w.id, got.Shape(), got.Movement(), got.Water(), w.shape, w.move, w.water)
			}
		}
	}
}

func TestPackRoundTrip(t *testing.T) {
	for s := range numShapes {
		for m := range numMovements {
			for _, w := range []bool{false, true} {
				v := Pack(s, m, w)
				if v.Shape() != s || v.Movement() != m || v.Water() != w {
					t.Fatalf("Pack(%v,%v,%v) round trip: %v %v %v", s, m, w, v.Shape(), v.Movement(), v.Water())
				}
			}
		}
	}
}

func BenchmarkForProtocol(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ForProtocol(775); err != nil {
			b.Fatal(err)
		}
	}
}
