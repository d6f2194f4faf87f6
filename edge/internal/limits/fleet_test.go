package limits_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/edge/internal/limits"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/testservers"
)

func client(t testing.TB, url string) redis.UniversalClient {
	t.Helper()
	c, err := bans.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newFleet(t testing.TB, url string, cfg limits.FleetConfig) *limits.Fleet {
	t.Helper()
	f, err := limits.NewFleet(cfg, limits.FleetOptions{
		Client: client(t, url), Registerer: prometheus.NewRegistry(),
		Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// only enables one tier, with a slow refill so a test never sees one.
func only(tier limits.Tier, burst int) limits.FleetConfig {
	cfg := limits.FleetDefaults()
	cfg.Address, cfg.Prefix, cfg.Name = limits.Rate{}, limits.Rate{}, limits.Rate{}
	r := limits.Rate{PerSecond: 1.0 / 60, Burst: burst}
	switch tier {
	case limits.TierAddress:
		cfg.Address = r
	case limits.TierPrefix:
		cfg.Prefix = r
	case limits.TierName:
		cfg.Name = r
	}
	cfg.Timeout = time.Second // -race on a busy machine; the timeout test sets its own
	return cfg
}

func TestFleetSharedAcrossEdges(t *testing.T) {
	srv := testservers.StartRedis(t)
	const burst = 5
	edges := []*limits.Fleet{newFleet(t, srv.URL(), only(limits.TierAddress, burst)), newFleet(t, srv.URL(), only(limits.TierAddress, burst))}
	addr := netip.MustParseAddr("203.0.113.7")
	ctx := context.Background()
	allowed := 0
	for i := range 2 * burst {
		d, err := edges[i%2].AllowLogin(ctx, addr, "")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Backed {
			t.Fatal("decision not backed by Redis")
		}
		if d.Allowed {
			allowed++
			continue
		}
		if d.Tier != limits.TierAddress || d.RetryAfter < 55*time.Second || d.RetryAfter > 61*time.Second {
			t.Errorf("refusal %+v: want tier address, retry ≈ 60 s", d)
		}
	}
	if allowed != burst {
		t.Fatalf("%d logins allowed across two edges, fleet burst %d", allowed, burst)
	}
}

func TestFleetTiers(t *testing.T) {
	srv := testservers.StartRedis(t)
	ip := netip.MustParseAddr
	type login struct {
		addr netip.Addr
		name string
	}
	cases := []struct {
		name   string
		tier   limits.Tier
		logins []login // burst 2: the third is refused by tier
	}{
		{"prefix: three hosts of a /24", limits.TierPrefix, []login{{ip("198.51.100.1"), ""}, {ip("198.51.100.2"), ""}, {ip("198.51.100.3"), ""}}},
		{"prefix: three /64s of a /48", limits.TierPrefix, []login{{ip("2001:db8:1:1::1"), ""}, {ip("2001:db8:1:2::1"), ""}, {ip("2001:db8:1:3::1"), ""}}},
		{"address: one /64", limits.TierAddress, []login{{ip("2001:db8:2::1"), ""}, {ip("2001:db8:2::2"), ""}, {ip("2001:db8:2::ffff"), ""}}},
		{"address: mapped IPv4", limits.TierAddress, []login{{ip("192.0.2.9"), ""}, {ip("::ffff:192.0.2.9"), ""}, {ip("192.0.2.9"), ""}}},
		{"name: across addresses of one /24, case-folded", limits.TierName, []login{{ip("192.0.2.1"), "Steve"}, {ip("192.0.2.77"), "steve"}, {ip("192.0.2.200"), "STEVE"}}},
		{"name: across /64s of one /48", limits.TierName, []login{{ip("2001:db8:9:1::1"), "Steve"}, {ip("2001:db8:9:2::1"), "Steve"}, {ip("2001:db8:9:3::1"), "Steve"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(t, srv.URL(), only(tc.tier, 2))
			for i, l := range tc.logins {
				d, err := f.AllowLogin(context.Background(), l.addr, l.name)
				if err != nil {
					t.Fatal(err)
				}
				want := i < 2
				if d.Allowed != want || !want && d.Tier != tc.tier {
					t.Fatalf("login %d: %+v; want allowed=%v (tier %s)", i+1, d, want, tc.tier)
				}
			}
		})
	}
	// Distinct subjects do not interfere.
	f := newFleet(t, srv.URL(), limits.FleetDefaults())
	for i := range 20 {
		d, err := f.AllowLogin(context.Background(), netip.AddrFrom4([4]byte{10, byte(i), 0, 1}), fmt.Sprint("player", i))
		if err != nil || !d.Allowed {
			t.Fatalf("independent login %d: %+v, %v", i, d, err)
		}
	}
}

func TestFleetRefill(t *testing.T) {
	srv := testservers.StartRedis(t)
	cfg := only(limits.TierAddress, 1)
	cfg.Address.PerSecond = 20 // one every 50 ms
	f := newFleet(t, srv.URL(), cfg)
	a := netip.MustParseAddr("192.0.2.50")
	ctx := context.Background()
	if d, _ := f.AllowLogin(ctx, a, ""); !d.Allowed {
		t.Fatal("first login refused")
	}
	d, _ := f.AllowLogin(ctx, a, "")
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 50*time.Millisecond {
		t.Fatalf("second login %+v; want refused with retry ≤ 50 ms", d)
	}
	// Waiting out RetryAfter is the behaviour under test: the refill
	// happens in Redis's clock, there is no event to wait for.
	time.Sleep(d.RetryAfter + 5*time.Millisecond)
	if d, _ := f.AllowLogin(ctx, a, ""); !d.Allowed {
		t.Fatalf("login after RetryAfter refused: %+v", d)
	}
}

func TestFleetUnavailable(t *testing.T) {
	cases := []struct {
		name     string
		failOpen bool
	}{{"fail open", true}, {"fail closed", false}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testservers.StartRedis(t)
			cfg := limits.FleetDefaults()
			cfg.FailOpen = tc.failOpen
			cfg.Timeout = 100 * time.Millisecond
			cfg.Cooldown = 200 * time.Millisecond
			f := newFleet(t, srv.URL(), cfg)
			a := netip.MustParseAddr("192.0.2.1")
			ctx := context.Background()
			if d, err := f.AllowLogin(ctx, a, "x"); err != nil || !d.Backed {
				t.Fatalf("before outage: %+v, %v", d, err)
			}

			srv.Stop()
			start := time.Now()
			d, err := f.AllowLogin(ctx, a, "x")
			if elapsed := time.Since(start); elapsed > cfg.Timeout+200*time.Millisecond {
				t.Errorf("check took %v with Redis down, timeout %v", elapsed, cfg.Timeout)
			}
			if !errors.Is(err, limits.ErrUnavailable) || d.Backed {
				t.Fatalf("Redis down: %+v, %v; want ErrUnavailable", d, err)
			}
			if d.Allowed != tc.failOpen || !tc.failOpen && d.Tier != limits.TierUnavailable {
				t.Fatalf("Redis down: %+v; want allowed=%v", d, tc.failOpen)
			}
			if f.Healthy() {
				t.Error("Healthy while Redis is down")
			}
			// The breaker answers at once while it is open.
			start = time.Now()
			if _, err := f.AllowLogin(ctx, a, "x"); !errors.Is(err, limits.ErrUnavailable) {
				t.Fatalf("breaker open: %v", err)
			}
			if elapsed := time.Since(start); elapsed > 20*time.Millisecond {
				t.Errorf("open breaker took %v", elapsed)
			}

			srv.Restart()
			deadline := time.Now().Add(10 * time.Second)
			for {
				d, err := f.AllowLogin(ctx, a, "x")
				if err == nil && d.Backed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no recovery after restart: %+v, %v", d, err)
				}
				time.Sleep(cfg.Cooldown / 4) // the breaker's cooldown must pass
			}
			if !f.Healthy() {
				t.Error("not Healthy after recovery")
			}
		})
	}
}

func TestFleetTimeoutRespected(t *testing.T) {
	srv := testservers.StartRedis(t)
	cfg := limits.FleetDefaults()
	cfg.Timeout = 50 * time.Millisecond
	f := newFleet(t, srv.URL(), cfg)
	ctx := context.Background()
	a := netip.MustParseAddr("192.0.2.1")
	if _, err := f.AllowLogin(ctx, a, "warm"); err != nil { // connection and script cache ready
		t.Fatal(err)
	}
	admin := client(t, srv.URL())
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 2000, "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Do(context.Background(), "CLIENT", "UNPAUSE").Err() })
	start := time.Now()
	d, err := f.AllowLogin(ctx, netip.MustParseAddr("192.0.2.2"), "slow")
	elapsed := time.Since(start)
	if !errors.Is(err, limits.ErrUnavailable) || !d.Allowed {
		t.Fatalf("stalled Redis: %+v, %v; want fail-open ErrUnavailable", d, err)
	}
	if elapsed > cfg.Timeout+250*time.Millisecond { // slack for -race on a loaded machine
		t.Fatalf("check took %v against a stalled Redis, timeout %v", elapsed, cfg.Timeout)
	}
	t.Logf("stalled Redis answered by policy after %v (timeout %v)", elapsed, cfg.Timeout)
}

func TestFleetReloadsScriptAfterFlush(t *testing.T) {
	srv := testservers.StartRedis(t)
	f := newFleet(t, srv.URL(), limits.FleetDefaults())
	ctx := context.Background()
	a := netip.MustParseAddr("192.0.2.1")
	if _, err := f.AllowLogin(ctx, a, "x"); err != nil {
		t.Fatal(err)
	}
	if err := client(t, srv.URL()).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := f.AllowLogin(ctx, a, "x"); err != nil || !d.Backed {
		t.Fatalf("after SCRIPT FLUSH: %+v, %v", d, err)
	}
}

func TestNewFleetValidates(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	for name, mut := range map[string]func(*limits.FleetConfig){
		"zero timeout":   func(c *limits.FleetConfig) { c.Timeout = 0 },
		"negative rate":  func(c *limits.FleetConfig) { c.Name.PerSecond = -1 },
		"zero burst":     func(c *limits.FleetConfig) { c.Prefix.Burst = 0 },
		"empty prefix":   func(c *limits.FleetConfig) { c.KeyPrefix = "" },
		"negative pause": func(c *limits.FleetConfig) { c.Cooldown = -time.Second },
	} {
		cfg := limits.FleetDefaults()
		mut(&cfg)
		if _, err := limits.NewFleet(cfg, limits.FleetOptions{Client: c}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := limits.NewFleet(limits.FleetDefaults(), limits.FleetOptions{}); err == nil {
		t.Error("no client: accepted")
	}
}

func TestAttackSignalSumsEdges(t *testing.T) {
	srv := testservers.StartRedis(t)
	var mu sync.Mutex
	now := time.Unix(1_750_000_000, 200_000_000)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	newSignal := func() *limits.AttackSignal {
		a, err := limits.NewAttackSignal(limits.AttackDefaults(), limits.AttackOptions{Client: client(t, srv.URL()), Now: clock, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a, b := newSignal(), newSignal()
	ctx := context.Background()
	for range 30 {
		a.Join()
	}
	for range 20 {
		b.Join()
	}
	for _, s := range []*limits.AttackSignal{a, b} {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The second being written is not read yet; one second later it is.
	if got := a.FleetJoinsPerSecond(); got != 0 {
		t.Errorf("rate counted the incomplete second: %v", got)
	}
	advance(time.Second)
	for _, s := range []*limits.AttackSignal{a, b} {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := s.FleetJoinsPerSecond(), 50.0/5; got != want {
			t.Errorf("fleet joins/s = %v, want %v (50 joins over a 5 s window)", got, want)
		}
	}
	// Past the window the joins no longer count.
	advance(5 * time.Second)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.FleetJoinsPerSecond(); got != 0 {
		t.Errorf("after the window: %v joins/s, want 0", got)
	}

	// Outage: the signal falls back to this edge's own rate.
	srv.Stop()
	for range 25 {
		a.Join()
	}
	if err := a.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with Redis down")
	}
	if a.Healthy() {
		t.Error("Healthy with Redis down")
	}
	if got := a.FleetJoinsPerSecond(); got != 25.0/5 {
		t.Errorf("fallback rate %v, want this edge's 5/s", got)
	}
}

func BenchmarkFleetAllowLogin(b *testing.B) {
	srv := testservers.StartRedis(b)
	cfg := limits.FleetDefaults()
	// Measure Redis throughput, not the breaker: on a loaded two-core
	// machine the odd call exceeds 50 ms and would open it.
	cfg.Timeout = time.Second
	f := newFleet(b, srv.URL(), cfg)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := f.AllowLogin(ctx, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "bench"); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8) // logins arrive on many connections at once
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := f.AllowLogin(ctx, netip.AddrFrom4([4]byte{11, byte(i >> 16), byte(i >> 8), byte(i)}), "bench"); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	})
}

// TestFleetNameBudgetIsPerSourcePrefix: a name is an unauthenticated claim,
// so logins claiming "Victim" from an attacker's networks must not spend the
// budget of the real Victim logging in from anywhere else. Within one
// source prefix (IPv4 /24, IPv6 /48) the name budget still holds.
func TestFleetNameBudgetIsPerSourcePrefix(t *testing.T) {
	srv := testservers.StartRedis(t)
	f := newFleet(t, srv.URL(), only(limits.TierName, 2))
	ctx := context.Background()
	ip := netip.MustParseAddr
	attack := []netip.Addr{ip("198.51.100.1"), ip("198.51.100.2"), ip("198.51.100.3"), ip("2001:db8:66:1::1"), ip("2001:db8:66:2::1"), ip("2001:db8:66:3::1")}
	for i, a := range attack {
		d, err := f.AllowLogin(ctx, a, "Victim")
		if err != nil {
			t.Fatal(err)
		}
		if want := i%3 < 2; d.Allowed != want || !want && d.Tier != limits.TierName {
			t.Fatalf("attacker login %d from %s: %+v, want allowed=%v (name tier per prefix)", i+1, a, d, want)
		}
	}
	for _, a := range []netip.Addr{ip("203.0.113.9"), ip("2001:db8:77::1")} {
		d, err := f.AllowLogin(ctx, a, "victim")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			t.Errorf("the real Victim from %s refused after others claimed the name elsewhere: %+v", a, d)
		}
	}
}

// commandCalls is how many times Redis ran cmd (INFO commandstats): what
// the server itself counted, whatever the client did.
func commandCalls(t *testing.T, c redis.UniversalClient, cmd string) int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return 0
}

// TestFleetRefusalCachedUntilRetryAfter: once Redis refused a key, the edge
// refuses that key itself until the retry-after Redis gave, so a refused
// flood costs Redis nothing. The cache is per tier and key: another name
// or another address is still asked.
func TestFleetRefusalCachedUntilRetryAfter(t *testing.T) {
	srv := testservers.StartRedis(t)
	admin := client(t, srv.URL())
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := limits.FleetDefaults()
	cfg.Address, cfg.Prefix = limits.Rate{PerSecond: 1.0 / 60, Burst: 1}, limits.Rate{}
	cfg.Name = limits.Rate{PerSecond: 1.0 / 60, Burst: 1}
	cfg.Timeout = time.Second
	reg := prometheus.NewRegistry()
	f, err := limits.NewFleet(cfg, limits.FleetOptions{Client: client(t, srv.URL()), Registerer: reg, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	flood := netip.MustParseAddr("192.0.2.10")
	if d, err := f.AllowLogin(ctx, flood, "Bot"); err != nil || !d.Allowed {
		t.Fatalf("first login: %+v, %v", d, err)
	}
	first, err := f.AllowLogin(ctx, netip.MustParseAddr("192.0.2.10"), "Bot2")
	if err != nil || first.Allowed || first.Tier != limits.TierAddress {
		t.Fatalf("second login from the address: %+v, %v; want refused by the address tier", first, err)
	}
	before := commandCalls(t, admin, "evalsha")
	for i := range 1000 {
		d, err := f.AllowLogin(ctx, flood, fmt.Sprint("Bot", i))
		if err != nil || d.Allowed || d.Tier != limits.TierAddress || d.RetryAfter <= 0 || d.RetryAfter > first.RetryAfter {
			t.Fatalf("flood login %d: %+v, %v; want refused by the cached address refusal", i, d, err)
		}
	}
	if got := commandCalls(t, admin, "evalsha") - before; got != 0 {
		t.Errorf("a refused flood of 1000 logins ran %d scripts in Redis, want 0", got)
	}
	if n, err := gathered(reg, "rustguard_edge_login_limit_decisions_total", "result", "refused_cached"); err != nil || n != 1000 {
		t.Errorf("decisions{result=refused_cached} = %v (%v), want 1000", n, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = f.AllowLogin(ctx, flood, "Bot") }); n != 0 {
		t.Errorf("a cached refusal: %v allocations, want 0", n)
	}

	// A name refusal is cached for that name and source prefix only.
	other := netip.MustParseAddr("198.51.100.20")
	if d, _ := f.AllowLogin(ctx, other, "Alex"); !d.Allowed {
		t.Fatalf("Alex: %+v", d)
	}
	if d, _ := f.AllowLogin(ctx, netip.MustParseAddr("198.51.100.21"), "alex"); d.Allowed || d.Tier != limits.TierName {
		t.Fatalf("alex again from the same /24: %+v, want refused by the name tier", d)
	}
	before = commandCalls(t, admin, "evalsha")
	if d, _ := f.AllowLogin(ctx, netip.MustParseAddr("198.51.100.22"), "ALEX"); d.Allowed || d.Tier != limits.TierName {
		t.Fatalf("ALEX from the same /24: %+v, want the cached name refusal", d)
	}
	if got := commandCalls(t, admin, "evalsha") - before; got != 0 {
		t.Errorf("a cached name refusal ran %d scripts", got)
	}
	if d, _ := f.AllowLogin(ctx, netip.MustParseAddr("198.51.100.23"), "Sam"); !d.Allowed {
		t.Errorf("another name from the same /24 refused: %+v", d)
	}

	// Past the retry-after the edge asks Redis again.
	mu.Lock()
	now = now.Add(first.RetryAfter + time.Millisecond)
	mu.Unlock()
	before = commandCalls(t, admin, "evalsha")
	if _, err := f.AllowLogin(ctx, flood, "Later"); err != nil {
		t.Fatal(err)
	}
	if got := commandCalls(t, admin, "evalsha") - before; got == 0 {
		t.Error("after the retry-after the edge still answered from its cache")
	}
}

// gathered reads one labelled counter from a registry.
func gathered(reg *prometheus.Registry, name, label, value string) (float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue(), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("%s{%s=%q} not found", name, label, value)
}
