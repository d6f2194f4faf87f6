package gate

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

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
		"connection buckets per address": conns.addrs.Len(),
		"connection buckets per prefix":  conns.prefixes.Len(),
		"login buckets per address":      logins.addrs.Len(),
		"login buckets per prefix":       logins.prefixes.Len(),
	} {
		if got != maxRateEntries {
			t.Errorf("%s: %d entries, want the cap %d", name, got, maxRateEntries)
		}
	}
	for name, l := range map[string]struct{ len, slots, max int }{
		"conn addr":    {conns.addrs.Len(), conns.addrs.Slots(), maxRateEntries},
		"failures":     {g.verify.failed.Len(), g.verify.failed.Slots(), maxFailureEntries},
		"verified":     {g.verify.passed.Len(), g.verify.passed.Slots(), maxVerifiedEntries},
		"login prefix": {logins.prefixes.Len(), logins.prefixes.Slots(), maxRateEntries},
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
