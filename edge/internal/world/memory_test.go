package world

import (
	"math/rand/v2"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/chunk"
)

// The memory scenario of docs/WORLD.md, "Memory": 100 players in one area
// (spread over 4×4 columns) at view distance 10, each holding the
// (2·10+1)² columns around them.
const (
	scenarioPlayers  = 100
	scenarioView     = 10
	scenarioAreaCols = 4
)

type columnSource func(x, z int32) chunk.Column

// runScenario fills a store as the scenario's players would and returns it.
func runScenario(tb testing.TB, load func(v *View, x, z int32)) *Store {
	s := NewStore(0, nil)
	rng := rand.New(rand.NewPCG(42, 42))
	for range scenarioPlayers {
		v := mustJoin(tb, s, overworld)
		px, pz := int32(rng.IntN(scenarioAreaCols)), int32(rng.IntN(scenarioAreaCols))
		for dx := int32(-scenarioView); dx <= scenarioView; dx++ {
			for dz := int32(-scenarioView); dz <= scenarioView; dz++ {
				load(v, px+dx, pz+dz)
			}
		}
	}
	return s
}

// terrain builds a vanilla-like 1.18+ column (24 sections from y -64):
// deepslate with tuff, ores and caves below 0, stone with ores, dirt,
// gravel, granite, diorite, andesite, caves, water and lava pockets up to
// ~64, a surface of grass, dirt, sand, water, plants and trees, then air.
// State ids are arbitrary but distinct per material: memory depends on
// how many states a section mixes and where, not on their values.
func terrain(seed uint64) columnSource {
	return func(x, z int32) chunk.Column {
		rng := rand.New(rand.NewPCG(seed, uint64(uint32(x))<<32|uint64(uint32(z))))
		const (
			air = iota
			deepslate
			tuff
			stone
			granite
			diorite
			andesite
			dirt
			gravel
			grass
			sand
			water
			lava
			log
			leaves
			shortGrass
			flower
			bedrock
		)
		ores := []uint16{100, 101, 102, 103, 104, 105, 106, 107}
		var blocks [384][16][16]uint16
		// Base layers.
		for y := range 384 {
			for zz := range 16 {
				for xx := range 16 {
					wy := y - 64
					var st uint16
					switch {
					case wy < -60:
						st = deepslate
						if rng.IntN(3) == 0 {
							st = bedrock
						}
					case wy < 0:
						st = deepslate
					case wy < 60:
						st = stone
					case wy < 64:
						st = dirt
					case wy == 64:
						st = grass
					}
					blocks[y][zz][xx] = st
				}
			}
		}
		blob := func(ylo, yhi int, st uint16, n, r int) {
			for range n {
				cy, cz, cx := ylo+rng.IntN(yhi-ylo), rng.IntN(16), rng.IntN(16)
				for dy := -r; dy <= r; dy++ {
					for dz := -r; dz <= r; dz++ {
						for dx := -r; dx <= r; dx++ {
							yy, zz, xx := cy+dy, cz+dz, cx+dx
							if yy < 0 || yy >= 384 || zz < 0 || zz >= 16 || xx < 0 || xx >= 16 || dx*dx+dy*dy+dz*dz > r*r+1 {
								continue
							}
							if blocks[yy][zz][xx] != air || st == air {
								blocks[yy][zz][xx] = st
							}
						}
					}
				}
			}
		}
		// Counts per column as in vanilla's generation: most sections below
		// the surface hold 8–14 states.
		blob(4, 64, tuff, 6, 2)
		blob(64, 124, granite, 4, 2)
		blob(64, 124, diorite, 4, 2)
		blob(64, 124, andesite, 4, 2)
		blob(64, 124, gravel, 4, 1)
		blob(64, 124, dirt, 4, 1)
		for _, o := range ores {
			blob(4, 124, o, 6, 1)
		}
		blob(4, 124, air, 8, 3) // caves
		blob(4, 40, lava, 2, 1)
		blob(40, 124, water, 2, 1)
		// Surface: sand and water patches, plants, a tree now and then.
		for zz := range 16 {
			for xx := range 16 {
				switch r := rng.IntN(100); {
				case r < 8:
					blocks[128][zz][xx] = sand
				case r < 12:
					blocks[128][zz][xx] = water
				case r < 40:
					blocks[129][zz][xx] = shortGrass
				case r < 43:
					blocks[129][zz][xx] = flower
				}
			}
		}
		if rng.IntN(2) == 0 {
			tx, tz := 2+rng.IntN(12), 2+rng.IntN(12)
			for y := 129; y < 134; y++ {
				blocks[y][tz][tx] = log
			}
			for y := 132; y < 136; y++ {
				for dz := -2; dz <= 2; dz++ {
					for dx := -2; dx <= 2; dx++ {
						if blocks[y][tz+dz][tx+dx] == air {
							blocks[y][tz+dz][tx+dx] = leaves
						}
					}
				}
			}
		}
		var pk chunk.Packer
		col := chunk.Column{X: x, Z: z, Full: true, MinSection: -4, Sections: make([]chunk.Section, 24)}
		var st [chunk.SectionBlocks]uint16
		for sy := range 24 {
			for i := range st {
				st[i] = blocks[sy*16+i>>8][i>>4&15][i&15]
			}
			col.Sections[sy] = pk.Pack(&st)
		}
		return col
	}
}

