package predict

import (
	"os"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/fixtures"
)

// testWorld is a dense box of block states, air outside; every column is
// held. It reads like the replica does: array loads, no hashing.
type testWorld struct {
	x0, y0, z0 int32
	nx, ny, nz int32
	states     []uint16
}

func newTestWorld(x0, y0, z0, x1, y1, z1 int32) *testWorld {
	w := &testWorld{x0: x0, y0: y0, z0: z0, nx: x1 - x0 + 1, ny: y1 - y0 + 1, nz: z1 - z0 + 1}
	w.states = make([]uint16, w.nx*w.ny*w.nz)
	return w
}

func (w *testWorld) index(x, y, z int32) (int32, bool) {
	x, y, z = x-w.x0, y-w.y0, z-w.z0
	if x < 0 || y < 0 || z < 0 || x >= w.nx || y >= w.ny || z >= w.nz {
		return 0, false
	}
	return (y*w.nz+z)*w.nx + x, true
}

func (w *testWorld) set(x, y, z int32, s uint16) {
	if i, ok := w.index(x, y, z); ok {
		w.states[i] = s
	}
}

func (w *testWorld) Box(x0, y0, z0, x1, y1, z1 int32, dst []uint16) bool {
	n := int64(x1-x0+1) * int64(y1-y0+1) * int64(z1-z0+1)
	if n > int64(len(dst)) {
		return false
	}
	i := 0
	for y := y0; y <= y1; y++ {
		for z := z0; z <= z1; z++ {
			for x := x0; x <= x1; x++ {
				dst[i] = 0
				if k, ok := w.index(x, y, z); ok {
					dst[i] = w.states[k]
				}
				i++
			}
		}
	}
	return true
}

// trace is one recorded honest session (testdata/gentraces.js).
type trace struct {
	Version  string     `json:"version"`
	Protocol int32      `json:"protocol"`
	Name     string     `json:"name"`
	Blocks   [][4]int64 `json:"blocks"`
	Start    [3]float64 `json:"start"`
	Yaw      float32    `json:"yaw"`
	Ticks    []struct {
		X, Y, Z float64
		Ground  bool `json:"ground"`
		Sprint  bool `json:"sprint"`
		Sneak   bool `json:"sneak"`
	} `json:"ticks"`
}

func loadTraces(t testing.TB) []trace {
	t.Helper()
	var out []trace
	fixtures.GzipJSON(t, "testdata/traces.json.gz", &out)
	return out
}

func (tr *trace) world() *testWorld {
	w := newTestWorld(-32, 0, -32, 32, 128, 64)
	for _, b := range tr.Blocks {
		w.set(int32(b[0]), int32(b[1]), int32(b[2]), uint16(b[3]))
	}
	return w
}

// testTolerance is the offset an honest trace must stay under: the check's
// default threshold.
const testTolerance = 0.005

// maxHonestSimsPerSecond bounds what an honest trace costs: three quarters of
// the edge's default budget per player (movement.prediction's
// sims_per_second), so honest play never runs into it.
const maxHonestSimsPerSecond = 750

// testRederive is the offset up to which the next velocity follows the
// report (Predictor.Tolerance): small, so that a cheat below the flagging
// threshold cannot carry its extra speed into the next tick's prediction.
const testRederive = 0.001

// replay sends the trace through a predictor the way the client would
// send it: a 1.8 client sends no position below the movement threshold;
// a 1.9+ client sends nothing at all unless the ground flag changes.
// mutate, when set, changes each reported position (a cheat).
func replay(t *testing.T, tr *trace, mutate func(i int, x, y, z *float64, prevX, prevY, prevZ float64)) (maxOff float64, at int, judged int, sims int) {
	t.Helper()
	tables, err := LoadTables(tr.Protocol)
	if err != nil {
		t.Fatal(err)
	}
	p := New(testRederive)
	w := tr.world()
	var s State
	thr := Threshold(tr.Protocol)
	sentX, sentY, sentZ := tr.Start[0], tr.Start[1], tr.Start[2]
	lastGround := false
	first := true
	sinceSent := 0
	px, py, pz := tr.Start[0], tr.Start[1], tr.Start[2]
	for i, tk := range tr.Ticks {
		x, y, z := tk.X, tk.Y, tk.Z
		if mutate != nil {
			mutate(i, &x, &y, &z, px, py, pz)
		}
		px, py, pz = x, y, z
		env := DefaultEnv(tr.Protocol)
		env.Sprinting, env.Sneaking = Off, Off
		if tk.Sprint {
			env.Sprinting = On
		}
		if tk.Sneak {
			env.Sneaking = On
		}
		dx, dy, dz := x-sentX, y-sentY, z-sentZ
		moved := dx*dx+dy*dy+dz*dz > thr*thr
		sinceSent++
		rep := Report{X: x, Y: y, Z: z, HasPos: true, OnGround: tk.Ground, Yaw: tr.Yaw}
		switch {
		case first || moved || sinceSent >= 20:
		case tr.Protocol < 107:
			rep.HasPos = false
		case tk.Ground != lastGround:
			rep.HasPos = false
		default:
			continue // 1.9+: nothing sent this tick
		}
		first = false
		lastGround = tk.Ground
		if rep.HasPos {
			sentX, sentY, sentZ, sinceSent = x, y, z, 0
		}
		before := s
		res := p.Step(w, tables, &s, &env, &rep)
		if os.Getenv("TRACE_DEBUG") == tr.Version+"/"+tr.Name {
			t.Logf("tick %d pos %v rep %.5f %.5f %.5f ground %v | before %+v | off %.5f %v cand %d %d %v", i, rep.HasPos, x, y, z, tk.Ground, before, res.Offset, res.Uncertain, res.Forward, res.Strafe, res.Jump)
		}
		if res.Uncertain == UncertainNone {
			judged++
		}
		sims += res.Sims
		if res.Offset > maxOff {
			maxOff, at = res.Offset, i
		}
	}
	return maxOff, at, judged, sims
}

