package limits

import (
	"encoding/binary"
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
	TierName                    // one player name from one source prefix
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
// scope, as package netscope defines them (an IPv4 address or IPv6 /64,
// and an IPv4 /24 or IPv6 /48), the scopes of the gate's local rules and
// the bans too: the masking is netscope's, only the packing is here. Both
// scopes of an IPv6 address fit in its first 64 bits. IPv4 keys live in
// ff00::/8 (multicast), which is never the source of a TCP connection, so
// the two families cannot collide.
func addrKey(a netip.Addr) (uint64, bool) { return scopeKey(netscope.Address(a)) }

func prefixKey(a netip.Addr) (uint64, bool) { return scopeKey(netscope.Prefix(a)) }

const v4KeyTag = 0xff00_0000_0000_0000

// scopeKey packs a masked scope; false for the zero Prefix netscope
// returns for an invalid address.
func scopeKey(p netip.Prefix) (uint64, bool) {
	if !p.IsValid() {
		return 0, false
	}
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		return v4KeyTag | uint64(binary.BigEndian.Uint32(b[:])), true
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), true
}
