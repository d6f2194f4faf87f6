package detect

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// timerClient simulates a client that sends one movement packet per tick,
// at interval between ticks, for d, while the server sends traffic every
// 50 ms and the client answers probes rtt later.
type timerClient struct {
	interval time.Duration
	rtt      time.Duration
}

func (c timerClient) run(s *session, d time.Duration) {
	end := s.now.Add(d)
	nextTick, nextServer := s.now, s.now
	type due struct {
		at time.Time
		n  int
	}
	var answers []due
	x := 0.0
	for s.now.Before(end) {
		next := minTime(nextTick, nextServer)
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
			s.sb(packets.KindPlayerPosition, groundPos(x, 64, 0))
			nextTick = nextTick.Add(c.interval)
		}
	}
}

func minTime(a, b time.Time) time.Time {
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
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				timerClient{interval: c.interval, rtt: c.rtt}.run(s, 40*time.Second)
				got := s.count("timer.balance")
				if c.wantFlag != (got > 0) {
					t.Fatalf("timer.balance flagged %d times, want flag=%v (events %v)", got, c.wantFlag, s.rec.keys())
				}
				if others := len(s.rec.events) - got; others != 0 {
					t.Errorf("other checks flagged an honest-clock client: %v", s.rec.keys())
				}
			})
		})
	}
}

// TestTimerBalanceStalls replays what mineflayer does after its event loop
// stalls: nothing is sent for the stall, then the physics timer runs up to
// four catch-up ticks per 50 ms call until the debt is paid, and the probes
// that arrived during the stall are answered either before or after the
// first catch-up ticks. None of that is a timer cheat.
func TestTimerBalanceStalls(t *testing.T) {
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
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				honest := timerClient{interval: tickDuration, rtt: 2 * time.Millisecond}
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
						s.sb(packets.KindPlayerPosition, groundPos(x, 64, 0))
						acc -= tickDuration
					}
					s.answer(-1) // probes read in the I/O phase after the timer
				}
				honest.run(s, 5*time.Second)
				if n := s.count("timer.balance"); n != 0 {
					t.Fatalf("timer.balance flagged %d times after a %v stall", n, c.stall)
				}
			})
		})
	}
}

// TestTimerBalanceBlink holds movement packets while answering probes, then
// releases them at once: the ticks are older than the clock allows.
func TestTimerBalanceBlink(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
		s.spawnAt(0, 64, 0)
		timerClient{interval: tickDuration, rtt: 10 * time.Millisecond}.run(s, 3*time.Second)
		for i := 0; i < 20; i++ { // one second of held movement, probes still answered
			s.advance(tickDuration)
			s.serverTraffic()
			s.answer(-1)
		}
		for i := 0; i < 20; i++ {
			s.sb(packets.KindPlayerPosition, groundPos(float64(i), 64, 0))
		}
		if s.count("timer.balance") == 0 {
			t.Fatalf("a one-second burst of held ticks was not flagged: %v", s.rec.keys())
		}
	})
}

// TestTimerIgnoresTeleportAnswersAndDuplicates sends, besides one tick per
// 50 ms, a teleport answer each tick and (1.17–1.20.5) the item-use
// duplicate: neither is a tick.
func TestTimerIgnoresTeleportAnswersAndDuplicates(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
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
			if proto >= mcproto.Protocol1_17 && proto < mcproto.Protocol1_21 {
				s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x + 0.1, Y: 70, Z: 3, Yaw: float32(i) + 1})
			}
		}
		if n := s.count("timer.balance"); n != 0 {
			t.Fatalf("timer.balance flagged %d times", n)
		}
	})
}

// TestTimerTickEnd: a 1.21.2+ client that sends ClientTickEnd is timed on
// it; one that never does (mineflayer) on its movement.
func TestTimerTickEnd(t *testing.T) {
	const proto = 769
	run := func(t *testing.T, perTick func(s *session, i int)) *session {
		s := newSession(t, proto, Config{})
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
		s := run(t, func(s *session, i int) {
			s.sb(packets.KindPlayerPosition, groundPos(float64(i)/10, 64, 0))
			s.sb(packets.KindTickEnd, packets.TickEnd{})
		})
		if n := len(s.rec.events); n != 0 {
			t.Fatalf("honest tick-end client flagged: %v", s.rec.keys())
		}
	})
	t.Run("idle vanilla ends ticks only", func(t *testing.T) {
		s := run(t, func(s *session, i int) {
			s.sb(packets.KindTickEnd, packets.TickEnd{})
			if i%20 == 0 {
				s.sb(packets.KindPlayerPosition, groundPos(0, 64, 0))
			}
		})
		if n := len(s.rec.events); n != 0 {
			t.Fatalf("honest idle client flagged: %v", s.rec.keys())
		}
	})
	t.Run("two tick ends per tick", func(t *testing.T) {
		s := run(t, func(s *session, i int) {
			s.sb(packets.KindTickEnd, packets.TickEnd{})
			s.sb(packets.KindTickEnd, packets.TickEnd{})
		})
		if s.count("timer.balance") == 0 {
			t.Fatal("double tick end not flagged")
		}
	})
	t.Run("stops ending ticks and moves twice per tick", func(t *testing.T) {
		s := run(t, func(s *session, i int) {
			if i < 10 {
				s.sb(packets.KindTickEnd, packets.TickEnd{})
				return
			}
			s.sb(packets.KindPlayerPosition, groundPos(float64(i)/10, 64, 0))
			s.sb(packets.KindPlayerPosition, groundPos(float64(i)/10+0.05, 64, 0))
		})
		if s.count("timer.balance") == 0 {
			t.Fatal("movement without tick end at 2x not flagged")
		}
	})
}

