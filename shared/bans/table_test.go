package bans

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func mustBan(t testing.TB, k Kind, v string, expires time.Duration) Ban {
	t.Helper()
	b := Ban{Kind: k, Value: v, Reason: "test " + v, Source: "test", Created: t0}
	if expires != 0 {
		b.Expires = t0.Add(expires)
	}
	b, err := Normalize(b)
	if err != nil {
		t.Fatalf("Normalize(%s %q): %v", k, v, err)
	}
	return b
}

func mustUUID(t testing.TB, s string) mcproto.UUID {
	t.Helper()
	u, err := ParseUUID(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTableMatch(t *testing.T) {
	const uuidA = "069a79f4-44e9-4726-a5be-fca90e38aaf5"
	tab := NewTable()
	tab.Replace([]Ban{
		mustBan(t, KindUUID, strings.ToUpper(strings.ReplaceAll(uuidA, "-", "")), 0),
		mustBan(t, KindName, "Notch", 0),
		mustBan(t, KindName, "Temp_Guy", time.Hour),
		mustBan(t, KindIP, "203.0.113.7", 0),
		mustBan(t, KindIP, "::ffff:198.51.100.9", 0), // stored as IPv4
		mustBan(t, KindIP, "2001:db8::1", 0),
		mustBan(t, KindCIDR, "192.0.2.0/24", 0),
		mustBan(t, KindCIDR, "10.9.0.0/16", 30*time.Minute),
		mustBan(t, KindCIDR, "2001:db8:bad::/48", 0),
		mustBan(t, KindCIDR, "::ffff:100.64.0.0/112", 0), // mapped range → 100.64.0.0/16
	})
	addr := netip.MustParseAddr
	cases := []struct {
		name   string
		addr   netip.Addr
		player string
		uuid   mcproto.UUID
		at     time.Duration
		wantID string // "" = no match
	}{
		{"uuid", netip.Addr{}, "", mustUUID(t, uuidA), 0, "uuid:" + uuidA},
		{"other uuid", netip.Addr{}, "", mcproto.UUID{1}, 0, ""},
		{"zero uuid skipped", netip.Addr{}, "", mcproto.UUID{}, 0, ""},
		{"name exact", netip.Addr{}, "Notch", mcproto.UUID{}, 0, "name:notch"},
		{"name folded", netip.Addr{}, "nOTCH", mcproto.UUID{}, 0, "name:notch"},
		{"name prefix only", netip.Addr{}, "Notc", mcproto.UUID{}, 0, ""},
		{"name too long", netip.Addr{}, strings.Repeat("x", 100), mcproto.UUID{}, 0, ""},
		{"temp name active", netip.Addr{}, "temp_guy", mcproto.UUID{}, 59 * time.Minute, "name:temp_guy"},
		{"temp name expired", netip.Addr{}, "temp_guy", mcproto.UUID{}, time.Hour, ""},
		{"ipv4", addr("203.0.113.7"), "", mcproto.UUID{}, 0, "ip:203.0.113.7"},
		{"ipv4 neighbour", addr("203.0.113.8"), "", mcproto.UUID{}, 0, ""},
		{"ipv4 mapped client", addr("::ffff:203.0.113.7"), "", mcproto.UUID{}, 0, "ip:203.0.113.7"},
		{"mapped ban, plain client", addr("198.51.100.9"), "", mcproto.UUID{}, 0, "ip:198.51.100.9"},
		{"ipv6 exact", addr("2001:db8::1"), "", mcproto.UUID{}, 0, "cidr:2001:db8::/64"},
		{"ipv6 same /64", addr("2001:db8::ffff:1"), "", mcproto.UUID{}, 0, "cidr:2001:db8::/64"},
		{"ipv6 with zone", addr("2001:db8::1%eth0"), "", mcproto.UUID{}, 0, "cidr:2001:db8::/64"},
		{"ipv6 next /64", addr("2001:db8:0:1::1"), "", mcproto.UUID{}, 0, ""},
		{"cidr v4 inside", addr("192.0.2.200"), "", mcproto.UUID{}, 0, "cidr:192.0.2.0/24"},
		{"cidr v4 mapped client", addr("::ffff:192.0.2.1"), "", mcproto.UUID{}, 0, "cidr:192.0.2.0/24"},
		{"cidr v4 outside", addr("192.0.3.1"), "", mcproto.UUID{}, 0, ""},
		{"cidr temp active", addr("10.9.255.1"), "", mcproto.UUID{}, 29 * time.Minute, "cidr:10.9.0.0/16"},
		{"cidr temp expired", addr("10.9.255.1"), "", mcproto.UUID{}, 31 * time.Minute, ""},
		{"cidr v6 inside", addr("2001:db8:bad:ffff::5"), "", mcproto.UUID{}, 0, "cidr:2001:db8:bad::/48"},
		{"cidr v6 outside", addr("2001:db8:bae::5"), "", mcproto.UUID{}, 0, ""},
		{"mapped cidr", addr("100.64.3.4"), "", mcproto.UUID{}, 0, "cidr:100.64.0.0/16"},
		{"v4 does not hit v6 table", addr("32.1.13.184"), "", mcproto.UUID{}, 0, ""}, // 2001:db8 as bytes
		{"clean player", addr("8.8.8.8"), "Steve", mcproto.UUID{2}, 0, ""},
		{"any field matches", addr("8.8.8.8"), "Steve", mustUUID(t, uuidA), 0, "uuid:" + uuidA},
		{"name wins over clean address", addr("8.8.8.8"), "NOTCH", mcproto.UUID{}, 0, "name:notch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := tab.Match(tc.addr, tc.player, tc.uuid, t0.Add(tc.at))
			if tc.wantID == "" {
				if ok {
					t.Fatalf("matched %+v, want no match", b)
				}
				return
			}
			if !ok || b.ID != tc.wantID {
				t.Fatalf("Match = %q, %v; want %q", b.ID, ok, tc.wantID)
			}
		})
	}
	if got := tab.Len(); got != 10 {
		t.Errorf("Len = %d, want 10", got)
	}
	if got := tab.Count(KindCIDR); got != 5 { // the IPv6 IP ban is its /64
		t.Errorf("Count(cidr) = %d, want 5", got)
	}
}

func TestTableUpdateOverlay(t *testing.T) {
	tab := NewTable()
	ip := mustBan(t, KindIP, "203.0.113.7", 0)
	cidr := mustBan(t, KindCIDR, "198.51.100.0/24", 0)
	tab.Replace([]Ban{ip, cidr})
	a := netip.MustParseAddr("203.0.113.7")
	inRange := netip.MustParseAddr("198.51.100.50")

	// Removing a base entry through the overlay hides it.
	changed := tab.Update([]Change{{Ban: Ban{ID: ip.ID}, Remove: true}, {Ban: Ban{ID: cidr.ID}, Remove: true}})
	if len(changed) != 0 {
		t.Errorf("removal reported changes %v", changed)
	}
	if _, ok := tab.MatchAddr(a, t0); ok {
		t.Error("removed IP ban still matches")
	}
	if _, ok := tab.MatchAddr(inRange, t0); ok {
		t.Error("removed CIDR ban still matches")
	}
	// Re-adding with a new reason reports a change; an identical put does not.
	ip2 := ip
	ip2.Reason = "again"
	if changed := tab.Update([]Change{{Ban: ip2}}); len(changed) != 1 || changed[0].Reason != "again" {
		t.Fatalf("changed = %+v, want the re-added ban", changed)
	}
	if changed := tab.Update([]Change{{Ban: ip2}}); len(changed) != 0 {
		t.Fatalf("identical put reported %+v", changed)
	}
	if b, ok := tab.MatchAddr(a, t0); !ok || b.Reason != "again" {
		t.Fatalf("Match = %+v, %v; want the new reason", b, ok)
	}
	// Put then remove in one batch: nothing new survives the batch.
	n := mustBan(t, KindName, "Flicker", 0)
	if changed := tab.Update([]Change{{Ban: n}, {Ban: Ban{ID: n.ID}, Remove: true}}); len(changed) != 0 {
		t.Fatalf("put+remove reported %+v", changed)
	}
	if _, ok := tab.Match(netip.Addr{}, "flicker", mcproto.UUID{}, t0); ok {
		t.Fatal("put+remove left the ban in place")
	}
	if tab.Len() != 1 {
		t.Fatalf("Len = %d, want 1", tab.Len())
	}
}

// TestTableModel drives random changes through Update (past the overlay
// limit, so the base is rebuilt several times) and compares every answer
// with a plain map.
func TestTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := NewTable()
	model := map[string]Ban{}
	subjects := make([]Ban, 0, 400)
	for i := range 100 {
		subjects = append(subjects,
			mustBan(t, KindIP, fmt.Sprintf("10.0.%d.%d", i/10, i%10), 0),
			mustBan(t, KindCIDR, fmt.Sprintf("172.16.%d.0/24", i), 0),
			mustBan(t, KindName, fmt.Sprintf("p%d", i), 0),
			mustBan(t, KindCIDR, fmt.Sprintf("2001:db8:%x::/48", i), time.Duration(i%3)*time.Hour),
		)
	}
	for step := 0; step < 3*deltaMax; {
		batch := make([]Change, 1+rng.IntN(20))
		for i := range batch {
			s := subjects[rng.IntN(len(subjects))]
			if rng.IntN(3) == 0 {
				batch[i] = Change{Ban: Ban{ID: s.ID}, Remove: true}
				delete(model, s.ID)
			} else {
				s.Reason = fmt.Sprint("r", step)
				batch[i] = Change{Ban: s}
				model[s.ID] = s
			}
			step++
		}
		tab.Update(batch)
		if tab.Len() != len(model) {
			t.Fatalf("step %d: Len = %d, model %d", step, tab.Len(), len(model))
		}
	}
	for _, s := range subjects {
		want, inModel := model[s.ID]
		var got Ban
		var ok bool
		switch s.Kind {
		case KindIP:
			got, ok = tab.MatchAddr(netip.MustParseAddr(s.Value), t0)
		case KindCIDR:
			got, ok = tab.MatchAddr(netip.MustParsePrefix(s.Value).Addr().Next(), t0)
		case KindName:
			got, ok = tab.Match(netip.Addr{}, s.Value, mcproto.UUID{}, t0)
		}
		wantOK := inModel && want.Active(t0)
		if ok != wantOK || ok && !got.Equal(want) {
			t.Errorf("%s: Match = %+v, %v; model %+v, %v", s.ID, got, ok, want, wantOK)
		}
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	tab := benchTable(t, 1000)
	u := mustUUID(t, "069a79f4-44e9-4726-a5be-fca90e38aaf5")
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:10.1.2.3"), netip.MustParseAddr("2001:db8:1::9"), netip.MustParseAddr("8.8.8.8")}
	for _, a := range addrs {
		if n := testing.AllocsPerRun(200, func() { tab.Match(a, "SomePlayer_12", u, t0) }); n != 0 {
			t.Errorf("Match(%s) allocates %.1f times", a, n)
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		kind    Kind
		in      string
		want    string
		wantErr bool
	}{
		{KindUUID, "069A79F444E94726A5BEFCA90E38AAF5", "069a79f4-44e9-4726-a5be-fca90e38aaf5", false},
		{KindUUID, " 069a79f4-44e9-4726-a5be-fca90e38aaf5 ", "069a79f4-44e9-4726-a5be-fca90e38aaf5", false},
		{KindUUID, "069a79f4-44e9-4726-a5be-fca90e38aaf", "", true},
		{KindUUID, "zz9a79f4-44e9-4726-a5be-fca90e38aaf5", "", true},
		{KindUUID, "069a79f4-44e9-4726-a5be-fca90e38aaf5-", "", true},
		{KindName, "Notch", "Notch", false},
		{KindName, "", "", true},
		{KindName, "seventeen_chars_x", "", true},
		{KindName, "has space", "", true},
		{KindName, "tab\there", "", true},
		{KindIP, "::ffff:203.0.113.7", "203.0.113.7", false},
		{KindIP, "fe80::1%eth0", "fe80::/64", false},
		{KindIP, "2001:db8::1", "2001:db8::/64", false},
		{KindIP, "203.0.113.256", "", true},
		{KindCIDR, "203.0.113.77/24", "203.0.113.0/24", false},
		{KindCIDR, "::ffff:203.0.113.0/120", "203.0.113.0/24", false},
		{KindCIDR, "2001:db8::/32", "2001:db8::/32", false},
		{KindCIDR, "0.0.0.0/0", "", true},
		{KindCIDR, "10.0.0.0/7", "", true},
		{KindCIDR, "::/15", "", true},
		{KindCIDR, "10.0.0.0", "", true},
		{Kind(9), "x", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.kind.String()+"/"+tc.in, func(t *testing.T) {
			_, got, err := NormalizeSubject(tc.kind, tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("NormalizeSubject = %q, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeSubject = %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	long := Ban{Kind: KindName, Value: "x", Reason: strings.Repeat("r", MaxReasonLen+1)}
	if _, err := Normalize(long); !errors.Is(err, ErrInvalid) {
		t.Errorf("over-long reason: %v", err)
	}
	backwards := Ban{Kind: KindName, Value: "x", Created: t0, Expires: t0.Add(-time.Second)}
	if _, err := Normalize(backwards); !errors.Is(err, ErrInvalid) {
		t.Errorf("expiry before creation: %v", err)
	}
	b, err := Normalize(Ban{Kind: KindName, Value: "MiXed"})
	if err != nil || b.ID != "name:mixed" || b.Value != "MiXed" {
		t.Errorf("name ban = %+v, %v; want ID name:mixed keeping the value's case", b, err)
	}
}

func TestBanTimes(t *testing.T) {
	perm := Ban{Reason: "cheating"}
	if perm.Remaining(t0) != Forever || !perm.Active(t0.Add(1000*time.Hour)) {
		t.Error("permanent ban not permanent")
	}
	if got := perm.Message(t0); got != "cheating\nThis ban is permanent." {
		t.Errorf("Message = %q", got)
	}
	tmp := Ban{Reason: "spam", Expires: t0.Add(90 * time.Second)}
	if got := tmp.Remaining(t0.Add(500 * time.Millisecond)); got != 89500*time.Millisecond {
		t.Errorf("Remaining = %v", got)
	}
	if got := tmp.Message(t0.Add(500 * time.Millisecond)); got != "spam\nExpires in 1m30s." {
		t.Errorf("Message = %q", got)
	}
	if tmp.Active(t0.Add(90*time.Second)) || tmp.Remaining(t0.Add(time.Hour)) != 0 {
		t.Error("ban active at or after its expiry")
	}
	if got := (Ban{}).Message(t0); !strings.HasPrefix(got, "Banned from this network.") {
		t.Errorf("empty reason Message = %q", got)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, b := range []Ban{
		mustBan(t, KindName, "Notch", time.Hour),
		mustBan(t, KindCIDR, "2001:db8::/32", 0),
		{Kind: KindIP, Value: "203.0.113.7", Reason: "ünïcode \"quoted\" <html>", Source: "operator:ann", Created: t0},
	} {
		b, err := Normalize(b)
		if err != nil {
			t.Fatal(err)
		}
		s, err := encodeBan(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeBan(s)
		if err != nil || !got.Equal(b) {
			t.Errorf("round trip of %+v = %+v, %v", b, got, err)
		}
	}
	for _, bad := range []string{
		``, `{`, `{"kind":"planet","value":"x"}`, `{"kind":"ip","value":"not-an-ip"}`,
		`{"kind":"name","value":"` + strings.Repeat("a", maxBanJSON) + `"}`,
	} {
		if _, err := decodeBan(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("decodeBan(%.40q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// benchTable holds n bans of each kind plus CIDRs of several lengths, the
// shape of a real list where most bans are names and addresses.
func benchTable(tb testing.TB, n int) *Table {
	bans := make([]Ban, 0, 4*n)
	for i := range n {
		bans = append(bans,
			mustBan(tb, KindName, fmt.Sprintf("bot%d", i), 0),
			mustBan(tb, KindUUID, fmt.Sprintf("%032x", i+1), 0),
			mustBan(tb, KindIP, netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)}).String(), 0),
			mustBan(tb, KindCIDR, fmt.Sprintf("2001:db8:%x::/%d", i&0xffff, 48+i%3*8), 0),
		)
		if i < 20 {
			bans = append(bans, mustBan(tb, KindCIDR, fmt.Sprintf("192.%d.0.0/%d", i, 16+i%9), 0))
		}
	}
	tab := NewTable()
	tab.Replace(bans)
	return tab
}

func BenchmarkTableMatch(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		tab := benchTable(b, n)
		u := mustUUID(b, "069a79f4-44e9-4726-a5be-fca90e38aaf5")
		for _, bc := range []struct {
			name string
			addr netip.Addr
		}{
			{"miss_v4", netip.MustParseAddr("8.8.8.8")},
			{"miss_v6", netip.MustParseAddr("2a00:1450::1")},
			{"hit_cidr_v4", netip.MustParseAddr("192.3.1.1")},
		} {
			b.Run(fmt.Sprintf("%s/bans=%d", bc.name, 4*n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					tab.Match(bc.addr, "Steve_123", u, t0)
				}
			})
		}
		b.Run(fmt.Sprintf("parallel_miss/bans=%d", 4*n), func(b *testing.B) {
			b.ReportAllocs()
			a := netip.MustParseAddr("8.8.8.8")
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tab.Match(a, "Steve_123", u, t0)
				}
			})
		})
	}
}

// BenchmarkTableUpdate is one published change against a large table: the
// cost of the overlay design (amortised base rebuilds included).
func BenchmarkTableUpdate(b *testing.B) {
	tab := benchTable(b, 100_000)
	bans := make([]Ban, 1024)
	for i := range bans {
		bans[i] = mustBan(b, KindName, fmt.Sprintf("new%d", i), 0)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bn := bans[i%len(bans)]
		bn.Reason = fmt.Sprint(i)
		tab.Update([]Change{{Ban: bn}})
		i++
	}
}

func TestLogGate(t *testing.T) {
	var g logGate
	if n, ok := g.allow(t0); !ok || n != 0 {
		t.Fatalf("first line: %d, %v", n, ok)
	}
	for i := range 5 {
		if _, ok := g.allow(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Fatalf("line %d inside the period let through", i)
		}
	}
	if n, ok := g.allow(t0.Add(warnEvery)); !ok || n != 5 {
		t.Fatalf("after the period: suppressed %d, ok %v; want 5, true", n, ok)
	}
}
