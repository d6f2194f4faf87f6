package detect

import (
	"math"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// predictionSession is a playing player with movement.prediction on (it is
// experimental) on a stone floor (top at y 64)
// with the world replica, standing at (0.5, 64, 0.5) facing +z.
func predictionSession(t *testing.T, proto int32, y float64) *session {
	t.Helper()
	s := newPlaying(t, proto, 0, enabled("movement.prediction"))
	w := newTestWorld()
	w.load(-32, -32, 31, 31)
	for x := int32(-32); x < 32; x++ {
		for z := int32(-32); z < 32; z++ {
			w.set(x, 63, z, stoneState(proto))
		}
	}
	s.p.SetWorld(w, mustTable(t, proto))
	s.spawnAt(0.5, y, 0.5)
	return s
}

// walkMoves is vanilla walking forward (+z) from rest on stone, scaled by
// speed: each tick the ground friction (0.6 × 0.91) keeps part of the
// speed and the input adds 0.1 × 0.98.
func walkMoves(n int, speed float64) []mv {
	var out []mv
	v := 0.0
	for range n {
		v = v*0.6*0.91 + 0.1*0.98
		out = append(out, mv{dz: v * speed, ground: true})
	}
	return out
}

func TestPredictionHonestWalkPasses(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := predictionSession(t, proto, 64)
		s.moves(concat(repeat(3, mv{ground: true}), walkMoves(40, 1)))
		if n := s.count("movement.prediction"); n != 0 {
			t.Fatalf("honest walking flagged %d times: %v", n, s.flagged())
		}
	})
}

// TestPredictionBuffersLoneMisses: an honest walk with one tick 0.05 off
// (a float rounding at a block face, a push the edge did not see) and then
// another twenty ticks later is not flagged; the same miss on every tick
// is.
func TestPredictionBuffersLoneMisses(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		walk := walkMoves(60, 1)
		for _, i := range []int{20, 40} {
			walk[i].dz += 0.05
		}
		s := predictionSession(t, proto, 64)
		s.moves(concat(repeat(3, mv{ground: true}), walk))
		if n := s.count("movement.prediction"); n != 0 {
			t.Fatalf("two lone misses flagged %d times: %v", n, s.flagged())
		}
		walk = walkMoves(60, 1)
		for i := 20; i < len(walk); i++ {
			walk[i].dz += 0.05
		}
		s = predictionSession(t, proto, 64)
		s.moves(concat(repeat(3, mv{ground: true}), walk))
		if n := s.count("movement.prediction"); n == 0 {
			t.Fatalf("a miss on every tick was not flagged: %v", s.flagged())
		}
	})
}

func TestPredictionCatchesSubtleCheats(t *testing.T) {
	cheats := []struct {
		name  string
		moves []mv
	}{
		{"10% speed", concat(repeat(3, mv{ground: true}), walkMoves(40, 1.1))},
		// Hovering a block above the floor, not falling, not claiming ground.
		{"hover", concat(repeat(3, mv{}), repeat(20, mv{}))},
	}
	for _, c := range cheats {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				y := 64.0
				if c.name == "hover" {
					y = 66
				}
				s := predictionSession(t, proto, y)
				s.moves(c.moves)
				if n := s.count("movement.prediction"); n == 0 {
					t.Fatalf("%s not flagged (flags: %v)", c.name, s.flagged())
				}
			})
		})
	}
}

// Without a world the prediction stands down (the bounds judge alone).
func TestPredictionNeedsWorld(t *testing.T) {
	s := newPlaying(t, 765, 0, enabled("movement.prediction"))
	s.spawnAt(0.5, 64, 0.5)
	s.moves(concat(repeat(3, mv{ground: true}), walkMoves(40, 1.1)))
	if n := s.count("movement.prediction"); n != 0 {
		t.Fatalf("flagged %d times without a world", n)
	}
}

// Speed II (amplifier 1): walking 40 % faster is honest, and is predicted
// once the effect has settled; Slowness I: 15 % slower is honest too.
func TestPredictionFollowsEffects(t *testing.T) {
	for _, c := range []struct {
		name   string
		effect int32
		factor float64
	}{{"speed II", effectSpeed, 1.4}, {"slowness II", effectSlowness, 0.7}} {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := predictionSession(t, proto, 64)
				s.cb(packets.KindEntityEffect, packets.EntityEffect{EntityID: selfID, EffectID: effectID(s.proto, c.effect), Amplifier: 1})
				s.ack() // settled: the prediction uses the effect alone
				s.moves(concat(repeat(3, mv{ground: true}), walkMoves(40, c.factor)))
				if n := s.count("movement.prediction"); n != 0 {
					t.Fatalf("honest walking under %s flagged %d times: %v", c.name, n, s.flagged())
				}
			})
		})
	}
}

