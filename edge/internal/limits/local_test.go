package limits

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newLocal(t testing.TB, cfg LocalConfig) *Local {
	t.Helper()
	l, err := NewLocal(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalBurstRefuseRefill(t *testing.T) {
	cases := []struct {
		name string
		cfg  LocalConfig
		addr string
		// burst is how many connections pass at once; refill how long one
		// more token takes; tier what refuses.
		burst  int
		refill time.Duration
		tier   Tier
	}{
		{"defaults v4: address tier first", LocalDefaults(), "203.0.113.7", 6, time.Second / 3, TierAddress},
		{"defaults v6", LocalDefaults(), "2001:db8::1", 6, time.Second / 3, TierAddress},
		{"prefix only", LocalConfig{Prefix: Rate{PerSecond: 2, Burst: 4}, MaxKeys: 16}, "198.51.100.1", 4, time.Second / 2, TierPrefix},
		{"address only", LocalConfig{Address: Rate{PerSecond: 1, Burst: 1}, MaxKeys: 16}, "198.51.100.1", 1, time.Second, TierAddress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLocal(t, tc.cfg)
			a := netip.MustParseAddr(tc.addr)
			for i := range tc.burst {
				if ok, tier := l.Allow(a, t0); !ok {
					t.Fatalf("connection %d of the burst refused by %s", i+1, tier)
				}
			}
			if ok, tier := l.Allow(a, t0); ok || tier != tc.tier {
				t.Fatalf("past the burst: ok=%v tier=%s; want refused by %s", ok, tier, tc.tier)
			}
			if ok, _ := l.Allow(a, t0.Add(tc.refill-time.Millisecond)); ok {
				t.Fatal("allowed before a token refilled")
			}
			if ok, tier := l.Allow(a, t0.Add(tc.refill+time.Millisecond)); !ok {
				t.Fatalf("refused by %s after a refill", tier)
			}
			// Idle for a long time: back to a full burst, not more.
			later := t0.Add(time.Hour)
			for i := range tc.burst {
				if ok, _ := l.Allow(a, later); !ok {
					t.Fatalf("after idling, connection %d refused", i+1)
				}
			}
			if ok, _ := l.Allow(a, later); ok {
				t.Fatal("idle time accumulated more than one burst")
			}
		})
	}
}

func TestLocalGrouping(t *testing.T) {
	// After two connections from first, its address bucket is empty and
	// its prefix bucket has one token left.
	cfg := LocalConfig{Address: Rate{PerSecond: 1, Burst: 2}, Prefix: Rate{PerSecond: 1, Burst: 3}, MaxKeys: 64}
	cases := []struct {
		name          string
		first, second string
		want          [2]Tier // the next two connections from second; TierNone = allowed
	}{
		{"same /24 shares the prefix", "192.0.2.1", "192.0.2.200", [2]Tier{TierNone, TierPrefix}},
		{"next /24 is separate", "192.0.2.1", "192.0.3.1", [2]Tier{TierNone, TierNone}},
		{"mapped form is the same address", "192.0.2.1", "::ffff:192.0.2.1", [2]Tier{TierAddress, TierPrefix}},
		{"same /64 is one address", "2001:db8:0:1::1", "2001:db8:0:1:ffff::2", [2]Tier{TierAddress, TierPrefix}},
		{"other /64 in the /48 shares the prefix", "2001:db8:0:1::1", "2001:db8:0:2::1", [2]Tier{TierNone, TierPrefix}},
		{"other /48 is separate", "2001:db8:0:1::1", "2001:db8:1:1::1", [2]Tier{TierNone, TierNone}},
		{"v4 never meets v6", "0.0.0.1", "::1", [2]Tier{TierNone, TierNone}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLocal(t, cfg)
			a, b := netip.MustParseAddr(tc.first), netip.MustParseAddr(tc.second)
			for range 2 {
				if ok, tier := l.Allow(a, t0); !ok {
					t.Fatalf("draining %s: refused by %s", a, tier)
				}
			}
			for i, want := range tc.want {
				ok, tier := l.Allow(b, t0)
				if ok != (want == TierNone) || tier != want {
					t.Fatalf("connection %d from %s: ok=%v tier=%s; want %s", i+1, b, ok, tier, want)
				}
			}
		})
	}
}

