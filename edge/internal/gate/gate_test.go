package gate

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// acceptStep moves the clock, then accepts a connection from addr.
type acceptStep struct {
	advance time.Duration
	addr    string
	want    Outcome
	reason  Reason
}

func TestAcceptRates(t *testing.T) {
	tests := []struct {
		name         string
		addr, prefix Rate
		steps        []acceptStep
	}{
		{
			name: "address bucket", addr: Rate{1, 2}, prefix: Rate{100, 100},
			steps: []acceptStep{
				{0, "192.0.2.1", Allow, None},
				{0, "192.0.2.1", Allow, None},
				{0, "192.0.2.1", Refuse, RateAddr},
				{0, "192.0.2.2", Allow, None}, // its neighbour has its own bucket
				{time.Second, "192.0.2.1", Allow, None},
				{0, "192.0.2.1", Refuse, RateAddr},
				{0, "::ffff:192.0.2.1", Refuse, RateAddr}, // IPv4-mapped is the same peer
			},
		},
		{
			name: "IPv4 /24 bucket", addr: Rate{100, 100}, prefix: Rate{1, 3},
			steps: []acceptStep{
				{0, "198.51.100.1", Allow, None},
				{0, "198.51.100.2", Allow, None},
				{0, "198.51.100.3", Allow, None},
				{0, "198.51.100.4", Refuse, RatePrefix},
				{0, "198.51.100.254", Refuse, RatePrefix},
				{0, "198.51.101.1", Allow, None}, // the next /24
				{time.Second, "198.51.100.4", Allow, None},
			},
		},
		{
			name: "IPv6 /48 bucket", addr: Rate{100, 100}, prefix: Rate{1, 2},
			steps: []acceptStep{
				{0, "2001:db8:0:1::1", Allow, None},
				{0, "2001:db8:0:2:ffff:ffff:ffff:ffff", Allow, None},
				{0, "2001:db8:0:3:1234::9", Refuse, RatePrefix},
				{0, "2001:db8:1:1::1", Allow, None}, // the next /48
				{0, "fe80::1%eth0", Allow, None},
			},
		},
		{
			name: "an address refused by its own bucket does not drain its prefix", addr: Rate{1, 1}, prefix: Rate{0.001, 2},
			steps: []acceptStep{
				{0, "203.0.113.7", Allow, None},
				{0, "203.0.113.7", Refuse, RateAddr},
				{0, "203.0.113.7", Refuse, RateAddr},
				{0, "203.0.113.7", Refuse, RateAddr},
				{0, "203.0.113.8", Allow, None},
				{0, "203.0.113.9", Refuse, RatePrefix},
			},
		},
		{
			name: "rates off", addr: Rate{}, prefix: Rate{},
			steps: []acceptStep{
				{0, "192.0.2.1", Allow, None}, {0, "192.0.2.1", Allow, None}, {0, "192.0.2.1", Allow, None},
				{0, "192.0.2.1", Allow, None}, {0, "192.0.2.1", Allow, None}, {0, "192.0.2.1", Allow, None},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.ConnAddr, c.ConnPrefix = tt.addr, tt.prefix
			g := newTestGate(t, c, Deps{})
			for i, s := range tt.steps {
				g.clock.Advance(s.advance)
				d := g.Accept(netip.MustParseAddr(s.addr))
				if d.Outcome != s.want || d.Reason != s.reason {
					t.Fatalf("step %d: Accept(%s) = %s/%s, want %s/%s", i, s.addr, d.Outcome, d.Reason, s.want, s.reason)
				}
				if d.Outcome == Refuse && (d.RetryAfter <= 0 || d.Message != "") {
					t.Errorf("step %d: refusal %+v: want a retry time and no message", i, d)
				}
			}
		})
	}
}

func TestAcceptRetryAfter(t *testing.T) {
	c := Defaults()
	c.ConnAddr = Rate{PerSecond: 2, Burst: 1}
	g := newTestGate(t, c, Deps{})
	a := netip.MustParseAddr("192.0.2.1")
	g.Accept(a)
	g.clock.Advance(100 * time.Millisecond)
	d := g.Accept(a)
	// 0.2 tokens after 100 ms at 2/s: 0.8 missing is 400 ms away.
	if d.Outcome != Refuse || d.RetryAfter != 400*time.Millisecond {
		t.Fatalf("Accept = %+v; want refuse with RetryAfter 400ms", d)
	}
}

