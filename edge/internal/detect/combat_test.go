package detect

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func TestReach(t *testing.T) {
	const target = 42
	cases := []struct {
		name string
		// target position relative to the attacker's feet at (0, 64, 0)
		tx, ty, tz float64
		want       bool
	}{
		{"touching", 0.5, 0, 0, false},
		{"3 blocks feet to feet", 3, 0, 0, false},
		{"3 blocks diagonal", 2.1, 0, 2.1, false},
		{"3 blocks below", 0, -3, 0, false},
		{"3 blocks above", 0, 3, 0, false},
		{"3.6 blocks (eye to box 3.3)", 3.6, 0, 0, false},
		{"4.5 blocks", 4.5, 0, 0, true},
		{"6 blocks", 6, 0, 0, true},
		{"4 blocks diagonal", 3, 0, 3, true},
		{"far above", 0, 6.5, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, c.tx, 64+c.ty, c.tz)
				s.settleProbes()
				v := s.attack(target)
				got := s.count("combat.reach")
				if c.want != (got > 0) {
					t.Fatalf("combat.reach flagged %d times, want %v (%v)", got, c.want, s.rec.keys())
				}
				if c.want && v.Outcome != Drop {
					t.Errorf("verdict %v, want the hit dropped", v.Outcome)
				}
				if !c.want && len(s.rec.events) != 0 {
					t.Errorf("honest attack flagged: %v", s.rec.keys())
				}
			})
		})
	}
}

// TestReachInterpolation: the target ran away; the client may still see it
// where it was until it answers a probe sent after the move, and for the
// interpolation steps after that.
func TestReachInterpolation(t *testing.T) {
	const target = 42
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
		s.spawnAt(0, 64, 0)
		s.spawnPlayer(target, 2.5, 64, 0)
		s.settleProbes()
		s.moveEntity(target, 3, 0, 0) // now 5.5 away: the client has not seen it yet
		if s.attack(target); s.count("combat.reach") != 0 {
			t.Fatalf("hit on the position the client still sees flagged: %v", s.rec.keys())
		}
		s.settleProbes() // the client has seen the move, but interpolates from 2.5
		if s.attack(target); s.count("combat.reach") != 0 {
			t.Fatalf("hit during interpolation flagged: %v", s.rec.keys())
		}
		for i := 0; i < 3; i++ { // three more moves and acks: 2.5 is long gone
			s.moveEntity(target, 0.1, 0, 0)
			s.settleProbes()
		}
		if s.attack(target); s.count("combat.reach") != 1 {
			t.Fatalf("hit on a target 5.8 blocks away not flagged: %v", s.rec.keys())
		}
	})
}

// TestReachLaggingAcks: the client answers probes late, so while it has
// confirmed only a probe sent before a run of moves it may still see the
// target where it was then, even after the box moved on.
func TestReachLaggingAcks(t *testing.T) {
	const target = 42
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
		s.spawnAt(0, 64, 0)
		s.spawnPlayer(target, 2.5, 64, 0)
		s.advance(probeInterval)
		s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 999}) // probe A, after the spawn
		for i := 0; i < 4; i++ {
			s.moveEntity(target, 0.8, 0, 0)
		}
		s.advance(probeInterval)
		s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 999}) // probe B, after the moves
		s.answer(1)                                                     // only A: the client may not have the moves
		s.moveEntity(target, 0.1, 0, 0)
		if s.attack(target); s.count("combat.reach") != 0 {
			t.Fatalf("hit on the last acknowledged position flagged: %v", s.rec.keys())
		}
		s.answer(-1)
		for i := 0; i < 3; i++ {
			s.moveEntity(target, 0.1, 0, 0)
			s.settleProbes()
		}
		if s.attack(target); s.count("combat.reach") != 1 {
			t.Fatalf("hit 6 blocks away not flagged once the client saw the moves: %v", s.rec.keys())
		}
	})
}

