package detect

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// simEvent is one thing that happens at the edge at a time: a server packet
// relayed to the client or a client packet arriving.
type simEvent struct {
	at  time.Time
	seq int
	fn  func()
}

// simQueue orders events by time, then by scheduling order.
type simQueue struct {
	evs []simEvent
	seq int
}

func (q *simQueue) push(at time.Time, fn func()) {
	q.seq++
	q.evs = append(q.evs, simEvent{at: at, seq: q.seq, fn: fn})
}

func (q *simQueue) pop() simEvent {
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

// simMineflayer simulates an honest mineflayer client on a jittery link
// whose event loop stalls now and then: physics calls every 50 ms with an
// accumulator paying at most four ticks per call, server packets handled
// as they are read (after a stall, before or after the first catch-up
// ticks), each direction's delay random but in order. With fight set, a
// target player circles the client, which attacks it every half second
// when its own view puts the target within 3 blocks, feet to feet.
type simMineflayer struct {
	s          *session
	rnd        *rand.Rand
	q          simQueue
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

const simTarget = 42

func (m *simMineflayer) delay(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(m.rnd.Int64N(int64(hi-lo)))
}

// up schedules a client packet sent at t to arrive at the edge.
func (m *simMineflayer) up(t time.Time, fn func()) {
	at := t.Add(m.delay(2*time.Millisecond, 60*time.Millisecond))
	if at.Before(m.lastUp) {
		at = m.lastUp
	}
	m.lastUp = at
	m.q.push(at, fn)
}

// down schedules a server packet relayed now to reach the client.
func (m *simMineflayer) down(handle func(t time.Time)) {
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

func (m *simMineflayer) handleInbox(t time.Time) {
	for _, h := range m.inbox {
		h(t)
	}
	m.inbox = m.inbox[:0]
}

// physics is one call of mineflayer's physics interval at client time t.
func (m *simMineflayer) physics(t time.Time) {
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
		m.up(t, func() { m.s.sb(packets.KindPlayerPosition, groundPos(x, 64, 0)) })
		m.ticks++
		if m.fight && m.ticks%10 == 0 {
			dx, dz := m.view[0]-x, m.view[2]
			if dx*dx+dz*dz <= 9 {
				m.attacks++
				m.up(t, func() { m.s.attack(simTarget) })
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
func (m *simMineflayer) server() {
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
		m.s.cb(packets.KindEntityRelMove, packets.EntityRelMove{EntityID: simTarget, DX: d[0], DY: d[1], DZ: d[2]})
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
func (m *simMineflayer) run(d time.Duration) {
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
