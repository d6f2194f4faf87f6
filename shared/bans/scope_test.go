package bans_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/testservers"
)

// TestIPv6AddressBanCoversItsSlash64: an IPv6 host rotates addresses inside
// its /64, so an IP ban on one of them bans the /64 (a CIDR ban, shown as
// such); IPv4 addresses stay single addresses.
func TestIPv6AddressBanCoversItsSlash64(t *testing.T) {
	cases := []struct {
		value      string
		kind       bans.Kind
		normalised string
		hit, miss  string
	}{
		{"2001:db8:1:2::1", bans.KindCIDR, "2001:db8:1:2::/64", "2001:db8:1:2:ffff::7", "2001:db8:1:3::1"},
		{"203.0.113.7", bans.KindIP, "203.0.113.7", "::ffff:203.0.113.7", "203.0.113.8"},
	}
	for _, tc := range cases {
		b, err := bans.Normalize(bans.Ban{Kind: bans.KindIP, Value: tc.value})
		if err != nil {
			t.Fatal(err)
		}
		if b.Kind != tc.kind || b.Value != tc.normalised || b.ID != tc.kind.String()+":"+tc.normalised {
			t.Errorf("ip ban on %s normalised to %s %s (%s), want %s %s", tc.value, b.Kind, b.Value, b.ID, tc.kind, tc.normalised)
		}
		tab := bans.NewTable()
		tab.Replace([]bans.Ban{b})
		if _, ok := tab.MatchAddr(netip.MustParseAddr(tc.hit), time.Now()); !ok {
			t.Errorf("ip ban on %s does not cover %s", tc.value, tc.hit)
		}
		if _, ok := tab.MatchAddr(netip.MustParseAddr(tc.miss), time.Now()); ok {
			t.Errorf("ip ban on %s covers %s", tc.value, tc.miss)
		}
	}
}

// TestStoreMigratesLegacyIPv6AddressBans: an IPv6 IP ban stored by an
// earlier version (field "ip:<address>") still bans after an upgrade (now
// its whole /64), and the store rewrites it in the current form so an
// operator can list and remove it.
func TestStoreMigratesLegacyIPv6AddressBans(t *testing.T) {
	srv := testservers.StartRedis(t)
	rc := newClient(t, srv.URL())
	ctx := context.Background()
	legacy := `{"kind":"ip","value":"2001:db8:9:9::1","reason":"old ban","source":"operator:test","created_ms":1700000000000}`
	if err := rc.HSet(ctx, "rustguard:{bans}:all", "ip:2001:db8:9:9::1", legacy).Err(); err != nil {
		t.Fatal(err)
	}
	e := newStore(t, srv.URL(), true)
	if b, ok := e.store.Table().MatchAddr(netip.MustParseAddr("2001:db8:9:9::abcd"), time.Now()); !ok || b.Reason != "old ban" {
		t.Fatalf("legacy IPv6 ban after the upgrade: %+v, %v; want it to cover its /64", b, ok)
	}
	eventually(t, "legacy entry rewritten", waitTimeout, func() bool {
		fields, err := rc.HKeys(ctx, "rustguard:{bans}:all").Result()
		return err == nil && len(fields) == 1 && fields[0] == "cidr:2001:db8:9:9::/64"
	})
	if ok, err := e.store.Remove(ctx, bans.KindIP, "2001:db8:9:9::1"); err != nil || !ok {
		t.Fatalf("remove --ip of the migrated ban: %v, %v", ok, err)
	}
}
