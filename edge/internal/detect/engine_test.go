package detect

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func TestRegistryKeysAreUniqueAndDescribed(t *testing.T) {
	e, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range e.Specs() {
		if s.Description == "" {
			t.Errorf("%s has no description", s.Key)
		}
		if !detection.ValidKey(s.Key) {
			t.Errorf("%q is not a valid key", s.Key)
		}
		if s.Action == detection.ActionRewrite && !s.Rewrites {
			t.Errorf("%s rewrites by default but has no rewrite", s.Key)
		}
	}
}

func TestConfigIsValidatedAgainstTheRegistry(t *testing.T) {
	for name, cfg := range map[string]Config{
		"unknown key":   {Checks: map[string]CheckConfig{"no.such_check": {Mode: ModeAlert}}},
		"unknown param": {Checks: map[string]CheckConfig{"flood.packets": {Params: map[string]float64{"speed": 1}}}},
	} {
		if _, err := New(cfg, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAlertModeNeverDropsOrKicks(t *testing.T) {
	p, rec := newTestPlayer(t, 765, Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Mode: ModeAlert}}})
	bad := packets.PlayerLook{Pitch: -120}.AppendData(nil, 765)
	for i := 0; i < 10; i++ {
		if v := p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, bad, 0, t0); v.Outcome != Pass {
			t.Fatalf("alert mode returned %v", v.Outcome)
		}
	}
	if len(rec.events) != 10 || rec.events[0].Action != detection.ActionAlert {
		t.Errorf("want 10 alerts, got %v", rec.keys())
	}
}

func TestMalformedPlayPacketKicks(t *testing.T) {
	p, rec := newTestPlayer(t, 765, Config{})
	v := p.Serverbound(mcproto.StatePlay, packets.KindPlayerPosition, []byte{1, 2, 3}, 0, t0)
	if v.Outcome != Kick || len(rec.events) != 1 || rec.events[0].Check != "frame.size" {
		t.Errorf("truncated position: %v %v", v, rec.keys())
	}
}

func TestProbesAreInjectedAndTheirAnswersSwallowed(t *testing.T) {
	for _, protocol := range []int32{47, 340, 754, 755, 765, 769, 774} {
		p, rec := newTestPlayer(t, protocol, Config{})
		table := packets.Lookup(protocol)
		// Nothing before both legs are in play.
		if got := p.Probe(t0, nil); len(got) != 0 {
			t.Fatalf("%d: probe before play", protocol)
		}
		p.Clientbound(mcproto.StatePlay, packets.KindKeepAlive, packets.KeepAlive{ID: 1}.AppendData(nil, protocol), t0)
		p.Serverbound(mcproto.StatePlay, packets.KindPlayerOnGround, packets.PlayerOnGround{Flags: packets.MoveOnGround}.AppendData(nil, protocol), 0, t0)
		probe := p.Probe(t0, nil)
		if len(probe) == 0 {
			t.Fatalf("%d: no probe in play", protocol)
		}
		if again := p.Probe(t0.Add(10*time.Millisecond), nil); len(again) != 0 {
			t.Fatalf("%d: second probe within the interval", protocol)
		}
		id, n, _ := mcproto.ReadVarInt(probe)
		var answer []byte
		var kind packets.Kind
		if protocol >= 755 {
			if id != table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindPing) {
				t.Fatalf("%d: probe id %#x is not Ping", protocol, id)
			}
			ping, err := packets.DecodePing(probe[n:], protocol)
			if err != nil {
				t.Fatal(err)
			}
			kind, answer = packets.KindPong, packets.Pong{ID: ping.ID}.AppendData(nil, protocol)
		} else {
			if id != table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindTransaction) {
				t.Fatalf("%d: probe id %#x is not a window confirmation", protocol, id)
			}
			tx, err := packets.DecodeTransaction(probe[n:], protocol)
			if err != nil || tx.Accepted {
				t.Fatalf("%d: probe %+v %v", protocol, tx, err)
			}
			tx.Accepted = true
			kind, answer = packets.KindTransaction, tx.AppendData(nil, protocol)
		}
		v := p.Serverbound(mcproto.StatePlay, kind, answer, 0, t0.Add(40*time.Millisecond))
		if v.Outcome != Drop {
			t.Errorf("%d: answer to our probe: %v, want it dropped (never relayed)", protocol, v.Outcome)
		}
		if p.Ping() != 40*time.Millisecond {
			t.Errorf("%d: ping = %v, want 40ms", protocol, p.Ping())
		}
		if len(rec.events) != 0 {
			t.Errorf("%d: honest answer flagged %v", protocol, rec.keys())
		}
		// A backend's own probe answer is relayed untouched.
		if protocol >= 755 {
			if v := p.Serverbound(mcproto.StatePlay, packets.KindPong, packets.Pong{ID: -5}.AppendData(nil, protocol), 0, t0); v.Outcome != Pass {
				t.Errorf("%d: the backend's pong was %v", protocol, v.Outcome)
			}
		}
	}
}

