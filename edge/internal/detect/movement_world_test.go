package detect

import (
	"strings"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// stateWith is the first state id of the protocol's block table with the
// shape, movement and water bit given: the tests build terrain by what a
// block does, not by a per-version id.
func stateWith(t testing.TB, tb *blocks.Table, shape blocks.Shape, move blocks.Movement, water bool) uint16 {
	t.Helper()
	for id := 1; id < tb.Len(); id++ {
		if st := tb.Lookup(int32(id)); st.Shape() == shape && st.Movement() == move && st.Water() == water {
			return uint16(id)
		}
	}
	t.Fatalf("protocol %d: no state of shape %v, movement %v, water %t", tb.Protocol(), shape, move, water)
	return 0
}

// terrain is a test world with the block kinds the world checks tell
// apart, on a stone floor whose top is y = 64 (blocks at y = 63), every
// column from -32 to 31 loaded.
type terrain struct {
	*testWorld
	stone, water, ladder, slab, fence uint16
}

func newTerrain(t testing.TB, proto int32) *terrain {
	tb := mustTable(t, proto)
	w := &terrain{testWorld: newTestWorld(),
		stone:  stateWith(t, tb, blocks.ShapeFull, blocks.MoveNone, false),
		water:  stateWith(t, tb, blocks.ShapeEmpty, blocks.MoveWater, true),
		ladder: stateWith(t, tb, blocks.ShapePartial, blocks.MoveClimbable, false),
		slab:   stateWith(t, tb, blocks.ShapeSlabBottom, blocks.MoveNone, false),
		fence:  stateWith(t, tb, blocks.ShapeFence, blocks.MoveNone, false),
	}
	w.load(-32, -32, 31, 31)
	for x := int32(-32); x < 32; x++ {
		for z := int32(-32); z < 32; z++ {
			w.set(x, 63, z, w.stone)
		}
	}
	return w
}

// fill sets every block of the box to state.
func (w *terrain) fill(x0, y0, z0, x1, y1, z1 int32, state uint16) {
	for y := y0; y <= y1; y++ {
		for z := z0; z <= z1; z++ {
			for x := x0; x <= x1; x++ {
				w.set(x, y, z, state)
			}
		}
	}
}

// worldSession is a player in survival, in play, with the terrain as its
// world and the world checks enforced. Movement prediction is off: these
// cases are hand-written moves (level swimming, a jump onto a ladder) that
// are honest for the bounds and the world checks but not vanilla to the
// last digit; prediction has its own recorded traces (predict/testdata).
func worldSession(t *testing.T, proto int32) (*session, *terrain) {
	t.Helper()
	cfg := Config{Checks: map[string]CheckConfig{"movement.prediction": {Mode: ModeOff}}}
	for _, k := range []string{"world.nofall", "world.jesus", "world.spider", "world.phase"} {
		cfg.Checks[k] = CheckConfig{Mode: ModeEnforce}
	}
	s := newPlaying(t, proto, packets.GameModeSurvival, cfg)
	w := newTerrain(t, proto)
	s.p.SetWorld(w, mustTable(t, proto))
	s.ack()
	return s, w
}

// at sends one tick's position.
func (s *session) at(x, y, z float64, ground bool) Verdict {
	s.advance(tickDuration)
	var flags uint8
	if ground {
		flags = packets.MoveOnGround
	}
	return s.sb(packets.KindPlayerPosition, packets.PlayerPosition{X: x, Y: y, Z: z, Flags: flags})
}

// teleportTo moves the player as a server teleport does, answered at once:
// the bounds start afresh there (a scene of a test, not a move).
func (s *session) teleportTo(x, y, z float64) {
	s.t.Helper()
	s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 7, X: x, Y: y, Z: z})
	if s.proto >= mcproto.Protocol1_9 {
		s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 7})
	}
	s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x, Y: y, Z: z, Flags: packets.MoveOnGround})
	s.ack()
}

