package detect

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func TestImpossiblePitchKicks(t *testing.T) {
	for _, pitch := range []float32{90.5, -91, 180} {
		t.Run(ftoa(float64(pitch)), func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				p, rec := newTestPlayer(t, proto, Config{})
				bad := packets.PlayerLook{Yaw: 10, Pitch: pitch}.AppendData(nil, proto)
				if v := p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, bad, 0, t0); v.Outcome != Kick {
					t.Fatalf("%d: outcome %v, want a kick at once", proto, v.Outcome)
				}
				if len(rec.events) != 1 || rec.events[0].Check != "badpackets.invalid_pitch" || rec.events[0].Action != detection.ActionKick {
					t.Errorf("%d: events = %+v", proto, rec.keys())
				}
			})
		})
	}
	// Straight up and down are vanilla.
	p, rec := newTestPlayer(t, 765, Config{})
	for _, pitch := range []float32{90, -90} {
		if v := p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, packets.PlayerLook{Yaw: 10, Pitch: pitch}.AppendData(nil, 765), 0, t0); v.Outcome != Pass || len(rec.events) != 0 {
			t.Errorf("pitch %v flagged: %v %v", pitch, v, rec.keys())
		}
	}
}

func TestImpossibleMovesStillKick(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name string
		vm   packets.VehicleMove
		want []string
	}{
		{"boat", packets.VehicleMove{X: 10, Y: 62, Z: -4, Yaw: 370, Pitch: 0}, nil},
		{"NaN vehicle", packets.VehicleMove{X: math.NaN(), Y: 62}, []string{"crash.move_non_finite"}},
		{"NaN vehicle yaw", packets.VehicleMove{Y: 62, Yaw: nan}, []string{"crash.move_non_finite"}},
		{"vehicle beyond the border", packets.VehicleMove{X: 1, Y: 62, Z: -3.1e7}, []string{"crash.move_out_of_world"}},
	} {
		for _, proto := range testProtocols[1:] { // vehicle moves exist since 1.9
			s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
			v := s.sb(packets.KindVehicleMove, tc.vm)
			if got := s.flagged(); !slices.Equal(got, tc.want) || tc.want != nil && v.Outcome != Kick {
				t.Errorf("%s on %d: %v %v, want %v", tc.name, proto, v.Outcome, got, tc.want)
			}
		}
	}
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		v := s.sb(packets.KindPlayerPosition, packets.PlayerPosition{X: math.Inf(1), Y: 64, Z: 0})
		if got := s.flagged(); v.Outcome != Kick || !slices.Equal(got, []string{"crash.move_non_finite"}) {
			t.Errorf("%d: %v %v", proto, v.Outcome, got)
		}
		s = newPlaying(t, proto, packets.GameModeSurvival, Config{})
		v = s.sb(packets.KindPlayerPosition, packets.PlayerPosition{X: 3e7, Y: 64, Z: 0})
		if got := s.flagged(); v.Outcome != Kick || !slices.Equal(got, []string{"crash.move_out_of_world"}) {
			t.Errorf("%d: %v %v", proto, v.Outcome, got)
		}
	})
}

func TestFlyingNeedsMayFly(t *testing.T) {
	flying := packets.Abilities{Flags: packets.AbilityFlying, FlyingSpeed: 0.05, WalkingSpeed: 0.1}
	for _, tc := range []struct {
		name  string
		gm    uint8
		steps []step
		want  []string
	}{
		{"survival", packets.GameModeSurvival, nil, []string{"badpackets.fly"}},
		{"creative", packets.GameModeCreative, nil, nil},
		{"spectator", packets.GameModeSpectator, nil, nil},
		{"allowed by the server, in flight", packets.GameModeSurvival, []step{recvStep(packets.KindPlayerAbilitiesClientbound, abilitiesPacket(abilityMayFly))}, nil},
		{"allowed by the server, acked", packets.GameModeSurvival, []step{recvStep(packets.KindPlayerAbilitiesClientbound, abilitiesPacket(abilityMayFly)), {ack: true}}, nil},
		{"revoked, in flight", packets.GameModeCreative, []step{recvStep(packets.KindGameStateChange, gameModePacket(packets.GameModeSurvival))}, nil},
		{"revoked, acked", packets.GameModeCreative, []step{recvStep(packets.KindGameStateChange, gameModePacket(packets.GameModeSurvival)), {ack: true}}, []string{"badpackets.fly"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, tc.gm, Config{})
				s.run(tc.steps)
				v := s.sb(packets.KindAbilities, flying)
				got := s.flagged()
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
				}
				if tc.want != nil && v.Outcome != Drop {
					t.Errorf("%s on %d: %v, want drop", tc.name, proto, v.Outcome)
				}
				// Landing is never flagged.
				if s.sb(packets.KindAbilities, packets.Abilities{}); len(s.flagged()) != 0 {
					t.Errorf("%s on %d: stopping to fly flagged", tc.name, proto)
				}
			})
		})
	}
}

