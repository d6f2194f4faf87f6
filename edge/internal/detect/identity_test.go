package detect

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

type banCall struct {
	t              BanTarget
	reason, source string
	d              time.Duration
}

type fakeBanner struct{ calls []banCall }

func (b *fakeBanner) BanPlayer(t BanTarget, reason, source string, d time.Duration) {
	b.calls = append(b.calls, banCall{t, reason, source, d})
}

// TestIdentityIsNeverAClaim: unless the player is authenticated, the engine
// knows it by the offline UUID of its name, whatever UUID the client
// claimed; events say the identity is unauthenticated, and the ban action
// is told so, so it bans the address and not the claimed name or UUID.
func TestIdentityIsNeverAClaim(t *testing.T) {
	const claimed = "069a79f4-44e9-4726-a5be-fca90e38aaf5"
	for _, authenticated := range []bool{false, true} {
		rec, ban := &recorder{}, &fakeBanner{}
		ban50 := detection.ActionBan
		e, err := New(Config{BanDuration: time.Hour, Checks: map[string]CheckConfig{"badpackets.slot_range": {Action: &ban50}}},
			Options{Sinks: []Sink{rec}, Banner: ban})
		if err != nil {
			t.Fatal(err)
		}
		addr := netip.MustParseAddrPort("[2001:db8::1]:4000")
		p := e.NewPlayer(PlayerInfo{Protocol: 47, Name: "Victim", UUID: claimed, Authenticated: authenticated, Addr: addr})
		v := p.Serverbound(mcproto.StatePlay, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 12}.AppendData(nil, 47), 0, t0)
		if v.Outcome != Kick {
			t.Fatalf("authenticated=%v: verdict %v, want kick", authenticated, v.Outcome)
		}
		want := mcproto.OfflineUUID("Victim").String()
		if authenticated {
			want = claimed
		}
		if len(rec.events) != 1 {
			t.Fatalf("events %v", rec.keys())
		}
		ev := rec.events[0]
		if ev.UUID != want || ev.Authenticated != authenticated || ev.Schema != detection.SchemaVersion {
			t.Errorf("authenticated=%v: event uuid %s authenticated %v schema %d; want uuid %s", authenticated, ev.UUID, ev.Authenticated, ev.Schema, want)
		}
		if len(ban.calls) != 1 {
			t.Fatalf("authenticated=%v: %d ban calls", authenticated, len(ban.calls))
		}
		c := ban.calls[0]
		wantTarget := BanTarget{Name: "Victim", UUID: want, Addr: addr.Addr(), Authenticated: authenticated}
		if c.t != wantTarget || c.source != "check:badpackets.slot_range" || c.d != time.Hour {
			t.Errorf("authenticated=%v: ban %+v, want target %+v from check:badpackets.slot_range for 1h", authenticated, c, wantTarget)
		}
		if c.reason != banReason {
			t.Errorf("ban reason %q names what the player sees; want the generic %q", c.reason, banReason)
		}
	}
}
