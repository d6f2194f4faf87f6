package server

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/proxyproto"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/testservers"
)

// identityProtocol is 1.20.4: its Login Start carries the UUID the client
// claims.
const identityProtocol = 765

// dialFrom connects to the edge as a player at src behind a trusted load
// balancer (127.0.0.1 sends a PROXY v2 header), so tests can play players
// from any address, IPv6 included.
func dialFrom(t *testing.T, e *Edge, src string) *client {
	t.Helper()
	c := dial(t, e.Addr().String())
	hdr := proxyproto.AppendV2(nil, netip.MustParseAddrPort(src), netip.MustParseAddrPort("198.51.100.1:25565"))
	if _, err := c.Write(hdr); err != nil {
		t.Fatal(err)
	}
	return c
}

// tryLoginAs sends a 1.20.4 handshake and a Login Start claiming name and
// uuid, and reads until Login Success (admitted) or a disconnect (refused,
// with its text) or the end of the connection (refused without a word).
func (c *client) tryLoginAs(t *testing.T, name string, uuid mcproto.UUID) (admitted bool, refusal string) {
	t.Helper()
	ls := mcproto.AppendString([]byte{0x00}, name)
	ls = append(ls, uuid[:]...)
	if _, err := c.Write(append(handshake(identityProtocol, "localhost", 25565, 2), mcproto.AppendFrame(nil, ls)...)); err != nil {
		return false, ""
	}
	for {
		body, err := c.fr.Next()
		if err != nil {
			return false, ""
		}
		id, data := c.decode(t, body)
		switch id {
		case 0x03:
			th, _, _ := mcproto.ReadVarInt(data)
			c.threshold = int(th)
		case 0x02:
			return true, ""
		case 0x00:
			return false, string(data)
		}
	}
}

// identityEdge is an edge with the trusted proxy, detection on and the
// held-slot check set to ban (one bad packet trips it); with redisURL, the
// fleet's ban list in that Redis.
func identityEdge(t *testing.T, backend, redisURL string) *Edge {
	t.Helper()
	cfg := testConfig(backend)
	cfg.Proxy.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	cfg.Detection.Enabled = true
	cfg.Detection.Checks = map[string]config.CheckOverride{"badpackets.slot_range": {Action: "ban"}}
	if redisURL != "" {
		cfg.Redis.URL = redisURL
		r := &cfg.Redis
		r.LoginAddrRate, r.LoginAddrBurst = openFleetRate, openFleetRate
		r.LoginPrefixRate, r.LoginPrefixBurst = openFleetRate, openFleetRate
		r.LoginNameRate, r.LoginNameBurst = openFleetRate, openFleetRate
	}
	e := startEdge(t, cfg)
	if e.bans != nil {
		select {
		case <-e.bans.Synced():
		case <-time.After(fleetWait):
			t.Fatalf("ban list not loaded: %v", e.bans.Err())
		}
	}
	return e
}

// tripBan logs in as name (claiming uuid) from src, enters play and sends a
// held-item change to slot 12: the ban action fires and the edge kicks.
func tripBan(t *testing.T, e *Edge, b *fakeBackend, src, name string, uuid mcproto.UUID) {
	t.Helper()
	c := dialFrom(t, e, src)
	if ok, msg := c.tryLoginAs(t, name, uuid); !ok {
		t.Fatalf("%s from %s refused before cheating: %q", name, src, msg)
	}
	bc := b.nextLogin(t)
	enterPlay(t, c, bc, identityProtocol)
	table := packets.Lookup(identityProtocol)
	slot := packets.HeldItemSlot{Slot: 12}.AppendData(mcproto.AppendVarInt(nil, table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindHeldItemSlot)), identityProtocol)
	var comp mcproto.Compressor
	if _, err := c.Write(comp.AppendFrame(nil, slot, c.threshold)); err != nil {
		t.Fatal(err)
	}
	// The kick, or the ban's own kick of every player it covers, whichever
	// comes first; neither names the check.
	msg := string(c.expectClosed(t))
	if !strings.Contains(msg, "RustGuard") || strings.Contains(msg, "slot_range") {
		t.Fatalf("kick after the bad packet: %q", msg)
	}
}

