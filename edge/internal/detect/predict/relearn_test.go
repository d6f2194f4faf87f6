package predict

import "testing"

// TestRelearnFromReports is the e2e suite's walk up pre-1.13 stairs on
// 1.8.8 (and a sprint-jump over a chest on 1.20.4): a tick the edge could
// not model (the stairs' shape depends on neighbours) left the prediction
// with a guessed velocity, here a jump's, while the player walked on at
// walking speed. The ticks that relearn must learn from what the client
// reports; the predicted velocity of a guess never fits, and after the
// misses allowed before the first fit the next tick was judged from it
// (0.196 off).
func TestRelearnFromReports(t *testing.T) {
	const proto = 47
	tables, w := stoneFloor(t, proto, -32, 8)
	env := DefaultEnv(proto)
	p := New(testRederive)
	// Walking −x (yaw 90) at walking speed: 0.098 a tick of input, the
	// ground friction 0.546 keeping the rest.
	const walk = inputDamping * 0.1
	v := walk / (1 - defaultSlip*airFriction)
	x, y, z := 0.5, 64.0, 0.5
	// The state after the unmodelled tick: relearning, with the velocity
	// of the jump the guess took.
	s := State{X: x, Y: y, Z: z, VX: -0.116, VY: 0.3332, have: judgeAfter, sentX: x, sentY: y, sentZ: z}
	for i := range 12 {
		x -= v
		rep := Report{X: x, Y: y, Z: z, HasPos: true, OnGround: true, Yaw: 90}
		res := p.Step(w, tables, &s, &env, &rep)
		t.Logf("tick %d: offset %.5f (%v)", i, res.Offset, res.Uncertain)
		if res.Offset > testTolerance {
			t.Fatalf("tick %d: offset %.5f for a player walking on flat ground", i, res.Offset)
		}
	}
}
