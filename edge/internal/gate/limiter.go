package gate

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/rustguard/rustguard/shared/lru"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/netscope"
)

// Scope says which bucket refused: the address's or its prefix's.
type Scope uint8

const (
	ScopeAddr   Scope = iota // the address: an IPv4 address or an IPv6 /64 (netscope.Address)
	ScopePrefix              // its IPv4 /24 or IPv6 /48 (netscope.Prefix)
)

// Limiter is a local rate limit per address and prefix. It must not touch
// the network: Accept runs it for every socket.
type Limiter interface {
	// Allow takes one token for addr at now. When refused, scope names the
	// bucket that ran dry and retryAfter says when it has a token again
	// (zero when unknown).
	Allow(addr netip.Addr, now time.Time) (ok bool, scope Scope, retryAfter time.Duration)
}

// LimiterFunc adapts a function to Limiter.
type LimiterFunc func(addr netip.Addr, now time.Time) (bool, Scope, time.Duration)

// Allow calls f.
func (f LimiterFunc) Allow(addr netip.Addr, now time.Time) (bool, Scope, time.Duration) {
	return f(addr, now)
}

// FleetLimiter is a login rate shared by the whole fleet (Redis). The gate
// asks it after every local rule passed, bounded by fleetTimeout, and lets
// the login through when it fails: a Redis outage must not lock players out
// while the local buckets still hold.
type FleetLimiter interface {
	AllowLogin(ctx context.Context, addr netip.Addr, name string) (allowed bool, retryAfter time.Duration, err error)
}

// BanChecker answers from the fleet's ban list in memory (no network).
type BanChecker interface {
	// Banned reports whether addr, name or uuid is banned at now, and the
	// message to show the player. A zero uuid or empty name is skipped.
	// uuid is LoginRequest.Identity, never a UUID the client only claimed.
	Banned(addr netip.Addr, name string, uuid mcproto.UUID, now time.Time) (message string, banned bool)
}

// BanFunc adapts a function to BanChecker, e.g. a closure over
// bans.Table.Match and Ban.Message.
type BanFunc func(addr netip.Addr, name string, uuid mcproto.UUID, now time.Time) (string, bool)

// Banned calls f.
func (f BanFunc) Banned(addr netip.Addr, name string, uuid mcproto.UUID, now time.Time) (string, bool) {
	return f(addr, name, uuid, now)
}

// AddrBanChecker answers at accept whether an address is banned (IP and
// CIDR bans). Accept asks it for every connection, so it must answer from
// memory, allocate nothing and not fail closed: a ban list that cannot be
// synced is the login's concern (BanChecker), not the server list's.
type AddrBanChecker interface {
	AddrBanned(addr netip.Addr, now time.Time) bool
}

// AddrBanFunc adapts a function to AddrBanChecker, e.g. a closure over
// bans.Table.MatchAddr.
type AddrBanFunc func(addr netip.Addr, now time.Time) bool

// AddrBanned calls f.
func (f AddrBanFunc) AddrBanned(addr netip.Addr, now time.Time) bool { return f(addr, now) }

// AttackSignal reports the join rate the whole fleet sees. It is read on
// every login, so it must answer from memory.
type AttackSignal interface {
	FleetJoinsPerSecond() float64
}

const (
	// maxRateEntries caps each token-bucket table (address and prefix, for
	// connections and for logins). A bucket only matters until it has
	// refilled to full: 2 s for the default connection rate, 9 s for
	// logins. At this cap an honest entry survives about 65,536 ÷ R
	// seconds under a flood of R new addresses per second, so a flood has
	// to bring over 7,000 fresh addresses a second just to reset the login
	// buckets it competes with, and evicting a bucket only ever makes the
	// limit laxer for that address, never stricter. An entry costs about
	// 100 bytes with the map, so a full table is about 6.5 MB; the four
	// tables together stay under 30 MB.
	maxRateEntries = 1 << 16
	// fleetTimeout bounds one fleet limiter call. A Redis round trip in
	// the edge's region takes about a millisecond; a stalled Redis must
	// not hold logins for longer than a player notices.
	fleetTimeout = 250 * time.Millisecond
)

// bucket is one token bucket; last is the time of the last refill.
type bucket struct {
	tokens float64
	last   int64 // Unix nanoseconds
}

// refill adds the tokens earned since last, up to the burst. A clock that
// went backwards earns nothing.
func (b *bucket) refill(now int64, r Rate) {
	if d := now - b.last; d > 0 {
		b.tokens = min(float64(r.Burst), b.tokens+float64(d)/float64(time.Second)*r.PerSecond)
	}
	b.last = now
}

// wait is how long until b holds a whole token.
func (b *bucket) wait(r Rate) time.Duration {
	return time.Duration((1 - b.tokens) / r.PerSecond * float64(time.Second))
}

// localLimiter is the built-in Limiter: a token bucket per address and per
// prefix in bounded tables. Both buckets must hold a token and both lose one
// only when both do, so an address refused by its own bucket does not also
// drain its neighbours' shared prefix.
type localLimiter struct {
	mu                   sync.Mutex
	addrRate, prefixRate Rate // guarded by mu
	addrs                *lru.Table[netip.Prefix, bucket]
	prefixes             *lru.Table[netip.Prefix, bucket]
}

func newLocalLimiter(addr, prefix Rate) *localLimiter {
	return &localLimiter{
		addrRate: addr, prefixRate: prefix,
		addrs:    lru.New[netip.Prefix, bucket](maxRateEntries),
		prefixes: lru.New[netip.Prefix, bucket](maxRateEntries),
	}
}

// setRates changes the rates; buckets keep their tokens (capped at the new
// burst at their next refill).
func (l *localLimiter) setRates(addr, prefix Rate) {
	l.mu.Lock()
	l.addrRate, l.prefixRate = addr, prefix
	l.mu.Unlock()
}

// Allow implements Limiter.
func (l *localLimiter) Allow(addr netip.Addr, now time.Time) (bool, Scope, time.Duration) {
	t := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.take(l.addrs, netscope.Address(addr), l.addrRate, t)
	p := l.take(l.prefixes, netscope.Prefix(addr), l.prefixRate, t)
	switch {
	case a != nil && a.tokens < 1:
		return false, ScopeAddr, a.wait(l.addrRate)
	case p != nil && p.tokens < 1:
		return false, ScopePrefix, p.wait(l.prefixRate)
	}
	if a != nil {
		a.tokens--
	}
	if p != nil {
		p.tokens--
	}
	return true, ScopeAddr, 0
}

// take returns k's bucket refilled to now (a new one starts full), or nil
// when the rate is off. The two tables are distinct, so the pointer from one
// survives a put into the other.
func (l *localLimiter) take(t *lru.Table[netip.Prefix, bucket], k netip.Prefix, r Rate, now int64) *bucket {
	if !r.enabled() {
		return nil
	}
	b, created := t.Put(k)
	if created {
		*b = bucket{tokens: float64(r.Burst), last: now}
	}
	b.refill(now, r)
	return b
}

// hostKey is the key of everything that counts one client (logins in
// flight, players, verification): its address as netscope defines it, an
// IPv4 address or an IPv6 /64. One machine usually holds a whole /64 and
// rotates privacy addresses inside it, so counting single IPv6 addresses
// would let it hold as many players as it likes.
func hostKey(a netip.Addr) netip.Prefix { return netscope.Address(a) }