// A client under Speed that moves without it (mineflayer: its engine reads
// the movement_speed attribute only, and flying-squid sends no attribute
// update) is slower than it may be, not a cheat; 10 % faster than Speed II
// allows still flags.
func TestPredictionSpeedIsOptional(t *testing.T) {
	for _, c := range []struct {
		name   string
		factor float64
		flags  bool
	}{{"without the effect", 1, false}, {"10 % beyond it", 1.4 * 1.1, true}} {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := predictionSession(t, proto, 64)
				s.cb(packets.KindEntityEffect, packets.EntityEffect{EntityID: selfID, EffectID: effectID(s.proto, effectSpeed), Amplifier: 1})
				s.ack() // the client has the effect: no longer changing
				s.moves(concat(repeat(3, mv{ground: true}), walkMoves(40, c.factor)))
				if n := s.count("movement.prediction"); (n != 0) != c.flags {
					t.Fatalf("walking at %.2f × under Speed II flagged %d times: %v", c.factor, n, s.flagged())
				}
			})
		})
	}
}

// TestPredictionBudget: a client whose reports the physics cannot explain
// makes every tick search all candidates; the prediction stops judging it
// once its simulation budget (sims_per_second, ten seconds of it saved up)
// is spent, and judges again as it refills. With the budget at 0 every
// tick is judged (afford).
func TestPredictionBudget(t *testing.T) {
	t.Run("afford", func(t *testing.T) {
		var pc predictionChecks
		if !pc.afford(100, t0) || pc.budget.tokens != 1000 {
			t.Fatalf("a fresh player: credit %v, want the burst of 1000", pc.budget.tokens)
		}
		pc.budget.tokens = -50 // one expensive step beyond it
		if pc.afford(100, t0.Add(250*time.Millisecond)) {
			t.Fatalf("credit %v after a quarter second: want none yet", pc.budget.tokens)
		}
		if !pc.afford(100, t0.Add(time.Second)) || pc.budget.tokens != 50 {
			t.Fatalf("credit %v after a second, want 50", pc.budget.tokens)
		}
		if !pc.afford(100, t0.Add(time.Hour)) || pc.budget.tokens != 1000 {
			t.Fatalf("credit %v after an hour, want the burst of 1000", pc.budget.tokens)
		}
		pc.budget.tokens = -5
		if !pc.afford(0, t0.Add(2*time.Hour)) {
			t.Fatal("no budget (rate 0) must judge every tick")
		}
	})

	v, table, at := squidView(t)
	walk := func(rate float64) (spent, skipped int) {
		t.Helper()
		cfg := Config{Checks: map[string]CheckConfig{"movement.prediction": {Params: map[string]float64{"sims_per_second": rate}}}}
		step, _, p := squidWalker(t, v, table, at, cfg)
		for i := range 40 {
			step(i)
		}
		// Twenty seconds of the walk, and what each tick spent: the
		// credit it lost, plus what a tick's refill (afford, above) gave.
		for i := 40; i < 440; i++ {
			before := p.prediction.budget.tokens
			step(i)
			if rate <= 0 {
				continue
			}
			refill := min(before+rate*tickDuration.Seconds(), rate*predictionBurstSeconds) - before
			sims := before + refill - p.prediction.budget.tokens
			if sims < 0.5 && before+refill <= 0 {
				skipped++
			}
			spent += int(math.Round(sims))
		}
		return spent, skipped
	}
	const rate = 200
	spent, skipped := walk(rate)
	t.Logf("budget %d/s: %d candidate ticks simulated in 20 s, %d ticks not judged", rate, spent, skipped)
	if skipped == 0 {
		t.Error("the budget never ran out: the walk is not the expensive client this test needs")
	}
	// Refills over the 20 s, the burst saved before them, and one step
	// (at most about 2,500 candidate ticks) beyond the last credit.
	if limit := rate*20 + rate*predictionBurstSeconds + 2500; spent > limit {
		t.Errorf("%d candidate ticks simulated in 20 s, want at most %d", spent, limit)
	}
}