// Every world check on every tested version, honest moves that a naive
// check would flag and the cheat it must catch.
func TestWorldChecks(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		t.Run("nofall", func(t *testing.T) {
			s, w := worldSession(t, proto)
			s.at(0.5, 64, 0.5, true)
			// Honest: at the edge of a block, the centre over air (a
			// check of the block under the centre would flag it).
			w.set(1, 63, 0, 0)
			w.set(2, 63, 0, 0)
			s.at(0.9, 64, 0.5, true)
			s.at(1.25, 64, 0.5, true) // the footprint 0.95–1.55 rests on block 0 by 0.05
			// Honest: on a bottom slab (top 64.5) and on a fence (1.5 high:
			// uncertain, no judgement).
			w.set(0, 64, 2, w.slab)
			w.set(0, 64, 4, w.fence)
			s.teleportTo(0.5, 64.5, 2.5)
			s.at(0.5, 64.5, 2.6, true)
			s.teleportTo(0.5, 65.5, 4.5)
			s.at(0.5, 65.5, 4.6, true)
			s.teleportTo(0.5, 64, 0.5)
			if k := s.flagged(); len(k) > 0 {
				t.Fatalf("honest ground flagged %v", k)
			}
			// The cheat: on the ground a block above the floor.
			s.at(0.5, 64.42, 0.5, false)
			if v := s.at(0.5, 65, 0.5, true); v.Outcome != Setback {
				t.Errorf("hovering a block up claiming ground: %v, want a setback", v.Outcome)
			}
			if k := s.flagged(); len(k) != 1 || k[0] != "world.nofall" {
				t.Errorf("flagged %v, want world.nofall", k)
			}
		})
		t.Run("nofall_off_an_edge", func(t *testing.T) {
			// Vanilla moves a box along y before x and z, and its ground
			// flag comes from the y step: the tick a player walks off an
			// edge, it reports the ground at the edge's height from a
			// footprint that no longer overlaps the block. mineflayer does
			// this walking off a /setblock column and sprint-jumping off a
			// slab in the false-positive suite.
			s, w := worldSession(t, proto)
			w.set(0, 64, 0, w.stone) // a block on the floor: its top at 65
			w.set(0, 64, 2, w.slab)  // a slab: its top at 64.5
			s.teleportTo(0.5, 65, 0.5)
			s.at(0.8, 65, 0.5, true)
			s.at(1.1, 65, 0.5, true)   // the footprint 0.8–1.4 on the block by 0.2
			s.at(1.316, 65, 0.5, true) // walked off: 1.016–1.616, nothing under it
			s.at(1.5, 64.92, 0.5, false)
			s.teleportTo(0.5, 64.5, 2.5)
			s.at(0.9, 64.5, 2.5, true)  // 0.6–1.2 on the slab
			s.at(1.45, 64.5, 2.5, true) // a sprint-jump's tick off it: 1.15–1.75
			if k := s.flagged(); len(k) > 0 {
				t.Errorf("walking off an edge flagged %v", k)
			}
		})
		t.Run("unknown_column", func(t *testing.T) {
			s, w := worldSession(t, proto)
			s.at(0.5, 64, 0.5, true)
			delete(w.columns, [2]int32{0, 0})
			s.at(0.5, 64.42, 0.5, false)
			if v := s.at(0.5, 65, 0.5, true); v.Outcome != Pass {
				t.Errorf("a claim in a column not loaded: %v", v.Outcome)
			}
		})
		t.Run("jesus", func(t *testing.T) {
			s, w := worldSession(t, proto)
			w.fill(-8, 60, -8, 8, 63, 8, w.water) // a pool, its surface at 64
			w.fill(-8, 59, -8, 8, 59, 8, w.stone)
			// Honest: swimming level under the surface (1.13+ sprint-swimming
			// keeps y), feet in the water, for longer than the check waits.
			s.teleportTo(0.5, 62, 0.5)
			for i := range 3 * jesusTicks {
				s.at(0.5+float64(i)*0.1, 62, 0.5, false)
			}
			if k := s.flagged(); len(k) > 0 {
				t.Fatalf("level swimming flagged %v", k)
			}
			// The cheat: walking on the surface.
			s.teleportTo(0.5, 64, 0.5)
			var v Verdict
			for i := range jesusTicks + 1 {
				v = worse(v, s.at(0.5+float64(i)*0.2, 64, 0.5, false))
			}
			if v.Outcome != Setback {
				t.Errorf("walking on water: %v, want a setback", v.Outcome)
			}
			if s.count("world.jesus") != 1 {
				t.Errorf("flagged %v, want world.jesus once", s.rec.keys())
			}
		})
		t.Run("spider", func(t *testing.T) {
			s, w := worldSession(t, proto)
			w.fill(2, 64, -8, 2, 70, 8, w.stone) // a wall at x = 2
			w.fill(-2, 64, 0, -2, 70, 0, w.ladder)
			// Honest: a jump next to the wall, and climbing the ladder at
			// 0.2 per tick.
			s.at(1.7, 64, 0.5, true)
			y := 64.0
			for _, dy := range jump(0.42, 0)[:6] {
				y += dy.dy
				s.at(1.7, y, 0.5, false)
			}
			s.at(1.7, 64, 0.5, true)
			s.teleportTo(-1.3, 64, 0.5)
			for i := 1; i <= 10; i++ {
				s.at(-1.3, 64+0.2*float64(i), 0.5, false)
			}
			if k := s.flagged(); len(k) > 0 {
				t.Fatalf("a jump and a ladder flagged %v", k)
			}
			// The cheat: the same climb up the stone wall.
			if v := riseInAir(s, 1.7, 0.5); v.Outcome != Setback || s.count("world.spider") == 0 {
				t.Errorf("climbing stone: %v, flagged %v", v.Outcome, s.rec.keys())
			}
		})
		t.Run("phase", func(t *testing.T) {
			s, w := worldSession(t, proto)
			w.fill(2, 64, -8, 2, 70, 8, w.stone)
			// Honest: against the wall, the box touching its face.
			s.at(1.7, 64, 0.5, true)
			s.at(1.7, 64, 1.5, true)
			// Honest: a block the server put on the player: stuck inside
			// from the start, moving inside is not phasing into it.
			w.set(-4, 64, 0, w.stone)
			w.set(-4, 65, 0, w.stone)
			s.teleportTo(-3.5, 64, 0.5)
			s.at(-3.45, 64, 0.5, true)
			if k := s.flagged(); len(k) > 0 {
				t.Fatalf("honest moves flagged %v", k)
			}
			s.teleportTo(1.7, 64, 0.5)
			if v := s.at(2.3, 64, 0.5, true); v.Outcome != Setback || s.count("world.phase") != 1 {
				t.Errorf("into the wall: %v, flagged %v", v.Outcome, s.rec.keys())
			}
		})
	})
}