func TestReachExemptions(t *testing.T) {
	const target = 42
	cases := []struct {
		name  string
		setup func(s *session)
		want  bool
	}{
		{"survival", func(s *session) {}, true},
		{"creative from join", func(s *session) {
			s.cb(packets.KindJoinGame, raw(joinPacket(s.proto, packets.GameModeCreative)))
			s.spawnAt(0, 64, 0)
			s.spawnPlayer(target, 5, 64, 0)
			s.settleProbes()
		}, false},
		{"creative from a game state change", func(s *session) {
			s.cb(packets.KindGameStateChange, raw{gameEventChangeGameMode, 0x3f, 0x80, 0, 0})
		}, false},
		{"spectator from a game state change", func(s *session) {
			s.cb(packets.KindGameStateChange, raw{gameEventChangeGameMode, 0x40, 0x40, 0, 0})
		}, false},
		{"riding", func(s *session) {
			s.sb(packets.KindUseEntity, packets.UseEntity{Target: 77, Type: packets.InteractEntity})
			s.sb(packets.KindPlayerLook, packets.PlayerLook{Flags: packets.MoveOnGround})
		}, false},
		{"teleport pending", func(s *session) {
			s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 9, X: 4, Y: 64, Z: 0})
		}, false},
		{"teleport answered", func(s *session) {
			s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 9, X: -1, Y: 64, Z: 0})
			if s.proto >= mcproto.Protocol1_9 {
				s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 9})
			}
			s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: -1, Y: 64, Z: 0})
		}, true},
		{"unknown target", func(s *session) {
			s.cb(packets.KindEntityDestroy, packets.NewEntityDestroy(target))
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, 5, 64, 0)
				s.settleProbes()
				c.setup(s)
				s.attack(target)
				if got := s.count("combat.reach") > 0; got != c.want {
					t.Fatalf("combat.reach flagged=%v, want %v (%v)", got, c.want, s.rec.keys())
				}
			})
		})
	}
}

// TestReachRidingEvidence: riding exempts only while the client keeps
// acting like a rider, and a teleport only while it is recent.
func TestReachRidingEvidence(t *testing.T) {
	const target = 42
	look := func(s *session) {
		s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: 1, Flags: packets.MoveOnGround})
	}
	steer := func(s *session) {
		if s.proto < mcproto.Protocol1_21_2 {
			s.sb(packets.KindSteerVehicle, raw{0, 0, 0, 0, 0, 0, 0, 0, 0})
		}
	}
	interact := func(s *session) {
		s.sb(packets.KindUseEntity, packets.UseEntity{Target: 77, Type: packets.InteractEntity})
	}
	cases := []struct {
		name  string
		setup func(s *session)
		want  func(proto int32) bool
	}{
		{"steering every tick", func(s *session) {
			interact(s)
			for i := 0; i < 40; i++ {
				s.advance(tickDuration)
				look(s)
				steer(s)
			}
		}, func(proto int32) bool { return false }},
		{"interaction, then no steering", func(s *session) {
			interact(s)
			for i := 0; i < 5; i++ {
				s.advance(tickDuration)
				look(s)
			}
		}, func(proto int32) bool { return proto < mcproto.Protocol1_21_2 }}, // 1.21.2+ passengers look like this
		{"interaction, then walking", func(s *session) {
			interact(s)
			s.advance(tickDuration)
			s.sb(packets.KindPlayerPosition, groundPos(0.1, 64, 0))
		}, func(proto int32) bool { return true }},
		{"teleport unanswered for 5 s", func(s *session) {
			s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 9, X: 4, Y: 64, Z: 0})
			if s.proto >= mcproto.Protocol1_9 {
				s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 9})
			}
			for i := 0; i < 100; i++ {
				s.advance(tickDuration)
				look(s)
				if i%19 == 0 {
					s.sb(packets.KindPlayerPosition, groundPos(0, 64, 0)) // not the answer
				}
			}
		}, func(proto int32) bool { return true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, 5, 64, 0)
				s.settleProbes()
				c.setup(s)
				s.attack(target)
				if got, want := s.count("combat.reach") > 0, c.want(proto); got != want {
					t.Fatalf("combat.reach flagged=%v, want %v (%v)", got, want, s.rec.keys())
				}
			})
		})
	}
}

// TestReachHonestMineflayerFight: the simulated mineflayer client (jitter,
// event-loop stalls, catch-up ticks) attacks whenever its own view puts the
// target within 3 blocks. None of that may flag.
func TestReachHonestMineflayerFight(t *testing.T) {
	for _, proto := range testProtocols {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(packets.VersionName(proto)+"/seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				m := &simMineflayer{s: s, rnd: rand.New(rand.NewPCG(seed, 11)), fight: true, quantum: 4096}
				if proto < mcproto.Protocol1_9 {
					m.quantum = 32
				}
				m.target = [3]float64{2, 64, 0}
				m.view = m.target
				s.spawnPlayer(simTarget, 2, 64, 0)
				s.settleProbes()
				m.run(2 * time.Minute)
				if m.attacks == 0 {
					t.Fatal("the simulated client never attacked")
				}
				t.Logf("%d attacks", m.attacks)
				if len(s.rec.events) != 0 {
					t.Fatalf("honest fight on a jittery, stalling link flagged: %v", s.rec.keys())
				}
			})
		}
	}
}

