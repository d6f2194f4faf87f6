package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/testservers"
)

type fixture struct {
	a      *Aggregator
	client redis.UniversalClient
	srv    *testservers.Redis
	now    atomic.Int64 // unix nanoseconds
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{srv: testservers.StartRedis(t)}
	client, err := bans.NewClient(f.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	f.client = client
	f.now.Store(time.Now().UnixNano())
	if cfg.KeyPrefix == "" {
		cfg = Config{KeyPrefix: "rustguard", MaxLen: 10_000, MaxAge: 7 * 24 * time.Hour}
	}
	a, err := New(cfg, Options{Client: client, Registerer: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now: func() time.Time { return time.Unix(0, f.now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	return f
}

// window is the default policy's correlation window.
const window = 10 * time.Minute

func det(region, check string, action detection.Action, player, uuid, addr string, auth bool, at time.Time) report.Detection {
	sc := spantest.IDs()
	ev := spantest.Event(check, action, player, uuid, addr, auth, at)
	ev.Region, ev.Edge = region, "edge-"+region
	return report.Detection{Event: ev, TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()}
}

func TestRecordAndQuery(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond).UTC()
	const uuid = "4566e69f-c907-38ee-8d71-d7e8b1c5a5d8"
	batch := []report.Detection{
		det("eu", "combat.reach", detection.ActionKick, "Cheater", uuid, "203.0.113.7", false, t0),
		det("us", "badpackets.invalid_pitch", detection.ActionRewrite, "cheater", uuid, "2001:db8:1:2::9", false, t0.Add(time.Second)),
		det("us", "combat.reach", detection.ActionAlert, "Other", "", "198.51.100.1", false, t0.Add(2*time.Second)),
	}
	fresh, err := f.a.Record(ctx, batch, window)
	if err != nil || fresh != 3 {
		t.Fatalf("Record = %d, %v", fresh, err)
	}

	all, err := f.a.Detections(ctx, Query{Limit: 10})
	if err != nil || len(all.Detections) != 3 || all.Detections[0].SpanID != batch[2].SpanID || all.Next != "" {
		t.Fatalf("all: %+v, %v", all, err)
	}
	if got := all.Detections[2].Detection; got.Player != "Cheater" || !got.Time.Equal(t0) || got.Details["value"] != "x" || got.TraceID != batch[0].TraceID {
		t.Errorf("stored detection %+v", got)
	}
	for name, tc := range map[string]struct {
		q    Query
		want []string // span ids, newest first
	}{
		"region":       {Query{Region: "us", Limit: 10}, []string{batch[2].SpanID, batch[1].SpanID}},
		"check":        {Query{Check: "combat.reach", Limit: 10}, []string{batch[2].SpanID, batch[0].SpanID}},
		"player name":  {Query{Player: "CHEATER", Limit: 10}, []string{batch[1].SpanID, batch[0].SpanID}},
		"player uuid":  {Query{Player: uuid, Limit: 10}, []string{batch[1].SpanID, batch[0].SpanID}},
		"since":        {Query{Since: t0.Add(time.Second), Limit: 10}, []string{batch[2].SpanID, batch[1].SpanID}},
		"until":        {Query{Until: t0.Add(time.Second), Limit: 10}, []string{batch[1].SpanID, batch[0].SpanID}},
		"nothing":      {Query{Region: "ap", Limit: 10}, nil},
		"old window":   {Query{Since: t0.Add(-time.Hour), Until: t0.Add(-30 * time.Minute), Limit: 10}, nil},
		"limit 1 page": {Query{Limit: 1}, []string{batch[2].SpanID}},
	} {
		p, err := f.a.Detections(ctx, tc.q)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []string
		for _, d := range p.Detections {
			got = append(got, d.SpanID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	// Paging with Next walks the whole log once.
	var seen []string
	q := Query{Limit: 1}
	for {
		p, err := f.a.Detections(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Detections {
			seen = append(seen, d.SpanID)
		}
		if p.Next == "" {
			break
		}
		q.Before = p.Next
	}
	if len(seen) != 3 || seen[2] != batch[0].SpanID {
		t.Errorf("paging saw %v", seen)
	}

	// The player's history, by name (any case) and by UUID.
	for _, who := range []string{"cHeAtEr", uuid, "4566E69FC90738EE8D71D7E8B1C5A5D8"} {
		h, err := f.a.Player(ctx, who, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if h.Total != 2 || !slices.Equal(h.Regions, []string{"eu", "us"}) || !slices.Equal(h.Checks, []string{"badpackets.invalid_pitch", "combat.reach"}) ||
			len(h.TraceIDs) != 2 || h.TraceIDs[0] != batch[1].TraceID || !h.First.Equal(t0) || !h.Last.Equal(t0.Add(time.Second)) {
			t.Errorf("%s: %+v", who, h)
		}
		e := h.Entries[1]
		if e.Region != "eu" || e.Action != "kick" || e.Address != "203.0.113.7/32" || e.Prefix != "203.0.113.0/24" || e.Edge != "edge-eu" || e.Authenticated {
			t.Errorf("%s: entry %+v", who, e)
		}
		if h.Entries[0].Address != "2001:db8:1:2::/64" || h.Entries[0].Prefix != "2001:db8:1::/48" {
			t.Errorf("%s: IPv6 scopes %+v", who, h.Entries[0])
		}
	}
	if h, err := f.a.Player(ctx, "nobody", time.Time{}, 10); err != nil || h.Total != 0 || len(h.Entries) != 0 {
		t.Errorf("unknown player: %+v, %v", h, err)
	}

	// Counters per region, check and action.
	counts, err := f.a.Counts(ctx, CountQuery{Bucket: BucketMinute, Since: t0.Add(-time.Minute), Until: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		total += c.Count
	}
	if total != 3 {
		t.Errorf("minute counts %+v", counts)
	}
	hours, err := f.a.Counts(ctx, CountQuery{Bucket: BucketHour, Since: t0, Until: t0, Region: "us", Check: "combat.reach"})
	if err != nil || len(hours) != 1 || hours[0].Action != "alert" || hours[0].Count != 1 {
		t.Errorf("hour counts %+v, %v", hours, err)
	}
	if _, err := f.a.Counts(ctx, CountQuery{Bucket: BucketMinute, Since: t0.Add(-48 * time.Hour), Until: t0}); err == nil {
		t.Error("a counts query over too many buckets was answered")
	}
}

// TestRecordIsIdempotent: an edge retrying a batch (its export timed out
// after central stored it), even to another central, counts nothing twice.
func TestRecordIsIdempotent(t *testing.T) {
	f := newFixture(t, Config{})
	other, err := New(f.a.cfg, Options{Client: f.client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	var batch []report.Detection
	for i := range 600 { // three script chunks
		batch = append(batch, det("eu", "combat.reach", detection.ActionKick, fmt.Sprintf("P%d", i%7), "", "203.0.113.7", false, now))
	}
	if n, err := f.a.Record(ctx, batch, window); err != nil || n != 600 {
		t.Fatalf("first: %d, %v", n, err)
	}
	if n, err := other.Record(ctx, batch, window); err != nil || n != 0 {
		t.Fatalf("retry through another central: %d new, %v", n, err)
	}
	if n, err := f.a.Record(ctx, append(batch[:10:10], det("eu", "a.b", detection.ActionKick, "New", "", "", false, now)), window); err != nil || n != 1 {
		t.Fatalf("a batch with one new detection: %d, %v", n, err)
	}
	if l := f.client.XLen(ctx, f.a.keyStream()).Val(); l != 601 {
		t.Errorf("log holds %d entries, want 601", l)
	}
	counts, _ := f.a.Counts(ctx, CountQuery{Bucket: BucketMinute, Since: now, Until: now, Check: "combat.reach"})
	if len(counts) != 1 || counts[0].Count != 600 {
		t.Errorf("counts %+v, want 600", counts)
	}
	if got := testutil.ToFloat64(f.a.m.duplicates); got != 10 {
		t.Errorf("duplicates metric %v, want 10", got)
	}
}

func TestRetention(t *testing.T) {
	f := newFixture(t, Config{KeyPrefix: "rg", MaxLen: 1000, MaxAge: time.Hour})
	ctx := context.Background()
	now := time.Unix(0, f.now.Load())
	var batch []report.Detection
	for i := range 3000 {
		batch = append(batch, det("eu", "combat.reach", detection.ActionKick, "Flooded", "", "203.0.113.7", false, now.Add(time.Duration(i)*time.Millisecond)))
	}
	batch = append(batch, det("eu", "combat.reach", detection.ActionKick, "Quiet", "", "203.0.113.8", false, now))
	if _, err := f.a.Record(ctx, batch, window); err != nil {
		t.Fatal(err)
	}
	// MAXLEN ~ trims whole stream nodes (100 entries by default).
	if l := f.client.XLen(ctx, f.a.keyStream()).Val(); l < 1000 || l > 1100 {
		t.Errorf("log holds %d entries, want about 1000", l)
	}
	if n := f.client.LLen(ctx, f.a.KeyPlayerName("flooded")).Val(); n != MaxPlayerEntries {
		t.Errorf("history holds %d entries, want %d", n, MaxPlayerEntries)
	}
	if ttl := f.client.TTL(ctx, f.a.KeyPlayerName("flooded")).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("history TTL %v, want up to MaxAge", ttl)
	}
	// Past MaxAge by central's clock, the next write trims the log by its
	// ids (the time Redis stored the entries); a history keeps its newest
	// entries, and queries show none older than MaxAge.
	later := now.Add(time.Hour + time.Minute)
	f.now.Store(later.UnixNano())
	if _, err := f.a.Record(ctx, []report.Detection{det("eu", "combat.reach", detection.ActionKick, "Flooded", "", "203.0.113.7", false, later)}, window); err != nil {
		t.Fatal(err)
	}
	if l := f.client.XLen(ctx, f.a.keyStream()).Val(); l != 0 {
		t.Errorf("log holds %d entries stored over MaxAge ago by central's clock, want 0", l)
	}
	if h, err := f.a.Player(ctx, "flooded", time.Time{}, 1000); err != nil || len(h.Entries) != 1 || h.Total != MaxPlayerEntries {
		t.Errorf("history after MaxAge: %d of %d entries shown, %v; want only the new one shown", len(h.Entries), h.Total, err)
	}
	// A history under its cap keeps old entries until it expires, but
	// queries do not show them.
	if h, err := f.a.Player(ctx, "quiet", time.Time{}, 10); err != nil || h.Total != 1 || len(h.Entries) != 0 {
		t.Errorf("quiet player past MaxAge: %+v, %v; want the entry held but not shown", h, err)
	}
}

// TestRedisOutage: while Redis is down Record fails (so ingest answers
// "retry"), and it works again once Redis is back, with the script cache
// of the restarted Redis empty.
func TestRedisOutage(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	d1 := det("eu", "a.b", detection.ActionKick, "P", "", "203.0.113.7", false, time.Now())
	if _, err := f.a.Record(ctx, []report.Detection{d1}, window); err != nil {
		t.Fatal(err)
	}
	f.srv.Stop()
	d2 := det("us", "a.b", detection.ActionKick, "P", "", "203.0.113.7", false, time.Now())
	if _, err := f.a.Record(ctx, []report.Detection{d2}, window); err == nil {
		t.Fatal("Record succeeded with Redis down")
	}
	if err := f.a.Ping(ctx); err == nil {
		t.Error("Ping succeeded with Redis down")
	}
	f.srv.Restart()
	var n int
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for n, err = f.a.Record(ctx, []report.Detection{d1, d2}, window); err != nil && time.Now().Before(deadline); n, err = f.a.Record(ctx, []report.Detection{d1, d2}, window) {
		time.Sleep(50 * time.Millisecond) // the client redials on its own
	}
	if err != nil || n != 1 {
		t.Fatalf("after restart: %d new, %v; want 1 (d1 survived the restart)", n, err)
	}
	h, _ := f.a.Player(ctx, "p", time.Time{}, 10)
	if !slices.Equal(h.Regions, []string{"eu", "us"}) {
		t.Errorf("regions after the outage %v", h.Regions)
	}
}

// TestRecordMarksWhatMayChangeAVerdict: a detection is marked for
// correlation when it gives its identity a flag it did not have within the
// window, or when it is a repeat (a retried batch, whose correlation may
// not have finished); a flag the identity already had is not.
func TestRecordMarksWhatMayChangeAVerdict(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	now := time.Now()
	first := det("eu", "combat.reach", detection.ActionKick, "P", "", "203.0.113.7", false, now.Add(-20*time.Minute))
	again := det("eu", "combat.reach", detection.ActionKick, "p", "", "203.0.113.7", false, now.Add(-time.Minute))
	same := det("eu", "combat.reach", detection.ActionKick, "P", "", "203.0.113.7", false, now)
	other := []report.Detection{
		det("us", "combat.reach", detection.ActionKick, "P", "", "203.0.113.7", false, now),  // another region
		det("eu", "movement.fly", detection.ActionKick, "P", "", "203.0.113.7", false, now),  // another check
		det("eu", "combat.reach", detection.ActionBan, "P", "", "203.0.113.7", false, now),   // another action
		det("eu", "combat.reach", detection.ActionKick, "P", "", "203.0.113.8", false, now),  // another address
		det("eu", "combat.reach", detection.ActionKick, "Q", "", "203.0.113.7", false, now),  // another identity
		det("eu", "combat.reach", detection.ActionKick, "P", "", "198.51.100.7", false, now), // another prefix: another identity
		det("eu", "combat.reach", detection.ActionKick, "P", "", "", false, now),             // no identity: nothing to correlate
	}
	record := func(ds ...report.Detection) []report.Detection {
		t.Helper()
		if _, err := f.a.Record(ctx, ds, window); err != nil {
			t.Fatal(err)
		}
		return ds
	}
	if got := record(first); !got[0].Correlate {
		t.Error("a first flag is not marked")
	}
	if got := record(again); !got[0].Correlate {
		t.Error("a flag seen only before the window is not marked")
	}
	if got := record(same); got[0].Correlate {
		t.Error("a flag the identity had within the window is marked")
	}
	got := record(other...)
	for i, d := range got[:6] {
		if !d.Correlate {
			t.Errorf("other[%d] (%s %s %s %s) not marked", i, d.Region, d.Check, d.Action, d.ClientAddr)
		}
	}
	if got[6].Correlate {
		t.Error("a detection without an address is marked")
	}
	if got := record(same); !got[0].Correlate {
		t.Error("a repeat (retried batch) is not marked")
	}
	flags, err := f.a.Flags(ctx, []string{"name:p|203.0.113.0/24"}, now.Add(-time.Hour))
	if err != nil || len(flags[0]) != 5 {
		t.Fatalf("flags %+v, %v: want eu/us × reach/fly × kick/ban × two addresses as recorded", flags, err)
	}
	id, _ := same.Identity()
	if err := f.a.FlagSpans(ctx, []report.Identity{id}, flags); err != nil {
		t.Fatal(err)
	}
	for _, fl := range flags[0] {
		if fl.Region == "eu" && fl.Check == "combat.reach" && fl.Action == detection.ActionKick && fl.Subject == "203.0.113.7/32" &&
			(fl.TraceID != same.TraceID || fl.SpanID != same.SpanID) {
			t.Errorf("flag %+v: want the latest detection's span %s", fl, same.SpanID)
		}
		if fl.TraceID == "" {
			t.Errorf("flag %+v without a span", fl)
		}
	}
}
