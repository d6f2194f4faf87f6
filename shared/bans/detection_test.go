package bans_test

import (
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/shared/bans"
)

func newLocal(t *testing.T, onAdd func(bans.Ban)) *bans.Local {
	t.Helper()
	l, err := bans.NewLocal(bans.LocalOptions{OnAdd: onAdd, Registerer: prometheus.NewRegistry(),
		Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDetectionBansNeverTrustAClaim: an unauthenticated player's name and
// UUID are claims; a detection ban bans only the address (an IPv6 /64).
// An authenticated identity is banned by account, with the address only
// when configured.
func TestDetectionBansNeverTrustAClaim(t *testing.T) {
	const uuid = "069a79f4-44e9-4726-a5be-fca90e38aaf5"
	v4, v6 := netip.MustParseAddr("::ffff:198.51.100.4"), netip.MustParseAddr("2001:db8:1:2:3:4:5:6")
	cases := []struct {
		name       string
		s          bans.Subject
		banAddress bool
		want       []string
	}{
		{"offline IPv4", bans.Subject{Name: "Victim", UUID: uuid, Addr: v4}, false, []string{"ip:198.51.100.4"}},
		{"offline IPv6: the /64", bans.Subject{Name: "Victim", UUID: uuid, Addr: v6}, false, []string{"cidr:2001:db8:1:2::/64"}},
		{"offline, detect_bans_address changes nothing", bans.Subject{Name: "Victim", UUID: uuid, Addr: v4}, true, []string{"ip:198.51.100.4"}},
		{"offline, unknown address: nothing", bans.Subject{Name: "Victim", UUID: uuid}, false, nil},
		{"authenticated: the account", bans.Subject{Name: "Cheater", UUID: uuid, Addr: v4, Authenticated: true}, false, []string{"uuid:" + uuid, "name:cheater"}},
		{"authenticated with detect_bans_address", bans.Subject{Name: "Cheater", UUID: uuid, Addr: v6, Authenticated: true}, true, []string{"uuid:" + uuid, "name:cheater", "cidr:2001:db8:1:2::/64"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, b := range bans.DetectionBans(tc.s, tc.banAddress, bans.Ban{Reason: "r", Source: "check:x"}) {
				n, err := bans.Normalize(b)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, n.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("bans %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLocalBansWithoutRedis: with no shared list the ban action still bans
// the address on this edge, and reports each ban so online players it
// covers can be kicked.
func TestLocalBansWithoutRedis(t *testing.T) {
	var added []string
	local := newLocal(t, func(b bans.Ban) { added = append(added, b.ID) })
	d := bans.NewDetections(nil, local, false)
	d.Ban(bans.Subject{Name: "Victim", Addr: netip.MustParseAddr("2001:db8:bad:1::1")}, "rustguard: x", "check:x", time.Hour)
	if !slices.Equal(added, []string{"cidr:2001:db8:bad:1::/64"}) {
		t.Fatalf("added %v, want the attacker's /64", added)
	}
	tab := local.Table()
	if _, ok := tab.MatchAddr(netip.MustParseAddr("2001:db8:bad:1:ffff::1"), time.Now()); !ok {
		t.Error("another address of the /64 is not banned")
	}
	if _, ok := tab.Match(netip.MustParseAddr("203.0.113.9"), "Victim", [16]byte{}, time.Now()); ok {
		t.Error("the name is banned")
	}
}

// TestLocalBansAreBounded: the local table never holds more than its cap;
// the oldest ban (the first to expire) makes room, and expired bans are
// dropped as new ones come.
func TestLocalBansAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := bans.NewLocal(bans.LocalOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// The cap's value is a sizing choice; the behaviour at any cap is the
	// same, so the test fills a small one (and runs quickly under -race).
	const capacity = 1000
	bans.SetLocalCap(l, capacity)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	const over = capacity*2 + 100
	for i := range over {
		l.Add(bans.Ban{Kind: bans.KindIP, Value: addr(i).String(), Expires: now.Add(time.Hour)})
	}
	if n := l.Table().Len(); n != capacity {
		t.Fatalf("%d local bans after %d adds, want the cap %d", n, over, capacity)
	}
	for i := over - capacity; i < over; i++ {
		if _, ok := l.Table().MatchAddr(addr(i), now); !ok {
			t.Fatalf("ban %d of the newest %d was dropped", i, capacity)
		}
	}
	if _, ok := l.Table().MatchAddr(addr(0), now); ok {
		t.Error("the oldest ban survived past the cap")
	}
	if _, ok := l.Table().MatchAddr(addr(over-1), now); !ok {
		t.Error("the newest ban was dropped")
	}
	// An hour later everything held has expired: the next ban clears them.
	now = now.Add(time.Hour)
	l.Add(bans.Ban{Kind: bans.KindIP, Value: "192.0.2.1", Expires: now.Add(time.Hour)})
	if n := l.Table().Len(); n != 1 {
		t.Errorf("%d local bans after all others expired, want 1", n)
	}
}
