package gate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestIPv6ScopesEverywhere: an IPv6 /64 is one address and a /48 one prefix
// for every per-client rule of the gate, so rotating addresses inside a /64
// (or /64s inside a /48) buys no fresh budget and no fresh slot.
func TestIPv6ScopesEverywhere(t *testing.T) {
	ip := netip.MustParseAddr
	// Two addresses of one /64, a second /64 of the same /48, and a /64 of
	// another /48.
	a1, a2 := ip("2001:db8:5:1::1"), ip("2001:db8:5:1:dead:beef:0:2")
	sibling, stranger := ip("2001:db8:5:2::1"), ip("2001:db8:6:1::1")

	t.Run("connection rate per /64", func(t *testing.T) {
		c := Defaults()
		c.ConnAddr, c.ConnPrefix = Rate{PerSecond: 0.001, Burst: 1}, Rate{PerSecond: 100, Burst: 100}
		g := newTestGate(t, c, Deps{})
		if d := g.Accept(a1); d.Outcome != Allow {
			t.Fatalf("first connection: %+v", d)
		}
		if d := g.Accept(a2); d.Outcome != Refuse || d.Reason != RateAddr {
			t.Fatalf("a second address of the same /64: %s/%s, want refuse/rate_addr", d.Outcome, d.Reason)
		}
		if d := g.Accept(sibling); d.Outcome != Allow {
			t.Fatalf("another /64: %+v", d)
		}
	})
	t.Run("connection rate per /48", func(t *testing.T) {
		c := Defaults()
		c.ConnAddr, c.ConnPrefix = Rate{PerSecond: 100, Burst: 100}, Rate{PerSecond: 0.001, Burst: 1}
		g := newTestGate(t, c, Deps{})
		g.Accept(a1)
		if d := g.Accept(sibling); d.Outcome != Refuse || d.Reason != RatePrefix {
			t.Fatalf("another /64 of the same /48: %s/%s, want refuse/rate_prefix", d.Outcome, d.Reason)
		}
		if d := g.Accept(stranger); d.Outcome != Allow {
			t.Fatalf("another /48: %+v", d)
		}
	})
	t.Run("login rate per /64 and per /48", func(t *testing.T) {
		c := noLimits()
		c.LoginAddr, c.LoginPrefix = Rate{PerSecond: 0.001, Burst: 1}, Rate{PerSecond: 0.001, Burst: 2}
		g := newTestGate(t, c, Deps{})
		login := func(a netip.Addr) Decision {
			tk, d := g.login(t, honest(a.String()))
			tk.Release()
			return d
		}
		if d := login(a1); d.Outcome != Allow {
			t.Fatalf("first login: %+v", d)
		}
		if d := login(a2); d.Reason != RateAddr {
			t.Fatalf("a second address of the same /64: %s/%s, want rate_addr", d.Outcome, d.Reason)
		}
		if d := login(sibling); d.Outcome != Allow {
			t.Fatalf("another /64: %+v", d)
		}
		if d := login(ip("2001:db8:5:3::1")); d.Reason != RatePrefix {
			t.Fatalf("a third /64 of the same /48: %s/%s, want rate_prefix", d.Outcome, d.Reason)
		}
	})
	t.Run("slots and verification blocks per /64", func(t *testing.T) {
		g := newTestGate(t, Defaults(), Deps{})
		if _, d := g.login(t, honest(a1.String())); d.Outcome != Allow {
			t.Fatalf("first login: %+v", d)
		}
		if _, d := g.login(t, honest(a2.String())); d.Reason != LoginInFlight {
			t.Fatalf("a second login in flight from the same /64: %s/%s", d.Outcome, d.Reason)
		}
		g.Failed(a1)
		g.Failed(a2)
		if _, d := g.login(t, honest(ip("2001:db8:5:1::99").String())); d.Reason != BlockedVerification {
			t.Fatalf("failures from two addresses of one /64 did not block it: %s/%s", d.Outcome, d.Reason)
		}
	})
}

// TestAcceptRefusesBannedAddresses: a banned address or range is refused at
// accept, before it can ping or hold a slot, with its own reason, and
// without spending the rate tokens its neighbours share. Accept still
// allocates nothing.
func TestAcceptRefusesBannedAddresses(t *testing.T) {
	banned := netip.MustParsePrefix("2001:db8:bad::/64")
	bans := AddrBanFunc(func(a netip.Addr, _ time.Time) bool { return banned.Contains(a) })
	c := Defaults()
	c.ConnAddr, c.ConnPrefix = Rate{PerSecond: 0.001, Burst: 1}, Rate{PerSecond: 0.001, Burst: 1}
	g := newTestGate(t, c, Deps{AddrBans: bans})
	for range 3 {
		d := g.Accept(netip.MustParseAddr("2001:db8:bad::1234"))
		if d.Outcome != Refuse || d.Reason != Banned || d.Message != "" {
			t.Fatalf("banned address at accept: %+v, want refuse/banned without a message", d)
		}
	}
	if got := testutil.ToFloat64(g.m.decisions[stageAccept][Refuse][Banned]); got != 3 {
		t.Errorf("decisions{accept,refuse,banned} = %v, want 3", got)
	}
	// Its /48 neighbour still has the prefix's one token.
	if d := g.Accept(netip.MustParseAddr("2001:db8:0:1::1")); d.Outcome != Allow {
		t.Errorf("neighbour of a banned /64: %+v", d)
	}
	a := netip.MustParseAddr("2001:db8:bad::1")
	if n := testing.AllocsPerRun(1000, func() { g.Accept(a) }); n != 0 {
		t.Errorf("Accept of a banned address: %v allocations, want 0", n)
	}
}
