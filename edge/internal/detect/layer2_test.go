package detect

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// l25Protocols are the versions the layer 2 and 5 tests run on: each side
// of the 1.8/1.9, 1.12/1.13, 1.16/1.17, 1.20.2 and 1.21.2 boundaries that
// these checks care about, and the false-positive suite's versions.
var l25Protocols = []int32{47, 340, 754, 765, 769}

// l25EntityID is the player's own entity id in the join the tests send.
const l25EntityID = 4242

// l25Appender is any packet value that encodes itself.
type l25Appender interface {
	AppendData(dst []byte, protocol int32) []byte
}

// l25Raw is packet data given as bytes.
type l25Raw []byte

func (r l25Raw) AppendData(dst []byte, _ int32) []byte { return append(dst, r...) }

// l25Session drives one player through a test with a controlled clock.
type l25Session struct {
	t     *testing.T
	p     *Player
	rec   *recorder
	proto int32
	now   time.Time
	keys  map[string]bool // the keys layers 2 and 5 own
}

// newL25 starts a player on protocol proto that has joined in game mode gm
// and sent one movement packet, so both legs are in play and probes flow.
func newL25(t *testing.T, proto int32, gm uint8, cfg Config) *l25Session {
	t.Helper()
	p, rec := newTestPlayer(t, proto, cfg)
	s := &l25Session{t: t, p: p, rec: rec, proto: proto, now: t0, keys: map[string]bool{}}
	for _, spec := range append(layer2Specs(), layer5Specs()...) {
		s.keys[spec.Key] = true
	}
	s.recv(packets.KindJoinGame, l25Join(proto, gm))
	if !p.self.haveEntityID || p.self.entityID != l25EntityID || p.self.gameMode != gm {
		t.Fatalf("%d: join not decoded: %+v", proto, p.self)
	}
	s.send(packets.KindPlayerOnGround, packets.PlayerOnGround{Flags: packets.MoveOnGround})
	return s
}

// send feeds a client packet in play and returns the verdict.
func (s *l25Session) send(kind packets.Kind, pk l25Appender) Verdict {
	s.t.Helper()
	return s.sendRaw(mcproto.StatePlay, kind, pk.AppendData(nil, s.proto))
}

func (s *l25Session) sendRaw(st mcproto.State, kind packets.Kind, data []byte) Verdict {
	s.t.Helper()
	return s.p.Serverbound(st, kind, data, 0, s.now)
}

// recv feeds a server packet in play.
func (s *l25Session) recv(kind packets.Kind, data []byte) {
	s.p.Clientbound(mcproto.StatePlay, kind, data, s.now)
}

// ack sends a probe and answers it, as a client that has processed
// everything before it would.
func (s *l25Session) ack() {
	s.t.Helper()
	s.now = s.now.Add(probeInterval)
	probe := s.p.Probe(s.now, nil)
	if len(probe) == 0 {
		s.t.Fatalf("%d: no probe to answer", s.proto)
	}
	_, n, err := mcproto.ReadVarInt(probe)
	if err != nil {
		s.t.Fatal(err)
	}
	if s.proto >= 755 {
		ping, err := packets.DecodePing(probe[n:], s.proto)
		if err != nil {
			s.t.Fatal(err)
		}
		s.send(packets.KindPong, packets.Pong{ID: ping.ID})
		return
	}
	tx, err := packets.DecodeTransaction(probe[n:], s.proto)
	if err != nil {
		s.t.Fatal(err)
	}
	tx.Accepted = true
	s.send(packets.KindTransaction, tx)
}

// flagged returns the keys of this family's events so far and forgets them.
func (s *l25Session) flagged() []string {
	var out []string
	for _, e := range s.rec.events {
		if s.keys[e.Check] {
			out = append(out, e.Check)
		}
	}
	s.rec.events = s.rec.events[:0]
	return out
}

// l25Join builds a join game that decodes on proto.
func l25Join(proto int32, gm uint8) []byte {
	j := packets.JoinGame{EntityID: l25EntityID, GameMode: gm, Rest: []byte{0xff, 0, 1}}
	if proto >= mcproto.Protocol1_20_2 {
		m := []byte{1}                                     // one world name
		m = mcproto.AppendString(m, "minecraft:overworld") // the world name
		m = append(m, 20, 10, 8, 0, 1, 0)                  // max players, view, simulation distance, 3 flags
		if proto >= mcproto.Protocol1_20_5 {
			m = append(m, 0) // dimension type registry id
		} else {
			m = mcproto.AppendString(m, "minecraft:overworld")
		}
		m = mcproto.AppendString(m, "minecraft:overworld")
		m = mcproto.AppendInt64(m, 7) // hashed seed
		j.Middle = m
	}
	return j.AppendData(nil, proto)
}

// l25Respawn builds a respawn that decodes on proto.
func l25Respawn(proto int32, gm uint8) []byte {
	var m []byte
	switch {
	case proto < 477:
		m = []byte{0, 0, 0, 0, 1} // overworld, easy
	case proto < 573:
		m = []byte{0, 0, 0, 0}
	case proto < 735:
		m = make([]byte, 12)
	case proto < 751 || proto >= mcproto.Protocol1_19:
		if proto >= mcproto.Protocol1_20_5 {
			m = append(m, 0)
		} else {
			m = mcproto.AppendString(m, "minecraft:overworld")
		}
		m = mcproto.AppendString(m, "minecraft:overworld")
		m = mcproto.AppendInt64(m, 7)
	default: // 1.16.2-1.18.2: the dimension is an NBT compound
		m = []byte{10, 0, 0, 1, 0, 1, 'a', 1, 0}
	}
	return packets.Respawn{Middle: m, GameMode: gm, Rest: []byte{0xff, 0, 0, 1}}.AppendData(nil, proto)
}

// l25GameMode builds a game-state change to game mode gm.
func l25GameMode(gm uint8) []byte {
	return mcproto.AppendFloat32([]byte{gameEventChangeGameMode}, float32(gm))
}