func TestDetectionsAreCountedByCheckAndAction(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(Config{}, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	p := e.NewPlayer(PlayerInfo{Protocol: 47})
	p.Serverbound(mcproto.StatePlay, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 12}.AppendData(nil, 47), 0, t0)
	if got := testutil.ToFloat64(e.detections.WithLabelValues("badpackets.slot_range", "kick")); got != 1 {
		t.Errorf("rustguard_edge_detections_total{check=badpackets.slot_range,action=kick} = %v", got)
	}
}

// TestConfiguredRateParamsApply pins that a rate check reads the configured
// rate and window, not its defaults (they are resolved once in New).
func TestConfiguredRateParamsApply(t *testing.T) {
	count := func(cfg Config) int {
		p, rec := newTestPlayer(t, 765, cfg)
		ground := packets.PlayerOnGround{Flags: packets.MoveOnGround}.AppendData(nil, 765)
		for range 20 {
			p.Serverbound(mcproto.StatePlay, packets.KindPlayerOnGround, ground, 0, t0)
		}
		n := 0
		for _, k := range rec.keys() {
			if k == "flood.packets" {
				n++
			}
		}
		return n
	}
	if n := count(Config{}); n != 0 {
		t.Fatalf("20 packets against the default 500/s × 7 s: %d flood.packets events, want 0", n)
	}
	tight := Config{Checks: map[string]CheckConfig{"flood.packets": {Mode: ModeAlert, Params: map[string]float64{"rate": 5, "window_seconds": 1}}}}
	if n := count(tight); n != 15 {
		t.Fatalf("20 packets against 5/s × 1 s: %d flood.packets events, want 15", n)
	}
}