func TestLoginRules(t *testing.T) {
	const alice = "192.0.2.10"
	bans := BanFunc(func(addr netip.Addr, name string, uuid mcproto.UUID, _ time.Time) (string, bool) {
		switch {
		case name == "Griefer":
			return "Banned for griefing.\nExpires in 1h0m0s.", true
		case addr == netip.MustParseAddr("203.0.113.66"):
			return "", true
		case uuid == mcproto.UUID{0: 0xba, 15: 0xd}, uuid == mcproto.OfflineUUID("OfflineBanned"):
			return "Banned UUID.", true
		}
		return "", false
	})
	tests := []struct {
		name    string
		mutate  func(*Config)
		deps    Deps
		setup   func(*testing.T, *testGate) // earlier traffic
		req     func(LoginRequest) LoginRequest
		want    Outcome
		reason  Reason
		message string // substring of the player's message
	}{
		{name: "honest player", want: Allow, reason: None},
		{name: "name with a space", req: withName("Steve 01"), want: Refuse, reason: BadName, message: "Invalid username"},
		{name: "name too long", req: withName("ThisNameIsTooLong"), want: Refuse, reason: BadName},
		{name: "empty name", req: withName(""), want: Refuse, reason: BadName},
		{name: "name of 16 characters", req: withName("Sixteen_Chars_16"), want: Allow, reason: None},
		{name: "custom pattern admits a Bedrock prefix",
			mutate: func(c *Config) { c.NamePattern = `^\.?[a-zA-Z0-9_]{1,16}$` },
			req:    withName(".BedrockGuy"), want: Allow, reason: None},
		{name: "host not listed",
			mutate: func(c *Config) { c.AllowedHosts = []string{"play.example.com", "*.example.net"} },
			req:    withHost("evil.example.org"), want: Refuse, reason: BadHost, message: "published address"},
		{name: "listed host in another case with a trailing dot",
			mutate: func(c *Config) { c.AllowedHosts = []string{"play.example.com"} },
			req:    withHost("Play.Example.COM."), want: Allow, reason: None},
		{name: "wildcard host matches a subdomain",
			mutate: func(c *Config) { c.AllowedHosts = []string{"*.example.net"} },
			req:    withHost("eu.example.net"), want: Allow, reason: None},
		{name: "wildcard host does not match the apex",
			mutate: func(c *Config) { c.AllowedHosts = []string{"*.example.net"} },
			req:    withHost("example.net"), want: Refuse, reason: BadHost},
		{name: "no host list admits any host", req: withHost("203.0.113.1"), want: Allow, reason: None},
		{name: "denied protocol",
			mutate: func(c *Config) { c.DeniedProtocols = []int32{mcproto.Protocol1_8} },
			req:    withProtocol(mcproto.Protocol1_8), want: Refuse, reason: ProtocolDenied, message: "Please join with 1.9"},
		{name: "protocol outside the allow list",
			mutate: func(c *Config) { c.AllowedProtocols = []int32{763, 764} },
			req:    withProtocol(mcproto.Protocol1_8), want: Refuse, reason: ProtocolDenied, message: "1.20 to 1.20.2"},
		{name: "protocol inside the allow list",
			mutate: func(c *Config) { c.AllowedProtocols = []int32{763, 764} },
			req:    withProtocol(764), want: Allow, reason: None},
		{name: "protocol the tables do not know", req: withProtocol(5), want: Refuse, reason: ProtocolDenied, message: "1.8 to"},
		{name: "negative protocol", req: withProtocol(-1), want: Refuse, reason: ProtocolDenied},
		{name: "banned name", deps: Deps{Bans: bans}, req: withName("Griefer"), want: Refuse, reason: Banned, message: "griefing"},
		{name: "banned address gets a default message", deps: Deps{Bans: bans}, req: withAddr("203.0.113.66"), want: Refuse, reason: Banned, message: "banned"},
		{name: "banned UUID, authenticated", deps: Deps{Bans: bans},
			req: func(r LoginRequest) LoginRequest {
				r.UUID, r.Authenticated = mcproto.UUID{0: 0xba, 15: 0xd}, true
				return r
			},
			want: Refuse, reason: Banned, message: "Banned UUID"},
		// Offline, the claimed UUID is ignored: a banned player cannot
		// dodge a UUID ban with another UUID, nor can anyone trip one.
		{name: "banned UUID claimed offline is not the identity", deps: Deps{Bans: bans},
			req:  func(r LoginRequest) LoginRequest { r.UUID = mcproto.UUID{0: 0xba, 15: 0xd}; return r },
			want: Allow, reason: None},
		{name: "offline UUID of the name is banned", deps: Deps{Bans: bans},
			req: func(r LoginRequest) LoginRequest {
				r.Name, r.UUID = "OfflineBanned", mcproto.UUID{1, 2, 3}
				return r
			},
			want: Refuse, reason: Banned, message: "Banned UUID"},
		{name: "not banned", deps: Deps{Bans: bans}, want: Allow, reason: None},
		{name: "blocked after failed verifications",
			setup: func(t *testing.T, g *testGate) {
				g.Failed(netip.MustParseAddr(alice))
				g.Failed(netip.MustParseAddr(alice))
			},
			want: Refuse, reason: BlockedVerification, message: "Try again in 10m"},
		{name: "login rate of the address",
			mutate: func(c *Config) { c.LoginAddr = Rate{PerSecond: 1, Burst: 1} },
			setup:  loginAndRelease(alice),
			want:   Refuse, reason: RateAddr, message: "Try again in 1s"},
		{name: "login rate of the prefix",
			mutate: func(c *Config) { c.LoginAddr, c.LoginPrefix = Rate{100, 100}, Rate{PerSecond: 0.5, Burst: 1} },
			setup:  loginAndRelease("192.0.2.200"),
			want:   Refuse, reason: RatePrefix, message: "Try again in 2s"},
		{name: "login rate of another prefix is untouched",
			mutate: func(c *Config) { c.LoginAddr, c.LoginPrefix = Rate{100, 100}, Rate{PerSecond: 0.5, Burst: 1} },
			setup:  loginAndRelease("198.51.100.1"),
			want:   Allow, reason: None},
		{name: "fleet rate",
			deps: Deps{Fleet: fakeFleet{allowed: false, wait: 5 * time.Second}},
			want: Refuse, reason: RateFleet, message: "Try again in 5s"},
		{name: "fleet allows", deps: Deps{Fleet: fakeFleet{allowed: true}}, want: Allow, reason: None},
		{name: "fleet error fails open", deps: Deps{Fleet: fakeFleet{err: errors.New("redis: connection refused")}}, want: Allow, reason: None},
		{name: "one login in flight per address",
			setup: func(t *testing.T, g *testGate) { g.login(t, honest(alice)) }, // ticket kept
			req:   withName("Alex"), want: Refuse, reason: LoginInFlight, message: "already in progress"},
		{name: "IPv6 logins in flight count per /64",
			setup: func(t *testing.T, g *testGate) { g.login(t, honest("2001:db8:0:7::1")) },
			req:   withAddr("2001:db8:0:7::2"), want: Refuse, reason: LoginInFlight},
		{name: "too many accounts",
			mutate: func(c *Config) { c.LoginAddr = Rate{} },
			setup: func(t *testing.T, g *testGate) {
				for range 3 {
					tk, d := g.login(t, honest(alice))
					if d.Outcome != Allow {
						t.Fatalf("setup login: %+v", d)
					}
					tk.LoggedIn()
				}
			},
			want: Refuse, reason: TooManyAccounts, message: "at most 3"},
		{name: "accounts cap off",
			mutate: func(c *Config) { c.LoginAddr, c.LoginPrefix, c.MaxAccountsPerAddr = Rate{}, Rate{}, 0 },
			setup: func(t *testing.T, g *testGate) {
				for range 10 {
					tk, _ := g.login(t, honest(alice))
					tk.LoggedIn()
				}
			},
			want: Allow, reason: None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			if tt.mutate != nil {
				tt.mutate(&c)
			}
			g := newTestGate(t, c, tt.deps)
			if tt.setup != nil {
				tt.setup(t, g)
			}
			req := honest(alice)
			if tt.req != nil {
				req = tt.req(req)
			}
			counter := g.m.decisions[stageLogin][tt.want][tt.reason]
			before := testutil.ToFloat64(counter)
			tk, d := g.login(t, req)
			if d.Outcome != tt.want || d.Reason != tt.reason {
				t.Fatalf("Login = %s/%s (%q), want %s/%s", d.Outcome, d.Reason, d.Message, tt.want, tt.reason)
			}
			if !strings.Contains(d.Message, tt.message) {
				t.Errorf("message %q does not contain %q", d.Message, tt.message)
			}
			switch {
			case d.Outcome == Refuse && tk != nil:
				t.Error("a refused login got a ticket")
			case d.Outcome == Refuse && d.Message == "":
				t.Error("a refused login has no message for the player")
			case d.Outcome != Refuse && tk == nil:
				t.Error("an admitted login got no ticket")
			}
			if got := testutil.ToFloat64(counter) - before; got != 1 {
				t.Errorf("decisions{login,%s,%s} grew by %v, want 1", d.Outcome, d.Reason, got)
			}
		})
	}
}

