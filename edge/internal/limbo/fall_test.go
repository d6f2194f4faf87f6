package limbo

import (
	"math"
	"testing"
)

// pos is one reported position.
type pos struct {
	x, y, z  float64
	onGround bool
}

// vanillaFall returns what a client reports falling from spawnY onto a
// platform whose top is at top, with the given per-tick gravity and drag:
// position after position, moving first and accelerating after, the last
// move cut short by the platform. still adds the Δy = 0 packet vanilla
// sends on the first tick after a teleport.
func vanillaFall(x, spawnY, z, top, g, drag float64, still bool) []pos {
	var out []pos
	if still {
		out = append(out, pos{x, spawnY, z, false})
	}
	y, v := spawnY, (0-g)*drag // tick 1 moved by 0
	for i := 0; i < 1000; i++ {
		if y+v <= top {
			return append(out, pos{x, top, z, true})
		}
		y += v
		out = append(out, pos{x, y, z, false})
		v = (v - g) * drag
	}
	panic("never landed")
}

func TestFallTicksAndDistance(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := fallDistance(n)
		if got := fallTicks(d); got != n {
			t.Errorf("fallTicks(fallDistance(%d)=%v) = %d", n, d, got)
		}
		if got := fallTicks(d + 1e-9); got != n+1 {
			t.Errorf("fallTicks just past fallDistance(%d) = %d, want %d", n, got, n+1)
		}
	}
	// The first falling tick moves 0.0784 blocks (minecraft.wiki), give or
	// take the float drag.
	if d := fallDistance(1); math.Abs(d-0.0784) > 1e-8 {
		t.Errorf("fallDistance(1) = %v", d)
	}
}

func TestFall(t *testing.T) {
	const (
		top    = 85.0
		spawnY = top + 5.3 // lands on the 11th falling tick
		x, z   = 8.2, 7.9
	)
	honest := vanillaFall(x, spawnY, z, top, gravity, airDrag, true)
	last := len(honest) - 1
	with := func(mod func([]pos) []pos) []pos {
		return mod(append([]pos(nil), honest...))
	}
	tests := []struct {
		name     string
		moves    []pos
		minTicks int
		wantErr  bool
	}{
		{"vanilla, with the still tick", honest, 8, false},
		{"without the still tick (mineflayer)", vanillaFall(x, spawnY, z, top, gravity, airDrag, false), 8, false},
		{"drag 0.98 as a double: within tolerance", vanillaFall(x, spawnY, z, top, gravity, 0.98, true), 8, false},
		{"walking in the air", with(func(p []pos) []pos {
			for i := range p {
				p[i].x += 0.1 * float64(i)
			}
			return p
		}), 8, false},
		{"standing still on the platform after landing", with(func(p []pos) []pos {
			return append(p, pos{x, top, z, true}, pos{x + 0.5, top, z, true})
		}), 8, false},

		{"falling too fast", vanillaFall(x, spawnY, z, top, 0.1, airDrag, true), 8, true},
		{"falling too slowly", vanillaFall(x, spawnY, z, top, 0.07, airDrag, true), 8, true},
		{"no drag", vanillaFall(x, spawnY, z, top, gravity, 1, true), 8, true},
		{"hovering mid-fall", with(func(p []pos) []pos {
			return append(p[:4:4], p[3], p[4])
		}), 8, true},
		{"two still ticks", with(func(p []pos) []pos {
			return append([]pos{p[0]}, p...)
		}), 8, true},
		{"flying up", with(func(p []pos) []pos {
			p[3].y += 0.5
			return p
		}), 8, true},
		{"ground claimed in the air", with(func(p []pos) []pos {
			p[4].onGround = true
			return p
		}), 8, true},
		{"teleport to the ground", []pos{{x, spawnY, z, false}, {x, top, z, true}}, 8, true},
		{"landing below the top", with(func(p []pos) []pos {
			p[last].y = top - 0.01
			return p
		}), 8, true},
		{"landing above the top", with(func(p []pos) []pos {
			p[last].y = top + 0.001
			return p
		}), 8, true},
		{"fell through", with(func(p []pos) []pos {
			p[last] = pos{x, top - 0.5, z, false}
			return p
		}), 8, true},
		{"landing too early for min ticks", honest, 20, true},
		{"left the platform in the air", with(func(p []pos) []pos {
			p[2].x = platformMin - 0.5
			return p
		}), 8, true},
		{"walked off after landing", with(func(p []pos) []pos {
			return append(p, pos{platformMax + 0.2, top, z, true})
		}), 8, true},
		{"sank after landing", with(func(p []pos) []pos {
			return append(p, pos{x, top - 0.2, z, false})
		}), 8, true},
		{"not a number", with(func(p []pos) []pos {
			p[2].y = math.NaN()
			return p
		}), 8, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFall(spawnY, top, platformMin, platformMax, platformMin, platformMax, tt.minTicks)
			var err error
			for i, p := range tt.moves {
				if err = f.move(p.x, p.y, p.z, p.onGround); err != nil {
					t.Logf("move %d rejected: %v", i, err)
					break
				}
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted; landed=%v after %d ticks", f.landed, f.ticks)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected an honest fall: %v", err)
			}
			if !f.landed {
				t.Fatalf("never landed (%d ticks)", f.ticks)
			}
		})
	}
}