// The readers take their block ranges from floats and may ask one block
// past the region they were given; each answers what judges nothing
// there. A 1.8.8 climber pressed against a column at x = 3.3 made Spider
// read block x = 1 of a region from x = 2 ((3.3-0.3)-1.0 is 2.0, 3.3-1.3 is
// 1.999…) and the panic took the whole edge down.
func TestRegionReadersOutsideTheirRegion(t *testing.T) {
	tb := mustTable(t, mcproto.Protocol1_8)
	stone := stateWith(t, tb, blocks.ShapeFull, blocks.MoveNone, false)
	// Solid stone from x 2 to 4, y 4 to 7, z 13 to 15: every block the
	// region holds would flag, so only the blocks outside decide.
	r := region{x0: 2, y0: 4, z0: 13, nx: 3, nz: 3, table: tb, states: make([]uint16, 3*4*3)}
	for i := range r.states {
		r.states[i] = stone
	}
	if r.plain(3.3, 5.588, 14.49, 1.3, 1.8) {
		t.Error("Spider read blocks outside its region as plain")
	}
	if support, _ := r.support(footprint{x0: 0.5, x1: 1.5, z0: 13.5, z1: 14.5}, 5); !support {
		t.Error("NoFall read no support where the region holds nothing")
	}
	if !r.liquidAt(1.5, 5, 14.5, 0.3) {
		t.Error("Jesus read dry feet where the region holds nothing")
	}
	if r.insideFull(1.5, 5, 14.5, 0.2, 0.5, 0, false) || !r.insideFull(1.5, 5, 14.5, 0.2, 0.5, 0, true) {
		t.Error("phase judged a box the region does not hold")
	}
}

// riseInAir teleports the player to (x, 64, z) and climbs five ticks of
// 0.2 from there, as a ladder would lift it; the worst verdict.
func riseInAir(s *session, x, z float64) Verdict {
	s.teleportTo(x, 64, z)
	var v Verdict
	for i := 1; i <= 5; i++ {
		v = worse(v, s.at(x, 64+0.2*float64(i), z, false))
	}
	return v
}

// TestSpiderAtTheRoundingBoundary climbs where the panic was, through the
// whole check rather than the region alone.
func TestSpiderAtTheRoundingBoundary(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s, _ := worldSession(t, proto)
		// Climbing the air at x = 3.3: Spider's reads reach one block past
		// the region there (see above), and from y 64.6 on into the
		// region's first row, where that was index -1.
		if v := riseInAir(s, 3.3, 14.49); v.Outcome != Setback || s.count("world.spider") == 0 {
			t.Errorf("climbing the air: %v, flagged %v", v.Outcome, s.rec.keys())
		}
	})
}

