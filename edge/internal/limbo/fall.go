package limbo

import (
	"fmt"
	"math"
)

// Vanilla movement constants behind the gravity check (docs/DETECTIONS.md,
// verify.gravity; minecraft.wiki "Entity", motion of entities).
const (
	// gravity is what a player's vertical velocity loses each tick.
	gravity = 0.08
	// airDrag is the factor vanilla then multiplies vertical velocity by:
	// the float 0.98F widened to double (LivingEntity.travel; 1.8's
	// EntityLivingBase writes the same value as 0.9800000190734863D), not
	// the double 0.98. The difference is 2e-8 per tick, so an exact check
	// must use it.
	airDrag = float64(float32(0.98))
	// gravityTolerance is the largest difference between the predicted and
	// the reported Δy we accept (Sonar's GravityHandler uses the same). A
	// client adds Δy to a double position and we subtract two doubles, so
	// an honest client is off by ~1e-14; a bot with its own, slightly
	// different, physics is off by far more.
	gravityTolerance = 1e-7
)

// fallTicks is the number of falling ticks before a player at rest lands
// after falling height blocks: vanilla moves first and applies gravity
// after, so tick n moves by v(n-1) with v(0) = 0, v(n) = (v(n-1) − g)·drag.
// The first tick moves 0 and is not counted; the tick that reaches the
// ground is.
func fallTicks(height float64) int {
	v, fell := 0.0, 0.0
	for n := 1; ; n++ {
		v = (v - gravity) * airDrag
		fell -= v
		if fell >= height {
			return n
		}
	}
}

// fallDistance is how far a player at rest falls in n ticks.
func fallDistance(n int) float64 {
	v, fell := 0.0, 0.0
	for i := 0; i < n; i++ {
		v = (v - gravity) * airDrag
		fell -= v
	}
	return fell
}

// fall checks the positions a client reports after the limbo teleported it
// into the air above the platform: it must fall exactly as vanilla gravity
// says, land exactly on the platform's top after at least minTicks ticks,
// and stay on the platform. The zero value is not usable; see newFall.
type fall struct {
	top                    float64 // y of the platform's top face
	minX, maxX, minZ, maxZ float64 // where the player may be: above the platform
	minTicks               int

	lastY, lastDY float64
	ticks         int  // falling moves checked
	stillUsed     bool // the one Δy = 0 packet vanilla sends right after a teleport
	landed        bool
}

func newFall(spawnY, top float64, minX, maxX, minZ, maxZ float64, minTicks int) fall {
	return fall{top: top, minX: minX, maxX: maxX, minZ: minZ, maxZ: maxZ, minTicks: minTicks, lastY: spawnY}
}

// move checks one reported position. It returns nil while the movement is
// plausible and a description of the violation otherwise.
func (f *fall) move(x, y, z float64, onGround bool) error {
	if !finite(x) || !finite(y) || !finite(z) {
		return fmt.Errorf("non-finite position %v/%v/%v", x, y, z)
	}
	if x < f.minX || x > f.maxX || z < f.minZ || z > f.maxZ {
		return fmt.Errorf("left the platform: x=%v z=%v", x, z)
	}
	if f.landed {
		// Standing (or hopping) on the platform: it may not sink into it.
		if y < f.top {
			return fmt.Errorf("below the platform after landing: y=%v top=%v", y, f.top)
		}
		return nil
	}
	dy := y - f.lastY
	predicted := (f.lastDY - gravity) * airDrag
	if !onGround {
		// Vanilla reports the tick after a teleport with Δy = 0: the teleport
		// zeroed its velocity, it moved by that, and its last-sent position
		// still predates the teleport, so it sends one anyway. Clients that
		// compare against the teleport target skip this packet.
		if f.ticks == 0 && dy == 0 && !f.stillUsed {
			f.stillUsed = true
			return nil
		}
		if math.Abs(dy-predicted) > gravityTolerance {
			return fmt.Errorf("tick %d: Δy %v, vanilla gravity says %v", f.ticks+1, dy, predicted)
		}
		if y < f.top {
			return fmt.Errorf("fell through the platform: y=%v top=%v", y, f.top)
		}
		f.ticks++
		f.lastY, f.lastDY = y, dy
		return nil
	}
	// On ground: the landing tick. Its move was cut short by the platform,
	// so Δy lies between the full gravity step and 0, and the player must
	// stand exactly on the top face.
	if y != f.top {
		return fmt.Errorf("on ground at y=%v, platform top is %v", y, f.top)
	}
	if dy > 0 || dy < predicted-gravityTolerance {
		return fmt.Errorf("landing Δy %v outside [%v, 0]", dy, predicted)
	}
	if f.ticks+1 < f.minTicks {
		return fmt.Errorf("landed after %d ticks, want at least %d", f.ticks+1, f.minTicks)
	}
	f.ticks++
	f.landed = true
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
