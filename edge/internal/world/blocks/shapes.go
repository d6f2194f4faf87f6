package blocks

import (
	"compress/flate"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exact collision boxes per block state, for movement prediction. They live
// in their own generated file (shapes.bin) next to the one-byte classes of
// tables.bin: the classes stay small for the checks that only need a class,
// and prediction loads the boxes once per protocol.

// Box is an axis-aligned box in block-local coordinates (0..1; fences and
// walls reach 1.5).
type Box struct{ MinX, MinY, MinZ, MaxX, MaxY, MaxZ float64 }

// ShapeFlags mark what the boxes alone do not say.
type ShapeFlags uint8

const (
	// ShapeNeighbours: before 1.13 the block's boxes depend on its
	// neighbours (fence, wall and pane connections, stair corners), which
	// its metadata does not carry; the boxes listed are the unconnected
	// form, so a move that touches one is uncertain.
	ShapeNeighbours ShapeFlags = 1 << iota
	// ShapeBed: a bed, which bounces a falling player from 1.12.
	ShapeBed
)

// FluidLevel is the level of a water or lava state (0 source, 1..7 lower
// and lower, 8 and up falling), carried in the flags' upper bits: the
// surface height, and so whether a player is in the fluid, depends on it.
func (f ShapeFlags) FluidLevel() int { return int(f >> fluidLevelShift & 0xF) }

const fluidLevelShift = 2

// PackShapeFlags builds flags with a fluid level; the generator uses it.
func PackShapeFlags(f ShapeFlags, level int) ShapeFlags {
	return f | ShapeFlags(level&0xF)<<fluidLevelShift
}

// The shapes.bin layout (written by internal/gen, little endian): a uint16
// count of box lists, each a byte count of boxes and six int16 coordinates
// per box in units of 1/ShapeUnit (a few boxes reach outside their block); then, per distinct table, one uint16 per
// state id: the index of its box list in the low ShapeFlagShift bits
// (ShapeIndexUnknown: the data does not know the state), ShapeFlags above.
const (
	ShapeUnit         = 4096
	ShapeFlagShift    = 10
	ShapeIndexUnknown = 1<<ShapeFlagShift - 1
)

//go:embed shapes.bin
var shapesBin string

// ShapeTable maps one protocol's block state ids to their collision boxes.
type ShapeTable struct {
	protocol int32
	states   []uint16
	lists    [][]Box
}

// Protocol is the protocol number the table was built for.
func (t *ShapeTable) Protocol() int32 { return t.protocol }

// Boxes returns the collision boxes of a state id (aliasing the table's
// storage: read only), its flags, and known=false when the data does not
// describe the state (a newer block, a modded server): never a guess.
func (t *ShapeTable) Boxes(id int32) (boxes []Box, flags ShapeFlags, known bool) {
	if id < 0 || int(id) >= len(t.states) {
		return nil, 0, false
	}
	v := t.states[id]
	i := int(v & ShapeIndexUnknown)
	flags = ShapeFlags(v >> ShapeFlagShift)
	if i == ShapeIndexUnknown || i >= len(t.lists) {
		return nil, flags, false
	}
	return t.lists[i], flags, true
}

// ShapesForProtocol builds the box table of protocol p (a few hundred
// microseconds; callers keep it per protocol).
func ShapesForProtocol(p int32) (*ShapeTable, error) {
	i := sort.Search(len(shapeTables), func(i int) bool { return shapeTables[i].protocol >= p })
	if i == len(shapeTables) || shapeTables[i].protocol != p {
		return nil, fmt.Errorf("protocol %d: %w", p, ErrNoTable)
	}
	e := shapeTables[i]
	zr := flate.NewReader(strings.NewReader(shapesBin))
	defer zr.Close()
	head := make([]byte, shapesHeader)
	if _, err := io.ReadFull(zr, head); err != nil {
		return nil, fmt.Errorf("protocol %d: shapes: %w: %w", p, errCorrupt, err)
	}
	lists, err := decodeLists(head)
	if err != nil {
		return nil, fmt.Errorf("protocol %d: shapes: %w", p, err)
	}
	if _, err := io.CopyN(io.Discard, zr, int64(e.offset-shapesHeader)); err != nil {
		return nil, fmt.Errorf("protocol %d: shapes: %w: %w", p, errCorrupt, err)
	}
	raw := make([]byte, 2*e.length)
	if _, err := io.ReadFull(zr, raw); err != nil {
		return nil, fmt.Errorf("protocol %d: shapes: %w: %w", p, errCorrupt, err)
	}
	states := make([]uint16, e.length)
	for k := range states {
		states[k] = binary.LittleEndian.Uint16(raw[2*k:])
	}
	return &ShapeTable{protocol: p, states: states, lists: lists}, nil
}

func decodeLists(b []byte) ([][]Box, error) {
	if len(b) < 2 {
		return nil, errCorrupt
	}
	n := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	lists := make([][]Box, n)
	for i := range lists {
		if len(b) < 1 {
			return nil, errCorrupt
		}
		nb := int(b[0])
		b = b[1:]
		if len(b) < nb*12 {
			return nil, errCorrupt
		}
		boxes := make([]Box, nb)
		for k := range boxes {
			var c [6]float64
			for j := range c {
				c[j] = float64(int16(binary.LittleEndian.Uint16(b[2*j:]))) / ShapeUnit
			}
			boxes[k] = Box{c[0], c[1], c[2], c[3], c[4], c[5]}
			b = b[12:]
		}
		lists[i] = boxes
	}
	return lists, nil
}
