package blocks

import (
	"compress/flate"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Dig tables: what vanilla's break time needs of a block state and of the
// held item (docs/WORLD.md, "Dig tables"), generated from minecraft-data's
// blocks.json (hardness, material, harvestTools) and materials.json (the
// speed of each tool item on each material) into hardness.bin.

//go:embed hardness.bin
var hardnessBin string

// Scales of the generated integers (internal/gen/hardness.go).
const (
	digSpeedScale    = 10
	digHardnessScale = 100
)

// UnknownMaterialSpeed is the tool speed assumed where the data does not
// say which tools a block's material favours (a null material in older
// minecraft-data): the fastest tool speed of any material in vanilla, a
// sword or shears on cobweb (15), so such a block is never judged slower
// than it can break.
const UnknownMaterialSpeed = 15

// maxDigCount bounds every count read from the embedded data: a corrupt
// table fails instead of allocating (the largest real list, the blocks
// of a release, is under 1,200).
const maxDigCount = 1 << 16

// DigTable answers, for one protocol, the hardness of a block state and
// the speed of an item on it.
type DigTable struct {
	protocol  int32
	materials [][]toolSpeed // index: material-1
	sets      [][]int32     // index: set-1; item ids, ascending
	blocks    []digBlock    // ascending by first
}

type toolSpeed struct {
	item  int32
	speed float32
}

type digBlock struct {
	first, n int32
	hard     uint32 // hardness×100+1, 0 unknown
	material uint16 // +1, 0 unknown
	set      uint16 // +1, 0 any hand harvests
}

// Dig is one block state's dig data.
type Dig struct {
	b *digBlock
}

// Known reports whether the data knows the state's hardness (unknown
// states, unbreakable blocks and the blocks vanilla breaks by code, like
// bamboo under a sword, are not).
func (d Dig) Known() bool { return d.b != nil && d.b.hard != 0 }

// Hardness is the block's destroy time (vanilla's "hardness").
func (d Dig) Hardness() float32 {
	if !d.Known() {
		return 0
	}
	return float32(d.b.hard-1) / digHardnessScale
}

// NeedsTool reports whether only some items harvest the block (vanilla's
// requiresCorrectToolForDrops, before 1.13 a material that is not
// "tool not required"): without one, progress divides by 100, not 30.
func (d Dig) NeedsTool() bool { return d.b != nil && d.b.set != 0 }

// Protocol is the protocol number the table was built for.
func (t *DigTable) Protocol() int32 { return t.protocol }

// Lookup returns the dig data of a block state id; a state the data does
// not know answers !Known().
func (t *DigTable) Lookup(state int32) Dig {
	i := sort.Search(len(t.blocks), func(i int) bool { return t.blocks[i].first+t.blocks[i].n > state })
	if i == len(t.blocks) || state < t.blocks[i].first {
		return Dig{}
	}
	return Dig{b: &t.blocks[i]}
}

// ToolSpeed is the destroy speed of item (a registry id; before 1.13 a
// legacy item id) on the block: 1 unless the block's material lists it.
// known is false when the block's material is unknown to the data: the
// caller then assumes UnknownMaterialSpeed.
func (t *DigTable) ToolSpeed(d Dig, item int32) (speed float32, known bool) {
	if d.b == nil || d.b.material == 0 {
		return 0, false
	}
	for _, e := range t.materials[d.b.material-1] {
		if e.item == item {
			return e.speed, true
		}
	}
	return 1, true
}

// FastestSpeed is the best speed any item has on the block: what the
// caller assumes when it does not know the held item.
func (t *DigTable) FastestSpeed(d Dig) float32 {
	if d.b == nil || d.b.material == 0 {
		return UnknownMaterialSpeed
	}
	best := float32(1)
	for _, e := range t.materials[d.b.material-1] {
		best = max(best, e.speed)
	}
	return best
}

// CanHarvest reports whether item harvests the block (vanilla's
// hasCorrectToolForDrops): any item when the block needs no tool.
func (t *DigTable) CanHarvest(d Dig, item int32) bool {
	if d.b == nil || d.b.set == 0 {
		return true
	}
	s := t.sets[d.b.set-1]
	i := sort.Search(len(s), func(i int) bool { return s[i] >= item })
	return i < len(s) && s[i] == item
}

// DigForProtocol builds the dig table of protocol p (a few thousand
// entries; callers keep it per protocol). ErrNoTable when the data has
// none.
func DigForProtocol(p int32) (*DigTable, error) {
	i := sort.Search(len(protocolDig), func(i int) bool { return protocolDig[i].protocol >= p })
	if i == len(protocolDig) || protocolDig[i].protocol != p {
		return nil, fmt.Errorf("dig protocol %d: %w", p, ErrNoTable)
	}
	e := protocolDig[i]
	zr := flate.NewReader(strings.NewReader(hardnessBin))
	defer zr.Close()
	if _, err := io.CopyN(io.Discard, zr, int64(e.offset)); err != nil {
		return nil, fmt.Errorf("dig protocol %d: %w: %w", p, errCorrupt, err)
	}
	raw := make([]byte, e.length)
	if _, err := io.ReadFull(zr, raw); err != nil {
		return nil, fmt.Errorf("dig protocol %d: %w: %w", p, errCorrupt, err)
	}
	t, err := parseDig(raw)
	if err != nil {
		return nil, fmt.Errorf("dig protocol %d: %w: %w", p, errCorrupt, err)
	}
	t.protocol = p
	return t, nil
}

var errDigShort = errors.New("dig table truncated")

func parseDig(raw []byte) (*DigTable, error) {
	var err error
	next := func() uint64 {
		if err != nil {
			return 0
		}
		v, n := binary.Uvarint(raw)
		if n <= 0 {
			err = errDigShort
			return 0
		}
		raw = raw[n:]
		return v
	}
	count := func() int {
		n := next()
		if n > maxDigCount {
			err = fmt.Errorf("count %d > %d", n, maxDigCount)
			return 0
		}
		return int(n)
	}
	t := &DigTable{}
	t.materials = make([][]toolSpeed, count())
	for i := range t.materials {
		m := make([]toolSpeed, count())
		for j := range m {
			m[j] = toolSpeed{item: int32(next()), speed: float32(next()) / digSpeedScale}
		}
		t.materials[i] = m
	}
	t.sets = make([][]int32, count())
	for i := range t.sets {
		s := make([]int32, count())
		for j := range s {
			s[j] = int32(next())
		}
		t.sets[i] = s
	}
	t.blocks = make([]digBlock, count())
	for i := range t.blocks {
		b := &t.blocks[i]
		b.first, b.n, b.hard = int32(next()), int32(next()), uint32(next())
		b.material, b.set = uint16(next()), uint16(next())
		if err == nil && (int(b.material) > len(t.materials) || int(b.set) > len(t.sets)) {
			err = fmt.Errorf("block at %d: index out of range", b.first)
		}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}