// reportScenario logs and reports the bytes per player.
func reportScenario(b *testing.B, s *Store) {
	st := s.Stats()
	b.ReportMetric(float64(st.Bytes)/scenarioPlayers, "B/player")
	b.ReportMetric(float64(st.Columns), "columns")
	b.ReportMetric(float64(st.Bytes)/float64(st.Columns), "B/column")
}

// BenchmarkReplicaBytesPerPlayer measures the store's bytes per player in
// the scenario, with flying-squid's recorded 1.20.4 columns (tiled over the
// area, through the real decode path) and with vanilla-like terrain.
func BenchmarkReplicaBytesPerPlayer(b *testing.B) {
	b.Run("flying-squid-1.20.4", func(b *testing.B) {
		bodies := recorded(b, "1.20.4")
		dec := decoder(b, 765)
		var s *Store
		for b.Loop() {
			s = runScenario(b, func(v *View, x, z int32) {
				body := bodies[int(uint32(x*31+z))%len(bodies)]
				if err := v.LoadColumn(dec, at(body, x, z), dim1204); err != nil {
					b.Fatal(err)
				}
			})
		}
		reportScenario(b, s)
	})
	b.Run("vanilla-like-terrain", func(b *testing.B) {
		src := terrain(1)
		cache := map[[2]int32]chunk.Column{}
		var s *Store
		for b.Loop() {
			s = runScenario(b, func(v *View, x, z int32) {
				k := [2]int32{x, z}
				if _, ok := cache[k]; !ok {
					cache[k] = src(x, z)
				}
				c := cache[k]
				// The first player's chunk is stored; the others reference it
				// (LoadColumn's hash match), as with real packets.
				s := v.store
				s.mu.Lock()
				i, held := v.holds(x, z)
				if !held && s.acquireLocked(columnKey{v.dim, x, z}, 0) {
					v.insertLocked(i, x, z)
					s.mu.Unlock()
					return
				}
				s.mu.Unlock()
				v.storeColumn(c, 1)
			})
		}
		reportScenario(b, s)
	})
}

// TestTerrainIsVaried guards the scenario: its sections must mix as many
// states as real terrain does, or the measurement flatters the store.
func TestTerrainIsVaried(t *testing.T) {
	c := terrain(1)(0, 0)
	var st [chunk.SectionBlocks]uint16
	mixed := 0
	for y := range c.Sections {
		c.Sections[y].Unpack(&st)
		seen := map[uint16]bool{}
		for _, v := range st {
			seen[v] = true
		}
		if len(seen) >= 5 {
			mixed++
		}
	}
	if mixed < 8 {
		t.Fatalf("only %d sections mix 5+ states", mixed)
	}
}
