package limits

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/rustguard/rustguard/shared/netscope"
)

// Tier names the limit that refused something. One enum serves the log
// field, the metric label and the caller's choice of message.
type Tier uint8

const (
	TierNone        Tier = iota // nothing refused
	TierAddress                 // one IPv4 address, or one IPv6 /64 (what one subscriber gets)
	TierPrefix                  // an IPv4 /24, or an IPv6 /48 (one site or provider block)
	TierName                    // one player name from one source prefix (fleet tier only)
	TierUnavailable             // Redis unreachable and the policy is fail-closed
	numTiers
)

var tierNames = [numTiers]string{
	TierNone: "none", TierAddress: "address", TierPrefix: "prefix", TierName: "name", TierUnavailable: "unavailable",
}

// String is the stable snake_case name used as log field and metric label.
func (t Tier) String() string {
	if t < numTiers {
		return tierNames[t]
	}
	return "unknown"
}

// Rate is a limit: a sustained rate and a burst on top of it. A zero
// PerSecond disables the limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Enabled reports whether r limits anything.
func (r Rate) Enabled() bool { return r.PerSecond > 0 }

// Interval is the time one event costs at the sustained rate.
func (r Rate) Interval() time.Duration {
	if !r.Enabled() {
		return 0
	}
	return time.Duration(float64(time.Second) / r.PerSecond)
}

func (r Rate) validate(what string) error {
	if math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0) || r.PerSecond < 0 {
		return fmt.Errorf("limits: %s rate %v must be a non-negative number", what, r.PerSecond)
	}
	if r.Enabled() && r.Burst < 1 {
		return fmt.Errorf("limits: %s burst %d must be at least 1", what, r.Burst)
	}
	// Rates below one per day are a configuration slip (a per-minute
	// value typed as per-second inverted, or a unit lost).
	if r.Enabled() && r.PerSecond < 1.0/86400 {
		return fmt.Errorf("limits: %s rate %v/s is below one a day", what, r.PerSecond)
	}
	return nil
}

// addrKey and prefixKey turn a client address into the 64-bit key of its
// tier: the scopes of package netscope (an IPv4 address or IPv6 /64, and an
// IPv4 /24 or IPv6 /48), shared with the gate's local rules and the bans.
// Only the first 64 bits of an IPv6 address matter to either tier.
// IPv4 keys live in ff00::/8 (multicast), which is never the source of a
// TCP connection, so the two families cannot collide.
func addrKey(a netip.Addr) (uint64, bool) {
	return tierKey(a, netscope.AddressBits4, netscope.AddressBits6)
}

func prefixKey(a netip.Addr) (uint64, bool) {
	return tierKey(a, netscope.PrefixBits4, netscope.PrefixBits6)
}

const v4KeyTag = 0xff00_0000_0000_0000

func tierKey(a netip.Addr, bits4, bits6 int) (uint64, bool) {
	if !a.IsValid() {
		return 0, false
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		return v4KeyTag | v&^(math.MaxUint32>>bits4), true
	}
	b := a.As16()
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v &^ (math.MaxUint64 >> bits6), true
}
