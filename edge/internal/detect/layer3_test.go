package detect

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// l34Protocols are the versions either side of each behaviour boundary
// the clock and combat checks care about: 1.8 (every tick, swing first),
// 1.12.2 (skipped ticks, i64 keep-alives), 1.16.5 (last window
// confirmation), 1.20.3 (ping probes, the 1.17 duplicate, SpawnEntity
// players) and 1.21.4 (tick end, position sync, scale attribute).
var l34Protocols = []int32{47, 340, 754, 765, 769}

// l34Appender is any packet the packets package can encode.
type l34Appender interface {
	AppendData(dst []byte, protocol int32) []byte
}

// l34Session drives one player through the engine with a controlled clock,
// injecting the edge's probes and answering them like a client would.
type l34Session struct {
	t      *testing.T
	p      *Player
	rec    *recorder
	proto  int32
	now    time.Time
	probes [][]byte // probes sent and not answered yet, oldest first
}

const l34Self = 1

func newL34(t *testing.T, proto int32, cfg Config) *l34Session {
	t.Helper()
	p, rec := newTestPlayer(t, proto, cfg)
	s := &l34Session{t: t, p: p, rec: rec, proto: proto, now: t0}
	s.cb(packets.KindJoinGame, l34Raw(l34Join(proto, l34Self, packets.GameModeSurvival)))
	return s
}

// l34Raw lets a test pass bytes where an l34Appender is expected.
type l34Raw []byte

func (r l34Raw) AppendData(dst []byte, _ int32) []byte { return append(dst, r...) }

// l34Join builds a join game the engine decodes, for any protocol.
func l34Join(proto, entityID int32, mode uint8) []byte {
	j := packets.JoinGame{EntityID: entityID, GameMode: mode, Rest: []byte{0, 0, 0, 0}}
	if proto >= mcproto.Protocol1_20_2 {
		var m []byte
		m = mcproto.AppendVarInt(m, 1)
		m = l34String(m, "minecraft:overworld")
		m = mcproto.AppendVarInt(m, 20) // max players
		m = mcproto.AppendVarInt(m, 10) // view distance
		m = mcproto.AppendVarInt(m, 10) // simulation distance
		m = append(m, 0, 1, 0)          // reduced debug, respawn screen, limited crafting
		if proto >= mcproto.Protocol1_20_5 {
			m = mcproto.AppendVarInt(m, 0)
		} else {
			m = l34String(m, "minecraft:overworld")
		}
		m = l34String(m, "minecraft:overworld")
		m = mcproto.AppendInt64(m, 0)
		j.Middle = m
	}
	return j.AppendData(nil, proto)
}

func l34String(b []byte, s string) []byte {
	b = mcproto.AppendVarInt(b, int32(len(s)))
	return append(b, s...)
}

// cb delivers a clientbound packet and lets the edge inject a probe after it.
func (s *l34Session) cb(kind packets.Kind, pk l34Appender) {
	s.p.Clientbound(mcproto.StatePlay, kind, pk.AppendData(nil, s.proto), s.now)
	if pr := s.p.Probe(s.now, nil); len(pr) > 0 {
		s.probes = append(s.probes, pr)
	}
}

// sb sends a serverbound packet.
func (s *l34Session) sb(kind packets.Kind, pk l34Appender) Verdict {
	return s.p.Serverbound(mcproto.StatePlay, kind, pk.AppendData(nil, s.proto), 0, s.now)
}

// answer answers the oldest n outstanding probes (all when n < 0).
func (s *l34Session) answer(n int) {
	if n < 0 || n > len(s.probes) {
		n = len(s.probes)
	}
	for _, pr := range s.probes[:n] {
		answerProbe(s.p, s.proto, pr, nil, s.now)
	}
	s.probes = s.probes[n:]
}

func (s *l34Session) advance(d time.Duration) { s.now = s.now.Add(d) }

