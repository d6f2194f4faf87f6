package bans_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/testservers"
)

func sampleEvidence() []bans.Evidence {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	return []bans.Evidence{
		{Region: "eu", Check: "badpackets.invalid_pitch", Time: t0, TraceID: "5b8efff798038103d269b633813fc60c"},
		{Region: "us", Check: "combat.reach", Time: t0.Add(time.Minute), TraceID: "0af7651916cd43dd8448eb211c80319c"},
	}
}

// TestEvidenceReachesEdges: a correlation ban's evidence is stored, follows
// the event stream to a running edge, and loads with a snapshot.
func TestEvidenceReachesEdges(t *testing.T) {
	srv := testservers.StartRedis(t)
	writer := newStore(t, srv.URL(), false)
	edge := newStore(t, srv.URL(), true)
	ctx := context.Background()
	b, err := writer.store.Add(ctx, bans.Ban{Kind: bans.KindIP, Value: "203.0.113.9", Reason: "cheating", Source: "central:correlation",
		Expires: time.Now().Add(time.Hour), Evidence: sampleEvidence()})
	if err != nil {
		t.Fatal(err)
	}
	waitAdded(t, edge, b.ID)
	got, ok := edge.store.Table().MatchAddr(netip.MustParseAddr("203.0.113.9"), time.Now())
	if !ok || !got.Equal(b) || len(got.Evidence) != 2 || got.Evidence[1].Check != "combat.reach" {
		t.Fatalf("edge holds %+v, %v; want %+v", got, ok, b)
	}
	later := newStore(t, srv.URL(), true) // loads the snapshot
	if got, ok := later.store.Table().MatchAddr(netip.MustParseAddr("203.0.113.9"), time.Now()); !ok || !got.Equal(b) {
		t.Fatalf("snapshot: %+v, %v", got, ok)
	}
	list, err := writer.store.List(ctx)
	if err != nil || len(list) != 1 || !list[0].Equal(b) {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// A ban too big for the edges' decoder is refused at the writer, not
	// stored for every edge to skip.
	huge := make([]bans.Evidence, bans.MaxEvidence)
	for i := range huge {
		huge[i] = bans.Evidence{Region: strings.Repeat("<", bans.MaxEvidenceField), Check: strings.Repeat(">", bans.MaxEvidenceField)}
	}
	_, err = writer.store.Add(ctx, bans.Ban{Kind: bans.KindIP, Value: "203.0.113.10", Reason: strings.Repeat("&", bans.MaxReasonLen), Evidence: huge})
	if !errors.Is(err, bans.ErrInvalid) {
		t.Errorf("oversized ban: Add = %v, want ErrInvalid", err)
	}
}

// TestEdgesReadBansWithAndWithoutEvidence: bans written before evidence
// existed still load, and so do bans carrying fields this version does not
// know (how an edge that predates evidence reads a correlation ban).
func TestEdgesReadBansWithAndWithoutEvidence(t *testing.T) {
	srv := testservers.StartRedis(t)
	client := newClient(t, srv.URL())
	ctx := context.Background()
	stored := map[string]string{
		"ip:198.51.100.1": `{"kind":"ip","value":"198.51.100.1","reason":"old","source":"operator:x","created_ms":1765000000000}`,
		"ip:198.51.100.2": `{"kind":"ip","value":"198.51.100.2","reason":"new","source":"central:correlation","created_ms":1765000000000,` +
			`"evidence":[{"region":"eu","check":"combat.reach","time_ms":1765000000001,"trace_id":"5b8efff798038103d269b633813fc60c"}]}`,
		"ip:198.51.100.3": `{"kind":"ip","value":"198.51.100.3","created_ms":1765000000000,"evidence":[],"from_the_future":{"x":1}}`,
	}
	for id, v := range stored {
		if err := client.HSet(ctx, "rustguard:{bans}:all", id, v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	e := newStore(t, srv.URL(), true)
	now := time.Now()
	for id := range stored {
		a := netip.MustParseAddr(strings.TrimPrefix(id, "ip:"))
		b, ok := e.store.Table().MatchAddr(a, now)
		if !ok {
			t.Errorf("%s not loaded", id)
			continue
		}
		switch id {
		case "ip:198.51.100.1", "ip:198.51.100.3":
			if len(b.Evidence) != 0 {
				t.Errorf("%s: evidence %+v", id, b.Evidence)
			}
		case "ip:198.51.100.2":
			want := bans.Evidence{Region: "eu", Check: "combat.reach", Time: time.UnixMilli(1765000000001).UTC(), TraceID: "5b8efff798038103d269b633813fc60c"}
			if len(b.Evidence) != 1 || b.Evidence[0] != want {
				t.Errorf("%s: evidence %+v, want %+v", id, b.Evidence, want)
			}
		}
	}
}

func TestEvidenceIsValidated(t *testing.T) {
	base := bans.Ban{Kind: bans.KindName, Value: "Cheater"}
	for name, ev := range map[string][]bans.Evidence{
		"too many":      make([]bans.Evidence, bans.MaxEvidence+1),
		"bad trace id":  {{Region: "eu", Check: "a.b", TraceID: "XYZ"}},
		"upper hex":     {{Region: "eu", Check: "a.b", TraceID: "5B8EFFF798038103D269B633813FC60C"}},
		"control char":  {{Region: "eu\n", Check: "a.b"}},
		"long region":   {{Region: strings.Repeat("r", bans.MaxEvidenceField+1), Check: "a.b"}},
		"invalid utf-8": {{Region: "eu", Check: "\xff"}},
	} {
		b := base
		b.Evidence = ev
		if _, err := bans.Normalize(b); !errors.Is(err, bans.ErrInvalid) {
			t.Errorf("%s: Normalize = %v, want ErrInvalid", name, err)
		}
	}
	b := base
	b.Evidence = sampleEvidence()
	b.Evidence[0].Time = time.Date(2026, 12, 7, 11, 0, 0, 123456789, time.FixedZone("x", 3600))
	n, err := bans.Normalize(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Evidence[0].Time; got.Location() != time.UTC || got.Nanosecond() != 123000000 {
		t.Errorf("evidence time %v, want UTC milliseconds", got)
	}
	if &n.Evidence[0] == &b.Evidence[0] {
		t.Error("Normalize shares the caller's evidence slice")
	}
}

// TestTableSeesEqualEvidenceAsUnchanged: a resync decodes every ban into
// fresh slices; a ban whose content did not change must not be reported
// as changed (that would kick its players again on every resync).
func TestTableSeesEqualEvidenceAsUnchanged(t *testing.T) {
	mk := func(ev []bans.Evidence) bans.Ban {
		b, err := bans.Normalize(bans.Ban{Kind: bans.KindIP, Value: "203.0.113.1", Reason: "x", Evidence: ev})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tab := bans.NewTable()
	if ch := tab.Replace([]bans.Ban{mk(sampleEvidence())}); len(ch) != 1 {
		t.Fatalf("first load: %d changed", len(ch))
	}
	if ch := tab.Replace([]bans.Ban{mk(sampleEvidence())}); len(ch) != 0 {
		t.Errorf("same content reported as changed: %+v", ch)
	}
	other := sampleEvidence()
	other[1].Check = "combat.autoclicker"
	if ch := tab.Replace([]bans.Ban{mk(other)}); len(ch) != 1 {
		t.Errorf("changed evidence not reported: %+v", ch)
	}
}