// TestReachHonestFight mimics two mineflayer bots fighting: the target
// strafes around the attacker at 2–3 blocks, every tick a move, the
// attacker hits every 10 ticks with probes answered with some delay.
func TestReachHonestFight(t *testing.T) {
	const target = 42
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
		s.spawnAt(0, 64, 0)
		s.spawnPlayer(target, 2.5, 64, 0)
		tx, tz := 2.5, 0.0
		ax := 0.0
		quantum := 4096.0 // relative moves are 1/4096 block, 1/32 on 1.8
		if proto < mcproto.Protocol1_9 {
			quantum = 32
		}
		for tick := 0; tick < 2000; tick++ {
			s.advance(tickDuration)
			a := float64(tick) * 0.15
			r := 2.0 + 0.9*math.Sin(float64(tick)*0.05) // 1.1 to 2.9 from the attacker
			ax += 0.01
			dx := math.Round((ax+r*math.Cos(a)-tx)*quantum) / quantum
			dz := math.Round((r*math.Sin(a)-tz)*quantum) / quantum
			s.moveEntity(target, dx, 0, dz)
			tx, tz = tx+dx, tz+dz
			s.sb(packets.KindPlayerPosition, groundPos(ax, 64, 0))
			if tick%3 == 0 {
				s.answer(-1) // answers lag up to three ticks
			}
			if tick%10 == 0 {
				s.attack(target)
			}
		}
		if len(s.rec.events) != 0 {
			t.Fatalf("honest fight flagged: %v", s.rec.keys())
		}
	})
}

func TestInteractVector(t *testing.T) {
	const target = 42
	nan := float32(math.NaN())
	cases := []struct {
		name    string
		x, y, z float32
		want    map[int32]bool // by protocol; missing: false
	}{
		{"on the box", 0.3, 1.8, -0.3, nil},
		{"inside", 0.1, 0.9, 0.2, nil},
		{"1.8 pick border", 0.39, 1.85, 0, map[int32]bool{340: true, 754: true, 765: true}},
		{"outside sideways", 1.5, 1, 0, map[int32]bool{47: true, 340: true, 754: true, 765: true}},
		{"far above", 0, 4, 0, map[int32]bool{47: true, 340: true, 754: true, 765: true}},
		{"absurd", 100, 1, 0, map[int32]bool{47: true, 340: true, 754: true, 765: true, 769: true}},
		{"not finite", nan, 1, 0, map[int32]bool{47: true, 340: true, 754: true, 765: true, 769: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, 1, 64, 0)
				s.settleProbes()
				v := s.sb(packets.KindUseEntity, packets.UseEntity{Target: target, Type: packets.InteractAt, X: c.x, Y: c.y, Z: c.z})
				want := c.want[proto]
				if got := s.count("combat.interact_vector") > 0; got != want {
					t.Fatalf("combat.interact_vector flagged=%v, want %v", got, want)
				}
				if want && v.Outcome != Drop {
					t.Errorf("verdict %v, want drop", v.Outcome)
				}
			})
		})
	}
}

func TestAttackRate(t *testing.T) {
	const target = 42
	cases := []struct {
		name     string
		interval time.Duration
		n        int
		want     bool
	}{
		{"1.9 cooldown pace", 600 * time.Millisecond, 30, false},
		{"8 clicks a second for 10 s", 125 * time.Millisecond, 80, false},
		{"20 a second", 50 * time.Millisecond, 20, true},
		{"13 a second for 9 s", 77 * time.Millisecond, 117, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, 1, 64, 0)
				s.settleProbes()
				for i := 0; i < c.n; i++ {
					s.advance(c.interval)
					s.attack(target)
				}
				if got := s.count("combat.attack_rate") > 0; got != c.want {
					t.Fatalf("combat.attack_rate flagged=%v, want %v", got, c.want)
				}
			})
		})
	}
}