// serverTraffic is a clientbound packet the backend sends every tick
// (a keep-alive stands in for any of them), so probes go out.
func (s *l34Session) serverTraffic() {
	s.cb(packets.KindKeepAlive, packets.KeepAlive{ID: s.now.UnixNano()})
	// The client answers keep-alives at once; the answer goes first so
	// keep-alive order holds.
	s.sb(packets.KindKeepAlive, packets.KeepAlive{ID: s.now.UnixNano()})
}

// spawnAt answers the login teleport so the player has a position.
func (s *l34Session) spawnAt(x, y, z float64) {
	s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 1, X: x, Y: y, Z: z})
	if s.proto >= mcproto.Protocol1_9 {
		s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 1})
	}
	s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x, Y: y, Z: z, Flags: packets.MoveOnGround})
	s.answer(-1)
}

// count is how many events the check with key raised.
func (s *l34Session) count(key string) int {
	n := 0
	for _, e := range s.rec.events {
		if e.Check == key {
			n++
		}
	}
	return n
}

// l34Enabled is a config that turns the given checks on (experimental ones
// included).
func l34Enabled(keys ...string) Config {
	c := Config{Checks: map[string]CheckConfig{}}
	for _, k := range keys {
		c.Checks[k] = CheckConfig{Mode: ModeEnforce}
	}
	return c
}

func l34Pos(x, y, z float64) packets.PlayerPosition {
	return packets.PlayerPosition{X: x, Y: y, Z: z, Flags: packets.MoveOnGround}
}

func l34Ground() packets.PlayerOnGround { return packets.PlayerOnGround{Flags: packets.MoveOnGround} }

// l34TimerClient simulates a client that sends one movement packet per tick,
// at interval between ticks, for d, while the server sends traffic every
// 50 ms and the client answers probes rtt later.
type l34TimerClient struct {
	interval time.Duration
	rtt      time.Duration
}

func (c l34TimerClient) run(s *l34Session, d time.Duration) {
	end := s.now.Add(d)
	nextTick, nextServer := s.now, s.now
	type due struct {
		at time.Time
		n  int
	}
	var answers []due
	x := 0.0
	for s.now.Before(end) {
		next := l34Min(nextTick, nextServer)
		for len(answers) > 0 && !answers[0].at.After(next) {
			s.now = answers[0].at
			s.answer(answers[0].n)
			answers = answers[1:]
		}
		s.now = next
		if !nextServer.After(s.now) {
			before := len(s.probes)
			s.serverTraffic()
			if len(s.probes) > before {
				answers = append(answers, due{at: s.now.Add(c.rtt), n: 1})
			}
			nextServer = nextServer.Add(tickDuration)
		}
		if !nextTick.After(s.now) {
			x += 0.1
			s.sb(packets.KindPlayerPosition, l34Pos(x, 64, 0))
			nextTick = nextTick.Add(c.interval)
		}
	}
}