// l25Abilities builds the clientbound abilities packet.
func l25Abilities(flags byte) []byte {
	b := mcproto.AppendFloat32([]byte{flags}, 0.05)
	return mcproto.AppendFloat32(b, 0.1)
}

// l25Item is an item slot on proto: empty, or one item of id 1.
func l25Item(proto int32, present bool) packets.ItemStack {
	var raw []byte
	switch {
	case proto >= mcproto.Protocol1_20_5:
		raw = []byte{0}
		if present {
			raw = []byte{1, 1, 0, 0} // count, id, no components added or removed
		}
	case proto >= 404:
		raw = []byte{0}
		if present {
			raw = []byte{1, 1, 1, 0} // present, id, count, no NBT
		}
	default:
		raw = []byte{0xff, 0xff}
		if present {
			raw = []byte{0, 1, 1}
			if proto < mcproto.Protocol1_13 {
				raw = append(raw, 0, 0) // damage
			}
			raw = append(raw, 0) // no NBT
		}
	}
	return packets.ItemStack{Present: present, Raw: raw}
}

// l25Action is the wire number of a normalized entity action on proto.
func l25Action(proto, action int32) int32 {
	switch {
	case proto < mcproto.Protocol1_9 && action == packets.ActionOpenInventory:
		return 6
	case proto >= 771:
		return action - 2
	}
	return action
}

// l25Step is one thing that happens in a scripted sequence: a client packet,
// a server packet, or a probe answered.
type l25Step struct {
	send    l25Appender
	kind    packets.Kind
	recv    []byte
	ack     bool
	advance time.Duration
}

// run plays steps and returns the flagged keys and the last verdict.
func (s *l25Session) run(steps []l25Step) ([]string, Verdict) {
	s.t.Helper()
	var v Verdict
	for _, st := range steps {
		s.now = s.now.Add(st.advance)
		switch {
		case st.ack:
			s.ack()
		case st.recv != nil:
			s.recv(st.kind, st.recv)
		default:
			v = s.send(st.kind, st.send)
		}
	}
	return s.flagged(), v
}

func l25Send(kind packets.Kind, pk l25Appender) l25Step { return l25Step{kind: kind, send: pk} }
func l25Recv(kind packets.Kind, b []byte) l25Step       { return l25Step{kind: kind, recv: b} }

func l25SlotStep(slot int16) l25Step {
	return l25Send(packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: slot})
}

func TestHeldSlotRepeatsAndRange(t *testing.T) {
	serverSlot := func(proto int32) l25Step { return l25Recv(packets.KindHeldItemSlot, []byte{3}) }
	for _, tc := range []struct {
		name  string
		steps func(proto int32) []l25Step
		want  []string
	}{
		{"scrolling", func(int32) []l25Step {
			return []l25Step{l25SlotStep(3), l25SlotStep(4), l25SlotStep(0), l25SlotStep(8)}
		}, nil},
		{"first packet may repeat our default", func(int32) []l25Step { return []l25Step{l25SlotStep(0)} }, nil},
		{"echo of a server-set slot", func(p int32) []l25Step { return []l25Step{l25SlotStep(3), serverSlot(p), l25SlotStep(3)} }, nil},
		{"after respawn", func(p int32) []l25Step {
			return []l25Step{l25SlotStep(3), l25Recv(packets.KindRespawn, l25Respawn(p, 0)), l25SlotStep(3)}
		}, nil},
		{"repeat", func(int32) []l25Step { return []l25Step{l25SlotStep(3), l25SlotStep(3)} }, []string{"badpackets.same_slot"}},
		{"repeat after echo", func(p int32) []l25Step { return []l25Step{serverSlot(p), l25SlotStep(3), l25SlotStep(3)} }, []string{"badpackets.same_slot"}},
		{"out of range", func(int32) []l25Step { return []l25Step{l25SlotStep(9)} }, []string{"badpackets.slot_range"}},
		{"negative", func(int32) []l25Step { return []l25Step{l25SlotStep(-1)} }, []string{"badpackets.slot_range"}},
	} {
		for _, proto := range l25Protocols {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			got, _ := s.run(tc.steps(proto))
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
			}
		}
	}
}

func TestSameSlotOnlyAlerts(t *testing.T) {
	s := newL25(t, 765, packets.GameModeSurvival, Config{})
	s.send(packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 2})
	if v := s.send(packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 2}); v.Outcome != Pass {
		t.Errorf("same slot: %v, want the packet relayed (alert only)", v.Outcome)
	}
}

func TestSprintAndSneakRepeats(t *testing.T) {
	act := func(proto, a int32) l25Step {
		return l25Send(packets.KindEntityAction, packets.EntityAction{EntityID: l25EntityID, Action: l25Action(proto, a)})
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
		for _, proto := range l25Protocols {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			var steps []l25Step
			for _, a := range tc.actions {
				switch a {
				case -1:
					steps = append(steps, l25Recv(packets.KindRespawn, l25Respawn(proto, 0)))
				case -2:
					if proto < mcproto.Protocol1_9 {
						steps = append(steps, l25Send(packets.KindSteerVehicle, l25Raw{0, 0, 0, 0, 0, 0, 0, 0, 0}))
					} else {
						steps = append(steps, l25Send(packets.KindVehicleMove, packets.VehicleMove{X: 1, Y: 64, Z: 1}))
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
		}
	}
}

func TestMountJumpFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    packets.EntityAction // Action normalized; converted per protocol
		want []string
	}{
		{"horse jump", packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStartHorseJump, JumpBoost: 100}, nil},
		{"open inventory", packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionOpenInventory}, nil},
		{"other entity", packets.EntityAction{EntityID: 7, Action: packets.ActionStartSprinting}, []string{"badpackets.mount_jump"}},
		{"jump over 100", packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStartHorseJump, JumpBoost: 101}, []string{"badpackets.mount_jump"}},
		{"negative jump", packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStartHorseJump, JumpBoost: -1}, []string{"badpackets.mount_jump"}},
		{"boost on sprint", packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStartSprinting, JumpBoost: 40}, []string{"badpackets.mount_jump"}},
		{"unknown action", packets.EntityAction{EntityID: l25EntityID, Action: 60}, []string{"badpackets.mount_jump"}},
	} {
		for _, proto := range l25Protocols {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			a := tc.a
			if a.Action != 60 {
				a.Action = l25Action(proto, a.Action)
			}
			v := s.send(packets.KindEntityAction, a)
			got := s.flagged()
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
			}
			if tc.want != nil && v.Outcome != Drop {
				t.Errorf("%s on %d: %v, want drop", tc.name, proto, v.Outcome)
			}
		}
	}
}

