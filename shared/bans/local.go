package bans

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxLocalBans caps the bans one edge holds on its own. Each costs about
// 250 bytes with its index entries, 16 MB full. A local ban takes a
// connection that reached play and tripped a check whose action is ban,
// which the gate's rates per address and prefix hold to a few a second
// per network; at the cap the oldest ban (the first to expire, as every
// detection ban lasts detection.ban_duration) is dropped for the new one.
const maxLocalBans = 1 << 16

// LocalOptions are the local table's dependencies, all optional.
type LocalOptions struct {
	// OnAdd is called with every ban added, after the table answers with
	// it, on the caller's goroutine: hand off anything slow.
	OnAdd func(Ban)
	Log   *slog.Logger
	// Registerer receives the table's metrics; nil means none.
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Local holds the bans this edge enforces on its own: detection bans that
// have no shared list to go to (no Redis configured) or that the shared
// list did not take (Redis unreachable, write queue full). They are not
// shared with the fleet, not shown by the CLI, and end with their expiry or
// a restart of the edge. Match on Table answers from memory, like the
// fleet's table.
type Local struct {
	table *Table
	onAdd func(Ban)
	log   *slog.Logger
	now   func() time.Time

	max   int // maxLocalBans; smaller in tests
	mu    sync.Mutex
	order []localEntry // insertion order, oldest at head; a ring once full
	head  int
	n     int

	evicted prometheus.Counter
	warn    logGate
}

// localEntry is one ban in insertion order; created tells a ban apart from
// a later one on the same subject.
type localEntry struct {
	id      string
	created time.Time
	expires time.Time
}

// NewLocal returns an empty local table.
func NewLocal(o LocalOptions) (*Local, error) {
	l := &Local{table: NewTable(), onAdd: o.OnAdd, log: o.Log, now: o.Now, max: maxLocalBans}
	if l.onAdd == nil {
		l.onAdd = func(Ban) {}
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.evicted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_bans_local_evicted_total",
		Help: "Bans held by this edge alone (detection bans without a shared list) dropped before their expiry because the local table was full.",
	})
	if o.Registerer != nil {
		held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustguard_edge_bans_local",
			Help: "Bans this edge holds on its own: detection bans with no shared list to go to, or that Redis did not take.",
		}, func() float64 { return float64(l.table.Len()) })
		for _, c := range []prometheus.Collector{held, l.evicted} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("bans: register local metrics: %w", err)
			}
		}
	}
	return l, nil
}

// Table is the local ban list; Match on it answers without locking.
func (l *Local) Table() *Table { return l.table }

// Add bans b on this edge. Expired bans are dropped on the way; at the cap
// the oldest ban makes room. A ban that does not normalise is ignored.
func (l *Local) Add(b Ban) {
	now := l.now()
	if b.Created.IsZero() {
		b.Created = now
	}
	b, err := Normalize(b)
	if err != nil {
		l.log.Debug("local ban not added", "err", err)
		return
	}
	l.mu.Lock()
	changes := make([]Change, 0, 2)
	for l.n > 0 {
		e := l.order[l.head]
		expired := !e.expires.IsZero() && !now.Before(e.expires)
		if !expired && l.n < l.max {
			break
		}
		if !expired {
			l.evicted.Inc()
			if n, ok := l.warn.allow(now); ok {
				l.log.Warn("local ban table full; dropping the oldest ban", "cap", l.max, "suppressed", n)
			}
		}
		if held, ok := l.table.Get(e.id); ok && held.Created.Equal(e.created) {
			changes = append(changes, Change{Ban: Ban{ID: e.id}, Remove: true})
		}
		l.order[l.head] = localEntry{}
		l.head = (l.head + 1) % l.max
		l.n--
	}
	changes = append(changes, Change{Ban: b})
	l.table.Update(changes)
	e := localEntry{id: b.ID, created: b.Created, expires: b.Expires}
	if tail := (l.head + l.n) % l.max; tail < len(l.order) {
		l.order[tail] = e
	} else {
		l.order = append(l.order, e)
	}
	l.n++
	l.mu.Unlock()
	l.onAdd(b)
}
