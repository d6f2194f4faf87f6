package correlate

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/telemetry"
	"github.com/rustguard/rustguard/shared/testservers"
)

// replica is one central's aggregator and correlator on a shared Redis.
type replica struct {
	agg   *aggregate.Aggregator
	corr  *Correlator
	store *bans.Store
	spans *spanSink
}

type spanSink struct {
	mu  sync.Mutex
	tds []ptrace.Traces
}

func (s *spanSink) Forward(td ptrace.Traces) { s.mu.Lock(); s.tds = append(s.tds, td); s.mu.Unlock() }

type policy struct {
	mu sync.Mutex
	c  config.Correlation
}

func (p *policy) Correlation() config.Correlation { p.mu.Lock(); defer p.mu.Unlock(); return p.c }

func newClient(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	c, err := bans.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newReplica(t *testing.T, url string, pol Policy) *replica {
	t.Helper()
	client := newClient(t, url)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	agg, err := aggregate.New(aggregate.Config{KeyPrefix: "rustguard", MaxLen: 10000, MaxAge: 24 * time.Hour}, aggregate.Options{Client: client, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	store, err := bans.NewStore(bans.Defaults(), bans.Options{Client: client, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{agg: agg, store: store, spans: &spanSink{}}
	r.corr, err = New(Options{Client: client, KeyPrefix: "rustguard", History: agg, Bans: store, Policy: pol, Spans: r.spans,
		Instance: "central-test", Log: log, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// accept does what central's ingest does with a batch: aggregate, then
// correlate.
func (r *replica) accept(t *testing.T, b report.Batch) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.agg.Record(ctx, b.Detections, window); err != nil {
		t.Fatal(err)
	}
	if err := r.corr.Accept(ctx, &b); err != nil {
		t.Fatal(err)
	}
}

// window is the default policy's correlation window.
const window = 10 * time.Minute

func det(region, check string, action detection.Action, player, uuid, addr string, auth bool, at time.Time) report.Detection {
	sc := spantest.IDs()
	ev := spantest.Event(check, action, player, uuid, addr, auth, at)
	ev.Region, ev.Edge = region, "edge-"+region
	return report.Detection{Event: ev, TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()}
}

func listBans(t *testing.T, s *bans.Store) map[string]bans.Ban {
	t.Helper()
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bans.Ban{}
	for _, b := range list {
		out[b.ID] = b
	}
	return out
}

// TestCheaterInTwoRegionsIsBannedByAddress: an offline player (a claimed
// name) flagged by two checks in two regions from one prefix is banned
// fleet-wide by each address seen, never by name, with the evidence on the
// ban and a correlation span linking the detections.
func TestCheaterInTwoRegionsIsBannedByAddress(t *testing.T) {
	srv := testservers.StartRedis(t)
	r := newReplica(t, srv.URL(), nil)
	now := time.Now()
	d1 := det("eu", "combat.reach", detection.ActionKick, "Cheater", "", "203.0.113.7", false, now.Add(-2*time.Minute))
	d2 := det("us", "badpackets.invalid_pitch", detection.ActionDrop, "cheater", "", "203.0.113.9", false, now.Add(-time.Minute))
	r.accept(t, report.Batch{Detections: []report.Detection{d1}})
	if n := len(listBans(t, r.store)); n != 0 {
		t.Fatalf("banned after one region: %d bans", n)
	}
	r.accept(t, report.Batch{Detections: []report.Detection{d2}})
	got := listBans(t, r.store)
	if len(got) != 2 {
		t.Fatalf("bans %+v, want the two addresses", got)
	}
	for _, id := range []string{"ip:203.0.113.7", "ip:203.0.113.9"} {
		b, ok := got[id]
		if !ok {
			t.Errorf("no ban %s in %v", id, got)
			continue
		}
		if b.Source != BanSource || b.Permanent() || b.Expires.Sub(b.Created) != 24*time.Hour {
			t.Errorf("%s: %+v", id, b)
		}
		if len(b.Evidence) != 2 || b.Evidence[0].Region != "eu" || b.Evidence[0].TraceID != d1.TraceID ||
			b.Evidence[1].Region != "us" || b.Evidence[1].Check != "badpackets.invalid_pitch" {
			t.Errorf("%s evidence %+v", id, b.Evidence)
		}
	}
	if testutil.ToFloat64(r.corr.m.bans) != 2 {
		t.Errorf("bans metric %v", testutil.ToFloat64(r.corr.m.bans))
	}
	// The correlation span links both detections.
	if len(r.spans.tds) != 2 {
		t.Fatalf("%d correlation spans, want one per ban", len(r.spans.tds))
	}
	sp := r.spans.tds[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	if sp.Name() != telemetry.SpanCorrelation || sp.Links().Len() != 2 || sp.Links().At(0).SpanID().String() != d1.SpanID {
		t.Errorf("correlation span %s with %d links", sp.Name(), sp.Links().Len())
	}
	// A retry of the batch, and more flags, ban nothing twice.
	seq := seqOf(t, srv.URL())
	r.accept(t, report.Batch{Detections: []report.Detection{d2, det("eu", "combat.autoclicker", detection.ActionKick, "Cheater", "", "203.0.113.7", false, now)}})
	if s := seqOf(t, srv.URL()); s != seq {
		t.Errorf("ban list changed again (seq %d → %d)", seq, s)
	}
}

func seqOf(t *testing.T, url string) int64 {
	t.Helper()
	n, _ := newClient(t, url).Get(context.Background(), "rustguard:{bans}:seq").Int64()
	return n
}

// TestWhatDoesNotBan: alert-only flags (the default policy counts drop and
// stronger), one region, one check, or the same claimed name from another
// prefix (someone else using the name) ban nobody.
func TestWhatDoesNotBan(t *testing.T) {
	now := time.Now()
	for name, batch := range map[string][]report.Detection{
		"alert only": {
			det("eu", "combat.reach", detection.ActionAlert, "P", "", "203.0.113.7", false, now),
			det("us", "badpackets.invalid_pitch", detection.ActionAlert, "P", "", "203.0.113.7", false, now)},
		"rewrite is below drop": {
			det("eu", "combat.reach", detection.ActionRewrite, "P", "", "203.0.113.7", false, now),
			det("us", "badpackets.invalid_pitch", detection.ActionKick, "P", "", "203.0.113.7", false, now)},
		"one region": {
			det("eu", "combat.reach", detection.ActionKick, "P", "", "203.0.113.7", false, now),
			det("eu", "badpackets.invalid_pitch", detection.ActionKick, "P", "", "203.0.113.7", false, now)},
		"one check": {
			det("eu", "combat.reach", detection.ActionKick, "P", "", "203.0.113.7", false, now),
			det("us", "combat.reach", detection.ActionKick, "P", "", "203.0.113.7", false, now)},
		"a claimed name from another prefix": {
			det("eu", "combat.reach", detection.ActionKick, "Notch", "", "203.0.113.7", false, now),
			det("us", "badpackets.invalid_pitch", detection.ActionKick, "Notch", "", "198.51.100.7", false, now)},
		"outside the window": {
			det("eu", "combat.reach", detection.ActionKick, "P", "", "203.0.113.7", false, now.Add(-11*time.Minute)),
			det("us", "badpackets.invalid_pitch", detection.ActionKick, "P", "", "203.0.113.7", false, now)},
		"no address": {
			det("eu", "combat.reach", detection.ActionKick, "P", "", "", false, now),
			det("us", "badpackets.invalid_pitch", detection.ActionKick, "P", "", "", false, now)},
	} {
		t.Run(name, func(t *testing.T) {
			srv := testservers.StartRedis(t)
			r := newReplica(t, srv.URL(), nil)
			r.accept(t, report.Batch{Detections: batch})
			if got := listBans(t, r.store); len(got) != 0 {
				t.Errorf("banned: %v", got)
			}
		})
	}
}

// TestAuthenticatedAccountIsBannedByUUID: a proven account is banned by
// UUID and name wherever it connects from, and its addresses are left
// alone (households share them).
func TestAuthenticatedAccountIsBannedByUUID(t *testing.T) {
	srv := testservers.StartRedis(t)
	pol := &policy{c: config.DefaultCorrelation()}
	r := newReplica(t, srv.URL(), pol)
	now := time.Now()
	const uuid = "069a79f4-44e9-4726-a5be-fca90e38aaf5"
	r.accept(t, report.Batch{Detections: []report.Detection{
		det("eu", "combat.reach", detection.ActionBan, "Notch", uuid, "203.0.113.7", true, now),
		det("us", "movement.speed", detection.ActionDrop, "Notch", uuid, "2001:db8::1", true, now),
		// An offline claim of the same UUID does not count for the account.
		det("ap", "combat.autoclicker", detection.ActionKick, "Notch", uuid, "198.51.100.1", false, now),
	}})
	got := listBans(t, r.store)
	if _, ok := got["uuid:"+uuid]; !ok || len(got) != 2 {
		t.Fatalf("bans %v, want uuid and name", got)
	}
	if _, ok := got["name:notch"]; !ok {
		t.Errorf("no name ban in %v", got)
	}
	if ev := got["uuid:"+uuid].Evidence; len(ev) != 2 || ev[0].Region == "ap" || ev[1].Region == "ap" {
		t.Errorf("evidence %+v counts the unauthenticated claim", ev)
	}
	// The policy is read for every batch: ban off, nothing more happens.
	pol.mu.Lock()
	pol.c.Ban = false
	pol.mu.Unlock()
	r.accept(t, report.Batch{Detections: []report.Detection{
		det("eu", "combat.reach", detection.ActionBan, "Jeb", "853c80ef-3c37-49fd-aa49-938b674adae6", "203.0.113.8", true, now),
		det("us", "movement.speed", detection.ActionBan, "Jeb", "853c80ef-3c37-49fd-aa49-938b674adae6", "203.0.113.8", true, now),
	}})
	if n := len(listBans(t, r.store)); n != 2 {
		t.Errorf("%d bans with the policy's ban off, want still 2", n)
	}
}

// TestTwoReplicasBanOnce: two centrals judging the same evidence at the
// same moment write each ban once.
func TestTwoReplicasBanOnce(t *testing.T) {
	srv := testservers.StartRedis(t)
	a, b := newReplica(t, srv.URL(), nil), newReplica(t, srv.URL(), nil)
	now := time.Now()
	batch := report.Batch{Detections: []report.Detection{
		det("eu", "combat.reach", detection.ActionKick, "Cheater", "", "203.0.113.7", false, now),
		det("us", "badpackets.invalid_pitch", detection.ActionKick, "Cheater", "", "203.0.113.7", false, now),
	}}
	if _, err := a.agg.Record(context.Background(), batch.Detections, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Go(func() {
			if err := r.corr.Accept(context.Background(), &batch); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := testutil.ToFloat64(a.corr.m.bans) + testutil.ToFloat64(b.corr.m.bans); got != 1 {
		t.Errorf("%v bans written by the two replicas, want 1", got)
	}
	if s := seqOf(t, srv.URL()); s != 1 {
		t.Errorf("ban list changed %d times, want once", s)
	}
}

func attackPolicy() *policy {
	c := config.DefaultCorrelation()
	return &policy{c: c}
}

func attackReport(region, edge string, active bool, shape string, count int64) report.Attack {
	sc := spantest.IDs()
	return report.Attack{AttackReport: telemetry.AttackReport{Region: region, Edge: edge, Time: time.Now(), Active: active,
		JoinsPerSecond: 50, VerificationsFailed: 7, NameShape: shape, NameShapeCount: count}, TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()}
}

// TestAttackWaveTurnsFleetModeOn: attack reports from two regions make one
// wave and set the fleet flag the edges read, with the hold as its TTL.
func TestAttackWaveTurnsFleetModeOn(t *testing.T) {
	srv := testservers.StartRedis(t)
	pol := attackPolicy()
	a, b := newReplica(t, srv.URL(), pol), newReplica(t, srv.URL(), pol)
	client := newClient(t, srv.URL())
	ctx := context.Background()

	a.accept(t, report.Batch{Attacks: []report.Attack{attackReport("eu", "eu-1", true, "", 0), attackReport("eu", "eu-2", true, "", 0)}})
	if n := client.Exists(ctx, FleetKey("rustguard")).Val(); n != 0 {
		t.Fatal("fleet flag set with one region under attack")
	}
	b.accept(t, report.Batch{Attacks: []report.Attack{attackReport("us", "us-1", true, "", 0)}})
	raw, err := client.Get(ctx, FleetKey("rustguard")).Result()
	if err != nil {
		t.Fatalf("fleet flag: %v", err)
	}
	var flag FleetFlag
	if err := json.Unmarshal([]byte(raw), &flag); err != nil || !slices.Equal(flag.Regions, []string{"eu", "us"}) || flag.Reason == "" || flag.Since.IsZero() {
		t.Errorf("flag %s: %+v %v", raw, flag, err)
	}
	if ttl := client.PTTL(ctx, FleetKey("rustguard")).Val(); ttl <= 0 || ttl > 2*time.Minute {
		t.Errorf("flag TTL %v, want the 2 min hold", ttl)
	}
	// More reports, on either replica, extend the same wave.
	a.accept(t, report.Batch{Attacks: []report.Attack{attackReport("ap", "ap-1", true, "", 0)}})
	att, err := b.corr.Attacks(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(att.Waves) != 1 || !att.Waves[0].Active || !slices.Equal(att.Waves[0].Regions, []string{"ap", "eu", "us"}) ||
		att.Waves[0].Reports != 2 || att.Waves[0].PeakJoinsPerSecond != 50 || !slices.Equal(att.Waves[0].Kinds, []string{KindAttack}) {
		t.Errorf("waves %+v", att.Waves)
	}
	if len(att.Edges) != 4 || att.Fleet == nil || att.FleetExpires.IsZero() {
		t.Errorf("attacks %+v", att)
	}
	if got := testutil.ToFloat64(a.corr.m.waves) + testutil.ToFloat64(b.corr.m.waves); got != 1 {
		t.Errorf("%v waves created, want 1", got)
	}
	// A retried report changes nothing.
	rep := attackReport("ap", "ap-1", true, "", 0)
	a.accept(t, report.Batch{Attacks: []report.Attack{rep}})
	b.accept(t, report.Batch{Attacks: []report.Attack{rep}})
	if att, _ := a.corr.Attacks(ctx, 10); att.Waves[0].Reports != 3 {
		t.Errorf("reports %d after a report and its retry, want 3", att.Waves[0].Reports)
	}
	// An edge that reports the end of its attack stops counting.
	a.accept(t, report.Batch{Attacks: []report.Attack{attackReport("ap", "ap-1", false, "", 0)}})
	if att, _ := a.corr.Attacks(ctx, 10); len(att.Edges) != 3 {
		t.Errorf("edges after an end report: %+v", att.Edges)
	}
}

// TestNameShapeWave: the same login-name shape flooding two regions is a
// wave of its own kind; without fleet mode in the policy no flag is set.
func TestNameShapeWave(t *testing.T) {
	srv := testservers.StartRedis(t)
	pol := attackPolicy()
	pol.c.AttackFleetMode = false
	pol.c.AttackMinRegions = 2
	r := newReplica(t, srv.URL(), pol)
	client := newClient(t, srv.URL())
	ctx := context.Background()
	// Different shapes, or too few logins of a shape, are no name wave.
	r.accept(t, report.Batch{Attacks: []report.Attack{
		attackReport("eu", "eu-1", true, "Aaaa0000", 200),
	}})
	r.accept(t, report.Batch{Attacks: []report.Attack{attackReport("us", "us-1", true, "aaaaaaaa", 5)}})
	att, _ := r.corr.Attacks(ctx, 10)
	if len(att.Waves) != 1 || slices.Contains(att.Waves[0].Kinds, KindNameShape) {
		t.Fatalf("waves %+v", att.Waves)
	}
	r.accept(t, report.Batch{Attacks: []report.Attack{attackReport("us", "us-2", true, "Aaaa0000", 150)}})
	att, _ = r.corr.Attacks(ctx, 10)
	if len(att.Waves) != 1 || !slices.Contains(att.Waves[0].Kinds, KindNameShape) || !slices.Equal(att.Waves[0].Shapes, []string{"Aaaa0000"}) {
		t.Errorf("waves %+v", att.Waves)
	}
	if client.Exists(ctx, FleetKey("rustguard")).Val() != 0 {
		t.Error("fleet flag set with attack_fleet_mode off")
	}
}