// The setback: the client is sent back to where the backend saw it last,
// its moves are dropped until it answers, the answer (and on 1.9+ the
// confirmation) never reaches the backend, and moves flow again after.
func TestSetback(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s, _ := worldSession(t, proto)
		s.at(0.5, 64, 0.5, true)
		s.at(0.6, 64, 0.5, true)
		s.at(0.6, 64.42, 0.5, false)
		v := s.at(0.6, 65, 0.5, true)
		if v.Outcome != Setback || len(v.Packet) == 0 {
			t.Fatalf("no setback: %+v", v)
		}
		id, n, err := mcproto.ReadVarInt(v.Packet)
		if err != nil || id != s.p.table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindSyncPlayerPosition) {
			t.Fatalf("setback packet id %d (%v)", id, err)
		}
		pos, err := packets.DecodeSyncPlayerPosition(v.Packet[n:], proto)
		if err != nil {
			t.Fatal(err)
		}
		// Back to the last position the backend saw: the rise before the
		// claim was passed on.
		if pos.X != 0.6 || pos.Y != 64.42 || pos.Z != 0.5 {
			t.Errorf("set back to %v %v %v, want 0.6 64.42 0.5", pos.X, pos.Y, pos.Z)
		}
		if proto >= mcproto.Protocol1_9 && (pos.TeleportID >= 0 || !isSetbackID(pos.TeleportID)) {
			t.Errorf("teleport id %d is not in the edge's negative range", pos.TeleportID)
		}
		if pos.Flags != packets.RelYaw|packets.RelPitch {
			t.Errorf("flags %#x: the position must be absolute, the look kept", pos.Flags)
		}
		// The client moves on before it reads the setback: dropped, and
		// no new setback while one is in flight.
		if v := s.at(0.6, 65.5, 0.5, true); v.Outcome != Drop {
			t.Errorf("a move before the answer: %v, want drop", v.Outcome)
		}
		if !s.p.SetbackPending() {
			t.Fatal("no setback pending")
		}
		if proto >= mcproto.Protocol1_9 {
			// A position at the target before the confirmation is not yet
			// the answer.
			if v := s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: pos.X, Y: pos.Y, Z: pos.Z}); v.Outcome != Drop {
				t.Errorf("position before the confirmation: %v", v.Outcome)
			}
			if v := s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: pos.TeleportID}); v.Outcome != Drop {
				t.Errorf("the confirmation of the edge's teleport: %v, want drop (the backend never sent it)", v.Outcome)
			}
		}
		if v := s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: pos.X, Y: pos.Y, Z: pos.Z}); v.Outcome != Drop {
			t.Errorf("the answer: %v, want drop", v.Outcome)
		}
		if s.p.SetbackPending() {
			t.Fatal("the answer did not settle the setback")
		}
		s.advance(tickDuration)
		if v := s.at(0.6, 64.42-0.0784, 0.5, false); v.Outcome != Pass {
			t.Errorf("the fall after the setback: %v, want pass (flags %v)", v.Outcome, s.rec.keys())
		}
		// A confirmation id of the backend's own passes through.
		if proto >= mcproto.Protocol1_9 {
			if v := s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 1}); v.Outcome != Pass {
				t.Errorf("the backend's confirmation: %v", v.Outcome)
			}
		}
	})
}

// The setback action is accepted for checks that judge the position and
// refused, with the key, for the others.
func TestSetbackActionIsForPositionChecks(t *testing.T) {
	setback := detection.ActionSetback
	for _, key := range []string{"world.jesus", "world.nofall", "world.spider", "world.phase", "movement.flight", "movement.speed"} {
		if _, err := New(Config{Checks: map[string]CheckConfig{key: {Action: &setback}}}, Options{}); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	_, err := New(Config{Checks: map[string]CheckConfig{"combat.reach": {Action: &setback}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "combat.reach.action") {
		t.Errorf("setback for combat.reach: %v, want refused", err)
	}
}

// A move a world-free bound already caught is not judged by the world
// checks: the bound drops it and escalates to its kick, and a world
// check's setback on top would freeze the cheater for the backend (every
// move dropped unjudged until the client answers), so a hacked client
// that ignores the setback would never reach the bound's kick. The cheat
// suite's movement.step, movement.nofall and movement.flight rows caught
// this when the world checks were turned on by default.
func TestWorldChecksLeaveBoundsAlone(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s, _ := worldSession(t, proto)
		s.at(0.5, 64, 0.5, true)
		s.flagged()
		cheats := []struct {
			name   string
			x, y   float64
			ground bool
			bound  string
		}{
			// A block up on the ground: also nothing under the feet.
			{"step", 0.5, 65, true, "movement.step"},
			// Half a block down into the floor on the ground: also into
			// a full block.
			{"nofall", 0.5, 63.5, true, "movement.nofall"},
			// A block and a half up in the air: also a rise nothing
			// explains.
			{"flight", 0.5, 65.5, false, "movement.flight"},
		}
		for _, c := range cheats {
			// Twice from the same position: the first is dropped, so the
			// second is judged from where the player stood.
			for i := 0; i < 2; i++ {
				if v := s.at(c.x, c.y, 0.5, c.ground); v.Outcome != Drop {
					t.Errorf("%s #%d: %v, want the bound's drop", c.name, i+1, v.Outcome)
				}
				if k := s.flagged(); len(k) != 1 || k[0] != c.bound {
					t.Errorf("%s #%d: flagged %v, want %s alone", c.name, i+1, k, c.bound)
				}
			}
		}
	})
}
