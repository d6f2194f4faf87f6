package discovery

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Backends chooses where a player goes.
type Backends interface {
	// Candidates returns backend addresses for a handshake host, best first:
	// the stable choice for this player key (e.g. name, or address for pings)
	// if healthy, then by fewest connections from this edge. ErrUnknownHost
	// when no pool serves host (and no default pool is configured);
	// ErrBackendUnavailable when the pool is empty. Callers must not modify
	// the returned slice.
	Candidates(host, playerKey string) ([]string, error)
	// Dial connects to one candidate within the dial timeout.
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// Acquire/Release count this edge's open connections per backend for
	// least-connections.
	Acquire(addr string)
	Release(addr string)
	// Reachable reports whether at least one backend is known healthy (for
	// /readyz).
	Reachable() bool
}

var (
	_ Backends = (*Static)(nil)
	_ Backends = (*Consul)(nil)
)

// ErrUnknownHost is returned by Candidates when no pool serves the handshake
// host and no default pool is configured: the player should be told the
// address is wrong, not that the server is down.
var ErrUnknownHost = errors.New("no backend pool serves this host")

const (
	// dialDefaultTimeout bounds a backend dial when the caller configured
	// none; it matches Velocity's default connection-timeout (5000 ms).
	dialDefaultTimeout = 5 * time.Second

	// dialFailurePenalty is how long an instance that refused or timed out a
	// dial goes to the end of the candidate list. It covers the time until
	// Consul's own check (typically every 5–10 s) marks it critical, so later
	// logins do not pay the same dial timeout again.
	dialFailurePenalty = 10 * time.Second

	// stickyLoadNum/stickyLoadDen is the load factor c of consistent hashing
	// with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2017; HAProxy's
	// hash-balance-factor is the same idea): a player's stable instance is
	// kept while it would hold at most c × the average connections of the
	// pool. Our choice of 1.25 keeps most reconnects sticky while no backend
	// runs more than a quarter above its share.
	stickyLoadNum = 5
	stickyLoadDen = 4
	// stickySlack adds whole connections to that bound, so a pool with a
	// handful of players does not move someone over a difference of one.
	stickySlack = 1

	// rankStackEntries is how many instances rank sorts without a heap
	// allocation; pools are usually a few dozen backends at most.
	rankStackEntries = 32
)

// backendStats is this edge's view of one backend address. The same value is
// shared by every routing table that lists the address, so counts survive
// table rebuilds.
type backendStats struct {
	conns       atomic.Int64
	failedUntil atomic.Int64 // unix nanoseconds; the instance goes last until then
}

// backend is one instance in an immutable pool.
type backend struct {
	addr  string
	stats *backendStats
}

type rankEntry struct {
	addr      string
	load      int64
	score     uint64
	penalized bool
}

// rank orders a pool for one player: the stable choice first (when key is not
// empty and that instance is neither penalized nor overloaded), then the rest
// by penalty, fewest connections and rendezvous score. It allocates only the
// returned slice for pools up to rankStackEntries.
func rank(pool []backend, key string, now int64) []string {
	n := len(pool)
	var buf [rankStackEntries]rankEntry
	ents := buf[:0]
	if n > len(buf) {
		ents = make([]rankEntry, 0, n)
	}
	var total int64
	for _, b := range pool {
		load := b.stats.conns.Load()
		total += load
		ents = append(ents, rankEntry{
			addr:      b.addr,
			load:      load,
			score:     rendezvous(key, b.addr),
			penalized: b.stats.failedUntil.Load() > now,
		})
	}
	out := make([]string, 0, n)
	if key != "" {
		limit := ceilDiv(stickyLoadNum*(total+1), stickyLoadDen*int64(n)) + stickySlack
		best := -1
		for i, e := range ents {
			if e.penalized || e.load+1 > limit {
				continue
			}
			if best < 0 || e.score > ents[best].score {
				best = i
			}
		}
		if best >= 0 {
			out = append(out, ents[best].addr)
			ents[best] = ents[len(ents)-1]
			ents = ents[:len(ents)-1]
		}
	}
	slices.SortFunc(ents, func(a, b rankEntry) int {
		if a.penalized != b.penalized {
			if a.penalized {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.load, b.load); c != 0 {
			return c
		}
		return cmp.Compare(b.score, a.score)
	})
	for _, e := range ents {
		out = append(out, e.addr)
	}
	return out
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// FNV-1a 64-bit parameters (FNV reference, Fowler/Noll/Vo).
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// rendezvous is the highest-random-weight score of addr for key: the stable
// choice is the instance with the highest score, so adding or removing an
// instance only moves the players that scored highest on it.
func rendezvous(key, addr string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= fnvPrime64
	}
	// A separator byte that cannot appear in a host:port keeps
	// ("ab", "c") and ("a", "bc") apart.
	h ^= 0xff
	h *= fnvPrime64
	for i := 0; i < len(addr); i++ {
		h ^= uint64(addr[i])
		h *= fnvPrime64
	}
	// FNV's low bits mix poorly for short inputs; the splitmix64 finalizer
	// spreads them so scores compare fairly.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// normalizeHost lower-cases host and drops a trailing dot, as DNS does. It
// allocates only when host has upper-case letters.
func normalizeHost(host string) string {
	return strings.ToLower(strings.TrimRight(host, "."))
}
