package configsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/testservers"
)

// waitLimit bounds waiting for something a watch or the replicator does
// in the background: a blocking query returns within milliseconds of a
// write, a failed copy is retried within consulwatch.BackoffMax.
const waitLimit = 20 * time.Second

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startService(t *testing.T, c *api.Client, o Options) *Service {
	t.Helper()
	if o.Log == nil {
		o.Log = quietLog()
	}
	s, err := New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond: the watch and the replicator run in the background
// and offer nothing to wait on from outside.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kvEnvelope(t *testing.T, c *api.Client, key string, q *api.QueryOptions) (config.FleetEnvelope, bool) {
	t.Helper()
	pair, _, err := c.KV().Get(key, q)
	if err != nil {
		t.Fatal(err)
	}
	if pair == nil {
		return config.FleetEnvelope{}, false
	}
	var env config.FleetEnvelope
	if err := json.Unmarshal(pair.Value, &env); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return env, true
}

func TestStartCreatesTheLayoutOnce(t *testing.T) {
	consul := testservers.StartConsul(t, "dc1")
	s := startService(t, consul.Client(), Options{})
	cur, err := s.Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 1 || string(cur.Config) != "{}" || cur.UpdatedBy != layoutAuthor {
		t.Fatalf("initial document = %+v, want version 1, {}", cur)
	}
	if h, ok := kvEnvelope(t, consul.Client(), historyKey(1), nil); !ok || h.Version != 1 {
		t.Fatalf("history/1 = %+v, %v", h, ok)
	}
	// A second replica (or a restart) finds the layout and keeps it.
	s2 := startService(t, consul.Client(), Options{})
	if cur2, err := s2.Current(t.Context()); err != nil || cur2.Version != 1 || !cur2.UpdatedAt.Equal(cur.UpdatedAt) {
		t.Fatalf("after a second start: %+v, %v", cur2, err)
	}
	if s.Correlation() != config.DefaultCorrelation() {
		t.Fatal("an empty document must mean the default correlation policy")
	}
}