func TestHonestTraces(t *testing.T) {
	for _, tr := range loadTraces(t) {
		t.Run(tr.Version+"/"+tr.Name, func(t *testing.T) {
			if tr.Name == "water" && tr.Protocol >= 393 {
				t.Skip("the reference engine (prismarine-physics) moves 1.13+ players in water as 1.12 ones: 0.02 gravity, no swimming; vanilla sinks at gravity/16")
			}
			off, at, judged, sims := replay(t, &tr, nil)
			// The cost: candidate ticks simulated per second of play,
			// which the edge budgets per player (movement.prediction's
			// sims_per_second, 1,000 by default).
			perSecond := float64(sims) / (float64(len(tr.Ticks)) / 20)
			t.Logf("%d candidate ticks simulated, %.0f a second", sims, perSecond)
			if perSecond > maxHonestSimsPerSecond {
				t.Errorf("%.0f candidate ticks simulated a second, want at most %d", perSecond, maxHonestSimsPerSecond)
			}
			if off > testTolerance {
				t.Errorf("max offset %.5f at tick %d (%+v), want ≤ %v", off, at, tr.Ticks[at], testTolerance)
			}
			if judged < len(tr.Ticks)/3 {
				t.Errorf("only %d of %d ticks judged", judged, len(tr.Ticks))
			}
		})
	}
}

// Subtle cheats over the same traces are caught.
func TestCheatsCaught(t *testing.T) {
	cheats := []struct {
		name, trace string
		mutate      func(i int, x, y, z *float64, px, py, pz float64)
	}{
		{"speed 10%", "walk", func(i int, x, y, z *float64, px, py, pz float64) {
			if i > 8 {
				*z = pz + (*z-pz)*1.1
			}
		}},
		{"speed 10% sprint-jumping", "sprint_jump", func(i int, x, y, z *float64, px, py, pz float64) {
			if i > 4 {
				*z = pz + (*z-pz)*1.1
			}
		}},
		{"hover", "fall", func(i int, x, y, z *float64, px, py, pz float64) {
			if i > 8 { // once the prediction has locked on
				*y = py
			}
		}},
		{"walk on water", "water", func(i int, x, y, z *float64, px, py, pz float64) {
			*y = 64 // standing on the surface of the pool
		}},
		{"climb a wall", "walk", func(i int, x, y, z *float64, px, py, pz float64) {
			if i > 20 {
				*y = py + 0.2
			}
		}},
		{"no cobweb slowdown", "cobweb", func(i int, x, y, z *float64, px, py, pz float64) {
			if *z > 2.5 && *z < 4.5 { // the web at z 3, the player's box reaching into it
				*z = pz + 0.2 // walking speed
			}
		}},
	}
	for _, tr := range loadTraces(t) {
		for _, c := range cheats {
			if tr.Name != c.trace || c.mutate == nil {
				continue
			}
			t.Run(tr.Version+"/"+c.name, func(t *testing.T) {
				off, _, _, _ := replay(t, &tr, c.mutate)
				t.Logf("max offset %.4f", off)
				if off <= testTolerance {
					t.Errorf("max offset %.5f, want > %v", off, testTolerance)
				}
			})
		}
	}
}

// stoneFloor is protocol's tables and a world with a stone floor (top at
// y 64) from x0 to x1 and z −8 to 8, room for blocks up to y 80.
func stoneFloor(t *testing.T, protocol int32, x0, x1 int32) (*Tables, *testWorld) {
	t.Helper()
	tables, err := LoadTables(protocol)
	if err != nil {
		t.Fatal(err)
	}
	w := newTestWorld(x0, 0, -8, x1, 80, 8)
	for x := x0; x <= x1; x++ {
		for z := int32(-8); z <= 8; z++ {
			w.set(x, 63, z, 1<<4) // stone
		}
	}
	return tables, w
}