func withName(n string) func(LoginRequest) LoginRequest {
	return func(r LoginRequest) LoginRequest { r.Name = n; return r }
}

func withHost(h string) func(LoginRequest) LoginRequest {
	return func(r LoginRequest) LoginRequest { r.Host = h; return r }
}

func withProtocol(p int32) func(LoginRequest) LoginRequest {
	return func(r LoginRequest) LoginRequest { r.Protocol = p; return r }
}

func withAddr(a string) func(LoginRequest) LoginRequest {
	return func(r LoginRequest) LoginRequest { r.Addr = netip.MustParseAddr(a); return r }
}

func loginAndRelease(addr string) func(*testing.T, *testGate) {
	return func(t *testing.T, g *testGate) {
		tk, d := g.login(t, honest(addr))
		if d.Outcome != Allow {
			t.Fatalf("setup login from %s: %+v", addr, d)
		}
		tk.Release()
	}
}

type fakeFleet struct {
	allowed bool
	wait    time.Duration
	err     error
}

func (f fakeFleet) AllowLogin(context.Context, netip.Addr, string) (bool, time.Duration, error) {
	return f.allowed, f.wait, f.err
}

func TestFleetRefusalGivesSlotsBack(t *testing.T) {
	g := newTestGate(t, Defaults(), Deps{Fleet: fakeFleet{allowed: false}})
	if _, d := g.login(t, honest("192.0.2.1")); d.Reason != RateFleet || d.Message != msgTooFast {
		t.Fatalf("Login = %+v, want rate_fleet with the generic message", d)
	}
	if n := g.slots.live(); n != 0 {
		t.Errorf("%d hosts still hold slots after a fleet refusal", n)
	}
}