func TestCreativeActionFollowsGameModeThroughTheClock(t *testing.T) {
	type expect struct {
		outcome Outcome
		flagged []string
	}
	flagged := expect{Drop, []string{"crash.creative"}}
	quiet := expect{Drop, nil}
	ok := expect{Pass, nil}
	for _, tc := range []struct {
		name  string
		gm    uint8
		steps func(proto int32) []l25Step // before the creative action
		want  expect
	}{
		{"survival", packets.GameModeSurvival, nil, flagged},
		{"adventure", packets.GameModeAdventure, nil, flagged},
		{"creative from join", packets.GameModeCreative, nil, ok},
		{"becoming creative, not yet acked", packets.GameModeSurvival, func(int32) []l25Step {
			return []l25Step{l25Recv(packets.KindGameStateChange, l25GameMode(packets.GameModeCreative))}
		}, quiet},
		{"becoming creative, acked", packets.GameModeSurvival, func(int32) []l25Step {
			return []l25Step{l25Recv(packets.KindGameStateChange, l25GameMode(packets.GameModeCreative)), {ack: true}}
		}, ok},
		{"leaving creative, not yet acked", packets.GameModeCreative, func(int32) []l25Step {
			return []l25Step{l25Recv(packets.KindGameStateChange, l25GameMode(packets.GameModeSurvival))}
		}, ok},
		{"leaving creative, acked", packets.GameModeCreative, func(int32) []l25Step {
			return []l25Step{l25Recv(packets.KindGameStateChange, l25GameMode(packets.GameModeSurvival)), {ack: true}}
		}, flagged},
		{"respawn into creative, acked", packets.GameModeSurvival, func(p int32) []l25Step {
			return []l25Step{l25Recv(packets.KindRespawn, l25Respawn(p, packets.GameModeCreative)), {ack: true}}
		}, ok},
		{"instabuild ability, acked", packets.GameModeSurvival, func(int32) []l25Step {
			return []l25Step{l25Recv(packets.KindPlayerAbilitiesClientbound, l25Abilities(abilityInstabuild)), {ack: true}}
		}, ok},
		{"a probe answered before the change", packets.GameModeSurvival, func(int32) []l25Step {
			return []l25Step{{ack: true}, l25Recv(packets.KindGameStateChange, l25GameMode(packets.GameModeCreative))}
		}, quiet},
		{"other game events change nothing", packets.GameModeSurvival, func(int32) []l25Step {
			return []l25Step{l25Recv(packets.KindGameStateChange, mcproto.AppendFloat32([]byte{7}, 1)), {ack: true}}
		}, flagged},
	} {
		for _, proto := range l25Protocols {
			s := newL25(t, proto, tc.gm, Config{})
			if tc.steps != nil {
				s.run(tc.steps(proto))
			}
			v := s.send(packets.KindCreativeSlot, packets.CreativeSlot{Slot: 36, Item: l25Item(proto, true)})
			got := s.flagged()
			if v.Outcome != tc.want.outcome || !slices.Equal(got, tc.want.flagged) {
				t.Errorf("%s on %d: %v %v, want %v %v", tc.name, proto, v.Outcome, got, tc.want.outcome, tc.want.flagged)
			}
		}
	}
}

func TestCreativeInFlightIsNotDroppedInAlertMode(t *testing.T) {
	s := newL25(t, 765, packets.GameModeSurvival, Config{Checks: map[string]CheckConfig{"crash.creative": {Mode: ModeAlert}}})
	s.recv(packets.KindGameStateChange, l25GameMode(packets.GameModeCreative))
	if v := s.send(packets.KindCreativeSlot, packets.CreativeSlot{Slot: 36, Item: l25Item(765, true)}); v.Outcome != Pass {
		t.Errorf("alert mode dropped an action: %v", v.Outcome)
	}
}

func TestFlyingNeedsMayFly(t *testing.T) {
	flying := packets.Abilities{Flags: packets.AbilityFlying, FlyingSpeed: 0.05, WalkingSpeed: 0.1}
	for _, tc := range []struct {
		name  string
		gm    uint8
		steps []l25Step
		want  []string
	}{
		{"survival", packets.GameModeSurvival, nil, []string{"badpackets.fly"}},
		{"creative", packets.GameModeCreative, nil, nil},
		{"spectator", packets.GameModeSpectator, nil, nil},
		{"allowed by the server, in flight", packets.GameModeSurvival, []l25Step{l25Recv(packets.KindPlayerAbilitiesClientbound, l25Abilities(abilityMayFly))}, nil},
		{"allowed by the server, acked", packets.GameModeSurvival, []l25Step{l25Recv(packets.KindPlayerAbilitiesClientbound, l25Abilities(abilityMayFly)), {ack: true}}, nil},
		{"revoked, in flight", packets.GameModeCreative, []l25Step{l25Recv(packets.KindGameStateChange, l25GameMode(packets.GameModeSurvival))}, nil},
		{"revoked, acked", packets.GameModeCreative, []l25Step{l25Recv(packets.KindGameStateChange, l25GameMode(packets.GameModeSurvival)), {ack: true}}, []string{"badpackets.fly"}},
	} {
		for _, proto := range l25Protocols {
			s := newL25(t, proto, tc.gm, Config{})
			s.run(tc.steps)
			v := s.send(packets.KindAbilities, flying)
			got := s.flagged()
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
			}
			if tc.want != nil && v.Outcome != Drop {
				t.Errorf("%s on %d: %v, want drop", tc.name, proto, v.Outcome)
			}
			// Landing is never flagged.
			if s.send(packets.KindAbilities, packets.Abilities{}); len(s.flagged()) != 0 {
				t.Errorf("%s on %d: stopping to fly flagged", tc.name, proto)
			}
		}
	}
}