func TestNoSwing(t *testing.T) {
	const target = 42
	type step struct {
		kind packets.Kind
		pk   appender
	}
	atk := step{packets.KindUseEntity, packets.UseEntity{Target: target, Type: packets.InteractAttack}}
	swing := step{packets.KindArmAnimation, packets.ArmAnimation{Hand: packets.HandMain}}
	offSwing := step{packets.KindArmAnimation, packets.ArmAnimation{Hand: packets.HandOff}}
	move := step{packets.KindPlayerPosition, groundPos(0.1, 64, 0)}
	held := step{packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 2}}
	keepAlive := step{packets.KindKeepAlive, packets.KeepAlive{ID: 5}}
	modern := []int32{340, 754, 765, 769}
	cases := []struct {
		name   string
		protos []int32
		steps  []step
		want   int
	}{
		{"1.9+: attack, swing, move", modern, []step{atk, swing, move}, 0},
		{"1.9+: two attacks, two swings", modern, []step{atk, swing, atk, swing, move}, 0},
		{"1.9+: attack, move", modern, []step{atk, move}, 1},
		{"1.9+: attack, attack, swing", modern, []step{atk, atk, swing, move}, 1},
		{"1.9+: off-hand swing does not count", modern, []step{atk, offSwing, move}, 1},
		{"1.8: swing, attack", []int32{47}, []step{swing, atk, move}, 0},
		{"1.8: swing, held item, attack", []int32{47}, []step{swing, held, atk}, 0},
		{"1.8: swing, keep-alive, attack", []int32{47}, []step{swing, keepAlive, atk}, 0},
		{"1.8: attack, swing (1.9 order)", []int32{47}, []step{atk, swing}, 1},
		{"1.8: swing, move, attack", []int32{47}, []step{swing, move, atk}, 1},
		{"1.8: one swing, two attacks", []int32{47}, []step{swing, atk, atk}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, c.protos, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, 1, 64, 0)
				s.settleProbes()
				s.cb(packets.KindKeepAlive, packets.KeepAlive{ID: 5})
				for _, st := range c.steps {
					s.sb(st.kind, st.pk)
				}
				if got := s.count("order.no_swing"); got != c.want {
					t.Fatalf("order.no_swing flagged %d times, want %d (%v)", got, c.want, s.rec.keys())
				}
			})
		})
	}
}

func TestCPS(t *testing.T) {
	cfg := enabled("combat.cps")
	for _, c := range []struct {
		name     string
		digging  bool
		interval time.Duration
		want     bool
	}{
		{"12 cps", false, 83 * time.Millisecond, false},
		{"30 cps", false, 33 * time.Millisecond, true},
		{"digging swings every tick", true, tickDuration, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, cfg)
				s.spawnAt(0, 64, 0)
				if c.digging {
					s.sb(packets.KindBlockDig, packets.BlockDig{Status: digStart})
				}
				for i := 0; i < 60; i++ {
					s.advance(c.interval)
					s.sb(packets.KindArmAnimation, packets.ArmAnimation{Hand: packets.HandMain})
				}
				if got := s.count("combat.cps") > 0; got != c.want {
					t.Fatalf("combat.cps flagged=%v, want %v", got, c.want)
				}
			})
		})
	}
}

func TestHitbox(t *testing.T) {
	const target = 42
	cfg := enabled("combat.hitbox")
	for _, c := range []struct {
		name     string
		yaw      float32 // look sent after the attack
		pitch    float32
		startYaw float32 // look before the attack
		want     bool
	}{
		{"looking at the target", -90, 10, -90, false}, // +x is yaw −90
		{"turning onto the target during the tick", -90, 10, -60, false},
		{"looking away", 90, 0, 90, true},
		{"looking at the sky", -90, -90, -90, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, cfg)
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, 2, 64, 0)
				s.settleProbes()
				s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: c.startYaw, Pitch: c.pitch, Flags: packets.MoveOnGround})
				s.attack(target)
				s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: c.yaw, Pitch: c.pitch, Flags: packets.MoveOnGround})
				if got := s.count("combat.hitbox") > 0; got != c.want {
					t.Fatalf("combat.hitbox flagged=%v, want %v (%v)", got, c.want, s.rec.keys())
				}
			})
		})
	}
}

func TestSelfInteract(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
		if v := s.sb(packets.KindUseEntity, packets.UseEntity{Target: selfID, Type: packets.InteractAttack}); v.Outcome != Kick {
			t.Errorf("%d: attacking oneself: %v", proto, v.Outcome)
		}
	})
}

