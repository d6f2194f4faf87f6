package predict

import "testing"

// TestRestReadingNeedsAFit is the e2e suite's meeting on 1.12.2, where
// player a was judged 0.0577 off on every tick while it walked. From 1.9
// the edge also reads a report as a start from rest (the client may have
// stood unseen), allowed two movement thresholds. Once the carried
// velocity was lost, that reading was the nearer miss on every tick of a
// steady walk (0.118 less the allowance, against 0.064 for the carried
// velocity), and its velocity, one tick's from rest, never grew back. The
// allowance now only lets the rest reading fit: the carried velocity
// grows back as vanilla's friction lets it, and the misses end. Where the
// rest reading does fit, it still wins: TestHonestTraces' 1.12.2 water
// trace fails without it.
func TestRestReadingNeedsAFit(t *testing.T) {
	tables, w, env, p, s := turningFloor(t)
	x, y, z := s.X, s.Y, s.Z
	const lost, recovered = 20, 26
	v := 0.0
	for i := range 40 {
		v += inputDamping * 0.1
		x += v
		v *= defaultSlip * airFriction
		if i == lost {
			s.VX = 0 // the carried velocity lost, as after a tick read from rest
		}
		rep := Report{X: x, Y: y, Z: z, HasPos: true, OnGround: true, Yaw: -90}
		res := p.Step(w, tables, &s, &env, &rep)
		t.Logf("tick %d: offset %.5f (%v), carried vx %.4f", i, res.Offset, res.Uncertain, s.VX)
		if (i < lost || i >= recovered) && res.Offset > testTolerance {
			t.Fatalf("tick %d: offset %.5f for a player walking on flat ground", i, res.Offset)
		}
	}
}