func TestDigFields(t *testing.T) {
	origin := mcproto.Position{}
	block := mcproto.Position{X: 10, Y: 64, Z: -3}
	for _, tc := range []struct {
		name  string
		from  int32 // lowest protocol the case applies to
		until int32 // first protocol it no longer applies to (0: none)
		digs  []packets.BlockDig
		want  []string
	}{
		{"dig a block", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1, Sequence: 1}, {Status: digFinish, Location: block, Face: 1, Sequence: 2}}, nil},
		{"cancel digging", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1, Sequence: 1}, {Status: digAbort, Location: block}}, nil},
		{"mineflayer digs with sequence 0", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1}, {Status: digFinish, Location: block, Face: 1}}, nil},
		{"drop, release, swap", 107, 0, []packets.BlockDig{{Status: digDropOne}, {Status: digDropAll}, {Status: digRelease}, {Status: digSwapHands}}, nil},
		{"mineflayer 1.8 release", 0, 107, []packets.BlockDig{{Status: digRelease, Face: 5}}, nil},
		{"drop away from the origin", 0, 0, []packets.BlockDig{{Status: digDropOne, Location: block}}, []string{"badpackets.dig_fields"}},
		{"release facing up", 107, 0, []packets.BlockDig{{Status: digRelease, Face: 1}}, []string{"badpackets.dig_fields"}},
		{"drop with a sequence", mcproto.Protocol1_19, 0, []packets.BlockDig{{Status: digDropOne, Sequence: 3}}, []string{"badpackets.dig_fields"}},
		{"face 6", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 6, Sequence: 1}}, []string{"badpackets.dig_fields"}},
		{"unknown status", 0, 0, []packets.BlockDig{{Status: 9, Location: origin}}, []string{"badpackets.dig_fields"}},
		{"swap on 1.8", 0, 107, []packets.BlockDig{{Status: digSwapHands}}, []string{"badpackets.dig_fields"}},
		{"negative sequence", mcproto.Protocol1_19, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1, Sequence: -5}}, []string{"crash.negative_sequence"}},
	} {
		for _, proto := range l25Protocols {
			if proto < tc.from || tc.until != 0 && proto >= tc.until {
				continue
			}
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			var v Verdict
			for _, d := range tc.digs {
				v = worse(v, s.send(packets.KindBlockDig, d))
			}
			got := s.flagged()
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
			}
			if tc.want != nil && v.Outcome != Drop {
				t.Errorf("%s on %d: %v, want drop", tc.name, proto, v.Outcome)
			}
		}
	}
}

func TestPredictionSequence(t *testing.T) {
	block := mcproto.Position{X: 1, Y: 64, Z: 1}
	place := func(seq int32) l25Step {
		return l25Send(packets.KindBlockPlace, packets.BlockPlace{Location: block, Face: 1, CursorX: 0.5, CursorY: 1, CursorZ: 0.5, Sequence: seq})
	}
	use := func(seq int32) l25Step { return l25Send(packets.KindUseItem, packets.UseItem{Sequence: seq}) }
	dig := func(status, seq int32) l25Step {
		return l25Send(packets.KindBlockDig, packets.BlockDig{Status: status, Location: block, Face: 1, Sequence: seq})
	}
	enabled := Config{Checks: map[string]CheckConfig{"badpackets.sequence": {Mode: ModeAlert}}}
	for _, tc := range []struct {
		name  string
		cfg   Config
		steps func(proto int32) []l25Step
		want  []string
	}{
		{"vanilla counts up", enabled, func(int32) []l25Step {
			return []l25Step{use(1), place(2), dig(digStart, 3), dig(digAbort, 0), dig(digStart, 4), dig(digFinish, 5)}
		}, nil},
		{"a new world restarts the count", enabled, func(p int32) []l25Step {
			return []l25Step{use(7), l25Recv(packets.KindRespawn, l25Respawn(p, 0)), use(1)}
		}, nil},
		{"skipped", enabled, func(int32) []l25Step { return []l25Step{use(1), place(3)} }, []string{"badpackets.sequence"}},
		{"abort with a sequence", enabled, func(int32) []l25Step { return []l25Step{dig(digAbort, 4)} }, []string{"badpackets.sequence"}},
		{"mineflayer, default config", Config{}, func(int32) []l25Step {
			return []l25Step{use(1), place(0), dig(digStart, 0), dig(digFinish, 0), use(2), place(0)}
		}, nil},
		{"negative, default config", Config{}, func(int32) []l25Step { return []l25Step{place(-1)} }, []string{"crash.negative_sequence"}},
		{"negative abort", Config{}, func(int32) []l25Step { return []l25Step{dig(digAbort, -1)} }, []string{"crash.negative_sequence"}},
	} {
		for _, proto := range []int32{mcproto.Protocol1_19, 765, 769} {
			s := newL25(t, proto, packets.GameModeSurvival, tc.cfg)
			got, _ := s.run(tc.steps(proto))
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
			}
		}
	}
}