func TestEntityTable(t *testing.T) {
	var tb entityTable
	for i := int32(0); i < maxEntities; i++ {
		tb.spawn(i, [3]float64{float64(i), 0, 0}, false, 1)
	}
	tb.spawn(maxEntities, [3]float64{}, false, 1)
	if tb.len() != maxEntities || tb.get(maxEntities) != nil {
		t.Fatalf("table grew past its cap: %d", tb.len())
	}
	tb.spawn(maxEntities+1, [3]float64{}, true, 1)
	if tb.len() != maxEntities || tb.get(maxEntities+1) == nil {
		t.Fatalf("a player did not evict another entity at the cap")
	}
	// The player evicted a random non-player: remove one that is still there.
	victim := int32(0)
	for tb.get(victim) == nil {
		victim++
	}
	tb.remove(victim)
	if tb.get(victim) != nil || len(tb.free) != 1 {
		t.Fatal("removed entity still tracked")
	}
	tb.clear()
	if tb.len() != 0 || len(tb.free) != maxEntities {
		t.Fatalf("clear left %d entities, %d free", tb.len(), len(tb.free))
	}
	// Reused entries start fresh, and the churn allocates nothing.
	allocs := testing.AllocsPerRun(100, func() {
		tb.spawn(7, [3]float64{1, 2, 3}, true, 9)
		tb.get(7).moveTo([3]float64{2, 2, 3}, 0, 9)
		tb.remove(7)
	})
	if allocs != 0 {
		t.Errorf("spawn/move/remove allocated %.1f times", allocs)
	}
	tb.spawn(7, [3]float64{1, 2, 3}, true, 9)
	if e := tb.get(7); e.pos != [3]float64{1, 2, 3} || e.cur.min != e.pos || !e.player {
		t.Errorf("reused entry not reset: %+v", e)
	}
	// A hostile backend's NaN is ignored.
	tb.get(7).moveTo([3]float64{math.NaN(), 0, 0}, 0, 9)
	if e := tb.get(7); e.pos != [3]float64{1, 2, 3} {
		t.Errorf("NaN move applied: %+v", e.pos)
	}
	if tb.spawn(8, [3]float64{0, math.Inf(1), 0}, true, 9); tb.get(8) != nil {
		t.Error("entity spawned at infinity")
	}
}

func TestEntityTableFollowsServerPackets(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
		s.spawnPlayer(10, 1, 64, 1)
		if proto < mcproto.Protocol1_19 {
			s.cb(packets.KindSpawnLivingEntity, packets.SpawnLivingEntity{EntityID: 11, X: 5, Y: 64, Z: 5})
		} else {
			s.cb(packets.KindSpawnEntity, packets.SpawnEntity{EntityID: 11, Type: 3, X: 5, Y: 64, Z: 5})
		}
		s.cb(packets.KindEntityMoveLook, packets.EntityMoveLook{EntityID: 10, DX: 0.5, DY: 0, DZ: -0.25})
		if proto >= mcproto.Protocol1_21_2 {
			s.cb(packets.KindEntityPositionSync, packets.EntityPositionSync{EntityID: 11, X: 8, Y: 65, Z: 8})
			s.cb(packets.KindEntityTeleport, packets.EntityTeleport{EntityID: 10, X: 1, Y: 0, Z: 0, Flags: packets.RelX | packets.RelY | packets.RelZ})
		} else {
			s.cb(packets.KindEntityTeleport, packets.EntityTeleport{EntityID: 11, X: 8, Y: 65, Z: 8})
			s.cb(packets.KindEntityRelMove, packets.EntityRelMove{EntityID: 10, DX: 1})
		}
		l := &s.p.combat
		if e := l.ents.get(10); e == nil || e.pos != [3]float64{2.5, 64, 0.75} || !e.player {
			t.Fatalf("player entity: %+v", e)
		}
		if e := l.ents.get(11); e == nil || e.pos != [3]float64{8, 65, 8} || e.player {
			t.Fatalf("mob: %+v", e)
		}
		s.cb(packets.KindEntityDestroy, packets.NewEntityDestroy(10, 11))
		if l.ents.len() != 0 {
			t.Fatalf("%d entities left after destroy", l.ents.len())
		}
		s.spawnPlayer(12, 0, 0, 0)
		s.cbRaw(packets.KindRespawn, respawnPacket(proto, packets.GameModeSurvival))
		if l.ents.len() != 0 {
			t.Fatalf("respawn kept %d entities", l.ents.len())
		}
	})
}