func TestPutConflictHistoryRollback(t *testing.T) {
	consul := testservers.StartConsul(t, "dc1")
	reg := prometheus.NewRegistry()
	s := startService(t, consul.Client(), Options{Registerer: reg})
	ctx := t.Context()

	doc := `{"gate": {"attack_mode": "on"}, "correlation": {"ban_min_regions": 3}}`
	env, err := s.Put(ctx, 1, []byte("  "+doc+"\n"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if env.Version != 2 || env.UpdatedBy != "alice" {
		t.Fatalf("put = %+v, want version 2 by alice", env)
	}
	if got := string(env.Config); got != `{"gate":{"attack_mode":"on"},"correlation":{"ban_min_regions":3}}` {
		t.Fatalf("stored config %s, want it compacted", got)
	}
	cur, err := s.Current(ctx)
	if err != nil || cur.Version != 2 {
		t.Fatalf("current = %+v, %v", cur, err)
	}
	if got := s.Correlation().BanMinRegions; got != 3 {
		t.Fatalf("correlation ban_min_regions = %d, want the document's 3", got)
	}

	// Based on a stale version: 409, nothing written.
	_, err = s.Put(ctx, 1, []byte(`{}`), "bob")
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || ce.Current != 2 || ce.BasedOn != 1 {
		t.Fatalf("stale put: %v, want a conflict naming version 2", err)
	}
	// Invalid: 422 with the field and the reason, nothing written.
	_, err = s.Put(ctx, 2, []byte(`{"gate": {"attack_mode": "sometimes"}}`), "bob")
	var inv *InvalidError
	if !errors.As(err, &inv) || len(inv.Problems) != 1 || inv.Problems[0].Field != "gate.attack_mode" {
		t.Fatalf("invalid put: %v", err)
	}
	for _, bad := range []string{`[]`, `gate: {attack_mode: on}`, ``} {
		if _, err := s.Put(ctx, 2, []byte(bad), "bob"); !errors.As(err, &inv) {
			t.Errorf("put %q: %v, want an InvalidError (the API takes a JSON object)", bad, err)
		}
	}
	if _, err := s.Put(ctx, 2, []byte(`{}`), "bob\x00"); !errors.As(err, &inv) || inv.Problems[0].Field != "updated_by" {
		t.Errorf("put with a control character in updated_by: %v", err)
	}

	// Rollback to 1 writes version 3 with version 1's document.
	env, err = s.Rollback(ctx, 1, 2, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if env.Version != 3 || env.RollbackOf != 1 || string(env.Config) != "{}" {
		t.Fatalf("rollback = %+v", env)
	}
	if got := s.Correlation(); got != config.DefaultCorrelation() {
		t.Fatalf("after the rollback correlation = %+v, want the defaults", got)
	}
	if _, err := s.Rollback(ctx, 1, 2, "carol"); !errors.Is(err, ErrConflict) {
		t.Fatalf("rollback based on a stale version: %v", err)
	}
	if _, err := s.Rollback(ctx, 99, 0, "carol"); !errors.Is(err, ErrNoVersion) {
		t.Fatalf("rollback to a version never written: %v", err)
	}

	hist, err := s.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var versions []uint64
	for _, h := range hist {
		versions = append(versions, h.Version)
	}
	if len(versions) != 3 || versions[0] != 3 || versions[1] != 2 || versions[2] != 1 {
		t.Fatalf("history versions %v, want [3 2 1]", versions)
	}
	if hist, _ := s.History(ctx, 2); len(hist) != 2 {
		t.Fatalf("history with limit 2 has %d entries", len(hist))
	}
	for outcome, want := range map[string]float64{"written": 2, "conflict": 2, "invalid": 5} {
		if got := testutil.ToFloat64(s.m.writes.WithLabelValues(outcome)); got != want {
			t.Errorf("writes{outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
}

// TestConcurrentPutsOneWins: edits based on the same version race; the
// check-and-set lets exactly one through and tells the others.
func TestConcurrentPutsOneWins(t *testing.T) {
	consul := testservers.StartConsul(t, "dc1")
	// Two replicas, as two central processes would be.
	a := startService(t, consul.Client(), Options{})
	b := startService(t, consul.Client(), Options{})
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			<-start
			doc := `{"messages": {"server_full": "writer ` + strconv.Itoa(i) + `"}}`
			_, errs[i] = s.Put(context.Background(), 1, []byte(doc), "writer "+strconv.Itoa(i))
		}()
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("writers %d and %d both won", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, ErrConflict):
			t.Fatalf("writer %d: %v, want a conflict", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no writer won")
	}
	cur, err := a.Current(t.Context())
	if err != nil || cur.Version != 2 || cur.UpdatedBy != "writer "+strconv.Itoa(won) {
		t.Fatalf("current = %+v, %v; want version 2 by writer %d", cur, err, won)
	}
	if hist, _ := a.History(t.Context(), 0); len(hist) != 2 {
		t.Fatalf("history holds %d versions, want 2", len(hist))
	}
}

func TestHistoryKeepsTheLastVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("writes over a hundred versions")
	}
	consul := testservers.StartConsul(t, "dc1")
	s := startService(t, consul.Client(), Options{})
	for v := uint64(1); v < HistoryKeep+5; v++ {
		if _, err := s.Put(t.Context(), v, []byte(`{"status": {"fallback_max_players": `+strconv.FormatUint(v, 10)+`}}`), ""); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := s.History(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != HistoryKeep || hist[0].Version != HistoryKeep+5 || hist[len(hist)-1].Version != 6 {
		t.Fatalf("history: %d versions from %d to %d, want %d from %d to 6", len(hist), hist[0].Version, hist[len(hist)-1].Version, HistoryKeep, HistoryKeep+5)
	}
	if _, err := s.Rollback(t.Context(), 5, 0, ""); !errors.Is(err, ErrNoVersion) {
		t.Fatalf("rollback to a pruned version: %v", err)
	}
}

// TestWatchFollowsOtherWriters: a replica learns of versions another one
// wrote, and recreates the key when it is deleted by hand, with a version
// that does not repeat.
func TestWatchFollowsOtherWriters(t *testing.T) {
	consul := testservers.StartConsul(t, "dc1")
	a := startService(t, consul.Client(), Options{})
	b := startService(t, consul.Client(), Options{})
	if _, err := a.Put(t.Context(), 1, []byte(`{"correlation": {"ban": false}}`), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other replica sees the new policy", func() bool { return !b.Correlation().Ban })

	if _, err := consul.Client().KV().Delete(config.FleetKey, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key is recreated", func() bool {
		env, ok := kvEnvelope(t, consul.Client(), config.FleetKey, nil)
		return ok && env.Version == 3 && string(env.Config) == "{}"
	})
	waitFor(t, "the replicas follow", func() bool { return a.Correlation().Ban && b.Correlation().Ban })
	if ok, _ := a.Ready(); !ok {
		t.Fatal("not ready")
	}
}

// TestReplicatesToOtherDatacenters: KV is per datacenter; every version
// reaches the other datacenter's key, and the fleet view shows edges of
// both.
func TestReplicatesToOtherDatacenters(t *testing.T) {
	dc1 := testservers.StartConsul(t, "dc1")
	dc2 := testservers.StartConsul(t, "dc2")
	dc1.JoinWAN(dc2)
	s := startService(t, dc1.Client(), Options{Datacenters: []string{"dc2"}})
	remote := func() uint64 {
		env, _ := kvEnvelope(t, dc2.Client(), config.FleetKey, nil)
		return env.Version
	}
	waitFor(t, "version 1 in dc2", func() bool { return remote() == 1 })
	if _, err := s.Put(t.Context(), 1, []byte(`{"gate": {"verify_always": true}}`), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "version 2 in dc2", func() bool { return remote() == 2 })
	// The status is recorded just after the write.
	waitFor(t, "replication status", func() bool {
		st := s.Datacenters()
		return len(st) == 1 && st[0].Version == 2 && st[0].Error == ""
	})

	registerEdge(t, dc1.Client(), "edge-a", "eu-west", "2", api.HealthPassing)
	registerEdge(t, dc2.Client(), "edge-b", "us-east", "1", api.HealthPassing)
	view := waitFleet(t, s, 2)
	if len(view.Edges) != 2 || view.Edges[0].Datacenter != "dc1" || view.Edges[1].Datacenter != "dc2" || view.Edges[1].Region != "us-east" {
		t.Fatalf("fleet view edges %+v", view.Edges)
	}
	if view.Converged {
		t.Fatal("edge-b runs version 1: the fleet has not converged")
	}
	if len(view.Datacenters) != 2 || view.Datacenters[1].ConfigVersion != 2 || view.Datacenters[0].Edges != 1 {
		t.Fatalf("datacenters %+v", view.Datacenters)
	}
}

// waitFleet waits until the fleet view lists n edges: an agent hands a
// registration to the catalogue in the background.
func waitFleet(t *testing.T, s *Service, n int) FleetView {
	t.Helper()
	var view FleetView
	waitFor(t, fmt.Sprintf("%d edges in the fleet view", n), func() bool {
		var err error
		view, err = s.Fleet(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return len(view.Edges) == n
	})
	return view
}

// registerEdge registers a service the way an edge does
// (edge/internal/discovery/register.go), with a TTL check in status.
func registerEdge(t *testing.T, c *api.Client, id, region, configVersion, status string) {
	t.Helper()
	err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: id, Name: config.EdgeService, Port: 25565, Address: "127.0.0.1",
		Meta:  map[string]string{"region": region, "version": "test", config.MetaConfigVersion: configVersion, config.MetaConfigStatus: config.ConfigApplied},
		Check: &api.AgentServiceCheck{CheckID: id + ":ttl", TTL: "1m", Status: status},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFleetView(t *testing.T) {
	consul := testservers.StartConsul(t, "dc1")
	s := startService(t, consul.Client(), Options{})
	registerEdge(t, consul.Client(), "edge-1", "eu-west", "1", api.HealthPassing)
	registerEdge(t, consul.Client(), "edge-2", "us-east", "0", api.HealthCritical)
	view := waitFleet(t, s, 2)
	want := []Edge{
		{ID: "edge-1", Datacenter: "dc1", Node: consul.NodeName(), Address: "127.0.0.1:25565", Region: "eu-west", Version: "test", ConfigVersion: 1, ConfigStatus: "applied", Health: "passing"},
		{ID: "edge-2", Datacenter: "dc1", Node: consul.NodeName(), Address: "127.0.0.1:25565", Region: "us-east", Version: "test", ConfigVersion: 0, ConfigStatus: "applied", Health: "critical"},
	}
	if len(view.Edges) != 2 || view.Edges[0] != want[0] || view.Edges[1] != want[1] {
		t.Fatalf("edges %+v\nwant  %+v", view.Edges, want)
	}
	// edge-2 is critical: only passing edges count towards convergence.
	if !view.Converged || view.Version != 1 {
		t.Fatalf("version %d converged %v, want 1 and true", view.Version, view.Converged)
	}
}

func TestValidate(t *testing.T) {
	v := Validate([]byte(`{"proxy": {"listen_address": "0.0.0.0:25577"}, "gate": {"attack_mode": "on"}}`))
	if len(v.Problems) != 0 || len(v.RestartRequired) != 1 || v.RestartRequired[0] != "proxy.listen_address" {
		t.Fatalf("Validate = %+v", v)
	}
	v = Validate([]byte(`{"gate": {"attack_mod": "on"}}`))
	if len(v.Problems) != 1 || v.Problems[0].Field != "gate.attack_mod" {
		t.Fatalf("Validate = %+v", v)
	}
}
