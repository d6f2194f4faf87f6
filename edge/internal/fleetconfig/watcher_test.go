package fleetconfig

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/testservers"
)

// waitLimit bounds waiting for the watch: a blocking query returns within
// milliseconds of a write; after an outage the loop retries within
// consulwatch.BackoffMax.
const waitLimit = 30 * time.Second

// applier records what the watcher asks it to apply and refuses on demand.
type applier struct {
	mu      sync.Mutex
	applied []config.Edge
	refuse  error
}

func (a *applier) apply(_ context.Context, cfg config.Edge) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refuse != nil {
		return a.refuse
	}
	a.applied = append(a.applied, cfg)
	return nil
}

func (a *applier) last() (config.Edge, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.applied) == 0 {
		return config.Edge{}, 0
	}
	return a.applied[len(a.applied)-1], len(a.applied)
}

func put(t *testing.T, c *api.Client, version uint64, doc string) {
	t.Helper()
	env, err := json.Marshal(config.FleetEnvelope{Version: version, Config: json.RawMessage(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: config.FleetKey, Value: env}, nil); err != nil {
		t.Fatal(err)
	}
}

func waitStatus(t *testing.T, w *Watcher, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		st := w.Status()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (status %+v)", what, waitLimit, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startWatcher(t *testing.T, consul *testservers.Consul, a *applier, local config.Edge) (*Watcher, *prometheus.Registry, func() []Attempt) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	var attempts []Attempt
	w, err := New(Options{
		Client: consul.Client(), Local: local, Apply: a.apply, Registerer: reg,
		OnApply: func(at Attempt) { mu.Lock(); attempts = append(attempts, at); mu.Unlock() },
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	t.Cleanup(w.Close)
	return w, reg, func() []Attempt {
		mu.Lock()
		defer mu.Unlock()
		return append([]Attempt(nil), attempts...)
	}
}

func TestWatcherAppliesRefusesAndSurvivesConsul(t *testing.T) {
	consul := testservers.StartConsul(t, "dc1")
	a := &applier{}
	local := config.DefaultEdge()
	local.Region = "eu-west"
	local.Messages.Shutdown = "local goodbye"
	w, reg, attempts := startWatcher(t, consul, a, local)

	// No document: the edge runs its own configuration.
	if st := w.Status(); st.Version != 0 || st.State != StateLocal {
		t.Fatalf("before any document: %+v", st)
	}

	put(t, consul.Client(), 1, `{"gate": {"attack_mode": "on"}, "regions": {"eu-west": {"messages": {"server_full": "eu full"}}}}`)
	waitStatus(t, w, "version 1", func(st Status) bool { return st.Version == 1 })
	cfg, n := a.last()
	if n != 1 || cfg.Gate.AttackMode != "on" || cfg.Messages.ServerFull != "eu full" || cfg.Messages.Shutdown != "local goodbye" {
		t.Fatalf("applied %d times; last %+v", n, cfg.Messages)
	}
	if got := testutil.ToFloat64(w.m.version); got != 1 {
		t.Fatalf("version gauge %v", got)
	}

	// The component refuses: version 2 is refused with reason apply.
	a.mu.Lock()
	a.refuse = errors.New("gate: no")
	a.mu.Unlock()
	put(t, consul.Client(), 2, `{"gate": {"attack_mode": "off"}}`)
	st := waitStatus(t, w, "version 2 refused", func(st Status) bool { return st.Refused == 2 })
	if st.Version != 1 || st.State != config.ConfigRefused || len(st.Problems) != 1 || st.Problems[0].Reason != "gate: no" {
		t.Fatalf("status %+v", st)
	}
	if got := testutil.ToFloat64(w.m.errors.WithLabelValues("apply")); got != 1 {
		t.Fatalf("errors{apply} = %v", got)
	}
	a.mu.Lock()
	a.refuse = nil
	a.mu.Unlock()

	// An envelope that is not JSON: refused, nothing applied.
	if _, err := consul.Client().KV().Put(&api.KVPair{Key: config.FleetKey, Value: []byte("{nope")}, nil); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, w, "garbage refused", func(st Status) bool {
		return testutil.ToFloat64(w.m.errors.WithLabelValues("invalid")) == 1
	})

	// Deleted: the last version stays.
	if _, err := consul.Client().KV().Delete(config.FleetKey, nil); err != nil {
		t.Fatal(err)
	}
	put(t, consul.Client(), 3, `{}`)
	waitStatus(t, w, "version 3", func(st Status) bool { return st.Version == 3 && st.Refused == 0 })
	cfg, _ = a.last()
	if cfg.Gate.AttackMode != "auto" || cfg.Messages.ServerFull != local.Messages.ServerFull {
		t.Fatalf("an empty version must give the edge's own values back: %+v", cfg.Gate.AttackMode)
	}

	// Consul goes away and comes back empty (dev mode keeps nothing, and
	// its index starts again lower): the version stays while it is away,
	// and a new one is picked up after.
	consul.Stop()
	waitStatus(t, w, "consul error reported", func(st Status) bool { return st.Consul != "" && st.Version == 3 })
	consul.Restart()
	put(t, consul.Client(), 4, `{"messages": {"shutdown": "bye 4"}}`)
	waitStatus(t, w, "version 4 after the restart", func(st Status) bool { return st.Version == 4 && st.Consul == "" })

	if n, err := testutil.GatherAndCount(reg, "rustguard_edge_config_version", "rustguard_edge_config_errors_total"); err != nil || n != 4 {
		t.Fatalf("metrics: %d series, %v", n, err)
	}
	got := attempts()
	if len(got) < 5 || got[0].Outcome != OutcomeApplied || got[0].Version != 1 || got[1].Outcome != OutcomeRefused || got[1].Err == nil {
		t.Fatalf("attempts %+v", got)
	}
}
