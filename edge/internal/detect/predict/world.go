package predict

import (
	"math"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
)

// World is the player's block replica as prediction reads it
// (*world.View): every state in a box of blocks, under one lock, or false
// when a column is not held or the box is larger than dst.
type World interface {
	Box(x0, y0, z0, x1, y1, z1 int32, dst []uint16) bool
}

// Grid limits. A tick's surroundings are the player's box grown by how far
// any candidate can move; a player moving faster than maxReach blocks per
// tick on an axis (a long fall, a push) is beyond what one grid covers and
// the tick is uncertain.
const (
	maxGridCells = 8 * 8 * 14 // x, z up to 8 blocks, y up to 14
	maxBoxes     = 512        // collision boxes in one grid (a full grid of fences has ~5 per cell)
	maxReach     = 3.5        // blocks per tick per axis
)

// cell is one block of the grid, as physics needs it.
type cell struct {
	state    blocks.State
	flags    blocks.ShapeFlags
	known    bool // the shape data knows the state
	solidTop float64
}

// grid is the tick's surroundings: the states of a box of blocks and the
// collision boxes in world coordinates.
type grid struct {
	x0, y0, z0 int32
	nx, ny, nz int32
	raw        [maxGridCells]uint16
	cells      [maxGridCells]cell
	boxes      [maxBoxes]aabb
	nBoxes     int
	uncertain  [maxGridCells]bool // the cell's boxes are a guess (unknown, neighbour-dependent)
}

// load reads the blocks from (x0, y0, z0) to (x1, y1, z1) inclusive.
func (g *grid) load(w World, t *Tables, x0, y0, z0, x1, y1, z1 int32) Uncertain {
	nx, ny, nz := int64(x1-x0)+1, int64(y1-y0)+1, int64(z1-z0)+1
	if nx <= 0 || ny <= 0 || nz <= 0 || nx*ny*nz > maxGridCells {
		return UncertainFast
	}
	n := int(nx * ny * nz)
	if !w.Box(x0, y0, z0, x1, y1, z1, g.raw[:n]) {
		return UncertainChunk
	}
	g.x0, g.y0, g.z0, g.nx, g.ny, g.nz = x0, y0, z0, int32(nx), int32(ny), int32(nz)
	g.nBoxes = 0
	i := 0
	for y := y0; y <= y1; y++ {
		for z := z0; z <= z1; z++ {
			for x := x0; x <= x1; x++ {
				id := int32(g.raw[i])
				st := t.Classes.Lookup(id)
				boxes, flags, known := t.Shapes.Boxes(id)
				c := cell{state: st, flags: flags, known: known && st.Shape() != blocks.ShapeUnknown}
				g.uncertain[i] = !c.known || flags&blocks.ShapeNeighbours != 0
				for _, b := range boxes {
					if g.nBoxes == maxBoxes {
						return UncertainFast
					}
					fx, fy, fz := float64(x), float64(y), float64(z)
					g.boxes[g.nBoxes] = aabb{fx + b.MinX, fy + b.MinY, fz + b.MinZ, fx + b.MaxX, fy + b.MaxY, fz + b.MaxZ}
					g.nBoxes++
					c.solidTop = max(c.solidTop, b.MaxY)
				}
				g.cells[i] = c
				i++
			}
		}
	}
	return UncertainNone
}

// at returns the cell at a block position; ok=false outside the grid.
func (g *grid) at(x, y, z int32) (*cell, int, bool) {
	x, y, z = x-g.x0, y-g.y0, z-g.z0
	if x < 0 || y < 0 || z < 0 || x >= g.nx || y >= g.ny || z >= g.nz {
		return nil, 0, false
	}
	i := int((y*g.nz+z)*g.nx + x)
	return &g.cells[i], i, true
}

// floor is Mth.floor.
func floor(f float64) int32 { return int32(math.Floor(f)) }

// movementAt is the movement property of the block at a point (MoveNone
// outside the grid).
func (g *grid) movementAt(x, y, z float64) blocks.Movement {
	c, _, ok := g.at(floor(x), floor(y), floor(z))
	if !ok {
		return blocks.MoveNone
	}
	return c.state.Movement()
}

// anyIn reports whether a block of movement m is in the cells b touches.
func (g *grid) anyIn(b aabb, m blocks.Movement) bool {
	return g.countIn(b, m) > 0
}

func (g *grid) countIn(b aabb, m blocks.Movement) int {
	n := 0
	for y := floor(b.minY); y <= floor(b.maxY); y++ {
		for z := floor(b.minZ); z <= floor(b.maxZ); z++ {
			for x := floor(b.minX); x <= floor(b.maxX); x++ {
				if c, _, ok := g.at(x, y, z); ok && c.state.Movement() == m {
					n++
				}
			}
		}
	}
	return n
}

// uncertainIn reports whether b touches a cell whose boxes are a guess.
func (g *grid) uncertainIn(b aabb) bool {
	for y := floor(b.minY); y <= floor(b.maxY); y++ {
		for z := floor(b.minZ); z <= floor(b.maxZ); z++ {
			for x := floor(b.minX); x <= floor(b.maxX); x++ {
				if _, i, ok := g.at(x, y, z); ok && g.uncertain[i] {
					return true
				}
			}
		}
	}
	return false
}

// collides reports whether b overlaps any collision box.
func (g *grid) collides(b aabb) bool {
	for i := range g.boxes[:g.nBoxes] {
		if g.boxes[i].intersects(b) {
			return true
		}
	}
	return false
}

// fluidHeight returns how deep b's bottom is in fluid m (water or lava):
// the highest surface above b.minY among the fluid cells b touches, minus
// b.minY; 0 when not in it. A source or falling block's surface is 8/9 of
// the block, a level-k block's (8−k)/9, and a block under the same fluid is
// full (FlowingFluid.getHeight).
func (g *grid) fluidHeight(b aabb, m blocks.Movement) float64 {
	best := 0.0
	for y := floor(b.minY); y <= floor(b.maxY); y++ {
		for z := floor(b.minZ); z <= floor(b.maxZ); z++ {
			for x := floor(b.minX); x <= floor(b.maxX); x++ {
				c, _, ok := g.at(x, y, z)
				if !ok || !isFluid(c.state, m) {
					continue
				}
				h := fluidSurface(c)
				if up, _, ok := g.at(x, y+1, z); ok && isFluid(up.state, m) {
					h = 1
				}
				if top := float64(y) + h; top >= b.minY {
					best = max(best, top-b.minY)
				}
			}
		}
	}
	return best
}

func isFluid(s blocks.State, m blocks.Movement) bool {
	if m == blocks.MoveWater {
		return s.Movement() == blocks.MoveWater || s.Water()
	}
	return s.Movement() == m
}

func fluidSurface(c *cell) float64 {
	if c.state.Movement() != blocks.MoveWater && c.state.Movement() != blocks.MoveLava {
		return 8.0 / 9 // waterlogged blocks hold a source
	}
	lvl := c.flags.FluidLevel()
	if lvl >= 8 {
		lvl = 0
	}
	return float64(8-lvl) / 9
}