// TestHonestSessionFlagsNothing plays what a mineflayer bot does in the
// false-positive suite (join, settings, brand, walking, sprinting, jumping,
// looking, hotbar, fighting, digging, placing, eating, inventory clicks,
// chat and commands at human pace) on every protocol and expects no flag
// from layers 2 and 5.
func TestHonestSessionFlagsNothing(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		var steps []step
		add := func(d time.Duration, kind packets.Kind, pk appender) {
			steps = append(steps, step{advance: d, kind: kind, send: pk})
		}
		add(0, packets.KindClientSettings, packets.ClientSettings{Locale: []byte("en_US"), ViewDistance: 12, ChatColors: true, SkinParts: 0x7f, MainHand: 1})
		add(0, packets.KindPluginMessage, packets.PluginMessage{Channel: brandChannel(proto), Data: mcproto.AppendString(nil, "vanilla")})
		steps = append(steps, recvStep(packets.KindHeldItemSlot, []byte{0}), recvStep(packets.KindPlayerAbilitiesClientbound, abilitiesPacket(0)))
		add(0, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 0}) // mineflayer echoes the server's slot
		for i := 0; i < 40; i++ {
			add(50*time.Millisecond, packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: float64(i) * 0.2, Y: 64, Z: 0, Yaw: float32(i * 9), Pitch: float32(i%30) - 15, Flags: packets.MoveOnGround})
			switch i {
			case 5:
				add(0, packets.KindEntityAction, packets.EntityAction{EntityID: selfID, Action: actionID(proto, packets.ActionStartSprinting)})
			case 15:
				add(0, packets.KindEntityAction, packets.EntityAction{EntityID: selfID, Action: actionID(proto, packets.ActionStopSprinting)})
			case 20:
				add(0, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 1})
				// Vanilla swings first on 1.8, after the attack since 1.9.
				if proto < mcproto.Protocol1_9 {
					add(0, packets.KindArmAnimation, packets.ArmAnimation{})
				}
				add(0, packets.KindUseEntity, packets.UseEntity{Target: 99, Type: packets.InteractAttack})
				if proto >= mcproto.Protocol1_9 {
					add(0, packets.KindArmAnimation, packets.ArmAnimation{})
				}
			case 25:
				block := mcproto.Position{X: 2, Y: 63, Z: 0}
				add(0, packets.KindBlockDig, packets.BlockDig{Status: digStart, Location: block, Face: 1})
				add(0, packets.KindBlockDig, packets.BlockDig{Status: digFinish, Location: block, Face: 1})
				add(0, packets.KindBlockPlace, packets.BlockPlace{Location: block, Face: 1, Item: itemStack(proto, true), CursorX: 0.5, CursorY: 1, CursorZ: 0.5})
			case 30:
				if proto >= mcproto.Protocol1_9 {
					add(0, packets.KindUseItem, packets.UseItem{Sequence: 1})
					add(0, packets.KindBlockDig, packets.BlockDig{Status: digRelease})
				} else {
					add(0, packets.KindBlockPlace, packets.BlockPlace{Location: mcproto.Position{X: -1, Y: 255, Z: -1}, Face: useItemFace, Item: itemStack(proto, true),
						CursorX: mineflayerUseCursor, CursorY: mineflayerUseCursor, CursorZ: mineflayerUseCursor})
					add(0, packets.KindBlockDig, packets.BlockDig{Status: digRelease, Face: 5})
				}
			case 35:
				steps = append(steps, recvStep(packets.KindOpenWindow, openWindowPacket(proto, 1)))
				add(0, packets.KindWindowClick, clickPacket(proto, 36, 0, 0))
				add(100*time.Millisecond, packets.KindWindowClick, clickPacket(proto, 40, 0, 0))
				add(0, packets.KindCloseWindow, packets.CloseWindow{WindowID: 1})
			}
		}
		// Chat and commands at human pace, the way mineflayer sends them.
		steps = append(steps, step{advance: time.Second, kind: packets.KindChat, send: chatPacket(proto, "hello 1a2b3c")})
		steps = append(steps, commandStep(proto, "/help", time.Second))
		steps = append(steps, step{kind: packets.KindTabComplete, send: packets.TabComplete{Text: []byte("/")}})
		steps = append(steps, step{advance: 2 * time.Second, kind: packets.KindChat, send: chatPacket(proto, "bye")})
		got, v := s.run(steps)
		if len(got) != 0 || v.Outcome != Pass {
			t.Errorf("%d: honest session flagged %v (%v)", proto, got, v.Outcome)
		}
	})
}

func TestHotPathAllocatesNothing(t *testing.T) {
	s := newPlaying(t, 765, packets.GameModeSurvival, Config{})
	moves := packets.PlayerPositionLook{X: 1, Y: 64, Z: 1, Yaw: 5, Pitch: 5, Flags: packets.MoveOnGround}.AppendData(nil, 765)
	sprint := [2][]byte{
		packets.EntityAction{EntityID: selfID, Action: packets.ActionStartSprinting}.AppendData(nil, 765),
		packets.EntityAction{EntityID: selfID, Action: packets.ActionStopSprinting}.AppendData(nil, 765),
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