// BenchmarkClocksAndCombat runs an honest fight through every check (all
// enabled, alert mode) on one long-lived player: a movement packet, 12
// entity moves and probe traffic per tick, an attack every 10 ticks. The
// steady state must not allocate.
func BenchmarkClocksAndCombat(b *testing.B) {
	for _, proto := range testProtocols {
		b.Run(packets.VersionName(proto), func(b *testing.B) {
			cfg := Config{Checks: map[string]CheckConfig{}}
			for _, sp := range slices.Concat(movementSpecs(), timerSpecs(), combatSpecs()) {
				cfg.Checks[sp.Key] = CheckConfig{Mode: ModeAlert}
			}
			t := &testing.T{}
			s := newSession(t, proto, cfg)
			s.spawnAt(0, 64, 0)
			const entities = 12
			for e := int32(0); e < entities; e++ {
				s.spawnPlayer(100+e, 0, 64, 1+float64(e)/10) // in front: yaw 0 looks along +z
			}
			s.settleProbes()
			moves := make([][]byte, 0, entities)
			for e := int32(0); e < entities; e++ {
				moves = append(moves, packets.EntityRelMove{EntityID: 100 + e, DX: 0.125}.AppendData(nil, proto))
			}
			back := make([][]byte, 0, entities)
			for e := int32(0); e < entities; e++ {
				back = append(back, packets.EntityRelMove{EntityID: 100 + e, DX: -0.125}.AppendData(nil, proto))
			}
			walk := [2][]byte{groundPos(0.25, 64, 0).AppendData(nil, proto), groundPos(0, 64, 0).AppendData(nil, proto)}
			attack := packets.UseEntity{Target: 100, Type: packets.InteractAttack}.AppendData(nil, proto)
			swing := packets.ArmAnimation{}.AppendData(nil, proto)
			var probe, answer []byte
			var spare [8][]byte // reused copies of probes waiting for their answer
			pending := spare[:0]
			n := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.now = s.now.Add(tickDuration)
				ms := moves
				if i%2 == 1 {
					ms = back
				}
				for _, m := range ms {
					s.p.Clientbound(mcproto.StatePlay, packets.KindEntityRelMove, m, s.now)
				}
				if probe = s.p.Probe(s.now, probe[:0]); len(probe) > 0 {
					k := len(pending)
					pending = append(pending, append(spare[k][:0], probe...))
				}
				if i%10 == 0 && proto < mcproto.Protocol1_9 {
					s.p.Serverbound(mcproto.StatePlay, packets.KindArmAnimation, swing, 0, s.now)
				}
				if i%10 == 0 {
					s.p.Serverbound(mcproto.StatePlay, packets.KindUseEntity, attack, 0, s.now)
					n++
				}
				if i%10 == 0 && proto >= mcproto.Protocol1_9 {
					s.p.Serverbound(mcproto.StatePlay, packets.KindArmAnimation, swing, 0, s.now)
				}
				s.p.Serverbound(mcproto.StatePlay, packets.KindPlayerPosition, walk[i%2], 0, s.now)
				for _, pr := range pending {
					answer = answerInto(s.p, proto, pr, s.now, answer[:0])
				}
				for k := range pending {
					spare[k] = pending[k]
				}
				pending = pending[:0]
				n += entities + 2
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
			if len(s.rec.events) > 0 {
				b.Fatalf("honest stream flagged: %v", s.rec.keys())
			}
		})
	}
}

// answerInto is answerProbe writing the answer into dst, so a benchmark
// measures the engine's allocations, not the test's.
func answerInto(p *Player, protocol int32, probe []byte, now time.Time, dst []byte) []byte {
	_, n, _ := mcproto.ReadVarInt(probe)
	if protocol >= 755 {
		ping, _ := packets.DecodePing(probe[n:], protocol)
		dst = packets.Pong{ID: ping.ID}.AppendData(dst, protocol)
		p.Serverbound(mcproto.StatePlay, packets.KindPong, dst, 0, now)
		return dst
	}
	tx, _ := packets.DecodeTransaction(probe[n:], protocol)
	tx.Accepted = true
	dst = tx.AppendData(dst, protocol)
	p.Serverbound(mcproto.StatePlay, packets.KindTransaction, dst, 0, now)
	return dst
}

