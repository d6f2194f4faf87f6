package detect

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// streamPacket is one packet of a recorded-like play stream.
type streamPacket struct {
	dir  mcproto.Direction
	kind packets.Kind
	data []byte
	dt   time.Duration // time since the previous packet
}

// playStream builds a realistic stretch of play for protocol: setup (the
// server spawns 12 players around ours) and ticks that can be replayed in a
// loop: our player walks 20 blocks east and back looking at the player it
// hits (one movement packet per 50 ms tick), swings and hits it at 1.5
// blocks, answers keep-alives and changes its held item, while the server
// moves all 12 players along every tick and sends keep-alives. Mostly small
// packets, as in real play (chunks and other bulk packets never reach the
// engine).
func playStream(protocol int32) (setup, ticks []streamPacket) {
	cb, sb := mcproto.Clientbound, mcproto.Serverbound
	// Join, the spawn teleport and its answer, so the movement bounds run.
	setup = append(setup, streamPacket{dir: cb, kind: packets.KindJoinGame, data: joinPacket(protocol, packets.GameModeSurvival)},
		streamPacket{dir: cb, kind: packets.KindSyncPlayerPosition, data: packets.SyncPlayerPosition{TeleportID: 1, Y: 64}.AppendData(nil, protocol)})
	if protocol >= mcproto.Protocol1_9 {
		setup = append(setup, streamPacket{dir: sb, kind: packets.KindTeleportConfirm, data: packets.TeleportConfirm{TeleportID: 1}.AppendData(nil, protocol)})
	}
	setup = append(setup, streamPacket{dir: sb, kind: packets.KindPlayerPositionLook, data: packets.PlayerPositionLook{Y: 64, Flags: packets.MoveOnGround}.AppendData(nil, protocol)})
	for e := int32(0); e < 12; e++ {
		setup = append(setup, streamPacket{dir: cb, kind: packets.KindSpawnPlayer,
			data: packets.SpawnPlayer{EntityID: 100 + e, X: 1.5 + float64(e)*0.5, Y: 64, Z: 0}.AppendData(nil, protocol)})
	}
	add := func(dir mcproto.Direction, kind packets.Kind, data []byte, dt time.Duration) {
		ticks = append(ticks, streamPacket{dir: dir, kind: kind, data: data, dt: dt})
	}
	x := 0.0
	for tick := 0; tick < 200; tick++ {
		dx := 0.2
		if tick >= 100 {
			dx = -0.2
		}
		x += dx
		// A jump every 20 ticks (vanilla's arc: 0.42, then gravity and
		// drag), walking on between them.
		y, ground := 64.0, true
		if j := tick % 20; j < len(jumpArc) {
			y, ground = 64+jumpArc[j], false
		}
		var flags uint8
		pitch := float32(40) // looking down at the target from the air
		if ground {
			flags, pitch = packets.MoveOnGround, 10
		}
		// Yaw −90 looks east (+x), at the target; a little jitter as a hand would.
		add(sb, packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x, Y: y, Z: 0, Yaw: -90 + float32(tick%5), Pitch: pitch, Flags: flags}.AppendData(nil, protocol), 50*time.Millisecond)
		if tick%50 == 25 {
			// Knockback: the server pushes the player's own entity.
			add(cb, packets.KindEntityVelocity, packets.EntityVelocity{EntityID: selfID, X: 0.3, Y: 0.36}.AppendData(nil, protocol), 0)
		}
		for e := int32(0); e < 12; e++ {
			add(cb, packets.KindEntityRelMove, packets.EntityRelMove{EntityID: 100 + e, DX: dx, OnGround: true}.AppendData(nil, protocol), 0)
		}
		if tick%4 == 0 {
			// Vanilla order: 1.8 swings before the attack, 1.9+ after it.
			swing := packets.ArmAnimation{}.AppendData(nil, protocol)
			attack := packets.UseEntity{Target: 100, Type: packets.InteractAttack}.AppendData(nil, protocol)
			if protocol <= 47 {
				add(sb, packets.KindArmAnimation, swing, time.Millisecond)
				add(sb, packets.KindUseEntity, attack, time.Millisecond)
			} else {
				add(sb, packets.KindUseEntity, attack, time.Millisecond)
				add(sb, packets.KindArmAnimation, swing, time.Millisecond)
			}
		}
		if tick%100 == 0 {
			add(cb, packets.KindKeepAlive, packets.KeepAlive{ID: int64(tick)}.AppendData(nil, protocol), 0)
			add(sb, packets.KindKeepAlive, packets.KeepAlive{ID: int64(tick)}.AppendData(nil, protocol), 20*time.Millisecond)
		}
		if tick%40 == 0 {
			add(sb, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: int16(tick / 40 % 9)}.AppendData(nil, protocol), time.Millisecond)
		}
	}
	return setup, ticks
}