func TestSprintAndSneakRepeats(t *testing.T) {
	act := func(proto, a int32) step {
		return sendStep(packets.KindEntityAction, packets.EntityAction{EntityID: selfID, Action: actionID(proto, a)})
	}
	const (
		startSprint = packets.ActionStartSprinting
		stopSprint  = packets.ActionStopSprinting
		startSneak  = packets.ActionStartSneaking
		stopSneak   = packets.ActionStopSneaking
	)
	for _, tc := range []struct {
		name    string
		actions []int32 // -1: respawn, -2: steer a vehicle
		want    []string
	}{
		{"toggling", []int32{startSprint, stopSprint, startSprint, startSneak, stopSneak, stopSprint}, nil},
		{"first stop exempt", []int32{stopSprint, startSprint, stopSneak, startSneak}, nil},
		{"respawn while sprinting", []int32{startSprint, -1, startSprint}, nil},
		{"death while sneaking", []int32{startSneak, -1, startSneak}, nil},
		{"riding", []int32{startSprint, -2, startSprint}, nil},
		{"double start sprint", []int32{startSprint, startSprint}, []string{"badpackets.sprint_repeat"}},
		{"double stop sprint", []int32{startSprint, stopSprint, stopSprint}, []string{"badpackets.sprint_repeat"}},
		{"double start sneak", []int32{startSneak, startSneak}, []string{"badpackets.sneak_repeat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				var steps []step
				for _, a := range tc.actions {
					switch a {
					case -1:
						steps = append(steps, recvStep(packets.KindRespawn, respawnPacket(proto, 0)))
					case -2:
						if proto < mcproto.Protocol1_9 {
							steps = append(steps, sendStep(packets.KindSteerVehicle, raw{0, 0, 0, 0, 0, 0, 0, 0, 0}))
						} else {
							steps = append(steps, sendStep(packets.KindVehicleMove, packets.VehicleMove{X: 1, Y: 64, Z: 1}))
						}
					default:
						steps = append(steps, act(proto, a))
					}
				}
				got, v := s.run(steps)
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
				}
				if v.Outcome != Pass {
					t.Errorf("%s on %d: %v, want alerts only", tc.name, proto, v.Outcome)
				}
			})
		})
	}
}

func TestMountJumpFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    packets.EntityAction // Action normalized; converted per protocol
		want []string
	}{
		{"horse jump", packets.EntityAction{EntityID: selfID, Action: packets.ActionStartHorseJump, JumpBoost: 100}, nil},
		{"open inventory", packets.EntityAction{EntityID: selfID, Action: packets.ActionOpenInventory}, nil},
		{"other entity", packets.EntityAction{EntityID: 7, Action: packets.ActionStartSprinting}, []string{"badpackets.mount_jump"}},
		{"jump over 100", packets.EntityAction{EntityID: selfID, Action: packets.ActionStartHorseJump, JumpBoost: 101}, []string{"badpackets.mount_jump"}},
		{"negative jump", packets.EntityAction{EntityID: selfID, Action: packets.ActionStartHorseJump, JumpBoost: -1}, []string{"badpackets.mount_jump"}},
		{"boost on sprint", packets.EntityAction{EntityID: selfID, Action: packets.ActionStartSprinting, JumpBoost: 40}, []string{"badpackets.mount_jump"}},
		{"unknown action", packets.EntityAction{EntityID: selfID, Action: 60}, []string{"badpackets.mount_jump"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				a := tc.a
				if a.Action != 60 {
					a.Action = actionID(proto, a.Action)
				}
				v := s.sb(packets.KindEntityAction, a)
				got := s.flagged()
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
				}
				if tc.want != nil && v.Outcome != Drop {
					t.Errorf("%s on %d: %v, want drop", tc.name, proto, v.Outcome)
				}
			})
		})
	}
}

