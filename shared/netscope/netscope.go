// Package netscope says which network a client address stands for. Every
// per-client rule of the edge (connection and login rates, fleet limits,
// logins in flight and players per address, verification blocks, address
// bans) counts clients by the same two scopes, defined here once:
//
//   - the address: an IPv4 address, or an IPv6 /64;
//   - the prefix: an IPv4 /24, or an IPv6 /48.
//
// An IPv6 subscriber gets at least a /64 and every host in it picks its own
// addresses (SLAAC privacy addresses rotate on their own), so one machine can
// present 2^64 different /128s: counting single IPv6 addresses would give it
// a fresh budget, a fresh slot and a way around a ban for every connection.
// RFC 6177 recommends giving sites a /56 or a /48, so a /48 is what one
// customer can rotate through; for IPv4 a /24 is the smallest block routed
// on the internet. See docs/CONFIG.md ("Addresses and prefixes") and
// SHARP_EDGES.md.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack socket
// reports for an IPv4 peer) are IPv4, and zones are dropped: a zone names a
// local interface, not a client.
package netscope

import "net/netip"

// Prefix lengths of the two scopes.
const (
	AddressBits4 = 32 // one IPv4 address: one household or one carrier NAT
	AddressBits6 = 64 // one IPv6 subscriber's LAN (RFC 6177: at least a /64)
	PrefixBits4  = 24 // the smallest IPv4 block routed on the internet
	PrefixBits6  = 48 // one IPv6 site allocation (RFC 6177)
)

// Normalize strips the IPv4-in-IPv6 mapping and any zone, so one peer has
// one form however the socket reported it.
func Normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// Address is the network that counts as one client address: the IPv4
// address itself (/32) or the IPv6 /64 holding a. The zero Prefix (not
// IsValid) for an invalid address.
func Address(a netip.Addr) netip.Prefix { return scope(a, AddressBits4, AddressBits6) }

// Prefix is the network that counts as one client prefix: the IPv4 /24 or
// the IPv6 /48 holding a. The zero Prefix for an invalid address.
func Prefix(a netip.Addr) netip.Prefix { return scope(a, PrefixBits4, PrefixBits6) }

// Bits returns the scope lengths for a's family: (AddressBits4,
// PrefixBits4) for IPv4, (AddressBits6, PrefixBits6) for IPv6.
func Bits(a netip.Addr) (address, prefix int) {
	if a.Unmap().Is4() {
		return AddressBits4, PrefixBits4
	}
	return AddressBits6, PrefixBits6
}

func scope(a netip.Addr, bits4, bits6 int) netip.Prefix {
	a = a.Unmap()
	bits := bits6
	if a.Is4() {
		bits = bits4
	}
	// Prefix drops the zone and masks the host bits; it fails only for an
	// invalid address, whose zero Prefix is what we return then.
	p, _ := a.Prefix(bits)
	return p
}