func TestUseFields(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name   string
		protos []int32
		kind   packets.Kind
		pk     func(proto int32) l25Appender
		want   []string
	}{
		{"1.8 vanilla item use", []int32{47}, packets.KindBlockPlace, func(p int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: -1, Z: -1}, Face: useItemFace, Item: l25Item(p, true)}
		}, nil},
		{"1.8 mineflayer item use", []int32{47}, packets.KindBlockPlace, func(p int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: 255, Z: -1}, Face: useItemFace, Item: l25Item(p, true),
				CursorX: mineflayerUseCursor, CursorY: mineflayerUseCursor, CursorZ: mineflayerUseCursor}
		}, nil},
		{"1.8 placement", []int32{47}, packets.KindBlockPlace, func(p int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, Item: l25Item(p, false), CursorX: 0.5, CursorY: 1, CursorZ: 0.5}
		}, nil},
		{"placement", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, Hand: packets.HandOff, CursorX: 0.5, CursorY: 1, CursorZ: 0.5}
		}, nil},
		{"item use", []int32{340, 754, 765, 769}, packets.KindUseItem, func(int32) l25Appender { return packets.UseItem{Hand: packets.HandOff, Sequence: 1} }, nil},
		{"1.8 item use elsewhere", []int32{47}, packets.KindBlockPlace, func(p int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 5, Y: 5, Z: 5}, Face: useItemFace, Item: l25Item(p, true)}
		}, []string{"badpackets.use_fields"}},
		{"1.8 item use with a cursor", []int32{47}, packets.KindBlockPlace, func(p int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: -1, Z: -1}, Face: useItemFace, Item: l25Item(p, true), CursorX: 0.5}
		}, []string{"badpackets.use_fields"}},
		{"1.8 item use with an empty hand", []int32{47}, packets.KindBlockPlace, func(p int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: -1, Z: -1}, Face: useItemFace, Item: l25Item(p, false)}
		}, []string{"badpackets.use_fields"}},
		{"1.8 face 9", []int32{47}, packets.KindBlockPlace, func(p int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 9, Item: l25Item(p, false)}
		}, []string{"badpackets.use_fields"}},
		{"hand 2", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, Hand: 2, CursorX: 0.5}
		}, []string{"badpackets.use_fields"}},
		{"face -1", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: -1}
		}, []string{"badpackets.use_fields"}},
		{"NaN cursor", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) l25Appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, CursorX: nan}
		}, []string{"badpackets.use_fields"}},
		{"item use with hand 5", []int32{340, 754, 765, 769}, packets.KindUseItem, func(int32) l25Appender { return packets.UseItem{Hand: 5} }, []string{"badpackets.use_fields"}},
	} {
		for _, proto := range tc.protos {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			v := s.send(tc.kind, tc.pk(proto))
			got := s.flagged()
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
			}
			if v.Outcome != Pass {
				t.Errorf("%s on %d: %v, want alert only", tc.name, proto, v.Outcome)
			}
		}
	}
}

// l25Click builds a window click that decodes on proto.
func l25Click(proto int32, slot int16, button int8, mode int32) packets.WindowClick {
	c := packets.WindowClick{WindowID: 1, StateID: 5, Slot: slot, Button: button, Mode: mode, Action: 3}
	if proto < 755 {
		c.Item = l25Item(proto, false)
	} else {
		c.Rest = []byte{0, 0} // no changed slots, empty cursor
	}
	return c
}

func TestClickFields(t *testing.T) {
	for _, tc := range []struct {
		name               string
		slot               int16
		button             int8
		mode               int32
		bad                bool
		configuredMaxSlots float64
	}{
		{"pickup", 5, 0, 0, false, 0},
		{"right-click pickup", 44, 1, 0, false, 0},
		{"quick move", 10, 0, 1, false, 0},
		{"hotbar swap", 10, 3, 2, false, 0},
		{"off-hand swap", 10, 40, 2, false, 0},
		{"clone outside", slotOutside, 2, 3, false, 0},
		{"throw", 20, 1, 4, false, 0},
		{"drop outside", slotOutside, 0, 4, false, 0},
		{"quick craft start", slotOutside, 0, 5, false, 0},
		{"quick craft slot", 12, 1, 5, false, 0},
		{"pickup all", 12, 0, 6, false, 0},
		{"no slot", slotNone, 0, 0, false, 0},
		{"double chest, last slot", 89, 0, 0, false, 0},
		{"modded chest with a raised limit", 140, 0, 0, false, 200},
		{"mode 7", 5, 0, 7, true, 0},
		{"negative mode", 5, 0, -1, true, 0},
		{"quick move with a negative button", 5, -1, 1, true, 0},
		{"swap with a negative button", 5, -3, 2, true, 0},
		{"swap from outside", slotOutside, 0, 2, true, 0},
		{"slot 128", 128, 0, 0, true, 0},
		{"slot -5", -5, 0, 0, true, 0},
		{"slot 32767", math.MaxInt16, 0, 0, true, 0},
	} {
		for _, proto := range l25Protocols {
			cfg := Config{}
			if tc.configuredMaxSlots != 0 {
				cfg.Checks = map[string]CheckConfig{"crash.click_fields": {Params: map[string]float64{"max_slot": tc.configuredMaxSlots}}}
			}
			s := newL25(t, proto, packets.GameModeSurvival, cfg)
			v := s.send(packets.KindWindowClick, l25Click(proto, tc.slot, tc.button, tc.mode))
			got := s.flagged()
			if tc.bad && (!slices.Equal(got, []string{"crash.click_fields"}) || v.Outcome != Drop) {
				t.Errorf("%s on %d: %v %v, want crash.click_fields and a drop", tc.name, proto, v.Outcome, got)
			}
			if !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
				t.Errorf("%s on %d: %v %v, want nothing", tc.name, proto, v.Outcome, got)
			}
		}
	}
}

// l25BrandChannel is the brand channel's name on proto.
func l25BrandChannel(proto int32) []byte {
	if proto < mcproto.Protocol1_13 {
		return []byte("MC|Brand")
	}
	return []byte("minecraft:brand")
}