// deadlineFleet records the deadline the gate gave it.
type deadlineFleet struct {
	deadline time.Time
	err      error
}

func (f *deadlineFleet) AllowLogin(ctx context.Context, _ netip.Addr, _ string) (bool, time.Duration, error) {
	f.deadline, _ = ctx.Deadline()
	return true, 0, f.err
}

func TestFleetBoundedAndFailingOpen(t *testing.T) {
	f := &deadlineFleet{err: context.DeadlineExceeded}
	g := newTestGate(t, noLimits(), Deps{Fleet: f})
	before := time.Now()
	for i := range 3 {
		if _, d := g.login(t, honest("192.0.2.1")); d.Outcome != Allow {
			t.Fatalf("login %d with a failing fleet limiter = %+v, want allow", i, d)
		}
	}
	if f.deadline.IsZero() || f.deadline.Sub(before) > fleetTimeout+time.Second {
		t.Errorf("fleet call deadline %v: want within %v", f.deadline, fleetTimeout)
	}
	if got := testutil.ToFloat64(g.m.fleetErrors); got != 3 {
		t.Errorf("fleet errors = %v, want 3", got)
	}
	if !g.fleetFailing.Load() {
		t.Error("gate did not notice the failing fleet limiter")
	}
	f.err = nil
	g.login(t, honest("192.0.2.1"))
	if g.fleetFailing.Load() {
		t.Error("gate did not notice the fleet limiter recovering")
	}

	// A caller that gave up is not a fleet failure.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.err = context.Canceled
	g.Login(ctx, honest("192.0.2.1"))
	if got := testutil.ToFloat64(g.m.fleetErrors); got != 3 {
		t.Errorf("fleet errors after a cancelled caller = %v, want 3", got)
	}
}

