package limits

import (
	"net/netip"
	"testing"

	"github.com/rustguard/rustguard/shared/netscope"
)

// TestScopeKeysFollowNetscope: the fleet's refusal cache keys a source by
// addrKey and prefixKey, and Redis by netscope's scopes; two addresses
// share a key exactly when netscope puts them in one scope, so a refusal
// cached for one /64 never answers for another and a rotated address
// inside it never escapes.
func TestScopeKeysFollowNetscope(t *testing.T) {
	addrs := []string{
		"192.0.2.1", "192.0.2.200", "192.0.3.1", "::ffff:192.0.2.1", "0.0.0.1",
		"2001:db8:0:1::1", "2001:db8:0:1:ffff::2", "2001:db8:0:2::1", "2001:db8:1:1::1",
		"2001:db8:0:1::1%eth0", "::1", "::",
	}
	for _, x := range addrs {
		for _, y := range addrs {
			a, b := netip.MustParseAddr(x), netip.MustParseAddr(y)
			ka, _ := addrKey(a)
			kb, _ := addrKey(b)
			if (ka == kb) != (netscope.Address(a) == netscope.Address(b)) {
				t.Errorf("address keys of %s and %s: equal %v, netscope scopes %s and %s", a, b, ka == kb, netscope.Address(a), netscope.Address(b))
			}
			pa, _ := prefixKey(a)
			pb, _ := prefixKey(b)
			if (pa == pb) != (netscope.Prefix(a) == netscope.Prefix(b)) {
				t.Errorf("prefix keys of %s and %s: equal %v, netscope scopes %s and %s", a, b, pa == pb, netscope.Prefix(a), netscope.Prefix(b))
			}
		}
	}
	if _, ok := addrKey(netip.Addr{}); ok {
		t.Error("the zero address has an address key")
	}
	if n := testing.AllocsPerRun(100, func() {
		_, _ = addrKey(netip.MustParseAddr("2001:db8::1"))
	}); n != 0 {
		t.Errorf("addrKey allocates %v times", n)
	}
}