func l34Min(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func TestTimerBalance(t *testing.T) {
	cases := []struct {
		name     string
		interval time.Duration
		rtt      time.Duration
		wantFlag bool
	}{
		{"honest 20 tps, 30 ms", tickDuration, 30 * time.Millisecond, false},
		{"honest 20 tps, 300 ms", tickDuration, 300 * time.Millisecond, false},
		{"honest slightly slow client", 52 * time.Millisecond, 5 * time.Millisecond, false},
		{"timer 1.1x", 45 * time.Millisecond, 30 * time.Millisecond, true},
		{"timer 2x", 25 * time.Millisecond, 30 * time.Millisecond, true},
	}
	for _, proto := range l34Protocols {
		for _, c := range cases {
			t.Run(packets.VersionName(proto)+"/"+c.name, func(t *testing.T) {
				s := newL34(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				l34TimerClient{interval: c.interval, rtt: c.rtt}.run(s, 40*time.Second)
				got := s.count("timer.balance")
				if c.wantFlag != (got > 0) {
					t.Fatalf("timer.balance flagged %d times, want flag=%v (events %v)", got, c.wantFlag, s.rec.keys())
				}
				if others := len(s.rec.events) - got; others != 0 {
					t.Errorf("other checks flagged an honest-clock client: %v", s.rec.keys())
				}
			})
		}
	}
}

// TestTimerBalanceStalls replays what mineflayer does after its event loop
// stalls: nothing is sent for the stall, then the physics timer runs up to
// four catch-up ticks per 50 ms call until the debt is paid, and the probes
// that arrived during the stall are answered either before or after the
// first catch-up ticks. None of that is a timer cheat.
func TestTimerBalanceStalls(t *testing.T) {
	for _, proto := range l34Protocols {
		for _, c := range []struct {
			name        string
			stall       time.Duration
			pongsFirst  bool
			quietServer bool // no server traffic (and so no probes) during the stall
		}{
			{"300ms ticks first", 300 * time.Millisecond, false, false},
			{"1s ticks first", time.Second, false, false},
			{"1s pongs first", time.Second, true, false},
			{"3s pongs first", 3 * time.Second, true, false},
			{"1s quiet server", time.Second, false, true},
		} {
			t.Run(packets.VersionName(proto)+"/"+c.name, func(t *testing.T) {
				s := newL34(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				honest := l34TimerClient{interval: tickDuration, rtt: 2 * time.Millisecond}
				honest.run(s, 5*time.Second)
				s.answer(-1)
				// The stall: the server keeps talking, the client is silent.
				stallEnd := s.now.Add(c.stall)
				for s.now.Add(tickDuration).Before(stallEnd) {
					s.advance(tickDuration)
					if !c.quietServer {
						s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 99})
					}
				}
				s.now = stallEnd
				// mineflayer's physics loop: a time accumulator paid at
				// most four ticks per 50 ms call (physics.js).
				acc := c.stall
				x := 100.0
				if c.pongsFirst {
					s.answer(-1)
				}
				for call := 0; call == 0 || acc >= tickDuration; call++ {
					if call > 0 {
						s.advance(tickDuration)
						acc += tickDuration
						s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 99})
					}
					for n := 0; n < 4 && acc >= tickDuration; n++ {
						x += 0.1
						s.sb(packets.KindPlayerPosition, l34Pos(x, 64, 0))
						acc -= tickDuration
					}
					s.answer(-1) // probes read in the I/O phase after the timer
				}
				honest.run(s, 5*time.Second)
				if n := s.count("timer.balance"); n != 0 {
					t.Fatalf("timer.balance flagged %d times after a %v stall", n, c.stall)
				}
			})
		}
	}
}

// TestTimerBalanceBlink holds movement packets while answering probes, then
// releases them at once: the ticks are older than the clock allows.
func TestTimerBalanceBlink(t *testing.T) {
	for _, proto := range l34Protocols {
		t.Run(packets.VersionName(proto), func(t *testing.T) {
			s := newL34(t, proto, Config{})
			s.spawnAt(0, 64, 0)
			l34TimerClient{interval: tickDuration, rtt: 10 * time.Millisecond}.run(s, 3*time.Second)
			for i := 0; i < 20; i++ { // one second of held movement, probes still answered
				s.advance(tickDuration)
				s.serverTraffic()
				s.answer(-1)
			}
			for i := 0; i < 20; i++ {
				s.sb(packets.KindPlayerPosition, l34Pos(float64(i), 64, 0))
			}
			if s.count("timer.balance") == 0 {
				t.Fatalf("a one-second burst of held ticks was not flagged: %v", s.rec.keys())
			}
		})
	}
}

// TestTimerIgnoresTeleportAnswersAndDuplicates sends, besides one tick per
// 50 ms, a teleport answer each tick and (1.17–1.20.5) the item-use
// duplicate: neither is a tick.
func TestTimerIgnoresTeleportAnswersAndDuplicates(t *testing.T) {
	for _, proto := range l34Protocols {
		t.Run(packets.VersionName(proto), func(t *testing.T) {
			s := newL34(t, proto, Config{})
			s.spawnAt(0, 64, 0)
			x := 0.0
			for i := 0; i < 400; i++ {
				s.advance(tickDuration)
				s.serverTraffic()
				s.answer(-1)
				x += 0.5
				tp := packets.SyncPlayerPosition{TeleportID: int32(i + 2), X: x, Y: 70, Z: 3}
				s.cb(packets.KindSyncPlayerPosition, tp)
				if proto >= mcproto.Protocol1_9 {
					s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: tp.TeleportID})
				}
				s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x, Y: 70, Z: 3})
				s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x + 0.1, Y: 70, Z: 3, Yaw: float32(i)})
				if proto >= protocol1_17 && proto < protocol1_21 {
					s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x + 0.1, Y: 70, Z: 3, Yaw: float32(i) + 1})
				}
			}
			if n := s.count("timer.balance"); n != 0 {
				t.Fatalf("timer.balance flagged %d times", n)
			}
		})
	}
}

