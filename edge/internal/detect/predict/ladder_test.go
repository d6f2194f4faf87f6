package predict

import (
	"math"
	"testing"
)

// TestLadderRecoversAtAnAngle is the e2e suite's 1.8.8 climb: a ladder on
// the west face of a stone column, the player pressed into it and
// climbing, facing a twentieth of a degree off the axis (mineflayer turns
// to yaw 270.05), so that the forward input also slides it along the wall
// by 1.7e-5 a tick. The prediction starts from a wrong velocity (falling,
// as it learned it across the blocks being placed): pushing into the wall
// and not pushing then tie on position all but that slide, and the
// climbing velocity must be kept and found on the next tick.
func TestLadderRecoversAtAnAngle(t *testing.T) {
	const proto = 47
	tables, w := stoneFloor(t, proto, -8, 8)
	for y := int32(64); y <= 66; y++ {
		w.set(1, y, 0, 1<<4)    // stone column
		w.set(0, y, 0, 65<<4|4) // ladder facing west, against it
	}
	const yaw = -89.95
	env := DefaultEnv(proto)
	p := New(testRederive)
	// Mid-climb, pressed into the column (box max x = 1), falling by the
	// state's reckoning.
	x, y, z := 0.7, 64.5, 0.5
	s := State{X: x, Y: y, Z: z, VY: -0.2254, have: judgeAfter, locked: true, sentX: x, sentY: y, sentZ: z}
	// Vanilla from the true state: each tick rises by (0.2 − 0.08) × 0.98
	// and the forward input's sideways part moves z (0.98 × 0.02 × cos).
	accZ := inputDamping * airAccel * math.Cos(yaw*math.Pi/180)
	vz := 0.0
	for i := range 8 {
		vz += accZ
		z += vz
		vz *= airFriction
		y += (climbSpeed - 0.08) * verticalDrag
		rep := Report{X: x, Y: y, Z: z, HasPos: true, Yaw: yaw}
		res := p.Step(w, tables, &s, &env, &rep)
		t.Logf("tick %d: offset %.5f (%v) forward %d", i, res.Offset, res.Uncertain, res.Forward)
		if i >= 1 && res.Offset > testTolerance {
			t.Fatalf("tick %d: offset %.5f, want the climb found again after one tick", i, res.Offset)
		}
	}
}