// TestBehind: killaura hitting a target behind the player. The attacker
// stands at the origin; +x is yaw −90, so yaw 90 faces away from a target
// on +x.
func TestBehind(t *testing.T) {
	const target = 42
	type look struct{ yaw, pitch float32 }
	for _, c := range []struct {
		name       string
		tx, ty, tz float64 // the target's feet relative to the attacker's
		looks      []look  // looks sent before the attack, the last one current
		creative   bool
		unknown    bool // the attack names an entity the server never spawned
		want       bool
	}{
		{name: "facing the target", tx: 3, looks: []look{{-90, 0}, {-90, 0}, {-90, 0}}},
		{name: "target beside", tx: 3, looks: []look{{0, 0}, {0, 0}, {0, 0}}},
		{name: "target below, looking down", tx: 0.5, ty: -2, looks: []look{{90, 90}, {90, 90}, {90, 90}}},
		{name: "target above and behind, looking down", tx: 1, ty: 2, looks: []look{{90, 60}, {90, 60}, {90, 60}}},
		{name: "target close behind", tx: 1, looks: []look{{90, 0}, {90, 0}, {90, 0}}},
		{name: "target behind", tx: 3, looks: []look{{90, 0}, {90, 0}, {90, 0}}, want: true},
		{name: "target behind and below", tx: 3, ty: -1, looks: []look{{90, -20}, {90, -20}, {90, -20}}, want: true},
		{name: "target behind, diagonal", tx: 2.2, tz: 2.2, looks: []look{{135, 0}, {135, 0}, {135, 0}}, want: true},
		{name: "target behind while turning fast", tx: 3, looks: []look{{-30, 0}, {30, 0}, {90, 0}}},
		{name: "target behind after a fast turn a tick ago", tx: 3, looks: []look{{-30, 0}, {90, 0}, {90, 0}}},
		{name: "target behind, creative", tx: 3, looks: []look{{90, 0}, {90, 0}, {90, 0}}, creative: true},
		{name: "unknown entity", tx: 3, looks: []look{{90, 0}, {90, 0}, {90, 0}}, unknown: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				if c.creative {
					s.cb(packets.KindJoinGame, raw(joinPacket(s.proto, packets.GameModeCreative)))
				}
				s.spawnAt(0, 64, 0)
				s.spawnPlayer(target, c.tx, 64+c.ty, c.tz)
				s.settleProbes()
				for _, l := range c.looks {
					s.advance(tickDuration)
					s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: l.yaw, Pitch: l.pitch, Flags: packets.MoveOnGround})
				}
				id := int32(target)
				if c.unknown {
					id = target + 1
				}
				v := s.attack(id)
				got := s.count("combat.behind")
				if c.want != (got > 0) {
					t.Fatalf("combat.behind flagged %d times, want %v (%v)", got, c.want, s.rec.keys())
				}
				if c.want && v.Outcome != Drop {
					t.Errorf("verdict %v, want the attack dropped", v.Outcome)
				}
				if !c.want && len(s.rec.events) != 0 {
					t.Errorf("honest attack flagged: %v", s.rec.keys())
				}
			})
		})
	}
}

// TestBehindKicks: a killaura that keeps hitting behind is kicked at the
// violation level, every attack before it dropped.
func TestBehindKicks(t *testing.T) {
	const target = 42
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
		s.spawnAt(0, 64, 0)
		s.spawnPlayer(target, 3, 64, 0)
		s.settleProbes()
		s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: 90, Flags: packets.MoveOnGround})
		// Decay lowers the level between hits: the kick comes at the fifth
		// or sixth.
		for i := 1; ; i++ {
			s.advance(tickDuration)
			s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: 90, Flags: packets.MoveOnGround})
			s.advance(tickDuration)
			s.sb(packets.KindPlayerLook, packets.PlayerLook{Yaw: 90, Flags: packets.MoveOnGround})
			v := s.attack(target)
			if v.Outcome == Kick {
				if i < 5 || i > 6 {
					t.Fatalf("kicked at attack %d, want the fifth or sixth", i)
				}
				return
			}
			if v.Outcome != Drop || i >= 6 {
				t.Fatalf("attack %d: %v, want dropped until the kick (%v)", i, v.Outcome, s.rec.keys())
			}
		}
	})
}
