package netscope

import (
	"net/netip"
	"testing"
)

func TestScopes(t *testing.T) {
	cases := []struct {
		addr            string
		address, prefix string
	}{
		{"203.0.113.7", "203.0.113.7/32", "203.0.113.0/24"},
		{"::ffff:203.0.113.7", "203.0.113.7/32", "203.0.113.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"2001:db8:1:2::1%eth0", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"fe80::1%eth0", "fe80::/64", "fe80::/48"},
	}
	for _, tc := range cases {
		a := netip.MustParseAddr(tc.addr)
		if got := Address(a).String(); got != tc.address {
			t.Errorf("Address(%s) = %s, want %s", tc.addr, got, tc.address)
		}
		if got := Prefix(a).String(); got != tc.prefix {
			t.Errorf("Prefix(%s) = %s, want %s", tc.addr, got, tc.prefix)
		}
		ab, pb := Bits(a)
		if ab != Address(a).Bits() || pb != Prefix(a).Bits() {
			t.Errorf("Bits(%s) = %d, %d; want %d, %d", tc.addr, ab, pb, Address(a).Bits(), Prefix(a).Bits())
		}
	}
	if p := Address(netip.Addr{}); p.IsValid() {
		t.Errorf("Address of the zero address = %v, want the zero Prefix", p)
	}
	if got := Normalize(netip.MustParseAddr("::ffff:192.0.2.1")); got != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("Normalize of a mapped address = %v", got)
	}
}

// Rotating inside a /64 is one address; moving to the next /64 of the same
// /48 is another address but the same prefix.
func TestRotationStaysInScope(t *testing.T) {
	a := netip.MustParseAddr("2001:db8:7:1::1")
	b := netip.MustParseAddr("2001:db8:7:1:ffff:ffff:ffff:ffff")
	c := netip.MustParseAddr("2001:db8:7:2::1")
	if Address(a) != Address(b) {
		t.Error("two addresses of one /64 are different addresses")
	}
	if Address(a) == Address(c) || Prefix(a) != Prefix(c) {
		t.Error("two /64s of one /48: want different addresses, one prefix")
	}
}

func TestScopesAllocateNothing(t *testing.T) {
	a := netip.MustParseAddr("2001:db8:1:2:3:4:5:6")
	if n := testing.AllocsPerRun(100, func() { _, _ = Address(a), Prefix(a) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
