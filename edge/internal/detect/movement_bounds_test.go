package detect

import (
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// mv is one tick's movement: a displacement from the last position and the
// ground flag.
type mv struct {
	dx, dy, dz float64
	ground     bool
}

// moves walks the player from (0, 64, 0) through ms, a tick apart, and
// returns the verdict of the last.
func (s *session) moves(ms []mv) Verdict {
	x, y, z := s.p.self.x, s.p.self.y, s.p.self.z
	v := pass
	for _, m := range ms {
		s.advance(tickDuration)
		x, y, z = x+m.dx, y+m.dy, z+m.dz
		var flags uint8
		if m.ground {
			flags = packets.MoveOnGround
		}
		v = worse(v, s.sb(packets.KindPlayerPosition, packets.PlayerPosition{X: x, Y: y, Z: z, Flags: flags}))
	}
	return v
}

// fall is the vanilla fall from rest: vy = (vy − 0.08) × 0.98 each tick,
// n ticks in the air, then the landing tick on the ground.
func fall(n int) []mv {
	var out []mv
	vy := 0.0
	for i := 0; i < n; i++ {
		vy = (vy - 0.08) * 0.98
		out = append(out, mv{dy: vy})
	}
	return append(out, mv{dy: -0.01, ground: true})
}

// jump is a vanilla jump from flat ground (initial velocity v) until it
// lands again, moving h forward each tick.
func jump(v, h float64) []mv {
	var out []mv
	y, vy := 0.0, v
	for {
		ny := y + vy
		if ny <= 0 {
			return append(out, mv{dx: h, dy: -y, ground: true})
		}
		out = append(out, mv{dx: h, dy: vy})
		y, vy = ny, (vy-0.08)*0.98
	}
}

func repeat(n int, m mv) []mv {
	out := make([]mv, n)
	for i := range out {
		out[i] = m
	}
	return out
}

func concat(parts ...[]mv) []mv {
	var out []mv
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestMovementBounds(t *testing.T) {
	sprint := 0.2806 // vanilla's steady sprint speed on flat ground
	for _, tc := range []struct {
		name  string
		setup func(s *session)
		moves []mv
		want  string // the check that must flag, "" for none
	}{
		// Honest movement.
		{"walk", nil, repeat(40, mv{dx: 0.216, ground: true}), ""},
		{"sprint", nil, repeat(60, mv{dx: sprint, ground: true}), ""},
		{"sprint-jump", nil, concat(jump(0.42, 0.6), jump(0.42, 0.5), jump(0.42, 0.45), jump(0.42, 0.45), jump(0.42, 0.45)), ""},
		{"fall from 40 blocks", nil, fall(30), ""},
		{"walk down a slab", nil, concat(repeat(3, mv{dx: 0.2, ground: true}), []mv{{dx: 0.2, dy: -0.0784}, {dx: 0.2, dy: -0.155}, {dx: 0.2, dy: -0.2666, ground: true}}, repeat(3, mv{dx: 0.2, ground: true})), ""},
		{"step up a slab", nil, []mv{{dx: 0.2, ground: true}, {dx: 0.2, dy: 0.5, ground: true}, {dx: 0.2, ground: true}}, ""},
		{"step off a carpet", nil, []mv{{dx: 0.2, ground: true}, {dx: 0.2, dy: -0.0625, ground: true}}, ""},
		// Seen in the false-positive suite (1.8.8, sprint-jumping up
		// stairs): the jump's first tick rose less than its velocity (a
		// step clipped it), the second rose what the velocity carried.
		{"jump clipped by a stair", nil, concat([]mv{{dx: 0.3, ground: true}, {dx: 0.3, dy: 0.386}, {dx: 0.3, dy: 0.34}, {dx: 0.3, dy: 0.25}, {dx: 0.3, dy: 0.17}}, fall(4)), ""},
		// A jump into a slab: the step lifts the jump's first tick to the
		// slab's top, 0.5 above, while the client reports it in the air
		// (vanilla's ground flag needs a downward move); the step zeroed
		// the vertical motion, so the player lands or falls after it.
		{"jump stepped onto a slab", nil, concat([]mv{{dx: 0.3, ground: true}, {dx: 0.3, dy: 0.5}, {dx: 0.3, ground: true}}, repeat(5, mv{dx: 0.2, ground: true})), ""},
		{"climb a ladder", nil, concat([]mv{{dy: 0.42}}, repeat(40, mv{dy: 0.2})), ""},
		{"swim up", nil, repeat(40, mv{dy: 0.2}), ""},
		{"jump boost II", func(s *session) {
			s.cb(packets.KindEntityEffect, packets.EntityEffect{EntityID: selfID, EffectID: effectID(s.proto, effectJumpBoost), Amplifier: 1})
		}, jump(0.62, 0.2), ""},
		{"speed II sprint-jumping", func(s *session) {
			s.cb(packets.KindEntityEffect, packets.EntityEffect{EntityID: selfID, EffectID: effectID(s.proto, effectSpeed), Amplifier: 1})
		}, repeat(80, mv{dx: 1.3, ground: true}), ""},
		{"knockback", func(s *session) {
			s.cb(packets.KindEntityVelocity, packets.EntityVelocity{EntityID: selfID, X: 2, Y: 1.5})
		}, concat([]mv{{dx: 2, dy: 1.5}, {dx: 1.8, dy: 1.3}, {dx: 1.6, dy: 1.1}}, repeat(20, mv{dx: 1.5, dy: -0.5})), ""},
		{"levitation", func(s *session) {
			s.cb(packets.KindEntityEffect, packets.EntityEffect{EntityID: selfID, EffectID: effectID(s.proto, effectLevitation), Amplifier: 30})
		}, repeat(20, mv{dy: 1.5}), ""},
		{"creative flight", func(s *session) { s.cbRaw(packets.KindGameStateChange, gameModePacket(packets.GameModeCreative)) },
			repeat(40, mv{dx: 1.0, dy: 0.4}), ""},
		{"velocity for another entity does not excuse", func(s *session) {
			s.cb(packets.KindEntityVelocity, packets.EntityVelocity{EntityID: 77, Y: 3})
		}, repeat(5, mv{dy: 1}), "movement.flight"},

		// Cheats.
		{"teleport 30 blocks", nil, []mv{{dx: 30, ground: true}}, "movement.teleport"},
		{"step a full block", nil, []mv{{dx: 0.2, ground: true}, {dx: 0.2, dy: 1, ground: true}}, "movement.step"},
		{"step 2.5 blocks", nil, []mv{{dx: 0.2, ground: true}, {dx: 0.2, dy: 2.5, ground: true}}, "movement.step"},
		{"packet nofall", nil, concat([]mv{{dx: 0.2, ground: true}}, repeat(10, mv{dy: -0.5, ground: true})), "movement.nofall"},
		// 0.5 a tick is only flight before 1.13 (bubble columns after).
		{"fly up slowly", nil, concat([]mv{{dy: 0.42}}, repeat(10, mv{dy: 0.5})), "movement.flight/legacy"},
		{"fly up", nil, concat([]mv{{dy: 0.42}}, repeat(10, mv{dy: 1})), "movement.flight"},
		{"rise faster than the fall", nil, concat(fall(3)[:3], []mv{{dy: 1}}), "movement.flight"},
		{"speed 3 blocks a tick", nil, repeat(40, mv{dx: 3, ground: true}), "movement.speed"},
		{"speed 1.5 blocks a tick", nil, repeat(60, mv{dx: 1.5, ground: true}), "movement.speed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				s.spawnAt(0, 64, 0)
				if tc.setup != nil {
					tc.setup(s)
				}
				v := s.moves(tc.moves)
				got := s.flagged()
				want := tc.want
				if k, ok := strings.CutSuffix(want, "/legacy"); ok {
					want = ""
					if proto < mcproto.Protocol1_13 {
						want = k
					}
				}
				if want == "" {
					if len(got) != 0 || v.Outcome != Pass {
						t.Fatalf("%d: honest movement: %v %v", proto, v.Outcome, got)
					}
					return
				}
				if s.count(want) == 0 {
					t.Fatalf("%d: %s not flagged: %v", proto, want, got)
				}
				if v.Outcome != Drop && v.Outcome != Kick {
					t.Errorf("%d: outcome %v, want the move dropped", proto, v.Outcome)
				}
			})
		})
	}
}