func TestTimerHonestMineflayerLink(t *testing.T) {
	for _, proto := range testProtocols {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(packets.VersionName(proto)+"/seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				m := &simMineflayer{s: s, rnd: rand.New(rand.NewPCG(seed, 7))}
				m.run(2 * time.Minute)
				if len(s.rec.events) != 0 {
					t.Fatalf("honest client on a jittery, stalling link flagged: %v", s.rec.keys())
				}
			})
		}
	}
}

func TestKeepAliveOrder(t *testing.T) {
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
		t.Run(c.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
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
		})
	}
}

func TestProbeTimeout(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
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
			v = s.sb(packets.KindPlayerOnGround, onGround())
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
	t.Run("answered probes never time out", func(t *testing.T) {
		s := newSession(t, 765, Config{})
		s.spawnAt(0, 64, 0)
		timerClient{interval: tickDuration, rtt: 200 * time.Millisecond}.run(s, 90*time.Second)
		if len(s.rec.events) != 0 {
			t.Fatalf("honest client flagged: %v", s.rec.keys())
		}
	})
}

func TestProbeOrder(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newSession(t, proto, Config{})
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

// TestTimerBalanceLoadedClient is mineflayer on a loaded machine, the burst
// the false-positive suite once saw dropped 10–17 ms ahead of the clock: its
// physics timer (a fixed-step accumulator, at most four ticks a call) fires
// late by up to just under two ticks, too little for a stall, and the event
// loop, busy until then, answers the probes that came meanwhile before the
// overdue timer pays the ticks it owes. The floor then lifts the balance
// while the client is up to a remainder plus the late gap behind.
func TestTimerBalanceLoadedClient(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newSession(t, proto, Config{})
				s.spawnAt(0, 64, 0)
				rng := rand.New(rand.NewPCG(seed, 11))
				const oneWay = time.Millisecond
				var answers []time.Time // when the client answers each outstanding probe
				lastCall := s.now
				// The server's ticks and the client's are out of phase.
				nextServer := s.now.Add(time.Duration(1+rng.IntN(int(tickDuration/time.Millisecond)-1)) * time.Millisecond)
				nominal := s.now.Add(tickDuration) // when the next physics call was due
				nextCall := nominal                // when it runs
				var acc time.Duration
				x := 0.0
				for end := s.now.Add(60 * time.Second); s.now.Before(end); {
					switch {
					case len(answers) > 0 && !answers[0].After(nextServer) && !answers[0].After(nextCall):
						s.now = answers[0]
						s.answer(1)
						answers = answers[1:]
					case !nextServer.After(nextCall):
						s.now = nextServer
						before := len(s.probes)
						s.serverTraffic()
						for range len(s.probes) - before {
							at := s.now.Add(oneWay)
							if at.After(nominal) && !at.After(nextCall) {
								at = nextCall // the loop is busy: answered when it is free, before the timer
							}
							answers = append(answers, at)
						}
						nextServer = nextServer.Add(tickDuration)
					default:
						s.now = nextCall
						acc += s.now.Sub(lastCall)
						lastCall = s.now
						for k := 0; k < 4 && acc >= tickDuration; k++ {
							x += 0.1
							s.sb(packets.KindPlayerPosition, groundPos(x, 64, 0))
							acc -= tickDuration
						}
						nominal = s.now.Add(tickDuration)
						nextCall = nominal
						if rng.IntN(4) == 0 { // late, by less than a stall
							nextCall = nextCall.Add(time.Duration(rng.IntN(int((stallGap-tickDuration)/time.Millisecond))) * time.Millisecond)
						}
					}
				}
				if n := s.count("timer.balance"); n != 0 {
					t.Fatalf("timer.balance flagged %d times: %v", n, s.rec.events[0].Details)
				}
			})
		})
	}
}