// TestTimerTickEnd: a 1.21.2+ client that sends ClientTickEnd is timed on
// it; one that never does (mineflayer) on its movement.
func TestTimerTickEnd(t *testing.T) {
	const proto = 769
	run := func(t *testing.T, perTick func(s *l34Session, i int)) *l34Session {
		s := newL34(t, proto, Config{})
		s.spawnAt(0, 64, 0)
		for i := 0; i < 600; i++ {
			s.advance(tickDuration)
			s.serverTraffic()
			s.answer(-1)
			perTick(s, i)
		}
		return s
	}
	t.Run("vanilla moves and ends every tick", func(t *testing.T) {
		s := run(t, func(s *l34Session, i int) {
			s.sb(packets.KindPlayerPosition, l34Pos(float64(i)/10, 64, 0))
			s.sb(packets.KindTickEnd, packets.TickEnd{})
		})
		if n := len(s.rec.events); n != 0 {
			t.Fatalf("honest tick-end client flagged: %v", s.rec.keys())
		}
	})
	t.Run("idle vanilla ends ticks only", func(t *testing.T) {
		s := run(t, func(s *l34Session, i int) {
			s.sb(packets.KindTickEnd, packets.TickEnd{})
			if i%20 == 0 {
				s.sb(packets.KindPlayerPosition, l34Pos(0, 64, 0))
			}
		})
		if n := len(s.rec.events); n != 0 {
			t.Fatalf("honest idle client flagged: %v", s.rec.keys())
		}
	})
	t.Run("two tick ends per tick", func(t *testing.T) {
		s := run(t, func(s *l34Session, i int) {
			s.sb(packets.KindTickEnd, packets.TickEnd{})
			s.sb(packets.KindTickEnd, packets.TickEnd{})
		})
		if s.count("timer.balance") == 0 {
			t.Fatal("double tick end not flagged")
		}
	})
	t.Run("stops ending ticks and moves twice per tick", func(t *testing.T) {
		s := run(t, func(s *l34Session, i int) {
			if i < 10 {
				s.sb(packets.KindTickEnd, packets.TickEnd{})
				return
			}
			s.sb(packets.KindPlayerPosition, l34Pos(float64(i)/10, 64, 0))
			s.sb(packets.KindPlayerPosition, l34Pos(float64(i)/10+0.05, 64, 0))
		})
		if s.count("timer.balance") == 0 {
			t.Fatal("movement without tick end at 2x not flagged")
		}
	})
}

