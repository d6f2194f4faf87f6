package gate

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	type op struct {
		kind string // put, get, remove
		key  int
	}
	tests := []struct {
		name string
		max  int
		ops  []op
		want []int // keys from most to least recently used
	}{
		{"fills up", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}}, []int{3, 2, 1}},
		{"evicts the least recently used", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"put", 4}}, []int{4, 3, 2}},
		{"get refreshes", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"get", 1}, {"put", 4}}, []int{4, 1, 3}},
		{"put of a present key refreshes", 2, []op{{"put", 1}, {"put", 2}, {"put", 1}, {"put", 3}}, []int{3, 1}},
		{"remove frees a slot for reuse", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"remove", 2}, {"put", 4}}, []int{4, 3, 1}},
		{"remove head and tail", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"remove", 3}, {"remove", 1}}, []int{2}},
		{"remove everything then refill", 2, []op{{"put", 1}, {"remove", 1}, {"put", 2}, {"put", 3}, {"put", 4}}, []int{4, 3}},
		{"get of an absent key changes nothing", 2, []op{{"put", 1}, {"get", 9}, {"remove", 9}}, []int{1}},
		{"capacity of one", 1, []op{{"put", 1}, {"put", 2}}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLRU[int, int](tt.max)
			for _, o := range tt.ops {
				switch o.kind {
				case "put":
					v, _ := l.put(o.key)
					*v = o.key * 10
				case "get":
					l.get(o.key)
				case "remove":
					l.remove(o.key)
				}
			}
			var got []int
			for i := l.head; i != noSlot; i = l.slots[i].next {
				got = append(got, l.slots[i].key)
				if l.slots[i].val != l.slots[i].key*10 {
					t.Errorf("key %d holds %d", l.slots[i].key, l.slots[i].val)
				}
			}
			var back []int
			for i := l.tail; i != noSlot; i = l.slots[i].prev {
				back = append(back, l.slots[i].key)
			}
			slices.Reverse(back)
			if !slices.Equal(got, tt.want) || !slices.Equal(back, tt.want) || l.len() != len(tt.want) {
				t.Fatalf("order %v (backwards %v, len %d), want %v", got, back, l.len(), tt.want)
			}
			if len(l.slots) > tt.max {
				t.Errorf("%d slots for a cap of %d", len(l.slots), tt.max)
			}
		})
	}
}

// floodAddr returns the i-th address of a flood: every one in its own IPv6
// /48 (and so its own /64), so each fills an address and a prefix entry.
func floodAddr(i int) netip.Addr {
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	b[2], b[3], b[4], b[5] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	b[15] = 1
	return netip.AddrFrom16(b)
}

// floodSize is how many distinct addresses the flood test brings: a
// million, or under the race detector (which slows every map access) still
// more than twice the largest cap.
var floodSize = map[bool]int{false: 1_000_000, true: 300_000}[raceEnabled]

func TestMemoryBoundedUnderAFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a million addresses")
	}
	c := Defaults()
	c.AttackMode = AttackModeOn // every login takes the verification path
	g := newTestGate(t, c, Deps{})
	ctx := context.Background()
	for i := range floodSize {
		a := floodAddr(i)
		g.Accept(a)
		// A login, a failure and a pass from each address, with the
		// clock barely moving so nothing expires.
		tk, _ := g.Login(ctx, LoginRequest{Addr: a, Name: "Bot", Host: "x", Protocol: 763})
		tk.Release()
		g.Failed(a)
		g.Verified(a, "Bot")
		if i%1000 == 0 {
			g.clock.Advance(time.Millisecond)
		}
	}
	conns, logins := g.conns.(*localLimiter), g.logins.(*localLimiter)
	for name, got := range map[string]int{
		"connection buckets per address": conns.addrs.len(),
		"connection buckets per prefix":  conns.prefixes.len(),
		"login buckets per address":      logins.addrs.len(),
		"login buckets per prefix":       logins.prefixes.len(),
	} {
		if got != maxRateEntries {
			t.Errorf("%s: %d entries, want the cap %d", name, got, maxRateEntries)
		}
	}
	for name, l := range map[string]struct{ len, slots, max int }{
		"conn addr":    {conns.addrs.len(), len(conns.addrs.slots), maxRateEntries},
		"failures":     {g.verify.failed.len(), len(g.verify.failed.slots), maxFailureEntries},
		"verified":     {g.verify.passed.len(), len(g.verify.passed.slots), maxVerifiedEntries},
		"login prefix": {logins.prefixes.len(), len(logins.prefixes.slots), maxRateEntries},
	} {
		if l.len != l.max || l.slots != l.max {
			t.Errorf("%s: %d entries in %d slots, want the cap %d", name, l.len, l.slots, l.max)
		}
	}
	if n := g.slots.live(); n != 0 {
		t.Errorf("%d hosts hold slots after every ticket was released", n)
	}
	// The newest entries survived; the flood's oldest were evicted.
	if _, blocked := g.verify.blocked(hostKey(floodAddr(floodSize-1)), g.clock.Now()); blocked {
		t.Error("one failure blocked an address")
	}
	if !g.verify.verified(hostKey(floodAddr(floodSize-1)), "Bot", g.clock.Now()) {
		t.Error("the newest pass was evicted")
	}
	if g.verify.verified(hostKey(floodAddr(0)), "Bot", g.clock.Now()) {
		t.Error("the oldest pass survived a flood past the cap")
	}
}

func TestLiveHostsCapped(t *testing.T) {
	g := newTestGate(t, noLimits(), Deps{})
	for i := range maxLiveHosts {
		if _, r := g.slots.acquire(hostKey(floodAddr(i))); r != None {
			t.Fatalf("acquire %d: %s", i, r)
		}
	}
	_, d := g.login(t, LoginRequest{Addr: floodAddr(maxLiveHosts), Name: "Late", Protocol: 763})
	if d.Reason != GateFull || d.Message == "" {
		t.Fatalf("login past the cap = %+v, want gate_full with a message", d)
	}
}

func TestAcceptAllocatesNothing(t *testing.T) {
	g := newTestGate(t, Defaults(), Deps{})
	a := netip.MustParseAddr("192.0.2.1")
	if n := testing.AllocsPerRun(1000, func() { g.Accept(a) }); n != 0 {
		t.Errorf("Accept of a known address: %v allocations, want 0", n)
	}
	// With the tables full, every new address evicts an old one.
	for i := range maxRateEntries {
		g.Accept(floodAddr(i))
	}
	i := maxRateEntries
	if n := testing.AllocsPerRun(10000, func() { g.Accept(floodAddr(i)); i++ }); n != 0 {
		t.Errorf("Accept of new addresses at the cap: %v allocations, want 0", n)
	}
}

func BenchmarkAccept(b *testing.B) {
	// A busy edge: 4,096 returning addresses, each in its own /24, at the
	// default rates (most are allowed, some refused).
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
	}
	g := newTestGate(b, Defaults(), Deps{})
	g.Gate.now = time.Now
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.Accept(addrs[i&4095])
		i++
	}
}

func BenchmarkAcceptFlood(b *testing.B) {
	// Every connection from a new address: the tables sit at their cap and
	// each accept evicts.
	g := newTestGate(b, Defaults(), Deps{})
	g.Gate.now = time.Now
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.Accept(floodAddr(i))
		i++
	}
}

func BenchmarkLogin(b *testing.B) {
	// Honest logins from 65,536 addresses in distinct /24s: every rule
	// runs, the ticket is released as a player leaving would.
	addrs := make([]netip.Addr, 1<<16)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
	}
	c := Defaults()
	c.AllowedHosts = []string{"play.example.com", "*.example.net"}
	g := newTestGate(b, c, Deps{})
	g.Gate.now = time.Now
	ctx := context.Background()
	req := honest("192.0.2.1")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req.Addr = addrs[i&(1<<16-1)]
		tk, _ := g.Login(ctx, req)
		tk.Release()
		i++
	}
}