func TestTicketSlots(t *testing.T) {
	addr := "192.0.2.50"
	type op int
	const (
		login op = iota
		loggedIn
		release
	)
	type ops = []struct {
		kind   op
		ticket int
	}
	tests := []struct {
		name  string
		ops   ops
		final Reason // the decision of one more login afterwards
	}{
		{"in flight blocks the next login", ops{{login, 0}}, LoginInFlight},
		{"LoggedIn frees the in-flight slot", ops{{login, 0}, {loggedIn, 0}}, None},
		{"Release frees both slots", ops{{login, 0}, {release, 0}}, None},
		{"players fill the accounts cap", ops{
			{login, 0}, {loggedIn, 0}, {login, 1}, {loggedIn, 1}, {login, 2}, {loggedIn, 2}}, TooManyAccounts},
		{"a player leaving frees an account", ops{
			{login, 0}, {loggedIn, 0}, {login, 1}, {loggedIn, 1}, {login, 2}, {loggedIn, 2}, {release, 1}}, None},
		{"double release frees once", ops{
			{login, 0}, {loggedIn, 0}, {login, 1}, {loggedIn, 1}, {login, 2}, {loggedIn, 2},
			{release, 1}, {release, 1}, {login, 3}, {loggedIn, 3}}, TooManyAccounts},
		{"LoggedIn twice frees once", ops{
			{login, 0}, {loggedIn, 0}, {loggedIn, 0}, {login, 1}}, LoginInFlight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGate(t, func() Config { c := Defaults(); c.LoginAddr = Rate{}; return c }(), Deps{})
			tickets := map[int]*Ticket{}
			for i, o := range tt.ops {
				switch o.kind {
				case login:
					tk, d := g.login(t, honest(addr))
					if d.Outcome != Allow {
						t.Fatalf("op %d: login = %+v", i, d)
					}
					tickets[o.ticket] = tk
				case loggedIn:
					tickets[o.ticket].LoggedIn()
				case release:
					tickets[o.ticket].Release()
				}
			}
			tk, d := g.login(t, honest(addr))
			if d.Reason != tt.final {
				t.Fatalf("final login = %s/%s, want %s", d.Outcome, d.Reason, tt.final)
			}
			tickets[len(tickets)] = tk
			for _, tk := range tickets {
				tk.Release()
			}
			if n := g.slots.live(); n != 0 {
				t.Errorf("%d hosts hold slots after every ticket was released", n)
			}
		})
	}
	var nilTicket *Ticket
	nilTicket.LoggedIn()
	nilTicket.Release() // must not panic
}

// attackStep moves the clock, runs joins logins from distinct addresses,
// sets the fleet rate and checks AttackMode.
type attackStep struct {
	advance time.Duration
	joins   int
	fleet   float64
	want    bool
}

type fakeSignal struct{ rate float64 }

func (s *fakeSignal) FleetJoinsPerSecond() float64 { return s.rate }