func TestMovementReminder(t *testing.T) {
	type step struct {
		kind packets.Kind
		pk   l34Appender
	}
	look := step{packets.KindPlayerLook, packets.PlayerLook{Yaw: 3, Flags: packets.MoveOnGround}}
	fly := step{packets.KindPlayerOnGround, l34Ground()}
	position := step{packets.KindPlayerPosition, l34Pos(0, 64, 0)}
	steer := step{packets.KindSteerVehicle, l34Raw{0, 0, 0, 0, 0, 0, 0, 0, 0}}
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
		for _, proto := range c.protos {
			t.Run(packets.VersionName(proto)+"/"+c.name, func(t *testing.T) {
				s := newL34(t, proto, Config{})
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
		}
	}
}

func TestMovementReminderResetsOnRespawn(t *testing.T) {
	s := newL34(t, 340, Config{})
	s.spawnAt(0, 64, 0)
	for i := 0; i < 15; i++ {
		s.advance(tickDuration)
		s.sb(packets.KindPlayerOnGround, l34Ground())
	}
	s.advance(2 * time.Second) // death screen
	s.cb(packets.KindRespawn, packets.Respawn{Middle: make([]byte, 5)})
	for i := 0; i < 15; i++ {
		s.advance(tickDuration)
		s.sb(packets.KindPlayerOnGround, l34Ground())
	}
	if n := s.count("movement.reminder"); n != 0 {
		t.Fatalf("flagged across a respawn: %v", s.rec.keys())
	}
}

func TestKeepAliveOrder(t *testing.T) {
	for _, proto := range l34Protocols {
		cases := []struct {
			name    string
			sent    []int64
			answers []int64
			state   mcproto.State
			want    int
		}{
			{"in order", []int64{5, 9, 7}, []int64{5, 9, 7}, mcproto.StatePlay, 0},
			{"answer after several sent", []int64{5, 9}, []int64{5, 9}, mcproto.StatePlay, 0},
			{"unknown id", []int64{5}, []int64{6}, mcproto.StatePlay, 1},
			{"answered twice", []int64{5}, []int64{5, 5}, mcproto.StatePlay, 1},
			{"skips one", []int64{5, 9}, []int64{9}, mcproto.StatePlay, 1},
			{"configuration keep-alives are not ours to judge", nil, []int64{77}, mcproto.StateConfiguration, 0},
			{"ring overflow forgets, does not flag", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, []int64{1, 2, 3}, mcproto.StatePlay, 0},
		}
		for _, c := range cases {
			t.Run(packets.VersionName(proto)+"/"+c.name, func(t *testing.T) {
				s := newL34(t, proto, Config{})
				for _, id := range c.sent {
					s.cb(packets.KindKeepAlive, packets.KeepAlive{ID: id})
				}
				for _, id := range c.answers {
					s.advance(time.Millisecond)
					s.p.Serverbound(c.state, packets.KindKeepAlive, packets.KeepAlive{ID: id}.AppendData(nil, proto), 0, s.now)
				}
				if got := s.count("latency.keepalive_order"); got != c.want {
					t.Fatalf("latency.keepalive_order flagged %d times, want %d", got, c.want)
				}
			})
		}
	}
}

func TestProbeTimeout(t *testing.T) {
	for _, proto := range l34Protocols {
		t.Run(packets.VersionName(proto), func(t *testing.T) {
			s := newL34(t, proto, Config{})
			s.spawnAt(0, 64, 0)
			s.advance(probeInterval)
			s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 99})
			if len(s.probes) == 0 {
				t.Fatal("no probe sent")
			}
			var v Verdict
			for i := 0; i < 65; i++ { // the client keeps moving but never answers
				s.advance(time.Second)
				s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 99})
				v = s.sb(packets.KindPlayerOnGround, l34Ground())
				if v.Outcome == Kick {
					break
				}
			}
			if v.Outcome != Kick || v.Reason != timedOutMessage {
				t.Fatalf("verdict %+v, want a timed-out kick", v)
			}
			if waited := s.now.Sub(t0); waited <= 60*time.Second {
				t.Errorf("kicked after %v, before the 60 s timeout", waited)
			}
			if s.count("latency.probe_timeout") != 1 {
				t.Errorf("events %v", s.rec.keys())
			}
		})
	}
	t.Run("answered probes never time out", func(t *testing.T) {
		s := newL34(t, 765, Config{})
		s.spawnAt(0, 64, 0)
		l34TimerClient{interval: tickDuration, rtt: 200 * time.Millisecond}.run(s, 90*time.Second)
		if len(s.rec.events) != 0 {
			t.Fatalf("honest client flagged: %v", s.rec.keys())
		}
	})
}