func TestClientBrand(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		bad  bool
	}{
		{"vanilla", mcproto.AppendString(nil, "vanilla"), false},
		{"fabric", mcproto.AppendString(nil, "fabric"), false},
		{"64 bytes", mcproto.AppendString(nil, strings.Repeat("b", 64)), false},
		{"65 bytes", mcproto.AppendString(nil, strings.Repeat("b", 65)), true},
		{"empty", mcproto.AppendString(nil, ""), true},
		{"no payload", nil, true},
		{"no length prefix", []byte("vanilla"), true},
		{"trailing bytes", append(mcproto.AppendString(nil, "vanilla"), 0), true},
	} {
		for _, proto := range l25Protocols {
			states := []mcproto.State{mcproto.StatePlay}
			if proto >= mcproto.Protocol1_20_2 {
				states = append(states, mcproto.StateConfiguration)
			}
			for _, st := range states {
				s := newL25(t, proto, packets.GameModeSurvival, Config{})
				msg := packets.PluginMessage{Channel: l25BrandChannel(proto), Data: tc.data}
				v := s.sendRaw(st, packets.KindPluginMessage, msg.AppendData(nil, proto))
				got := s.flagged()
				if tc.bad != slices.Equal(got, []string{"client.brand"}) || !tc.bad && len(got) != 0 {
					t.Errorf("%s on %d in %v: flagged %v", tc.name, proto, st, got)
				}
				if v.Outcome != Pass {
					t.Errorf("%s on %d: %v, want alert only", tc.name, proto, v.Outcome)
				}
			}
		}
	}
}

func TestViewDistance(t *testing.T) {
	for _, tc := range []struct {
		vd  int8
		bad bool
	}{{12, false}, {2, false}, {32, false}, {1, true}, {0, true}, {-8, true}} {
		for _, proto := range l25Protocols {
			states := []mcproto.State{mcproto.StatePlay}
			if proto >= mcproto.Protocol1_20_2 {
				states = append(states, mcproto.StateConfiguration)
			}
			for _, st := range states {
				s := newL25(t, proto, packets.GameModeSurvival, Config{})
				sent := packets.ClientSettings{Locale: []byte("de_de"), ViewDistance: tc.vd, ChatMode: 1, ChatColors: true, SkinParts: 0x5f, MainHand: 0}
				v := s.sendRaw(st, packets.KindClientSettings, sent.AppendData(nil, proto))
				got := s.flagged()
				if tc.bad != slices.Equal(got, []string{"crash.view_distance"}) || !tc.bad && len(got) != 0 {
					t.Errorf("view distance %d on %d in %v: flagged %v", tc.vd, proto, st, got)
				}
				if !tc.bad {
					if v.Outcome != Pass {
						t.Errorf("view distance %d on %d in %v: %v, want pass", tc.vd, proto, st, v.Outcome)
					}
					continue
				}
				if v.Outcome != Rewrite {
					t.Fatalf("view distance %d on %d in %v: %v, want rewrite", tc.vd, proto, st, v.Outcome)
				}
				// The replacement is the same packet with only the view
				// distance clamped.
				id, n, err := mcproto.ReadVarInt(v.Packet)
				if want := packets.Lookup(proto).ID(st, mcproto.Serverbound, packets.KindClientSettings); err != nil || id != want {
					t.Fatalf("rewritten packet id %#x (%v), want %#x", id, err, want)
				}
				back, err := packets.DecodeClientSettings(v.Packet[n:], proto)
				want := sent
				want.ViewDistance = 2
				if err != nil || !bytes.Equal(back.AppendData(nil, proto), want.AppendData(nil, proto)) {
					t.Errorf("view distance %d on %d in %v: rewritten to %+v (%v), want %+v", tc.vd, proto, st, back, err, want)
				}
			}
		}
	}
}

// TestViewDistanceActions: an operator's choice of action wins over the
// clamp, and only checks that can correct their packet take rewrite.
func TestViewDistanceActions(t *testing.T) {
	dropAction, rewriteAction := detection.ActionDrop, detection.ActionRewrite
	for _, tc := range []struct {
		name string
		cc   CheckConfig
		want Outcome
	}{
		{"alert mode relays it unchanged", CheckConfig{Mode: ModeAlert}, Pass},
		{"drop instead of clamping", CheckConfig{Mode: ModeEnforce, Action: &dropAction}, Drop},
		{"off", CheckConfig{Mode: ModeOff}, Pass},
	} {
		s := newL25(t, mcproto.Protocol1_12_2, packets.GameModeSurvival, Config{Checks: map[string]CheckConfig{"crash.view_distance": tc.cc}})
		v := s.send(packets.KindClientSettings, packets.ClientSettings{Locale: []byte("en_us"), ViewDistance: 1, MainHand: 1})
		if v.Outcome != tc.want || v.Outcome != Rewrite && v.Packet != nil {
			t.Errorf("%s: %v (packet %x), want %v", tc.name, v.Outcome, v.Packet, tc.want)
		}
	}
	_, err := New(Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Action: &rewriteAction}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "badpackets.invalid_pitch.action") {
		t.Errorf("rewrite for a check that cannot correct its packet: %v, want refused", err)
	}
}

func TestAnvilNameBefore113(t *testing.T) {
	for _, tc := range []struct {
		proto int32
		data  []byte
		bad   bool
	}{
		{47, mcproto.AppendString(nil, strings.Repeat("x", 30)), false},
		{47, mcproto.AppendString(nil, strings.Repeat("é", 30)), false}, // chars, not bytes
		{47, nil, false}, // clears the name
		{47, mcproto.AppendString(nil, strings.Repeat("x", 31)), true},
		{47, []byte{0x80}, true}, // not a string
		{340, mcproto.AppendString(nil, strings.Repeat("x", 35)), false},
		{340, mcproto.AppendString(nil, strings.Repeat("x", 36)), true},
		{316, mcproto.AppendString(nil, strings.Repeat("x", 31)), false},
		{316, mcproto.AppendString(nil, strings.Repeat("x", 32)), true},
	} {
		s := newL25(t, tc.proto, packets.GameModeSurvival, Config{})
		v := s.send(packets.KindPluginMessage, packets.PluginMessage{Channel: []byte(legacyAnvilChannel), Data: tc.data})
		got := s.flagged()
		if tc.bad && (!slices.Equal(got, []string{"crash.anvil_name"}) || v.Outcome != Drop) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
			t.Errorf("%d %q: %v %v, want bad=%v", tc.proto, tc.data, v.Outcome, got, tc.bad)
		}
	}
}

