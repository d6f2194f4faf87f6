package limits_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/edge/internal/limits"
	"github.com/rustguard/rustguard/shared/testservers"
)

// fleetFlag is the key rustguard-central sets (docs/CENTRAL.md) under the
// default key prefix.
const fleetFlag = "rustguard:attack:fleet"

// TestFleetAttackFlagTurnsAttackModeOn: central's fleet attack flag in
// Redis is attack mode for an edge's gate, shown in the flag's gauge, and
// ends after the gate's quiet period once the flag is gone.
func TestFleetAttackFlagTurnsAttackModeOn(t *testing.T) {
	srv := testservers.StartRedis(t)
	var mu sync.Mutex
	now := time.Unix(1_750_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	reg := prometheus.NewRegistry()
	sig, err := limits.NewAttackSignal(limits.AttackDefaults(), limits.AttackOptions{Client: client(t, srv.URL()), Now: clock, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gate.Defaults()
	cfg.AttackQuiet = 30 * time.Second
	g, err := gate.New(cfg, gate.Deps{Attack: sig, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rc := client(t, srv.URL())

	if err := sig.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if g.AttackMode() || sig.FleetAttack() || math.IsInf(sig.FleetJoinsPerSecond(), 1) {
		t.Fatal("attack mode on without a flag or joins")
	}

	// Central sets the flag with its hold as TTL.
	if err := rc.Set(ctx, fleetFlag, `{"reason":"attack mode in eu, us","regions":["eu","us"],"since":"2026-12-07T00:00:00Z"}`, 2*time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := sig.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !sig.FleetAttack() || !g.AttackMode() {
		t.Fatalf("flag set: FleetAttack %v, gate attack mode %v; want both on", sig.FleetAttack(), g.AttackMode())
	}
	if got := gaugeValue(t, reg, "rustguard_edge_fleet_attack_flag"); got != 1 {
		t.Errorf("flag gauge %v, want 1", got)
	}
	if got := gaugeValue(t, reg, "rustguard_edge_fleet_joins_per_second"); math.IsInf(got, 0) {
		t.Errorf("joins gauge %v: the measured rate, not the flag", got)
	}

	// Flag gone: the gate leaves attack mode after its quiet period.
	if err := rc.Del(ctx, fleetFlag).Err(); err != nil {
		t.Fatal(err)
	}
	advance(time.Second)
	if err := sig.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if sig.FleetAttack() {
		t.Error("flag still on after it was deleted")
	}
	if !g.AttackMode() {
		t.Error("attack mode ended before the quiet period")
	}
	advance(cfg.AttackQuiet)
	if g.AttackMode() {
		t.Error("attack mode still on after the quiet period without the flag")
	}
	if got := gaugeValue(t, reg, "rustguard_edge_fleet_attack_flag"); got != 0 {
		t.Errorf("flag gauge %v, want 0", got)
	}
}

// TestFleetAttackFlagFailsStaticUntilItsExpiry: with Redis gone, an edge
// keeps the flag it last read until the flag's own expiry, not longer.
func TestFleetAttackFlagFailsStaticUntilItsExpiry(t *testing.T) {
	srv := testservers.StartRedis(t)
	var mu sync.Mutex
	now := time.Unix(1_750_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sig, err := limits.NewAttackSignal(limits.AttackDefaults(), limits.AttackOptions{Client: client(t, srv.URL()), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := client(t, srv.URL()).Set(ctx, fleetFlag, "{}", 20*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := sig.Flush(ctx); err != nil || !sig.FleetAttack() {
		t.Fatalf("flag not read: %v", err)
	}
	srv.Stop()
	mu.Lock()
	now = now.Add(10 * time.Second)
	mu.Unlock()
	if err := sig.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with Redis down")
	}
	if !sig.FleetAttack() {
		t.Error("flag dropped before its expiry while Redis is down")
	}
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	if sig.FleetAttack() {
		t.Error("flag held past its expiry")
	}
	if r := sig.FleetJoinsPerSecond(); math.IsInf(r, 0) {
		t.Errorf("rate %v after the flag lapsed", r)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