func TestProbeOrder(t *testing.T) {
	for _, proto := range l34Protocols {
		t.Run(packets.VersionName(proto), func(t *testing.T) {
			s := newL34(t, proto, Config{})
			s.spawnAt(0, 64, 0)
			for i := 0; i < 3; i++ {
				s.advance(probeInterval)
				s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 99})
			}
			if len(s.probes) != 3 {
				t.Fatalf("%d probes", len(s.probes))
			}
			s.probes = s.probes[1:] // the client drops the first probe (ping cancelling)
			s.answer(-1)
			if s.count("latency.probe_order") != 1 {
				t.Fatalf("events %v", s.rec.keys())
			}
		})
	}
}

func TestTeleportIgnored(t *testing.T) {
	cfg := l34Enabled("movement.teleport_ignored")
	for _, proto := range l34Protocols {
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
			t.Run(packets.VersionName(proto)+"/"+c.name, func(t *testing.T) {
				if c.dead && proto >= mcproto.Protocol1_9 {
					t.Skip("1.9+ is judged on the confirmation, which mineflayer sends at once")
				}
				s := newL34(t, proto, cfg)
				s.spawnAt(0, 64, 0)
				if c.dead {
					s.cb(packets.KindUpdateHealth, l34Raw{0, 0, 0, 0, 0, 0, 0, 0, 0})
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
		}
	}
}

func TestLayer3SpecsAreDescribed(t *testing.T) {
	for _, sp := range layer3Specs() {
		if sp.Layer != detection.Layer(3) || strings.TrimSpace(sp.Description) == "" {
			t.Errorf("%s: layer %d, description %q", sp.Key, sp.Layer, sp.Description)
		}
	}
}

// l34Event is one thing that happens at the edge at a time: a server packet
// relayed to the client or a client packet arriving.
type l34Event struct {
	at  time.Time
	seq int
	fn  func()
}

// l34Queue orders events by time, then by scheduling order.
type l34Queue struct {
	evs []l34Event
	seq int
}

func (q *l34Queue) push(at time.Time, fn func()) {
	q.seq++
	q.evs = append(q.evs, l34Event{at: at, seq: q.seq, fn: fn})
}

func (q *l34Queue) pop() l34Event {
	best := 0
	for i, e := range q.evs {
		b := q.evs[best]
		if e.at.Before(b.at) || (e.at.Equal(b.at) && e.seq < b.seq) {
			best = i
		}
	}
	e := q.evs[best]
	q.evs = slices.Delete(q.evs, best, best+1)
	return e
}

// l34Mineflayer simulates an honest mineflayer client on a jittery link
// whose event loop stalls now and then: physics calls every 50 ms with an
// accumulator paying at most four ticks per call, server packets handled
// as they are read (after a stall, before or after the first catch-up
// ticks), each direction's delay random but in order. With fight set, a
// target player circles the client, which attacks it every half second
// when its own view puts the target within 3 blocks, feet to feet.
type l34Mineflayer struct {
	s          *l34Session
	rnd        *rand.Rand
	q          l34Queue
	stallUntil time.Time
	lastCall   time.Time
	acc        time.Duration
	inbox      []func(t time.Time) // server packets read by the client, not yet handled
	lastUp     time.Time
	lastDown   time.Time
	x          float64 // the client's own x (it walks along x)
	ticks      int

	fight   bool
	target  [3]float64 // where the server has the target
	view    [3]float64 // where the client has it
	quantum float64
	attacks int
}

const l34Target = 42

func (m *l34Mineflayer) delay(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(m.rnd.Int64N(int64(hi-lo)))
}

// up schedules a client packet sent at t to arrive at the edge.
func (m *l34Mineflayer) up(t time.Time, fn func()) {
	at := t.Add(m.delay(2*time.Millisecond, 60*time.Millisecond))
	if at.Before(m.lastUp) {
		at = m.lastUp
	}
	m.lastUp = at
	m.q.push(at, fn)
}

// down schedules a server packet relayed now to reach the client.
func (m *l34Mineflayer) down(handle func(t time.Time)) {
	at := m.s.now.Add(m.delay(2*time.Millisecond, 60*time.Millisecond))
	if at.Before(m.lastDown) {
		at = m.lastDown
	}
	m.lastDown = at
	m.q.push(at, func() {
		m.inbox = append(m.inbox, handle)
		if !m.s.now.Before(m.stallUntil) {
			m.handleInbox(m.s.now) // read and handled by the packet handler at once
		}
	})
}

func (m *l34Mineflayer) handleInbox(t time.Time) {
	for _, h := range m.inbox {
		h(t)
	}
	m.inbox = m.inbox[:0]
}

// physics is one call of mineflayer's physics interval at client time t.
func (m *l34Mineflayer) physics(t time.Time) {
	if t.Before(m.stallUntil) {
		m.q.push(m.stallUntil, func() { m.physics(m.stallUntil) })
		return
	}
	pongsFirst := m.rnd.IntN(2) == 0
	if pongsFirst {
		m.handleInbox(t)
	}
	m.acc += t.Sub(m.lastCall)
	m.lastCall = t
	for n := 0; n < 4 && m.acc >= tickDuration; n++ {
		m.acc -= tickDuration
		m.x += 0.02
		x := m.x
		m.up(t, func() { m.s.sb(packets.KindPlayerPosition, l34Pos(x, 64, 0)) })
		m.ticks++
		if m.fight && m.ticks%10 == 0 {
			dx, dz := m.view[0]-x, m.view[2]
			if dx*dx+dz*dz <= 9 {
				m.attacks++
				m.up(t, func() { m.s.attack(l34Target) })
			}
		}
	}
	if !pongsFirst {
		m.handleInbox(t)
	}
	if m.rnd.IntN(200) == 0 { // about every 10 s, a stall of up to 2 s
		m.stallUntil = t.Add(m.delay(100*time.Millisecond, 2*time.Second))
	}
	m.q.push(t.Add(tickDuration), func() { m.physics(m.s.now) })
}

// server is one tick of backend traffic; the edge may add a probe.
func (m *l34Mineflayer) server() {
	before := len(m.s.probes)
	if m.fight {
		// The target circles the client's server-side position at 2.3 to
		// 3.5 blocks: mostly at the edge of reach, sometimes beyond it.
		a := float64(m.ticks) * 0.12
		r := 2.9 + 0.6*math.Sin(float64(m.ticks)*0.031)
		var d [3]float64
		for i, want := range [3]float64{m.s.p.self.x + r*math.Cos(a), 64, r * math.Sin(a)} {
			d[i] = math.Round((want-m.target[i])*m.quantum) / m.quantum
			m.target[i] += d[i]
		}
		m.s.cb(packets.KindEntityRelMove, packets.EntityRelMove{EntityID: l34Target, DX: d[0], DY: d[1], DZ: d[2]})
		m.down(func(time.Time) {
			for i := range d {
				m.view[i] += d[i]
			}
		})
	} else {
		m.s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 99})
	}
	if len(m.s.probes) > before {
		pr := m.s.probes[len(m.s.probes)-1]
		m.s.probes = m.s.probes[:len(m.s.probes)-1]
		m.down(func(t time.Time) {
			m.up(t, func() { answerProbe(m.s.p, m.s.proto, pr, nil, m.s.now) })
		})
	}
	m.q.push(m.s.now.Add(tickDuration), m.server)
}

// run plays d of simulated time.
func (m *l34Mineflayer) run(d time.Duration) {
	s := m.s
	m.lastCall = s.now
	m.q.push(s.now, m.server)
	m.q.push(s.now.Add(tickDuration), func() { m.physics(s.now) })
	end := s.now.Add(d)
	for s.now.Before(end) {
		e := m.q.pop()
		s.now = e.at
		e.fn()
	}
}

func TestTimerHonestMineflayerLink(t *testing.T) {
	for _, proto := range l34Protocols {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(packets.VersionName(proto)+"/seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
				s := newL34(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				m := &l34Mineflayer{s: s, rnd: rand.New(rand.NewPCG(seed, 7))}
				m.run(2 * time.Minute)
				if len(s.rec.events) != 0 {
					t.Fatalf("honest client on a jittery, stalling link flagged: %v", s.rec.keys())
				}
			})
		}
	}
}