func TestMovementReminder(t *testing.T) {
	type step struct {
		kind packets.Kind
		pk   appender
	}
	look := step{packets.KindPlayerLook, packets.PlayerLook{Yaw: 3, Flags: packets.MoveOnGround}}
	fly := step{packets.KindPlayerOnGround, onGround()}
	position := step{packets.KindPlayerPosition, groundPos(0, 64, 0)}
	steer := step{packets.KindSteerVehicle, raw{0, 0, 0, 0, 0, 0, 0, 0, 0}}
	repeat := func(n int, s ...step) []step {
		var out []step
		for i := 0; i < n; i++ {
			out = append(out, s...)
		}
		return out
	}
	cases := []struct {
		name   string
		protos []int32
		dt     time.Duration // between packets
		steps  []step
		want   bool
	}{
		{"1.8 vanilla: 19 flying, position", []int32{47}, tickDuration, slices.Concat(repeat(5, slices.Concat(repeat(19, fly), []step{position})...)), false},
		{"1.9+ vanilla: 19 looks, position", []int32{340, 754, 765, 769}, tickDuration, repeat(5, slices.Concat(repeat(19, look), []step{position})...), false},
		{"mineflayer catch-up: 22 within a second", []int32{47, 340, 765}, 40 * time.Millisecond, repeat(3, slices.Concat(repeat(22, fly), []step{position})...), false},
		{"no reminder for 5 s (flying)", []int32{47, 340, 754, 765, 769}, tickDuration, repeat(100, fly), true},
		{"no reminder for 5 s (looks)", []int32{47, 340, 754, 765}, tickDuration, repeat(100, look), true},
		{"riding: looks and steering every tick", []int32{47, 340, 754, 765}, tickDuration, repeat(100, look, steer), false},
		{"riding on 1.21.2+: rotations only", []int32{769}, tickDuration, repeat(100, look), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, c.protos, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				for _, st := range c.steps {
					s.advance(c.dt)
					if st.kind == packets.KindSteerVehicle && proto >= mcproto.Protocol1_21_2 {
						continue
					}
					s.sb(st.kind, st.pk)
				}
				if got := s.count("movement.reminder") > 0; got != c.want {
					t.Fatalf("movement.reminder flagged=%v, want %v (%v)", got, c.want, s.rec.keys())
				}
			})
		})
	}
}

func TestMovementReminderResetsOnRespawn(t *testing.T) {
	s := newSession(t, 340, Config{})
	s.spawnAt(0, 64, 0)
	for i := 0; i < 15; i++ {
		s.advance(tickDuration)
		s.sb(packets.KindPlayerOnGround, onGround())
	}
	s.advance(2 * time.Second) // death screen
	s.cb(packets.KindRespawn, packets.Respawn{Middle: make([]byte, 5)})
	for i := 0; i < 15; i++ {
		s.advance(tickDuration)
		s.sb(packets.KindPlayerOnGround, onGround())
	}
	if n := s.count("movement.reminder"); n != 0 {
		t.Fatalf("flagged across a respawn: %v", s.rec.keys())
	}
}

func TestTeleportIgnored(t *testing.T) {
	cfg := enabled("movement.teleport_ignored")
	for _, c := range []struct {
		name    string
		answer  bool
		dead    bool
		wantHit bool
	}{
		{"answered before the probe", true, false, false},
		{"ignored", false, false, true},
		{"right after a death (mineflayer answers late)", false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				if c.dead && proto >= mcproto.Protocol1_9 {
					t.Skip("1.9+ is judged on the confirmation, which mineflayer sends at once")
				}
				s := newSession(t, proto, cfg)
				s.spawnAt(0, 64, 0)
				if c.dead {
					s.cb(packets.KindUpdateHealth, raw{0, 0, 0, 0, 0, 0, 0, 0, 0})
				}
				s.advance(probeInterval)
				s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 7, X: 5, Y: 70, Z: 5})
				if c.answer {
					if proto >= mcproto.Protocol1_9 {
						s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 7})
					}
					s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: 5, Y: 70, Z: 5})
				}
				s.advance(10 * time.Millisecond)
				s.answer(-1)
				if got := s.count("movement.teleport_ignored") > 0; got != c.wantHit {
					t.Fatalf("flagged=%v want %v (%v)", got, c.wantHit, s.rec.keys())
				}
			})
		})
	}
}