func TestAnvilNameFrom113(t *testing.T) {
	for _, tc := range []struct {
		proto int32
		name  string
		want  []string
	}{
		{mcproto.Protocol1_13, strings.Repeat("x", 35), nil},
		{mcproto.Protocol1_13, strings.Repeat("x", 36), []string{"crash.anvil_name"}},
		{754, strings.Repeat("é", 35), nil}, // 1.16.5: chars, not bytes
		{754, strings.Repeat("x", 36), []string{"crash.anvil_name"}},
		{755, strings.Repeat("x", 50), nil}, // 1.17: 50
		{765, strings.Repeat("x", 51), []string{"crash.anvil_name"}},
		{769, "", nil}, // clears the name
		{769, "😀" + strings.Repeat("x", 48), nil},                          // 50 UTF-16 units
		{769, "😀" + strings.Repeat("x", 49), []string{"crash.anvil_name"}}, // 51
		{769, "${jndi:ldap://x}", []string{"chat.lookup_string"}},
	} {
		s := newL25(t, tc.proto, packets.GameModeSurvival, Config{})
		v := s.send(packets.KindNameItem, packets.NameItem{Name: []byte(tc.name)})
		got := s.flagged()
		if !slices.Equal(got, tc.want) || tc.want == nil && v.Outcome != Pass || tc.want != nil && v.Outcome != Drop {
			t.Errorf("%d %q: %v %v, want %v and a drop", tc.proto, tc.name, v.Outcome, got, tc.want)
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
		for _, proto := range l25Protocols[1:] { // vehicle moves exist since 1.9
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			v := s.send(packets.KindVehicleMove, tc.vm)
			if got := s.flagged(); !slices.Equal(got, tc.want) || tc.want != nil && v.Outcome != Kick {
				t.Errorf("%s on %d: %v %v, want %v", tc.name, proto, v.Outcome, got, tc.want)
			}
		}
	}
	for _, proto := range l25Protocols {
		s := newL25(t, proto, packets.GameModeSurvival, Config{})
		v := s.send(packets.KindPlayerPosition, packets.PlayerPosition{X: math.Inf(1), Y: 64, Z: 0})
		if got := s.flagged(); v.Outcome != Kick || !slices.Equal(got, []string{"crash.move_non_finite"}) {
			t.Errorf("%d: %v %v", proto, v.Outcome, got)
		}
		s = newL25(t, proto, packets.GameModeSurvival, Config{})
		v = s.send(packets.KindPlayerPosition, packets.PlayerPosition{X: 3e7, Y: 64, Z: 0})
		if got := s.flagged(); v.Outcome != Kick || !slices.Equal(got, []string{"crash.move_out_of_world"}) {
			t.Errorf("%d: %v %v", proto, v.Outcome, got)
		}
	}
}

// TestHonestSessionFlagsNothing plays what a mineflayer bot does in the
// false-positive suite (join, settings, brand, walking, sprinting, jumping,
// looking, hotbar, fighting, digging, placing, eating, inventory clicks,
// chat and commands at human pace) on every protocol and expects no flag
// from layers 2 and 5.
func TestHonestSessionFlagsNothing(t *testing.T) {
	for _, proto := range l25Protocols {
		s := newL25(t, proto, packets.GameModeSurvival, Config{})
		var steps []l25Step
		add := func(d time.Duration, kind packets.Kind, pk l25Appender) {
			steps = append(steps, l25Step{advance: d, kind: kind, send: pk})
		}
		add(0, packets.KindClientSettings, packets.ClientSettings{Locale: []byte("en_US"), ViewDistance: 12, ChatColors: true, SkinParts: 0x7f, MainHand: 1})
		add(0, packets.KindPluginMessage, packets.PluginMessage{Channel: l25BrandChannel(proto), Data: mcproto.AppendString(nil, "vanilla")})
		steps = append(steps, l25Recv(packets.KindHeldItemSlot, []byte{0}), l25Recv(packets.KindPlayerAbilitiesClientbound, l25Abilities(0)))
		add(0, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 0}) // mineflayer echoes the server's slot
		for i := 0; i < 40; i++ {
			add(50*time.Millisecond, packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: float64(i) * 0.2, Y: 64, Z: 0, Yaw: float32(i * 9), Pitch: float32(i%30) - 15, Flags: packets.MoveOnGround})
			switch i {
			case 5:
				add(0, packets.KindEntityAction, packets.EntityAction{EntityID: l25EntityID, Action: l25Action(proto, packets.ActionStartSprinting)})
			case 15:
				add(0, packets.KindEntityAction, packets.EntityAction{EntityID: l25EntityID, Action: l25Action(proto, packets.ActionStopSprinting)})
			case 20:
				add(0, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 1})
				add(0, packets.KindUseEntity, packets.UseEntity{Target: 99, Type: packets.InteractAttack})
				add(0, packets.KindArmAnimation, packets.ArmAnimation{})
			case 25:
				block := mcproto.Position{X: 2, Y: 63, Z: 0}
				add(0, packets.KindBlockDig, packets.BlockDig{Status: digStart, Location: block, Face: 1})
				add(0, packets.KindBlockDig, packets.BlockDig{Status: digFinish, Location: block, Face: 1})
				add(0, packets.KindBlockPlace, packets.BlockPlace{Location: block, Face: 1, Item: l25Item(proto, true), CursorX: 0.5, CursorY: 1, CursorZ: 0.5})
			case 30:
				if proto >= mcproto.Protocol1_9 {
					add(0, packets.KindUseItem, packets.UseItem{Sequence: 1})
					add(0, packets.KindBlockDig, packets.BlockDig{Status: digRelease})
				} else {
					add(0, packets.KindBlockPlace, packets.BlockPlace{Location: mcproto.Position{X: -1, Y: 255, Z: -1}, Face: useItemFace, Item: l25Item(proto, true),
						CursorX: mineflayerUseCursor, CursorY: mineflayerUseCursor, CursorZ: mineflayerUseCursor})
					add(0, packets.KindBlockDig, packets.BlockDig{Status: digRelease, Face: 5})
				}
			case 35:
				add(0, packets.KindWindowClick, l25Click(proto, 36, 0, 0))
				add(100*time.Millisecond, packets.KindWindowClick, l25Click(proto, 40, 0, 0))
				add(0, packets.KindCloseWindow, packets.CloseWindow{WindowID: 1})
			}
		}
		// Chat and commands at human pace, the way mineflayer sends them.
		steps = append(steps, l25Step{advance: time.Second, kind: packets.KindChat, send: l25Chat(proto, "hello 1a2b3c")})
		steps = append(steps, l25CommandStep(proto, "/help", time.Second))
		steps = append(steps, l25Step{kind: packets.KindTabComplete, send: packets.TabComplete{Text: []byte("/")}})
		steps = append(steps, l25Step{advance: 2 * time.Second, kind: packets.KindChat, send: l25Chat(proto, "bye")})
		got, v := s.run(steps)
		if len(got) != 0 || v.Outcome != Pass {
			t.Errorf("%d: honest session flagged %v (%v)", proto, got, v.Outcome)
		}
	}
}

