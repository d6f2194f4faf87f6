package proxyproto

import (
	"net/netip"
	"testing"
)

func TestTrustContains(t *testing.T) {
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	cases := []struct {
		name     string
		prefixes []netip.Prefix
		addr     netip.Addr
		want     bool
	}{
		{name: "empty trusts nobody", prefixes: nil, addr: addr("10.0.0.1"), want: false},
		{name: "empty trusts no ipv6", prefixes: []netip.Prefix{}, addr: addr("::1"), want: false},
		{name: "v4 inside", prefixes: []netip.Prefix{pfx("10.0.0.0/8")}, addr: addr("10.1.2.3"), want: true},
		{name: "v4 outside", prefixes: []netip.Prefix{pfx("10.0.0.0/8")}, addr: addr("11.0.0.1"), want: false},
		{name: "v4 host", prefixes: []netip.Prefix{pfx("192.0.2.7/32")}, addr: addr("192.0.2.7"), want: true},
		{name: "v4 host neighbour", prefixes: []netip.Prefix{pfx("192.0.2.7/32")}, addr: addr("192.0.2.8"), want: false},
		{name: "mapped peer matches v4 prefix", prefixes: []netip.Prefix{pfx("10.0.0.0/8")}, addr: addr("::ffff:10.1.2.3"), want: true},
		{name: "mapped peer outside v4 prefix", prefixes: []netip.Prefix{pfx("10.0.0.0/8")}, addr: addr("::ffff:11.1.2.3"), want: false},
		{name: "v6 inside", prefixes: []netip.Prefix{pfx("2001:db8::/32")}, addr: addr("2001:db8:1::5"), want: true},
		{name: "v6 outside", prefixes: []netip.Prefix{pfx("2001:db8::/32")}, addr: addr("2001:db9::5"), want: false},
		{name: "v6 zone ignored", prefixes: []netip.Prefix{pfx("fe80::/10")}, addr: addr("fe80::1%eth0"), want: true},
		{name: "v4 prefix does not match v6", prefixes: []netip.Prefix{pfx("0.0.0.0/0")}, addr: addr("2001:db8::1"), want: false},
		{name: "v6 default route does not cover mapped v4", prefixes: []netip.Prefix{pfx("::/0")}, addr: addr("::ffff:10.0.0.1"), want: false},
		{name: "mapped prefix matches plain v4", prefixes: []netip.Prefix{pfx("::ffff:192.168.0.0/112")}, addr: addr("192.168.5.5"), want: true},
		{name: "mapped prefix matches mapped peer", prefixes: []netip.Prefix{pfx("::ffff:192.168.0.0/112")}, addr: addr("::ffff:192.168.5.5"), want: true},
		{name: "mapped prefix outside", prefixes: []netip.Prefix{pfx("::ffff:192.168.0.0/112")}, addr: addr("192.169.0.1"), want: false},
		{name: "mapped prefix shorter than /96 dropped", prefixes: []netip.Prefix{pfx("::ffff:0.0.0.0/80")}, addr: addr("10.0.0.1"), want: false},
		{name: "unmasked prefix is masked", prefixes: []netip.Prefix{pfx("10.1.2.3/8")}, addr: addr("10.9.9.9"), want: true},
		{name: "invalid prefix dropped", prefixes: []netip.Prefix{{}}, addr: addr("0.0.0.0"), want: false},
		{name: "invalid address", prefixes: []netip.Prefix{pfx("0.0.0.0/0"), pfx("::/0")}, addr: netip.Addr{}, want: false},
		{name: "second prefix matches", prefixes: []netip.Prefix{pfx("10.0.0.0/8"), pfx("2001:db8::/32")}, addr: addr("2001:db8::1"), want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewTrust(tc.prefixes).Contains(tc.addr); got != tc.want {
				t.Fatalf("Contains(%s) with %v = %v, want %v", tc.addr, tc.prefixes, got, tc.want)
			}
		})
	}
}

func TestTrustZeroValueTrustsNobody(t *testing.T) {
	var tr Trust
	for _, a := range []string{"127.0.0.1", "::1", "10.0.0.1"} {
		if tr.Contains(netip.MustParseAddr(a)) {
			t.Fatalf("zero Trust contains %s", a)
		}
	}
}

// TestTrustCopiesPrefixes checks that editing the caller's slice after
// NewTrust cannot widen the trusted set.
func TestTrustCopiesPrefixes(t *testing.T) {
	prefixes := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tr := NewTrust(prefixes)
	prefixes[0] = netip.MustParsePrefix("0.0.0.0/0")
	if tr.Contains(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("Trust followed a change to the caller's slice")
	}
}
