package blocks

import (
	"compress/flate"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unsafe"
)

// Shape is the collision shape class of a block state: what a moving
// player's box meets there. Prediction treats ShapeUnknown and
// ShapePartial as uncertain until it has the exact boxes.
type Shape uint8

const (
	// ShapeUnknown: the state id is not in the version's data (a newer
	// block, a modded server, or an id past the table): never guess.
	ShapeUnknown Shape = iota
	// ShapeEmpty: nothing to collide with (air, plants, liquids, cobweb,
	// powder snow: their effect is in Movement, not in a box).
	ShapeEmpty
	// ShapeFull: one 1×1×1 box.
	ShapeFull
	// ShapeSlabBottom: one box from y 0 to 0.5.
	ShapeSlabBottom
	// ShapeSlabTop: one box from y 0.5 to 1.
	ShapeSlabTop
	// ShapeStairs: a half slab and a quarter/half step, depending on state.
	ShapeStairs
	// ShapeFence: fences, walls and closed fence gates: 1.5 blocks high.
	ShapeFence
	// ShapePartial: any other set of boxes (snow layers, doors, chests,
	// soul sand and honey at 0.875 and 0.9375 high, ...).
	ShapePartial

	numShapes
)

var shapeNames = [numShapes]string{"unknown", "empty", "full", "slab_bottom", "slab_top", "stairs", "fence", "partial"}

func (s Shape) String() string {
	if s < numShapes {
		return shapeNames[s]
	}
	return fmt.Sprintf("shape(%d)", uint8(s))
}

// Movement is what a block does to a player's movement besides blocking it
// (docs/WORLD.md, "Block tables", lists the vanilla factors behind each).
type Movement uint8

const (
	MoveNone        Movement = iota
	MoveWater                // water and flowing water (waterlogged states: see State.Water)
	MoveLava                 // lava and flowing lava
	MoveClimbable            // ladders, vines, the nether and cave vines
	MoveIce                  // ice, packed ice, frosted ice: slipperiness 0.98
	MoveBlueIce              // blue ice: slipperiness 0.989
	MoveSlime                // slime block: bounce, slipperiness 0.8
	MoveHoney                // honey block: speed and jump factor, slides down its sides
	MoveSoulSand             // soul sand: speed factor 0.4
	MoveCobweb               // cobweb: motion × (0.25, 0.05, 0.25)
	MovePowderSnow           // powder snow: sinks, slows; climbable with leather boots
	MoveBubbleUp             // bubble column over soul sand: pushes up
	MoveBubbleDown           // bubble column over magma: drags down
	MoveScaffolding          // scaffolding: climbable, solid top unless sneaking

	numMovements
)

var movementNames = [numMovements]string{"none", "water", "lava", "climbable", "ice", "blue_ice", "slime",
	"honey", "soul_sand", "cobweb", "powder_snow", "bubble_up", "bubble_down", "scaffolding"}

func (m Movement) String() string {
	if m < numMovements {
		return movementNames[m]
	}
	return fmt.Sprintf("movement(%d)", uint8(m))
}

// State is one block state's class in one byte: the shape in the low 3
// bits, the movement in the next 4, and whether it holds water in the top
// bit. One byte per state keeps a modern table near 27 KiB.
type State uint8

const (
	shapeBits   = 3
	shapeMask   = 1<<shapeBits - 1
	moveShift   = shapeBits
	moveMask    = 0xF
	waterBit    = 1 << 7
	unknownByte = State(ShapeUnknown)
)

// Pack builds a State; the generator and tests use it.
func Pack(s Shape, m Movement, water bool) State {
	v := State(s&shapeMask) | State(m&moveMask)<<moveShift
	if water {
		v |= waterBit
	}
	return v
}

// Shape is the state's collision shape class.
func (s State) Shape() Shape { return Shape(s & shapeMask) }

// Movement is the state's movement property.
func (s State) Movement() Movement { return Movement(s >> moveShift & moveMask) }

// Water reports whether the state holds water: water itself, waterlogged
// states, bubble columns, kelp and seagrass.
func (s State) Water() bool { return s&waterBit != 0 }

// Table maps one protocol's block state ids to their State.
type Table struct {
	protocol int32
	states   []State
}

// Protocol is the protocol number the table was built for.
func (t *Table) Protocol() int32 { return t.protocol }

// Len is the number of state ids the table knows (ids 0..Len()-1).
func (t *Table) Len() int { return len(t.states) }

// Lookup returns the class of a block state id; ids outside the table are
// ShapeUnknown, never a guess.
func (t *Table) Lookup(id int32) State {
	if id < 0 || int(id) >= len(t.states) {
		return unknownByte
	}
	return t.states[id]
}

// ErrNoTable means the protocol has no block data (older than 1.8, newer than
// the data, or a protocol the data does not describe): the caller keeps no
// world for that player.
var ErrNoTable = errors.New("no block table for this protocol")

// errCorrupt means the embedded data does not inflate: a build problem.
var errCorrupt = errors.New("embedded block table is corrupt")

//go:embed tables.bin
var tablesBin string

// ForProtocol builds the table of protocol p. Each call inflates the
// embedded data up to that table (well under a millisecond's worth of
// work, under 0.5 MiB in the inflater, one allocation of Len() bytes kept):
// callers keep the Table per protocol.
func ForProtocol(p int32) (*Table, error) {
	i := sort.Search(len(protocolTables), func(i int) bool { return protocolTables[i].protocol >= p })
	if i == len(protocolTables) || protocolTables[i].protocol != p {
		return nil, fmt.Errorf("protocol %d: %w", p, ErrNoTable)
	}
	e := protocolTables[i]
	zr := flate.NewReader(strings.NewReader(tablesBin))
	defer zr.Close()
	if _, err := io.CopyN(io.Discard, zr, int64(e.offset)); err != nil {
		return nil, fmt.Errorf("protocol %d: %w: %w", p, errCorrupt, err)
	}
	states := make([]State, e.length)
	if _, err := io.ReadFull(zr, asBytes(states)); err != nil {
		return nil, fmt.Errorf("protocol %d: %w: %w", p, errCorrupt, err)
	}
	return &Table{protocol: p, states: states}, nil
}

// Protocols lists the protocols with a table, ascending.
func Protocols() []int32 {
	out := make([]int32, len(protocolTables))
	for i, e := range protocolTables {
		out[i] = e.protocol
	}
	return out
}

// asBytes views a State slice as bytes (State is a byte) without copying.
func asBytes(s []State) []byte { return unsafe.Slice((*byte)(unsafe.SliceData(s)), len(s)) }
