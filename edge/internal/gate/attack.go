package gate

import (
	"sync"
	"time"
)

// attackWindow is how many seconds joins per second are averaged over. One
// second (Sonar's counter) flips on a single unlucky burst; five still
// reacts within seconds of a bot wave while a burst of 8 × 5 = 40 joins in
// one second (a join bot's first volley) is enough on its own.
const attackWindow = 5

// attackTracker counts joins in a ring of one-second slots and decides
// attack mode from the local and the fleet rate.
type attackTracker struct {
	mu         sync.Mutex
	forced     string // AttackModeOn, AttackModeOff, or AttackModeAuto (not forced); guarded by mu like the rest
	threshold  float64
	fleetLimit float64 // 0: ignore the fleet
	quiet      time.Duration
	ring       [attackWindow]joinSlot
	on         bool
	since      time.Time // when attack mode last turned on
	lastAbove  time.Time // last time a rate was at or above its threshold
}

type joinSlot struct {
	sec int64 // Unix second this slot counts
	n   int
}

// transition describes a change of attack mode, for the log.
type transition struct {
	changed bool
	on      bool
	local   float64
	fleet   float64
	lasted  time.Duration // how long attack mode was on, when it turns off
	// the thresholds in force, for the log
	threshold, fleetLimit float64
}

func newAttackTracker(c Config) *attackTracker {
	return &attackTracker{
		forced: c.AttackMode, threshold: c.AttackJoinsPerSecond,
		fleetLimit: c.AttackFleetJoinsPerSecond, quiet: c.AttackQuiet,
	}
}

// setPolicy changes the switch and the thresholds; the join counts are
// kept, so a lowered threshold can turn attack mode on at once.
func (a *attackTracker) setPolicy(c Config) {
	a.mu.Lock()
	a.forced, a.threshold, a.fleetLimit, a.quiet = c.AttackMode, c.AttackJoinsPerSecond, c.AttackFleetJoinsPerSecond, c.AttackQuiet
	a.mu.Unlock()
}

// join counts one join at now.
func (a *attackTracker) join(now time.Time) {
	sec := now.Unix()
	a.mu.Lock()
	s := &a.ring[uint64(sec)%attackWindow]
	if s.sec != sec {
		*s = joinSlot{sec: sec}
	}
	s.n++
	a.mu.Unlock()
}

// rate is the local joins per second over the window ending at now.
func (a *attackTracker) rate(now time.Time) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rateLocked(now.Unix())
}

func (a *attackTracker) rateLocked(sec int64) float64 {
	n := 0
	for _, s := range a.ring {
		if age := sec - s.sec; age >= 0 && age < attackWindow {
			n += s.n
		}
	}
	return float64(n) / attackWindow
}

// update decides attack mode at now given the fleet's join rate.
func (a *attackTracker) update(now time.Time, fleet float64) (bool, transition) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.forced {
	case AttackModeOn:
		return true, transition{}
	case AttackModeOff:
		return false, transition{}
	}
	local := a.rateLocked(now.Unix())
	above := local >= a.threshold || (a.fleetLimit > 0 && fleet >= a.fleetLimit)
	tr := transition{local: local, fleet: fleet, threshold: a.threshold, fleetLimit: a.fleetLimit}
	switch {
	case above:
		a.lastAbove = now
		if !a.on {
			a.on, a.since = true, now
			tr.changed, tr.on = true, true
		}
	case a.on && now.Sub(a.lastAbove) >= a.quiet:
		a.on = false
		tr.changed, tr.lasted = true, now.Sub(a.since)
	}
	return a.on, tr
}
