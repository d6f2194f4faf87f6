package gate

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestReconfigureAppliesToTheNextDecision: every kind of setting changes
// the next decision, and what the gate counted is kept.
func TestReconfigureAppliesToTheNextDecision(t *testing.T) {
	c := noLimits()
	c.AttackMode = AttackModeOff
	g := newTestGate(t, c, Deps{})
	addr := netip.MustParseAddr("192.0.2.7")

	// Rules: a name, a host and a protocol the new rules refuse.
	next := c
	next.NamePattern = `^[a-z]{1,16}$`
	next.AllowedHosts = []string{"other.example.com"}
	next.DeniedProtocols = []int32{763}
	if _, d := g.login(t, honest("192.0.2.1")); d.Outcome != Allow {
		t.Fatalf("before: %+v", d)
	}
	if err := g.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	if _, d := g.login(t, honest("192.0.2.1")); d.Reason != ProtocolDenied {
		t.Fatalf("denied protocol: %+v", d)
	}
	r := honest("192.0.2.1")
	r.Protocol = 765
	if _, d := g.login(t, r); d.Reason != BadHost {
		t.Fatalf("host no longer allowed: %+v", d)
	}
	r.Host = "other.example.com"
	if _, d := g.login(t, r); d.Reason != BadName {
		t.Fatalf("name no longer allowed: %+v", d)
	}

	// Players per address: a ticket held under no cap stays; a cap of 1
	// then refuses the second.
	if err := g.Reconfigure(c); err != nil {
		t.Fatal(err)
	}
	held, d := g.login(t, LoginRequest{Addr: addr, Name: "A", Host: "h", Protocol: 765})
	if d.Outcome != Allow {
		t.Fatal(d)
	}
	held.LoggedIn()
	capped := c
	capped.MaxAccountsPerAddr = 1
	if err := g.Reconfigure(capped); err != nil {
		t.Fatal(err)
	}
	if _, d := g.login(t, LoginRequest{Addr: addr, Name: "B", Host: "h", Protocol: 765}); d.Reason != TooManyAccounts || d.Message != msgAccountsPrefix+"1)." {
		t.Fatalf("second player under a cap of 1: %+v", d)
	}

	// Attack mode forced on: the next login verifies.
	attack := c
	attack.AttackMode = AttackModeOn
	if err := g.Reconfigure(attack); err != nil {
		t.Fatal(err)
	}
	if !g.AttackMode() {
		t.Fatal("attack mode not on")
	}
	if _, d := g.login(t, honest("198.51.100.1")); d.Outcome != Verify {
		t.Fatalf("attack mode on: %+v", d)
	}

	// Connection rate: from off to one per second with a burst of one.
	rated := c
	rated.ConnAddr = Rate{PerSecond: 1, Burst: 1}
	if err := g.Reconfigure(rated); err != nil {
		t.Fatal(err)
	}
	if d := g.Accept(addr); d.Outcome != Allow {
		t.Fatal(d)
	}
	if d := g.Accept(addr); d.Reason != RateAddr {
		t.Fatalf("second connection in a second: %+v", d)
	}
}

func TestReconfigureRefusesWithoutChange(t *testing.T) {
	g := newTestGate(t, noLimits(), Deps{})
	bad := noLimits()
	bad.AttackMode = AttackModeOn
	bad.NamePattern = "unanchored"
	if err := g.Reconfigure(bad); err == nil {
		t.Fatal("an invalid configuration was applied")
	}
	if g.AttackMode() {
		t.Fatal("a refused configuration changed attack mode")
	}
}

// TestReconfigureWhileLoggingIn runs logins and reconfigurations at once
// (under -race this proves the settings are read safely).
func TestReconfigureWhileLoggingIn(t *testing.T) {
	g := newTestGate(t, noLimits(), Deps{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
			for {
				select {
				case <-stop:
					return
				default:
				}
				g.Accept(addr)
				if tk, _ := g.login(t, LoginRequest{Addr: addr, Name: "Steve", Host: "h", Protocol: 765}); tk != nil {
					tk.Release()
				}
				g.Verified(addr, "Steve")
				g.Failed(addr)
				g.AttackMode()
			}
		}()
	}
	for i := range 200 {
		c := Defaults()
		c.MaxAccountsPerAddr = i % 4
		c.AttackMode = []string{AttackModeAuto, AttackModeOn, AttackModeOff}[i%3]
		c.VerifiedTTL = time.Duration(i+1) * time.Second
		if err := g.Reconfigure(c); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