// TestDetectionBanInOfflineMode is finding 2 of issue 7: in offline mode the
// name and UUID in Login Start are claims, so an attacker joining as
// "Victim" and tripping a ban check must get the attacker's address (its
// /64) banned, never the name or the UUID the real Victim logs in with.
func TestDetectionBanInOfflineMode(t *testing.T) {
	victimUUID := mcproto.UUID{0x06, 0x9a, 0x79, 0xf4, 0x44, 0xe9, 0x47, 0x26, 0xa5, 0xbe, 0xfc, 0xa9, 0x0e, 0x38, 0xaa, 0xf5}
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"fleet ban list", true}, {"no Redis", false}} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBackend(t, 256, false)
			url := ""
			if tc.redis {
				url = testservers.StartRedis(t).URL()
			}
			e := identityEdge(t, b.addr(), url)
			tripBan(t, e, b, "[2001:db8:bad:1::1]:40000", "Victim", victimUUID)

			// The attacker's /64 is banned: another address of it, with
			// another name, is not admitted.
			waitFor(t, func() bool {
				c := dialFrom(t, e, "[2001:db8:bad:1:ffff::2]:40001")
				ok, _ := c.tryLoginAs(t, "Alt", mcproto.UUID{9})
				if ok {
					b.nextLogin(t).Close()
				}
				return !ok
			})
			if e.bans != nil {
				tab := e.bans.Table()
				// With Redis the ban is the fleet's, not this edge's alone.
				waitFor(t, func() bool {
					_, ok := tab.MatchAddr(netip.MustParseAddr("2001:db8:bad:1::3"), time.Now())
					return ok
				})
				if n, u := tab.Count(bans.KindName), tab.Count(bans.KindUUID); n != 0 || u != 0 {
					t.Errorf("the detection ban stored %d name and %d UUID bans in offline mode, want none", n, u)
				}
			}
			// The real Victim, from elsewhere, with the same name and UUID,
			// is admitted.
			c := dialFrom(t, e, "203.0.113.9:50000")
			if ok, msg := c.tryLoginAs(t, "Victim", victimUUID); !ok {
				t.Fatalf("the real Victim was refused after an attacker used the name: %q", msg)
			}
			b.nextLogin(t)
		})
	}
}

// TestBannedAddressRefusedAtAccept: a banned address or range is closed at
// accept: it can neither ping nor hold a login slot, and the refusal is
// counted with its reason.
func TestBannedAddressRefusedAtAccept(t *testing.T) {
	b := startBackend(t, 256, false)
	e := identityEdge(t, b.addr(), testservers.StartRedis(t).URL())
	if _, err := e.bans.Add(t.Context(), bans.Ban{Kind: bans.KindCIDR, Value: "198.51.100.0/24", Reason: "bot farm"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, ok := e.bans.Table().MatchAddr(netip.MustParseAddr("198.51.100.7"), time.Now())
		return ok
	})
	c := dialFrom(t, e, "198.51.100.7:40000")
	// A status request gets no answer: the edge closed the socket at accept.
	out := append(handshake(identityProtocol, "localhost", 25565, 1), mcproto.AppendFrame(nil, []byte{0x00})...)
	_, _ = c.Write(out)
	if body, err := c.fr.Next(); err == nil {
		t.Fatalf("a banned address got a status answer: %x", body)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues("banned")) == 1 })
	if n := gateDecisions(t, e, "accept", "refuse", "banned"); n != 1 {
		t.Errorf("rustguard_edge_gate_decisions_total{stage=accept,decision=refuse,reason=banned} = %v, want 1", n)
	}
	// The check is the in-memory tables: Accept still allocates nothing,
	// banned or not.
	for _, a := range []string{"198.51.100.7", "2001:db8:1::1"} {
		addr := netip.MustParseAddr(a)
		if n := testing.AllocsPerRun(1000, func() { e.Gate.Accept(addr) }); n != 0 {
			t.Errorf("Accept(%s) with the edge's ban lists: %v allocations, want 0", a, n)
		}
	}
}

// gateDecisions reads one series of rustguard_edge_gate_decisions_total.
func gateDecisions(t *testing.T, e *Edge, stage, decision, why string) float64 {
	t.Helper()
	mfs, err := e.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rustguard_edge_gate_decisions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["stage"] == stage && l["decision"] == decision && l["reason"] == why {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
