package gate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// TestOnlineModeIdentity: on an online-mode route the gate judges claims
// only by address before authentication, and the account once the session
// server confirmed it: bans of the account's UUID and name, and a passed
// verification remembered for the account, not for the name.
func TestOnlineModeIdentity(t *testing.T) {
	banned := mcproto.UUID{0xba, 0x11}
	bans := BanFunc(func(addr netip.Addr, name string, uuid mcproto.UUID, _ time.Time) (string, bool) {
		switch {
		case addr == netip.MustParseAddr("203.0.113.66"):
			return "address", true
		case name == "Griefer":
			return "name", true
		case uuid == banned:
			return "account", true
		case uuid == mcproto.OfflineUUID("Victim"):
			return "offline uuid", true
		}
		return "", false
	})
	c := noLimits()
	c.VerifyAlways = true
	g := newTestGate(t, c, Deps{Bans: bans})

	pending := func(addr, name string) LoginRequest {
		r := honest(addr)
		r.Name, r.AuthPending = name, true
		return r
	}
	account := func(r LoginRequest, id mcproto.UUID) LoginRequest {
		r.AuthPending, r.Authenticated, r.UUID = false, true, id
		return r
	}

	// Before authentication a claimed name or its offline UUID refuses
	// nobody: the claim may be someone else's.
	for _, name := range []string{"Griefer", "Victim"} {
		tk, d := g.login(t, pending("192.0.2.1", name))
		tk.Release()
		if d.Outcome != Verify {
			t.Fatalf("pending login claiming %s: %s/%s, want verification", name, d.Outcome, d.Reason)
		}
	}
	// An address ban applies at once.
	if _, d := g.login(t, pending("203.0.113.66", "Alice")); d.Outcome != Refuse || d.Reason != Banned {
		t.Fatalf("banned address: %s/%s", d.Outcome, d.Reason)
	}

	// Once proven, the account's bans apply.
	r := pending("192.0.2.1", "Griefer")
	tk, d := g.login(t, r)
	tk.Release()
	if got := g.Identified(account(r, mcproto.UUID{1}), d); got.Outcome != Refuse || got.Message != "name" {
		t.Fatalf("authenticated banned name: %+v", got)
	}
	r = pending("192.0.2.1", "Alice")
	tk, d = g.login(t, r)
	tk.Release()
	if got := g.Identified(account(r, banned), d); got.Outcome != Refuse || got.Message != "account" {
		t.Fatalf("authenticated banned account: %+v", got)
	}

	// Verification is remembered for the account: the same account from
	// the same address passes; the same name on another account does not.
	alice := mcproto.UUID{0xa1}
	got := g.Identified(account(r, alice), d)
	if got.Outcome != Verify {
		t.Fatalf("first login of the account: %s/%s, want verification", got.Outcome, got.Reason)
	}
	g.Verified(r.Addr, account(r, alice).VerifyKey())
	r2 := pending("192.0.2.1", "Alice")
	tk, d = g.login(t, r2)
	tk.Release()
	if d.Outcome != Verify {
		t.Fatalf("the name alone is not verified: %s/%s", d.Outcome, d.Reason)
	}
	if got := g.Identified(account(r2, alice), d); got.Outcome != Allow || got.Reason != Verified {
		t.Fatalf("the verified account: %s/%s, want allow/verified", got.Outcome, got.Reason)
	}
	if got := g.Identified(account(r2, mcproto.UUID{0xb0}), d); got.Outcome != Verify {
		t.Fatalf("another account with the same name: %s/%s, want verification", got.Outcome, got.Reason)
	}
	// A refusal stays a refusal.
	if got := g.Identified(account(r2, alice), Decision{Outcome: Refuse, Reason: RateAddr}); got.Reason != RateAddr {
		t.Fatalf("Identified changed a refusal: %+v", got)
	}
}