// effectID is the wire id of a pre-1.20.5 effect id on proto.
func effectID(proto int32, id int32) int32 {
	if proto >= mcproto.Protocol1_20_5 {
		return id - 1
	}
	return id
}

// TestMovementBoundsKick: a player who keeps cheating is kicked at the
// check's violation level; the dropped moves are judged from the last
// position the backend saw.
func TestMovementBoundsKick(t *testing.T) {
	eachVersion(t, []int32{mcproto.Protocol1_8, mcproto.Protocol1_20_3}, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		s.spawnAt(0, 64, 0)
		v := s.moves(concat([]mv{{dy: 0.42}}, repeat(30, mv{dy: 1})))
		if v.Outcome != Kick {
			t.Fatalf("%d: %v after 30 rising moves, want a kick", proto, v.Outcome)
		}
		last := s.rec.events[len(s.rec.events)-1]
		// The dropped moves are judged from the last position the backend
		// saw, so the distance check may be the one that kicks.
		if s.count("movement.flight") == 0 || !strings.HasPrefix(last.Check, "movement.") || last.Action != detection.ActionKick {
			t.Errorf("%d: last event %s %s", proto, last.Check, last.Action)
		}
	})
}

// TestMovementBoundsUncertainty: what the edge cannot pin down widens the
// bounds: riding, a teleport not yet answered, a respawn.
func TestMovementBoundsUncertainty(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		t.Run("server teleport", func(t *testing.T) {
			s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
			s.spawnAt(0, 64, 0)
			s.moves(repeat(3, mv{dx: 0.2, ground: true}))
			s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 2, X: 500, Y: 90, Z: 500})
			if proto >= mcproto.Protocol1_9 {
				s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 2})
			}
			s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: 500, Y: 90, Z: 500})
			s.moves(fall(20))
			if got := s.flagged(); len(got) != 0 {
				t.Fatalf("%d: %v", proto, got)
			}
		})
		t.Run("respawn", func(t *testing.T) {
			s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
			s.spawnAt(0, 64, 0)
			s.cbRaw(packets.KindRespawn, respawnPacket(proto, packets.GameModeSurvival))
			s.spawnAt(300, 70, -300)
			s.moves(repeat(5, mv{dx: 0.2, ground: true}))
			if got := s.flagged(); len(got) != 0 {
				t.Fatalf("%d: %v", proto, got)
			}
		})
		t.Run("riding", func(t *testing.T) {
			if proto >= mcproto.Protocol1_21_2 {
				t.Skip("1.21.2+ riders send no vehicle packets while idle")
			}
			s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
			s.spawnAt(0, 64, 0)
			for i := 0; i < 20; i++ {
				s.advance(tickDuration)
				s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: 1})
				s.sb(packets.KindSteerVehicle, raw{0, 0, 0, 0, 0, 0, 0, 0, 0})
			}
			// Off the horse 20 blocks away: the server teleports the
			// player in vanilla, but the first move may come first.
			s.moves([]mv{{dx: 20, ground: true}})
			if got := s.flagged(); len(got) != 0 {
				t.Fatalf("%d: %v", proto, got)
			}
		})
	})
}
