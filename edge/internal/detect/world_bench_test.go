package detect

import (
	"encoding/base64"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/fixtures"
	"github.com/rustguard/rustguard/edge/internal/world"
	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/edge/internal/world/chunk"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// squidView is a real world.View holding flying-squid's recorded 1.20.4
// columns (edge/internal/world/chunk/testdata), and a spot on its ground.
func squidView(b testing.TB) (*world.View, *blocks.Table, [3]float64) {
	var rec struct{ Packets []struct{ Name, Data string } }
	fixtures.GzipJSON(b, filepath.Join("..", "world", "chunk", "testdata", "squid-1.20.4.json.gz"), &rec)
	st := world.NewStore(0, nil)
	decs, err := st.Decoders(765)
	if err != nil {
		b.Fatal(err)
	}
	v, err := st.Join(world.Dim{Backend: "bench", Name: "minecraft:overworld"})
	if err != nil {
		b.Fatal(err)
	}
	dec := decs.Get()
	defer decs.Put(dec)
	dim := chunk.Dimension{MinY: -64, Height: 384, SkyLight: true}
	for _, p := range rec.Packets {
		if p.Name != "map_chunk" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(p.Data)
		if err != nil {
			b.Fatal(err)
		}
		_, n, _ := mcproto.ReadVarInt(raw)
		if err := v.LoadColumn(dec, raw[n:], dim); err != nil {
			b.Fatal(err)
		}
	}
	// A strip of full blocks under open air in the spawn column, away
	// from the loaded area's edge: x 8 to 11 at z 8.
	t := decs.Table()
	for z := int32(-8); z < 24; z++ {
		for x0 := int32(-8); x0 < 20; x0++ {
			for y := int32(200); y > -64; y-- {
				ok := true
				for x := x0; x <= x0+3 && ok; x++ {
					ground, _ := v.Block(x, y, z)
					above, _ := v.Block(x, y+1, z)
					head, _ := v.Block(x, y+2, z)
					ok = t.Lookup(int32(ground)).Shape() == blocks.ShapeFull && above == 0 && head == 0
				}
				if ok {
					return v, t, [3]float64{float64(x0) + 0.5, float64(y + 1), float64(z) + 0.5}
				}
			}
		}
	}
	b.Fatal("no ground")
	return nil, nil, [3]float64{}
}

// BenchmarkWorldChecks: one 1.20.4 player walking on flying-squid's
// recorded ground, a position packet per tick, the defaults (world_on:
// every world check enforced) or every world check turned off
// (world_off): ns and allocations per movement packet through the whole
// engine.
func BenchmarkWorldChecks(b *testing.B) {
	v, table, at := squidView(b)
	for _, on := range []bool{false, true} {
		name := "world_on"
		cfg := Config{}
		if !on {
			name = "world_off"
			cfg.Checks = map[string]CheckConfig{}
			for _, k := range []string{"world.nofall", "world.jesus", "world.spider", "world.phase", "movement.prediction"} {
				cfg.Checks[k] = CheckConfig{Mode: ModeOff}
			}
		}
		b.Run(name, func(b *testing.B) {
			step, rec, _ := squidWalker(b, v, table, at, cfg)
			for i := range 200 {
				step(i)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step(i)
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/packet")
			if len(rec.events) > 0 {
				b.Fatalf("honest walking raised %d flags, first %s %v", len(rec.events), rec.events[0].Check, rec.events[0].Details)
			}
		})
	}
}

// squidWalker is a 1.20.4 player p on the view v at the spot at, with
// cfg: step(i) sends the i-th position packet of a walk back and forth
// along two blocks, a tick later than the one before, and answers the
// edge's probes. rec has the player's flags. The walk turns back at once
// at each end, which no input does: the prediction misses there and
// searches every candidate.
func squidWalker(tb testing.TB, v *world.View, table *blocks.Table, at [3]float64, cfg Config) (step func(i int), rec *recorder, p *Player) {
	rec = &recorder{}
	e, err := New(cfg, Options{Sinks: []Sink{rec}})
	if err != nil {
		tb.Fatal(err)
	}
	const proto = 765
	p = e.NewPlayer(PlayerInfo{Protocol: proto, Name: "Walker"})
	p.SetWorld(v, table)
	now := t0
	p.Clientbound(mcproto.StatePlay, packets.KindJoinGame, joinPacket(proto, packets.GameModeSurvival), now)
	var probe, answer, buf []byte
	step = func(i int) {
		now = now.Add(tickDuration)
		dx := float64(i%20) * 0.1 // back and forth along 2 blocks
		if (i/20)%2 == 1 {
			dx = 2 - dx
		}
		pos := packets.PlayerPosition{X: at[0] + dx, Y: at[1], Z: at[2], Flags: packets.MoveOnGround}
		buf = pos.AppendData(buf[:0], proto)
		p.Serverbound(mcproto.StatePlay, packets.KindPlayerPosition, buf, 0, now)
		if probe = p.Probe(now, probe[:0]); len(probe) > 0 {
			answer = answerProbe(p, proto, probe, answer[:0], now.Add(30*time.Millisecond))
		}
	}
	return step, rec, p
}

// TestWorldTicksAllocateNothing: a movement packet judged with the world
// (the world checks and the prediction, at their defaults) allocates
// nothing once the player's state is made. The prediction's inputs were
// a local the predictor points to, moved to the heap on every tick: one
// allocation per movement packet.
func TestWorldTicksAllocateNothing(t *testing.T) {
	v, table, at := squidView(t)
	step, rec, _ := squidWalker(t, v, table, at, Config{})
	i := 0
	for ; i < 200; i++ {
		step(i)
	}
	if a := testing.AllocsPerRun(200, func() { step(i); i++ }); a != 0 {
		t.Errorf("%v allocations per movement packet", a)
	}
	if len(rec.events) > 0 {
		t.Errorf("the walk raised %d flags, first %s", len(rec.events), rec.events[0].Check)
	}
}