func TestLocalMemoryCap(t *testing.T) {
	const keys = 8
	l := newLocal(t, LocalConfig{Address: Rate{PerSecond: 0.001, Burst: 1}, MaxKeys: keys})
	victim := netip.MustParseAddr("198.51.100.1")
	if ok, _ := l.Allow(victim, t0); !ok {
		t.Fatal("first connection refused")
	}
	if ok, _ := l.Allow(victim, t0); ok {
		t.Fatal("second connection allowed with burst 1")
	}
	// keys-1 other addresses: the victim is still tracked.
	for i := range keys - 1 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), t0)
	}
	if ok, _ := l.Allow(victim, t0); ok {
		t.Fatal("victim forgotten while under the cap")
	}
	// The victim was just touched, so the least recently used is 10.0.0.0.
	l.Allow(netip.MustParseAddr("10.0.1.1"), t0)
	if ok, _ := l.Allow(victim, t0); ok {
		t.Fatal("recently seen victim evicted before older keys")
	}
	// A flood of fresh addresses pushes the victim out; it comes back with
	// a fresh bucket (the documented cost of the cap).
	for i := range 4 * keys {
		l.Allow(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), t0)
	}
	if addrs, _ := l.Tracked(); addrs != keys {
		t.Fatalf("tracking %d addresses, cap %d", addrs, keys)
	}
	if ok, _ := l.Allow(victim, t0); !ok {
		t.Fatal("evicted victim still refused")
	}
}

func TestLocalNilAndInvalid(t *testing.T) {
	var l *Local
	if ok, tier := l.Allow(netip.MustParseAddr("192.0.2.1"), t0); !ok || tier != TierNone {
		t.Fatal("nil Local refused")
	}
	l = newLocal(t, LocalDefaults())
	for range 100 {
		if ok, _ := l.Allow(netip.Addr{}, t0); !ok {
			t.Fatal("invalid address refused")
		}
	}
}

func TestNewLocalValidates(t *testing.T) {
	for _, cfg := range []LocalConfig{
		{Address: Rate{PerSecond: -1, Burst: 1}, MaxKeys: 1},
		{Address: Rate{PerSecond: 1, Burst: 0}, MaxKeys: 1},
		{Prefix: Rate{PerSecond: 1e-9, Burst: 1}, MaxKeys: 1},
		{MaxKeys: 0},
		{MaxKeys: maxLocalKeys + 1},
	} {
		if _, err := NewLocal(cfg, nil); err == nil {
			t.Errorf("NewLocal(%+v) accepted", cfg)
		}
	}
}

func TestLocalAllowAllocatesNothing(t *testing.T) {
	cfg := LocalDefaults()
	cfg.MaxKeys = 1024
	l := newLocal(t, cfg)
	addrs := make([]netip.Addr, 4096) // four times the cap: eviction churn
	for i := range addrs {
		if i%2 == 0 {
			addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		} else {
			addrs[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 15: 1})
		}
	}
	for _, a := range addrs { // warm up: fill the tables
		l.Allow(a, t0)
	}
	i := 0
	if n := testing.AllocsPerRun(10000, func() {
		l.Allow(addrs[i%len(addrs)], t0.Add(time.Duration(i)*time.Microsecond))
		i++
	}); n != 0 {
		t.Fatalf("Allow allocates %.2f times per call", n)
	}
}

func BenchmarkLocalAllow(b *testing.B) {
	for _, distinct := range []int{1, 1 << 10, 1 << 18} {
		l := newLocal(b, LocalDefaults())
		addrs := make([]netip.Addr, distinct)
		for i := range addrs {
			addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		}
		b.Run(fmt.Sprintf("addresses=%d", distinct), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l.Allow(addrs[i%len(addrs)], t0.Add(time.Duration(i)))
				i++
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		l := newLocal(b, LocalDefaults())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), t0)
				i++
			}
		})
	})
}