// BenchmarkLayer2Hot measures the engine on the packets a playing client
// sends most (movement, rotation, swings, sprint toggles, hotbar), with
// every layer 2 and 5 check enabled (experimental ones too) and the other
// families' checks off, so it measures this family plus the engine.
func BenchmarkLayer2Hot(b *testing.B) {
	mine := map[string]bool{}
	for _, spec := range append(layer2Specs(), layer5Specs()...) {
		mine[spec.Key] = true
	}
	checks := map[string]CheckConfig{}
	for _, spec := range allSpecs() {
		checks[spec.Key] = CheckConfig{Mode: ModeOff}
		if mine[spec.Key] {
			checks[spec.Key] = CheckConfig{Mode: ModeAlert}
		}
	}
	p, rec := newTestPlayer(b, 765, Config{Checks: checks})
	p.Clientbound(mcproto.StatePlay, packets.KindJoinGame, l25Join(765, 0), t0)
	type pkt struct {
		kind packets.Kind
		data []byte
	}
	var mix []pkt
	for i := 0; i < 20; i++ {
		mix = append(mix, pkt{packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: float64(i), Y: 64, Yaw: float32(i), Flags: packets.MoveOnGround}.AppendData(nil, 765)})
		mix = append(mix, pkt{packets.KindPlayerPosition, packets.PlayerPosition{X: float64(i), Y: 64, Flags: packets.MoveOnGround}.AppendData(nil, 765)})
		mix = append(mix, pkt{packets.KindArmAnimation, packets.ArmAnimation{}.AppendData(nil, 765)})
	}
	mix = append(mix,
		pkt{packets.KindEntityAction, packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStartSprinting}.AppendData(nil, 765)},
		pkt{packets.KindEntityAction, packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStopSprinting}.AppendData(nil, 765)},
		pkt{packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 1}.AppendData(nil, 765)},
		pkt{packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 2}.AppendData(nil, 765)},
	)
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := mix[i%len(mix)]
		now = now.Add(20 * time.Millisecond)
		p.Serverbound(mcproto.StatePlay, m.kind, m.data, 0, now)
	}
	b.StopTimer()
	if len(rec.events) != 0 {
		b.Fatalf("honest packets flagged: %v", rec.keys())
	}
}

// BenchmarkLayer2Only measures the family hooks alone on a decoded packet.
func BenchmarkLayer2Only(b *testing.B) {
	p, _ := newTestPlayer(b, 765, Config{})
	pk := serverPacket{kind: packets.KindPlayerPositionLook, now: t0, move: move{x: 1, y: 64, z: 1, yaw: 3, pitch: 4, hasPos: true, hasLook: true}}
	act := serverPacket{kind: packets.KindEntityAction, now: t0, action: packets.EntityAction{Action: packets.ActionStartSprinting}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.l2.serverbound(p, &pk)
		p.l5.serverbound(p, &pk)
		act.action.Action = packets.ActionStartSprinting + int32(i&1)
		p.l2.serverbound(p, &act)
	}
}

func TestHotPathAllocatesNothing(t *testing.T) {
	s := newL25(t, 765, packets.GameModeSurvival, Config{})
	moves := packets.PlayerPositionLook{X: 1, Y: 64, Z: 1, Yaw: 5, Pitch: 5, Flags: packets.MoveOnGround}.AppendData(nil, 765)
	sprint := [2][]byte{
		packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStartSprinting}.AppendData(nil, 765),
		packets.EntityAction{EntityID: l25EntityID, Action: packets.ActionStopSprinting}.AppendData(nil, 765),
	}
	slot := [2][]byte{packets.HeldItemSlot{Slot: 1}.AppendData(nil, 765), packets.HeldItemSlot{Slot: 2}.AppendData(nil, 765)}
	vehicle := packets.VehicleMove{X: 1, Y: 62, Z: 1, Yaw: 90}.AppendData(nil, 765)
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		i++
		s.now = s.now.Add(10 * time.Millisecond)
		s.p.Serverbound(mcproto.StatePlay, packets.KindPlayerPositionLook, moves, 0, s.now)
		s.p.Serverbound(mcproto.StatePlay, packets.KindEntityAction, sprint[i&1], 0, s.now)
		s.p.Serverbound(mcproto.StatePlay, packets.KindHeldItemSlot, slot[i&1], 0, s.now)
		s.p.Serverbound(mcproto.StatePlay, packets.KindVehicleMove, vehicle, 0, s.now)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round of hot packets", allocs)
	}
	if got := s.flagged(); len(got) != 0 {
		t.Errorf("flagged %v", got)
	}
}
