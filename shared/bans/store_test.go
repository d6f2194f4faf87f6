package bans_test

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/testservers"
)

// propagationBudget is the promise: a ban takes effect fleet-wide
// within a second.
const propagationBudget = time.Second

// waitTimeout bounds waits for things that take a reconnect or a resync.
const waitTimeout = 15 * time.Second

type edge struct {
	store *bans.Store
	reg   *prometheus.Registry
	added chan bans.Ban
}

func newClient(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	c, err := bans.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newStore builds a store; with run it also runs the sync loop (like an
// edge) until the test ends and waits for the first load.
func newStore(t *testing.T, url string, run bool, tweak ...func(*bans.Config)) *edge {
	t.Helper()
	cfg := bans.Defaults()
	cfg.Block = 200 * time.Millisecond
	for _, f := range tweak {
		f(&cfg)
	}
	e := &edge{reg: prometheus.NewRegistry(), added: make(chan bans.Ban, 100)}
	s, err := bans.NewStore(cfg, bans.Options{
		Client:     newClient(t, url),
		OnAdd:      func(b bans.Ban) { e.added <- b },
		Registerer: e.reg,
		Log:        slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.store = s
	if !run {
		return e
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Run did not return after cancel")
		}
	})
	select {
	case <-s.Synced():
	case <-time.After(waitTimeout):
		t.Fatal("store did not load the ban list")
	}
	return e
}

// eventually polls cond until it holds. Used only where the store offers
// no event to wait on (a removal, health after an outage).
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
	return time.Since(start)
}

func waitAdded(t *testing.T, e *edge, id string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(waitTimeout)
	for {
		select {
		case b := <-e.added:
			if b.ID == id {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("OnAdd not called for %s", id)
		}
	}
}

func TestStorePropagatesAcrossEdges(t *testing.T) {
	srv := testservers.StartRedis(t)
	writer := newStore(t, srv.URL(), false)
	edgeA := newStore(t, srv.URL(), true)
	edgeB := newStore(t, srv.URL(), true)
	ctx := context.Background()
	addr := netip.MustParseAddr("203.0.113.7")

	start := time.Now()
	b, err := writer.store.Add(ctx, bans.Ban{Kind: bans.KindIP, Value: "::ffff:203.0.113.7", Reason: "botting", Source: "operator:test", Expires: time.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != "ip:203.0.113.7" {
		t.Fatalf("stored ID %q", b.ID)
	}
	for name, e := range map[string]*edge{"A": edgeA, "B": edgeB} {
		waitAdded(t, e, b.ID)
		d := time.Since(start)
		if d > propagationBudget {
			t.Errorf("edge %s saw the ban after %v, budget %v", name, d, propagationBudget)
		}
		t.Logf("edge %s: ban in force %v after Add returned", name, d)
		got, ok := e.store.Table().MatchAddr(addr, time.Now())
		if !ok || got.Reason != "botting" || got.Source != "operator:test" {
			t.Fatalf("edge %s Match = %+v, %v", name, got, ok)
		}
	}

	// Remove: both edges stop matching within the budget.
	start = time.Now()
	if ok, err := writer.store.Remove(ctx, bans.KindIP, "203.0.113.7"); err != nil || !ok {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	for _, e := range []*edge{edgeA, edgeB} {
		eventually(t, "removal propagated", propagationBudget, func() bool {
			_, ok := e.store.Table().MatchAddr(addr, time.Now())
			return !ok
		})
	}
	t.Logf("removal in force on both edges %v after Remove returned", time.Since(start))
	if ok, err := writer.store.Remove(ctx, bans.KindIP, "203.0.113.7"); err != nil || ok {
		t.Fatalf("second Remove = %v, %v; want false, nil", ok, err)
	}
}

func TestStoreSnapshotOnStartAndList(t *testing.T) {
	srv := testservers.StartRedis(t)
	writer := newStore(t, srv.URL(), false)
	ctx := context.Background()
	now := time.Now()
	for _, b := range []bans.Ban{
		{Kind: bans.KindName, Value: "Griefer", Reason: "griefing", Created: now.Add(-3 * time.Minute)},
		{Kind: bans.KindUUID, Value: "069a79f444e94726a5befca90e38aaf5", Reason: "alt", Created: now.Add(-2 * time.Minute), Expires: now.Add(time.Hour)},
		{Kind: bans.KindCIDR, Value: "2001:db8:bad::/48", Reason: "botnet", Created: now.Add(-time.Minute)},
		// Already expired: stored until pruned, but never in force.
		{Kind: bans.KindIP, Value: "192.0.2.1", Reason: "old", Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)},
	} {
		if _, err := writer.store.Add(ctx, b); err != nil {
			t.Fatal(err)
		}
	}

	e := newStore(t, srv.URL(), true)
	if _, ok := e.store.Table().Match(netip.Addr{}, "griefer", mcproto.UUID{}, time.Now()); !ok {
		t.Error("name ban from before start not loaded")
	}
	if _, ok := e.store.Table().MatchAddr(netip.MustParseAddr("2001:db8:bad:1::1"), time.Now()); !ok {
		t.Error("CIDR ban from before start not loaded")
	}
	if _, ok := e.store.Table().MatchAddr(netip.MustParseAddr("192.0.2.1"), time.Now()); ok {
		t.Error("expired ban matches")
	}
	select {
	case b := <-e.added:
		t.Errorf("OnAdd called for %s from the initial load", b.ID)
	default:
	}

	list, err := writer.store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range list {
		ids = append(ids, b.ID)
	}
	want := "name:griefer uuid:069a79f4-44e9-4726-a5be-fca90e38aaf5 cidr:2001:db8:bad::/48"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("List = %s; want %s (oldest first, expired left out)", got, want)
	}

	// Prune removes the expired ban from Redis, and the removal reaches
	// the edge through the stream.
	if n, err := writer.store.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	eventually(t, "pruned ban leaves the table", propagationBudget, func() bool {
		_, ok := e.store.Table().Get("ip:192.0.2.1")
		return !ok
	})
	if e.store.Table().Len() != 3 {
		t.Errorf("table holds %d bans, want 3", e.store.Table().Len())
	}
}

func TestStoreOutageFailsStaticAndRecovers(t *testing.T) {
	srv := testservers.StartRedis(t)
	writer := newStore(t, srv.URL(), false)
	e := newStore(t, srv.URL(), true)
	ctx := context.Background()
	if _, err := writer.store.Add(ctx, bans.Ban{Kind: bans.KindName, Value: "Before", Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	waitAdded(t, e, "name:before")
	if !e.store.Healthy() || e.store.Err() != nil {
		t.Fatalf("healthy = %v, err = %v before the outage", e.store.Healthy(), e.store.Err())
	}
	if up := metricValue(t, e.reg, "rustguard_edge_bans_redis_up", ""); up != 1 {
		t.Errorf("redis_up = %v", up)
	}

	srv.Stop()
	eventually(t, "store notices the outage", waitTimeout, func() bool { return !e.store.Healthy() })
	if e.store.Err() == nil {
		t.Error("Err is nil while unhealthy")
	}
	if _, ok := e.store.Table().Match(netip.Addr{}, "before", mcproto.UUID{}, time.Now()); !ok {
		t.Error("the last list is not served during the outage")
	}
	if up := metricValue(t, e.reg, "rustguard_edge_bans_redis_up", ""); up != 0 {
		t.Errorf("redis_up = %v during the outage", up)
	}
	// Writes fail fast rather than hang.
	start := time.Now()
	if _, err := writer.store.Add(ctx, bans.Ban{Kind: bans.KindName, Value: "Lost"}); err == nil {
		t.Error("Add succeeded with Redis down")
	}
	if d := time.Since(start); d > bans.Defaults().OpTimeout+time.Second {
		t.Errorf("Add took %v with Redis down", d)
	}

	srv.Restart()
	// A ban written by another edge right after the restart must arrive:
	// through the resync if it lands first, or through the stream.
	if _, err := writer.store.Add(ctx, bans.Ban{Kind: bans.KindName, Value: "After", Reason: "y"}); err != nil {
		t.Fatal(err)
	}
	waitAdded(t, e, "name:after")
	eventually(t, "store healthy again", waitTimeout, e.store.Healthy)
	for _, n := range []string{"before", "after"} {
		if _, ok := e.store.Table().Match(netip.Addr{}, n, mcproto.UUID{}, time.Now()); !ok {
			t.Errorf("ban on %s lost over the restart", n)
		}
	}
	if n := metricValue(t, e.reg, "rustguard_edge_bans_resyncs_total", "reconnect"); n < 1 {
		t.Errorf("reconnect resyncs = %v, want ≥ 1", n)
	}
}

// TestStoreResyncsOnGap: a change that never reached the stream (simulated
// by writing the hash directly and skipping a sequence number) is picked
// up by the resync the gap triggers.
func TestStoreResyncsOnGap(t *testing.T) {
	srv := testservers.StartRedis(t)
	e := newStore(t, srv.URL(), true)
	raw := newClient(t, srv.URL())
	ctx := context.Background()
	if err := raw.HSet(ctx, "rustguard:{bans}:all", "name:sneaky", `{"kind":"name","value":"Sneaky","created_ms":1}`).Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.XAdd(ctx, &redis.XAddArgs{Stream: "rustguard:{bans}:events", Values: []any{"op", "del", "id", "name:nobody", "seq", 7}}).Err(); err != nil {
		t.Fatal(err)
	}
	waitAdded(t, e, "name:sneaky")
	if n := metricValue(t, e.reg, "rustguard_edge_bans_resyncs_total", "gap"); n != 1 {
		t.Errorf("gap resyncs = %v, want 1", n)
	}
}

// TestStoreFollowsFlushedRedis: Redis comes back empty (no persistence);
// the first new change has sequence 1, which the follower sees as a gap,
// and the table converges to what Redis now holds.
func TestStoreFollowsFlushedRedis(t *testing.T) {
	srv := testservers.StartRedis(t)
	writer := newStore(t, srv.URL(), false)
	e := newStore(t, srv.URL(), true)
	ctx := context.Background()
	for _, n := range []string{"one", "two"} {
		if _, err := writer.store.Add(ctx, bans.Ban{Kind: bans.KindName, Value: n}); err != nil {
			t.Fatal(err)
		}
		waitAdded(t, e, "name:"+n)
	}
	if err := newClient(t, srv.URL()).FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.store.Add(ctx, bans.Ban{Kind: bans.KindName, Value: "three"}); err != nil {
		t.Fatal(err)
	}
	waitAdded(t, e, "name:three")
	eventually(t, "table converges to the flushed Redis", waitTimeout, func() bool { return e.store.Table().Len() == 1 })
}

// TestDetectionsWriteToTheFleet: with Redis up, a detection ban reaches the
// fleet's list (and every edge through it), and nothing is held locally.
func TestDetectionsWriteToTheFleet(t *testing.T) {
	srv := testservers.StartRedis(t)
	e := newStore(t, srv.URL(), true)
	local := newLocal(t, nil)
	d := bans.NewDetections(e.store, local, false)
	d.Ban(bans.Subject{Name: "Cheater", UUID: "069a79f4-44e9-4726-a5be-fca90e38aaf5", Addr: netip.MustParseAddr("::ffff:198.51.100.4")},
		"rustguard: fly", "check:fly", 30*time.Minute)
	select {
	case b := <-e.added:
		if b.ID != "ip:198.51.100.4" || b.Source != "check:fly" || b.Permanent() || b.Remaining(time.Now()) > 30*time.Minute {
			t.Errorf("ban %+v: want ip:198.51.100.4 from check:fly for 30 min", b)
		}
	case <-time.After(waitTimeout):
		t.Fatal("detection ban not stored")
	}
	// The writer counts after Redis replies, which can be after the
	// follower already applied the event.
	eventually(t, "the detection write counted", waitTimeout, func() bool {
		return metricValue(t, e.reg, "rustguard_edge_bans_detection_writes_total", "ok") == 1
	})
	if n := e.store.Table().Len(); n != 1 {
		t.Errorf("fleet table holds %d bans, want only the address", n)
	}
	if n := local.Table().Len(); n != 0 {
		t.Errorf("local table holds %d bans while Redis took the ban", n)
	}
}

// TestDetectionsHoldLocallyWhenRedisFails: a detection ban Redis does not
// take still holds on the edge that issued it.
func TestDetectionsHoldLocallyWhenRedisFails(t *testing.T) {
	srv := testservers.StartRedis(t)
	added := make(chan bans.Ban, 4)
	local := newLocal(t, func(b bans.Ban) { added <- b })
	s, err := bans.NewStore(bans.Defaults(), bans.Options{Client: newClient(t, srv.URL()), Local: local,
		Log: slog.New(slog.NewTextHandler(t.Output(), nil)), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	bans.NewDetections(s, local, false).Ban(bans.Subject{Name: "Cheater", Addr: netip.MustParseAddr("2001:db8:c:1::9")}, "rustguard: fly", "check:fly", time.Hour)
	select {
	case b := <-added:
		if b.ID != "cidr:2001:db8:c:1::/64" {
			t.Errorf("held locally: %s, want the /64", b.ID)
		}
	case <-time.After(waitTimeout):
		t.Fatal("a detection ban Redis could not take was not held locally")
	}
	if _, ok := local.Table().MatchAddr(netip.MustParseAddr("2001:db8:c:1::77"), time.Now()); !ok {
		t.Error("the local ban does not cover the /64")
	}
}

func TestStoreConcurrentMatchDuringUpdates(t *testing.T) {
	srv := testservers.StartRedis(t)
	writer := newStore(t, srv.URL(), false)
	e := newStore(t, srv.URL(), true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			a := netip.MustParseAddr("198.51.100.77")
			for ctx.Err() == nil {
				e.store.Table().Match(a, "reader", mcproto.UUID{1}, time.Now())
			}
		})
	}
	for i := range 50 {
		v := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String()
		if _, err := writer.store.Add(context.Background(), bans.Ban{Kind: bans.KindIP, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "50 bans arrive", waitTimeout, func() bool { return e.store.Table().Len() == 50 })
	cancel()
	wg.Wait()
}

func TestNewStoreValidates(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	cases := []struct {
		name string
		cfg  func(*bans.Config)
		opts bans.Options
	}{
		{"no client", func(*bans.Config) {}, bans.Options{}},
		{"brace in prefix", func(c *bans.Config) { c.KeyPrefix = "a{b}" }, bans.Options{Client: c}},
		{"empty prefix", func(c *bans.Config) { c.KeyPrefix = "" }, bans.Options{Client: c}},
		{"zero timeout", func(c *bans.Config) { c.OpTimeout = 0 }, bans.Options{Client: c}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := bans.Defaults()
			tc.cfg(&cfg)
			if _, err := bans.NewStore(cfg, tc.opts); err == nil {
				t.Fatal("NewStore accepted an invalid configuration")
			}
		})
	}
	reg := prometheus.NewRegistry()
	if _, err := bans.NewStore(bans.Defaults(), bans.Options{Client: c, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := bans.NewStore(bans.Defaults(), bans.Options{Client: c, Registerer: reg}); err == nil {
		t.Error("second store on one registry: metrics registered twice without an error")
	}
}

func TestNewClientURLs(t *testing.T) {
	cases := []struct {
		url     string
		cluster bool
		wantErr bool
	}{
		{"redis://127.0.0.1:6379/2", false, false},
		{"rediss://user:pw@redis.example:6380", false, false},
		{"redis+cluster://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000", true, false},
		{"rediss+cluster://10.0.0.1:7000", true, false},
		{"http://127.0.0.1:6379", false, true},
		{"127.0.0.1:6379", false, true},
		{"redis://127.0.0.1:6379?bogus_option=1", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			c, err := bans.NewClient(tc.url)
			if tc.wantErr {
				if err == nil {
					_ = c.Close()
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, isCluster := c.(*redis.ClusterClient)
			if isCluster != tc.cluster {
				t.Fatalf("cluster client = %v, want %v", isCluster, tc.cluster)
			}
		})
	}
}

// metricValue reads one series of a gauge or counter from reg; label
// selects by the value of the metric's only label.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not registered", name, label)
	return 0
}
