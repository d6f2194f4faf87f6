package predict

import "testing"

// TestTurningLearnsTheMove is the e2e suite's meeting of the two players
// on 1.12.2: mineflayer walks off in the direction it turns to while the
// look it sends follows a few degrees a tick, so on those ticks only the
// vertical offset is judged (Report.Turning) and no candidate fits the
// horizontal move. The velocity carried out of them must be the reported
// move's, not the prediction's: from that, once the look settled, every
// tick was judged 0.058 off and the start-from-rest reading of a 1.9+
// report kept it there.
func TestTurningLearnsTheMove(t *testing.T) {
	tables, w, env, p, s := turningFloor(t)
	x, y, z := s.X, s.Y, s.Z
	// Walking +x (yaw −90) from rest; the sent look turns from 90 (behind)
	// to −90 over the first ten ticks.
	v := 0.0
	for i := range 24 {
		v += inputDamping * 0.1
		x += v
		v *= defaultSlip * airFriction
		yaw := float32(-90)
		if i < 9 {
			yaw = float32(90 - 20*i)
		}
		rep := Report{X: x, Y: y, Z: z, HasPos: true, OnGround: true, Yaw: yaw, Turning: i < 10}
		res := p.Step(w, tables, &s, &env, &rep)
		t.Logf("tick %d yaw %v: offset %.5f (%v)", i, yaw, res.Offset, res.Uncertain)
		if res.Offset > testTolerance {
			t.Fatalf("tick %d: offset %.5f once the look settled", i, res.Offset)
		}
	}
}

// A cheat 10 % faster that turns every other tick (so that half its ticks
// are judged only vertically) carries no extra speed out of them: the
// ticks judged are as far off as without turning.
func TestTurningCarriesNoCheat(t *testing.T) {
	tables, w, env, p, s := turningFloor(t)
	x, y, z := s.X, s.Y, s.Z
	v := 0.0
	worst := 0.0
	for i := range 30 {
		v += inputDamping * 0.1
		x += v * 1.1
		v *= defaultSlip * airFriction
		turning := i%2 == 0
		yaw := float32(-90)
		if turning {
			yaw = -89 // a degree's wiggle
		}
		rep := Report{X: x, Y: y, Z: z, HasPos: true, OnGround: true, Yaw: yaw, Turning: turning}
		res := p.Step(w, tables, &s, &env, &rep)
		if i > 10 && !turning {
			worst = max(worst, res.Offset)
		}
	}
	t.Logf("judged ticks off by up to %.4f", worst)
	if worst < 0.015 {
		t.Fatalf("10 %% speed while turning every other tick off by %.4f, want ≥ 0.015 (0.02 a tick of walking)", worst)
	}
}

// turningFloor is the turning tests' set-up: 1.12.2, a stone floor (top
// at y 64) along +x, and a player standing on it at rest, judged.
func turningFloor(t *testing.T) (*Tables, *testWorld, Env, *Predictor, State) {
	t.Helper()
	const proto = 340
	tables, w := stoneFloor(t, proto, -8, 40)
	x, y, z := 0.5, 64.0, 0.5
	s := State{X: x, Y: y, Z: z, VY: -0.0784, OnGround: true, have: judgeAfter, locked: true, sentX: x, sentY: y, sentZ: z}
	return tables, w, DefaultEnv(proto), New(testRederive), s
}
