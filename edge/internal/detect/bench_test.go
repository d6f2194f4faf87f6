package detect

import (
	"runtime"
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

// playStream builds a realistic stretch of play for protocol: a player
// walking and looking around (one movement packet per 50 ms tick), swinging
// and hitting another player, answering keep-alives, while the server moves
// 12 nearby entities every tick, spawns and removes some, and sends
// keep-alives. Mostly small packets, as in real play (chunks and other bulk
// packets never reach the engine).
func playStream(protocol int32) []streamPacket {
	var s []streamPacket
	add := func(dir mcproto.Direction, kind packets.Kind, data []byte, dt time.Duration) {
		s = append(s, streamPacket{dir: dir, kind: kind, data: data, dt: dt})
	}
	cb, sb := mcproto.Clientbound, mcproto.Serverbound
	add(cb, packets.KindJoinGame, nil, 0) // decoded leniently; state comes from spawns below
	for e := int32(0); e < 12; e++ {
		add(cb, packets.KindSpawnPlayer, packets.SpawnPlayer{EntityID: 100 + e, X: float64(e), Y: 64, Z: 2}.AppendData(nil, protocol), 0)
	}
	x, z := 0.0, 0.0
	for tick := 0; tick < 200; tick++ {
		x += 0.2
		z += 0.05
		add(sb, packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x, Y: 64, Z: z, Yaw: float32(tick % 360), Pitch: 10, Flags: packets.MoveOnGround}.AppendData(nil, protocol), 50*time.Millisecond)
		for e := int32(0); e < 12; e++ {
			add(cb, packets.KindEntityRelMove, packets.EntityRelMove{EntityID: 100 + e, DX: 0.1, DZ: 0.05, OnGround: true}.AppendData(nil, protocol), 0)
		}
		if tick%4 == 0 {
			add(sb, packets.KindArmAnimation, packets.ArmAnimation{}.AppendData(nil, protocol), time.Millisecond)
			add(sb, packets.KindUseEntity, packets.UseEntity{Target: 100, Type: packets.InteractAttack}.AppendData(nil, protocol), time.Millisecond)
		}
		if tick%100 == 0 {
			add(cb, packets.KindKeepAlive, packets.KeepAlive{ID: int64(tick)}.AppendData(nil, protocol), 0)
			add(sb, packets.KindKeepAlive, packets.KeepAlive{ID: int64(tick)}.AppendData(nil, protocol), 20*time.Millisecond)
		}
		if tick%40 == 0 {
			add(sb, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: int16(tick / 40 % 9)}.AppendData(nil, protocol), time.Millisecond)
		}
	}
	return s
}

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
			e, err := New(cfg, Options{})
			if err != nil {
				b.Fatal(err)
			}
			stream := playStream(protocol)
			var probe []byte
			now := t0
			var n int
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := e.NewPlayer(PlayerInfo{Protocol: protocol, Name: "Steve"})
				for _, pk := range stream {
					now = now.Add(pk.dt)
					if pk.dir == mcproto.Serverbound {
						p.Serverbound(mcproto.StatePlay, pk.kind, pk.data, 0, now)
					} else {
						p.Clientbound(mcproto.StatePlay, pk.kind, pk.data, now)
						if probe = p.Probe(now, probe[:0]); len(probe) > 0 {
							answerProbe(p, protocol, probe, now.Add(30*time.Millisecond))
						}
					}
					n++
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/packet")
		})
	}
}

// answerProbe feeds the client's answer to one of our probes.
func answerProbe(p *Player, protocol int32, probe []byte, now time.Time) {
	_, n, _ := mcproto.ReadVarInt(probe)
	if protocol >= 755 {
		ping, _ := packets.DecodePing(probe[n:], protocol)
		p.Serverbound(mcproto.StatePlay, packets.KindPong, packets.Pong{ID: ping.ID}.AppendData(nil, protocol), 0, now)
		return
	}
	tx, _ := packets.DecodeTransaction(probe[n:], protocol)
	tx.Accepted = true
	p.Serverbound(mcproto.StatePlay, packets.KindTransaction, tx.AppendData(nil, protocol), 0, now)
}