// jumpArc is the height above the ground of each airborne tick of a jump.
var jumpArc = func() []float64 {
	var out []float64
	y, vy := 0.0, 0.42
	for y+vy > 0 {
		y += vy
		out = append(out, y)
		vy = (vy - 0.08) * 0.98
	}
	return out
}()

// BenchmarkEngine runs the whole engine, every check enabled (experimental
// ones too), over the play stream: ns and allocations per packet. The
// probe answers the relay would get are fed back as a client would send
// them.
func BenchmarkEngine(b *testing.B) {
	for _, protocol := range []int32{47, 340, 765, 769} {
		b.Run(packets.VersionName(protocol), func(b *testing.B) {
			cfg := Config{Checks: map[string]CheckConfig{}}
			e0, _ := New(Config{}, Options{})
			for _, s := range e0.Specs() {
				cfg.Checks[s.Key] = CheckConfig{Mode: ModeAlert} // run everything, never kick
			}
			// The experimental hitbox ray samples the look between packets
			// and misses now and then on the jumps' pitch changes; it is
			// off by default, and the stream must stay clean.
			delete(cfg.Checks, "combat.hitbox")
			e, err := New(cfg, Options{})
			if err != nil {
				b.Fatal(err)
			}
			setup, ticks := playStream(protocol)
			var probe, answer []byte
			rec := &recorder{}
			e.sinks = append(e.sinks, rec)
			now := t0
			p := e.NewPlayer(PlayerInfo{Protocol: protocol, Name: "Steve"})
			feed := func(pk streamPacket) {
				now = now.Add(pk.dt)
				if pk.dir == mcproto.Serverbound {
					p.Serverbound(mcproto.StatePlay, pk.kind, pk.data, 0, now)
					return
				}
				p.Clientbound(mcproto.StatePlay, pk.kind, pk.data, now)
				if probe = p.Probe(now, probe[:0]); len(probe) > 0 {
					answer = answerProbe(p, protocol, probe, answer[:0], now.Add(30*time.Millisecond))
				}
			}
			for _, pk := range setup {
				feed(pk)
			}
			for _, pk := range ticks { // warm up: state and buffers reach their steady size
				feed(pk)
			}
			var n int
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, pk := range ticks {
					feed(pk)
					n++
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/packet")
			if len(rec.events) > 0 {
				b.Fatalf("the honest stream raised %d flags, first %s %v: the benchmark must measure the clean path", len(rec.events), rec.events[0].Check, rec.events[0].Details)
			}
		})
	}
}

// BenchmarkHotPackets measures the engine on the packets a playing client
// sends most (movement, rotation, swings, sprint toggles, hotbar), with
// every check of the families that judge single packets on their own
// (movement, interaction, inventory, chat, payloads; experimental ones too)
// and the others off, so it measures those families plus the engine.
func BenchmarkHotPackets(b *testing.B) {
	mine := map[string]bool{}
	for _, spec := range slices.Concat(movementSpecs(), interactionSpecs(), inventorySpecs(), chatSpecs(), payloadSpecs()) {
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
	p.Clientbound(mcproto.StatePlay, packets.KindJoinGame, joinPacket(765, 0), t0)
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
		pkt{packets.KindEntityAction, packets.EntityAction{EntityID: selfID, Action: packets.ActionStartSprinting}.AppendData(nil, 765)},
		pkt{packets.KindEntityAction, packets.EntityAction{EntityID: selfID, Action: packets.ActionStopSprinting}.AppendData(nil, 765)},
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

// BenchmarkFamilyHooks measures the family hooks alone on a decoded packet.
func BenchmarkFamilyHooks(b *testing.B) {
	p, _ := newTestPlayer(b, 765, Config{})
	pk := serverPacket{kind: packets.KindPlayerPositionLook, now: t0, move: move{x: 1, y: 64, z: 1, yaw: 3, pitch: 4, hasPos: true, hasLook: true}}
	act := serverPacket{kind: packets.KindEntityAction, now: t0, action: packets.EntityAction{Action: packets.ActionStartSprinting}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.movement.serverbound(p, &pk)
		p.chat.serverbound(p, &pk)
		act.action.Action = packets.ActionStartSprinting + int32(i&1)
		p.movement.serverbound(p, &act)
	}
}

// BenchmarkNewPlayer measures what a connection costs the engine in memory:
// B/op of "fresh" is a player's state at login, before any packet; of
// "playing" the state once it has joined, sent its settings and brand, been
// probed and answered, and seen one entity: what an idle player holds.
func BenchmarkNewPlayer(b *testing.B) {
	e, err := New(Config{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const protocol = 769
	info := PlayerInfo{Protocol: protocol, Name: "Steve", Session: "bench"}
	join := joinPacket(protocol, packets.GameModeSurvival)
	spawn := packets.SpawnEntity{EntityID: 100, Type: 1, Y: 64}.AppendData(nil, protocol)
	settings := packets.ClientSettings{Locale: []byte("en_us"), ViewDistance: 10, ChatColors: true, SkinParts: 0x7f, MainHand: 1}.AppendData(nil, protocol)
	brand := packets.PluginMessage{Channel: []byte(packets.BrandChannel(protocol)), Data: mcproto.AppendString(nil, "vanilla")}.AppendData(nil, protocol)
	var keep *Player
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			keep = e.NewPlayer(info)
		}
	})
	b.Run("playing", func(b *testing.B) {
		var probe, answer []byte
		b.ReportAllocs()
		for b.Loop() {
			p := e.NewPlayer(info)
			p.Clientbound(mcproto.StatePlay, packets.KindJoinGame, join, t0)
			p.Serverbound(mcproto.StatePlay, packets.KindClientSettings, settings, 0, t0)
			p.Serverbound(mcproto.StatePlay, packets.KindPluginMessage, brand, 0, t0)
			p.Clientbound(mcproto.StatePlay, packets.KindSpawnEntity, spawn, t0)
			if probe = p.Probe(t0, probe[:0]); len(probe) > 0 {
				answer = answerProbe(p, protocol, probe, answer[:0], t0.Add(30*time.Millisecond))
			}
			keep = p
		}
		if keep.combat.ents.len() != 1 || keep.clock.acked == 0 {
			b.Fatalf("the player tracks %d entities and answered probe %d: the stream did not play", keep.combat.ents.len(), keep.clock.acked)
		}
	})
}

// TestPlayerTablesOnDemand: the tables BenchmarkNewPlayer would see grow
// a fresh player's state are made when they are first needed: the entity
// table with the first entity, the probe ring with the first probe, the
// hitbox check's pending hits with the first hit it keeps, the setback
// with the first setback, the world checks' scratch with their first read,
// the prediction's state with the first tick it judges.
func TestPlayerTablesOnDemand(t *testing.T) {
	const protocol = 769
	p, _ := newTestPlayer(t, protocol, Config{})
	if p.combat.ents.m != nil || p.clock.ring != nil || p.combat.hits != nil || p.setback != nil || p.world.scratch != nil || p.prediction != nil {
		t.Fatalf("a fresh player holds an entity table (%v), a probe ring (%d), pending hits (%v), a setback (%v), world scratch (%v) or prediction state (%v)",
			p.combat.ents.m != nil, len(p.clock.ring), p.combat.hits != nil, p.setback != nil, p.world.scratch != nil, p.prediction != nil)
	}
	p.Clientbound(mcproto.StatePlay, packets.KindJoinGame, joinPacket(protocol, packets.GameModeSurvival), t0)
	p.Serverbound(mcproto.StatePlay, packets.KindPlayerOnGround, packets.PlayerOnGround{Flags: packets.MoveOnGround}.AppendData(nil, protocol), 0, t0)
	if p.combat.ents.m != nil || p.clock.ring != nil {
		t.Fatalf("after join: entity table %v, probe ring %d", p.combat.ents.m != nil, len(p.clock.ring))
	}
	if len(p.Probe(t0, nil)) == 0 || len(p.clock.ring) != minProbeRing {
		t.Fatalf("first probe: ring of %d, want %d", len(p.clock.ring), minProbeRing)
	}
	p.Clientbound(mcproto.StatePlay, packets.KindSpawnEntity, packets.SpawnEntity{EntityID: 100, Type: 1, Y: 64}.AppendData(nil, protocol), t0)
	if p.combat.ents.len() != 1 {
		t.Fatalf("%d entities after the first spawn", p.combat.ents.len())
	}
}
