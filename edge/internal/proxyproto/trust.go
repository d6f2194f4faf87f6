package proxyproto

import "net/netip"

// Trust is the set of peers allowed to send a PROXY header: the load
// balancers in front of the edge. The zero Trust, like one built from no
// prefixes, trusts nobody. A Trust is immutable and safe for concurrent use.
type Trust struct {
	prefixes []netip.Prefix
}

// NewTrust builds a Trust from prefixes (a single host is a /32 or /128).
// Prefixes are masked, and an IPv4-mapped IPv6 prefix of at least /96
// (::ffff:10.0.0.0/104) is turned into the IPv4 prefix it denotes, so it
// matches the way Contains sees peers. Invalid prefixes and mapped
// prefixes shorter than /96 are dropped: dropping an entry can only make
// the edge trust fewer peers, never more.
func NewTrust(prefixes []netip.Prefix) Trust {
	// IPv4-mapped addresses put the IPv4 address in the last 32 of 128 bits.
	const mappedBits = 128 - 32
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		addr := p.Addr()
		if addr.Is4In6() {
			if p.Bits() < mappedBits {
				continue
			}
			p = netip.PrefixFrom(addr.Unmap(), p.Bits()-mappedBits)
		}
		out = append(out, p.Masked())
	}
	return Trust{prefixes: out}
}

// Contains reports whether addr is a trusted balancer. A dual-stack socket
// reports an IPv4 peer as ::ffff:a.b.c.d, so addr is unmapped before the
// lookup and matches the IPv4 prefixes; an IPv6 zone is ignored. A linear
// scan is right for the handful of balancer ranges an edge has.
func (t Trust) Contains(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
