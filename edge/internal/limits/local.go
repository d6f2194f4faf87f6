package limits

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LocalConfig sets the accept-time limits of one edge.
type LocalConfig struct {
	// Address limits one IPv4 address or IPv6 /64.
	Address Rate
	// Prefix limits one IPv4 /24 or IPv6 /48.
	Prefix Rate
	// MaxKeys caps how many addresses (and, separately, prefixes) are
	// tracked; past it the least recently seen is forgotten.
	MaxKeys int
}

// LocalDefaults are tuned for connections of every kind (server-list pings
// included) on a public network:
//
//   - Prefix 5/s, burst 10: gate's connection quota (its addrquota keys
//     IPv4 by /24), which has served public Minecraft networks for years.
//   - Address 3/s, burst 6: below the prefix, so one host cannot spend its
//     whole /24's budget, yet a player opening the server list (one ping)
//     and joining (one connection) never comes near it.
//   - MaxKeys 65,536 per tier: about 3 MB each (32-byte slot plus map
//     entry). Forgetting a key only hands its owner a fresh burst, and a
//     key idle for burst/rate (2 s) is full anyway, so the cap matters only
//     when more than 65,536 sources connect within two seconds: a flood the
//     prefix tier and the kernel's SYN handling must absorb regardless.
func LocalDefaults() LocalConfig {
	return LocalConfig{
		Address: Rate{PerSecond: 3, Burst: 6},
		Prefix:  Rate{PerSecond: 5, Burst: 10},
		MaxKeys: 1 << 16,
	}
}

// maxLocalKeys bounds MaxKeys: slots are preallocated, so a typo such as a
// billion must not become a 40 GB allocation at start.
const maxLocalKeys = 1 << 22

// Local is the first tier: in-process token buckets consulted on every
// accept, with no I/O and no allocation in the steady state. A nil *Local
// allows everything.
type Local struct {
	addr, prefix *buckets // nil when the tier is disabled
	refused      [numTiers]prometheus.Counter
}

// NewLocal builds the limiter. reg receives its refusal counter; nil means
// no metrics.
func NewLocal(cfg LocalConfig, reg prometheus.Registerer) (*Local, error) {
	if err := cfg.Address.validate("local address"); err != nil {
		return nil, err
	}
	if err := cfg.Prefix.validate("local prefix"); err != nil {
		return nil, err
	}
	if cfg.MaxKeys < 1 || cfg.MaxKeys > maxLocalKeys {
		return nil, fmt.Errorf("limits: local max keys %d must be between 1 and %d", cfg.MaxKeys, maxLocalKeys)
	}
	l := &Local{}
	if cfg.Address.Enabled() {
		l.addr = newBuckets(cfg.Address, cfg.MaxKeys)
	}
	if cfg.Prefix.Enabled() {
		l.prefix = newBuckets(cfg.Prefix, cfg.MaxKeys)
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_local_limit_refused_total", Help: "Connections refused on accept by the local token buckets, by tier: address (IPv4 or IPv6 /64), prefix (IPv4 /24 or IPv6 /48)."},
		[]string{"tier"})
	for _, t := range []Tier{TierAddress, TierPrefix} {
		l.refused[t] = vec.WithLabelValues(t.String())
	}
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			return nil, fmt.Errorf("limits: register local metrics: %w", err)
		}
	}
	return l, nil
}

// Allow takes one token for addr from its prefix bucket and then its
// address bucket. A refused attempt still costs the tokens it took, so a
// source that keeps hammering stays refused. Invalid addresses (a
// connection whose peer is unknown) are allowed: there is nothing to key
// them by.
func (l *Local) Allow(addr netip.Addr, now time.Time) (ok bool, which Tier) {
	if l == nil {
		return true, TierNone
	}
	ns := now.UnixNano()
	if l.prefix != nil {
		if k, valid := prefixKey(addr); valid && !l.prefix.take(k, ns) {
			l.refused[TierPrefix].Inc()
			return false, TierPrefix
		}
	}
	if l.addr != nil {
		if k, valid := addrKey(addr); valid && !l.addr.take(k, ns) {
			l.refused[TierAddress].Inc()
			return false, TierAddress
		}
	}
	return true, TierNone
}

// Tracked reports how many addresses and prefixes are held, for tests and
// debugging.
func (l *Local) Tracked() (addresses, prefixes int) {
	if l == nil {
		return 0, 0
	}
	return l.addr.len(), l.prefix.len()
}

// buckets is a fixed-capacity map of token buckets with least-recently-used
// eviction. Slots live in one preallocated slice linked into a recency list
// by index, so the steady state allocates nothing.
type buckets struct {
	mu       sync.Mutex
	perNano  float64 // tokens per nanosecond
	burst    float64
	idx      map[uint64]int32
	slots    []slot // len grows to cap, never beyond
	head     int32  // most recently used, -1 when empty
	tail     int32  // least recently used
	capacity int
}

type slot struct {
	key        uint64
	tokens     float64
	last       int64 // unix nanoseconds of the last refill
	prev, next int32
}

func newBuckets(r Rate, capacity int) *buckets {
	return &buckets{
		perNano:  r.PerSecond / float64(time.Second),
		burst:    float64(r.Burst),
		idx:      make(map[uint64]int32, capacity),
		slots:    make([]slot, 0, capacity),
		head:     -1,
		tail:     -1,
		capacity: capacity,
	}
}

func (b *buckets) len() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.slots)
}

// take refills k's bucket up to now and takes a token if there is one.
func (b *buckets) take(k uint64, now int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.idx[k]
	if ok {
		b.unlink(i)
	} else {
		if len(b.slots) < b.capacity {
			i = int32(len(b.slots))
			b.slots = b.slots[:i+1]
		} else {
			i = b.tail
			b.unlink(i)
			delete(b.idx, b.slots[i].key)
		}
		b.slots[i] = slot{key: k, tokens: b.burst, last: now}
		b.idx[k] = i
	}
	b.pushFront(i)
	s := &b.slots[i]
	if elapsed := now - s.last; elapsed > 0 {
		s.tokens = math.Min(b.burst, s.tokens+float64(elapsed)*b.perNano)
		s.last = now
	}
	if s.tokens >= 1 {
		s.tokens--
		return true
	}
	return false
}

func (b *buckets) unlink(i int32) {
	s := &b.slots[i]
	if s.prev >= 0 {
		b.slots[s.prev].next = s.next
	} else {
		b.head = s.next
	}
	if s.next >= 0 {
		b.slots[s.next].prev = s.prev
	} else {
		b.tail = s.prev
	}
	s.prev, s.next = -1, -1
}

func (b *buckets) pushFront(i int32) {
	s := &b.slots[i]
	s.prev, s.next = -1, b.head
	if b.head >= 0 {
		b.slots[b.head].prev = i
	}
	b.head = i
	if b.tail < 0 {
		b.tail = i
	}
}