func TestAttackMode(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		steps []attackStep
	}{
		{"below the threshold stays off", AttackModeAuto, []attackStep{
			{0, 39, 0, false}, // 39 joins in the 5 s window: 7.8/s
			{4 * time.Second, 0, 0, false},
		}},
		{"on at the threshold, off after the quiet period", AttackModeAuto, []attackStep{
			{0, 40, 0, true},               // 8.0/s
			{5 * time.Second, 0, 0, true},  // rate back to 0, quiet period running
			{24 * time.Second, 0, 0, true}, // 29 s since the last second above
			{time.Second, 0, 0, false},     // 30 s
		}},
		{"joins during the quiet period keep it on", AttackModeAuto, []attackStep{
			{0, 40, 0, true},
			{20 * time.Second, 40, 0, true},
			{20 * time.Second, 0, 0, true},
			{10 * time.Second, 0, 0, false},
		}},
		{"joins spread over the window add up", AttackModeAuto, []attackStep{
			{0, 10, 0, false}, {time.Second, 10, 0, false}, {time.Second, 10, 0, false},
			{time.Second, 10, 0, true},
		}},
		{"old joins leave the window", AttackModeAuto, []attackStep{
			{0, 30, 0, false}, {5 * time.Second, 9, 0, false},
		}},
		{"the fleet signal turns it on", AttackModeAuto, []attackStep{
			{0, 0, 31, false},
			{0, 0, 32, true},
			{29 * time.Second, 0, 0, true},
			{time.Second, 0, 0, false},
		}},
		{"forced on", AttackModeOn, []attackStep{{0, 0, 0, true}, {time.Hour, 0, 0, true}}},
		{"forced off", AttackModeOff, []attackStep{{0, 200, 1000, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := noLimits()
			c.AttackMode = tt.mode
			sig := &fakeSignal{}
			g := newTestGate(t, c, Deps{Attack: sig})
			n := 0
			for i, s := range tt.steps {
				g.clock.Advance(s.advance)
				sig.rate = s.fleet
				for range s.joins {
					n++
					g.login(t, honest(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}).String()))
				}
				if got := g.AttackMode(); got != s.want {
					t.Fatalf("step %d: AttackMode() = %v, want %v (joins/s %v)", i, got, s.want, g.attack.rate(g.clock.Now()))
				}
				want := 0.0
				if s.want {
					want = 1
				}
				if got := testutil.ToFloat64(g.m.attack); got != want {
					t.Errorf("step %d: rustguard_edge_attack_mode = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestRefusedLoginsDoNotCountAsJoins(t *testing.T) {
	c := Defaults() // login rate per address on
	g := newTestGate(t, c, Deps{})
	for range 100 {
		tk, _ := g.login(t, honest("192.0.2.1"))
		tk.Release()
	}
	if g.AttackMode() {
		t.Fatal("one address hammering logins switched attack mode on")
	}
	if got := testutil.ToFloat64(g.m.joins); got != 3.0/attackWindow {
		t.Errorf("joins per second = %v, want the 3 admitted logins over the window", got)
	}
}

func TestVerification(t *testing.T) {
	type step struct {
		advance time.Duration
		do      func(*testing.T, *testGate) // optional action before the login
		addr    string
		name    string
		want    Outcome
		reason  Reason
	}
	verified := func(addr, name string) func(*testing.T, *testGate) {
		return func(_ *testing.T, g *testGate) { g.Verified(netip.MustParseAddr(addr), name) }
	}
	failed := func(addr string, wantBlocked bool) func(*testing.T, *testGate) {
		return func(t *testing.T, g *testGate) {
			t.Helper()
			if got := g.Failed(netip.MustParseAddr(addr)); got != wantBlocked {
				t.Fatalf("Failed(%s) blocked = %v, want %v", addr, got, wantBlocked)
			}
		}
	}
	tests := []struct {
		name         string
		mode         string
		verifyAlways bool
		steps        []step
	}{
		{"attack mode off lets everybody through", AttackModeOff, false, []step{
			{0, nil, "192.0.2.1", "Alice", Allow, None},
		}},
		{"verify first in attack mode, then remembered", AttackModeOn, false, []step{
			{0, nil, "192.0.2.1", "Alice", Verify, AttackMode},
			{0, verified("192.0.2.1", "Alice"), "192.0.2.1", "Alice", Allow, Verified},
			{0, nil, "192.0.2.1", "Bob", Verify, AttackMode},   // another name
			{0, nil, "192.0.2.2", "Alice", Verify, AttackMode}, // another address
			{24*time.Hour - time.Second, nil, "192.0.2.1", "Alice", Allow, Verified},
			{time.Second, nil, "192.0.2.1", "Alice", Verify, AttackMode}, // TTL over
		}},
		{"IPv6 players are remembered per /64", AttackModeOn, false, []step{
			{0, verified("2001:db8:0:9::1", "Alice"), "2001:db8:0:9:abcd::2", "Alice", Allow, Verified},
			{0, nil, "2001:db8:0:a::1", "Alice", Verify, AttackMode},
		}},
		{"verify always, attack or not", AttackModeOff, true, []step{
			{0, nil, "192.0.2.1", "Alice", Verify, VerifyAlways},
			{0, verified("192.0.2.1", "Alice"), "192.0.2.1", "Alice", Allow, Verified},
		}},
		{"two failures block for ten minutes", AttackModeOn, false, []step{
			{0, failed("192.0.2.9", false), "192.0.2.9", "Alice", Verify, AttackMode},
			{0, failed("192.0.2.9", true), "192.0.2.9", "Alice", Refuse, BlockedVerification},
			{0, nil, "192.0.2.10", "Alice", Verify, AttackMode}, // the neighbour is not blocked
			{10*time.Minute - time.Second, nil, "192.0.2.9", "Alice", Refuse, BlockedVerification},
			{time.Second, nil, "192.0.2.9", "Alice", Verify, AttackMode},
			{0, failed("192.0.2.9", false), "192.0.2.9", "Alice", Verify, AttackMode}, // counting starts over
		}},
		{"failures far apart do not add up", AttackModeOn, false, []step{
			{0, failed("192.0.2.9", false), "192.0.2.9", "Alice", Verify, AttackMode},
			{11 * time.Minute, failed("192.0.2.9", false), "192.0.2.9", "Alice", Verify, AttackMode},
		}},
		{"a block also holds verified players", AttackModeOn, false, []step{
			{0, verified("192.0.2.9", "Alice"), "192.0.2.9", "Alice", Allow, Verified},
			{0, func(t *testing.T, g *testGate) { failed("192.0.2.9", false)(t, g); failed("192.0.2.9", true)(t, g) }, "192.0.2.9", "Alice", Refuse, BlockedVerification},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := noLimits()
			c.AttackMode, c.VerifyAlways = tt.mode, tt.verifyAlways
			g := newTestGate(t, c, Deps{})
			for i, s := range tt.steps {
				g.clock.Advance(s.advance)
				if s.do != nil {
					s.do(t, g)
				}
				r := honest(s.addr)
				r.Name = s.name
				tk, d := g.login(t, r)
				tk.Release()
				if d.Outcome != s.want || d.Reason != s.reason {
					t.Fatalf("step %d: login %s@%s = %s/%s (%q), want %s/%s", i, s.name, s.addr, d.Outcome, d.Reason, d.Message, s.want, s.reason)
				}
			}
		})
	}
}

func TestVerifiedDoesNotKeepTheCallersBuffer(t *testing.T) {
	g := newTestGate(t, noLimits(), Deps{})
	buf := []byte("Alice and a lot more bytes from a packet buffer")
	name := string(buf[:5])
	g.Verified(netip.MustParseAddr("192.0.2.1"), name)
	g.verify.mu.Lock()
	defer g.verify.mu.Unlock()
	for k := range g.verify.passed.All() {
		if k.name != "Alice" {
			t.Fatalf("stored name %q", k.name)
		}
	}
}

func TestReasonAndOutcomeNames(t *testing.T) {
	seen := map[string]Reason{}
	for r := Reason(0); r < numReasons; r++ {
		n := r.String()
		if n == "" || n == "unknown" || strings.ContainsAny(n, " -") {
			t.Errorf("reason %d has name %q; want snake_case", r, n)
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("reasons %d and %d share %q", prev, r, n)
		}
		seen[n] = r
	}
	if Reason(200).String() != "unknown" || Outcome(9).String() != "unknown" {
		t.Error("out-of-range values must read unknown")
	}
	if (Decision{}).Allowed() {
		t.Error("the zero Decision must refuse")
	}
}

func TestMetricsRegistered(t *testing.T) {
	g := newTestGate(t, Defaults(), Deps{})
	g.Accept(netip.MustParseAddr("192.0.2.1"))
	g.login(t, honest("192.0.2.1"))
	for name, want := range map[string]int{
		// Every valid stage/decision/reason series exists from the start.
		"rustguard_edge_gate_decisions_total":            4 + 15 + 5,
		"rustguard_edge_gate_fleet_limiter_errors_total": 1,
		"rustguard_edge_attack_mode":                     1,
		"rustguard_edge_joins_per_second":                1,
	} {
		if got, err := testutil.GatherAndCount(g.reg, name); err != nil || got != want {
			t.Errorf("%s: %d series (err %v), want %d", name, got, err, want)
		}
	}
	if got := testutil.ToFloat64(g.m.decisions[stageAccept][Allow][None]); got != 1 {
		t.Errorf("accept allows = %v, want 1", got)
	}
	// A second gate on the same registry is a wiring mistake New reports.
	if _, err := New(Defaults(), Deps{Metrics: g.reg}); err == nil {
		t.Error("New registered the same metrics twice without an error")
	}
}
