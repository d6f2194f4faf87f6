package gate

import (
	"net/netip"
	"sync"
	"time"

	"github.com/rustguard/rustguard/shared/lru"
)

const (
	// maxVerifiedEntries caps the memory of passed verifications. Each
	// entry is a player who passed the limbo within VerifiedTTL; a pass
	// costs a bot real work, so this table grows with honest players, not
	// with a flood. 131,072 covers the unique daily players of a large
	// network per edge; an entry costs about 120 bytes with its name, so
	// a full table is about 16 MB. When full, the player seen least
	// recently verifies again.
	maxVerifiedEntries = 1 << 17
	// maxFailureEntries caps the failure counters and blocks. Failures are
	// what a flood produces, so this is the table a botnet fills: at the
	// cap, a block is evicted early only when more than 65,536 other
	// addresses failed since it was last touched, and an evicted address
	// still faces every rate limit. About 80 bytes an entry, 5 MB full.
	maxFailureEntries = 1 << 16
)

// verifiedKey is a player who passed: name and host (hostKey).
type verifiedKey struct {
	name string
	host netip.Prefix
}

// failures is one host's verification record.
type failures struct {
	count        int
	last         time.Time // last failure; the count expires block after it
	blockedUntil time.Time
}

// verification remembers who passed the limbo and who failed it.
type verification struct {
	mu          sync.Mutex
	ttl         time.Duration // guarded by mu, like the two below
	maxFailures int
	block       time.Duration
	passed      *lru.Table[verifiedKey, time.Time] // value: expiry
	failed      *lru.Table[netip.Prefix, failures]
}

func newVerification(c Config) *verification {
	return &verification{
		ttl: c.VerifiedTTL, maxFailures: c.VerifyMaxFailures, block: c.VerifyBlock,
		passed: lru.New[verifiedKey, time.Time](maxVerifiedEntries),
		failed: lru.New[netip.Prefix, failures](maxFailureEntries),
	}
}

// setPolicy changes the TTL, the failure count and the block; passes and
// blocks already given keep the expiry they were given.
func (v *verification) setPolicy(c Config) {
	v.mu.Lock()
	v.ttl, v.maxFailures, v.block = c.VerifiedTTL, c.VerifyMaxFailures, c.VerifyBlock
	v.mu.Unlock()
}

// pass remembers that name passed from host until now + ttl.
func (v *verification) pass(host netip.Prefix, name string, now time.Time) {
	v.mu.Lock()
	exp, _ := v.passed.Put(verifiedKey{name: name, host: host})
	*exp = now.Add(v.ttl)
	v.mu.Unlock()
}

// verified reports whether name passed from host within the TTL; an
// expired entry is dropped on the way.
func (v *verification) verified(host netip.Prefix, name string, now time.Time) bool {
	k := verifiedKey{name: name, host: host}
	v.mu.Lock()
	defer v.mu.Unlock()
	exp := v.passed.Get(k)
	if exp == nil {
		return false
	}
	if !now.Before(*exp) {
		v.passed.Remove(k)
		return false
	}
	return true
}

// fail counts a failure of host at now and reports whether host is now
// blocked, and until when. Failures older than the block duration are
// forgotten, so two failures a day apart do not add up.
func (v *verification) fail(host netip.Prefix, now time.Time) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f, _ := v.failed.Put(host)
	if now.Before(f.blockedUntil) {
		return f.blockedUntil, true
	}
	if now.Sub(f.last) >= v.block {
		f.count = 0
	}
	f.count++
	f.last = now
	if f.count >= v.maxFailures {
		f.count = 0
		f.blockedUntil = now.Add(v.block)
		return f.blockedUntil, true
	}
	return time.Time{}, false
}

// blocked reports whether host is blocked at now and for how much longer.
func (v *verification) blocked(host netip.Prefix, now time.Time) (time.Duration, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f := v.failed.Get(host)
	if f == nil || !now.Before(f.blockedUntil) {
		return 0, false
	}
	return f.blockedUntil.Sub(now), true
}
