package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/telemetry"
	"github.com/rustguard/rustguard/shared/testservers"
)

const (
	adminToken  = "admin-token-0123456789"
	ingestToken = "ingest-token-0123456789"
)

// waitTimeout bounds waits for asynchronous effects (Jaeger's batch, a
// Redis reconnect).
const waitTimeout = 30 * time.Second

type central struct {
	c                  *Central
	api, grpc, otlpURL string
}

// startCentral runs a central on loopback ports against redisURL,
// forwarding to Jaeger when j is not nil.
func startCentral(t testing.TB, redisURL string, j *testservers.Jaeger) *central {
	t.Helper()
	cfg := config.DefaultCentral()
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.RedisURL, cfg.AdminToken, cfg.IngestToken = redisURL, adminToken, ingestToken
	env := map[string]string{}
	if j != nil {
		env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://" + j.OTLPGRPCAddr()
		env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
	}
	var logOut io.Writer = t.Output()
	if _, bench := t.(*testing.B); bench {
		logOut = io.Discard // a benchmark bans a thousand players
	}
	c, err := New(Options{Config: cfg, Version: "test", Log: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Shutdown(ctx)
	})
	a, g, h := c.Addrs()
	return &central{c: c, api: "http://" + a, grpc: g, otlpURL: h}
}

func (c *central) get(t testing.TB, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("GET %s: %d %q: %v", path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func exporters(t testing.TB, c *central, token string) (grpcExp, httpExp *otlptrace.Exporter) {
	t.Helper()
	ctx := context.Background()
	g, err := spantest.GRPCExporter(ctx, c.grpc, token)
	if err != nil {
		t.Fatal(err)
	}
	h, err := spantest.HTTPExporter(ctx, c.otlpURL, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Shutdown(ctx); _ = h.Shutdown(ctx) })
	return g, h
}

// eventually polls until cond holds: the effects waited for (Jaeger's
// storage, Redis coming back) offer nothing to wait on.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type history struct {
	Total    int      `json:"total"`
	Regions  []string `json:"regions"`
	Checks   []string `json:"checks"`
	TraceIDs []string `json:"trace_ids"`
}

// TestCheaterAcrossRegions is the story: a player caught cheating
// in region eu (gRPC) and again in region us (HTTP) appears in
// /v1/players with both regions, is banned fleet-wide by the default
// policy with the evidence on the ban, and the traces of both regions are
// found in Jaeger by service and region. A player flagged only by alerts
// in both regions is left alone.
func TestCheaterAcrossRegions(t *testing.T) {
	rd := testservers.StartRedis(t)
	j := testservers.StartJaeger(t)
	c := startCentral(t, rd.URL(), j)
	grpcExp, httpExp := exporters(t, c, ingestToken)
	eu, us := spantest.Edge{Region: "eu", Instance: "edge-eu-1"}, spantest.Edge{Region: "us", Instance: "edge-us-1"}
	ctx := context.Background()
	start := time.Now()

	euSpan := spantest.IDs()
	usSpan := spantest.IDs()
	if err := spantest.Export(ctx, grpcExp,
		eu.Detection(spantest.Event("combat.reach", detection.ActionKick, "Cheater", "", "203.0.113.7", false, time.Now()), euSpan),
		eu.Detection(spantest.Event("chat.spam", detection.ActionAlert, "Chatty", "", "198.51.100.4", false, time.Now()), spantest.IDs()),
		eu.Connect(time.Now()),
	); err != nil {
		t.Fatalf("eu export: %v", err)
	}
	if err := spantest.Export(ctx, httpExp,
		us.Detection(spantest.Event("badpackets.invalid_pitch", detection.ActionRewrite, "cheater", "", "203.0.113.7", false, time.Now()), spantest.IDs()),
		us.Detection(spantest.Event("movement.speed", detection.ActionDrop, "cheater", "", "203.0.113.7", false, time.Now()), usSpan),
		us.Detection(spantest.Event("chat.caps", detection.ActionAlert, "Chatty", "", "198.51.100.4", false, time.Now()), spantest.IDs()),
	); err != nil {
		t.Fatalf("us export: %v", err)
	}

	var h history
	if code := c.get(t, "/v1/players/CHEATER", &h); code != http.StatusOK || h.Total != 3 || !slices.Equal(h.Regions, []string{"eu", "us"}) || len(h.TraceIDs) != 3 {
		t.Fatalf("player: %d %+v", code, h)
	}
	var list struct {
		Bans []struct {
			ID       string          `json:"id"`
			Source   string          `json:"source"`
			Evidence []bans.Evidence `json:"evidence"`
		} `json:"bans"`
	}
	if code := c.get(t, "/v1/bans", &list); code != http.StatusOK || len(list.Bans) != 1 {
		t.Fatalf("bans: %d %+v", code, list)
	}
	b := list.Bans[0]
	if b.ID != "ip:203.0.113.7" || b.Source != "central:correlation" || len(b.Evidence) != 2 ||
		b.Evidence[0].TraceID != euSpan.TraceID().String() || b.Evidence[1].TraceID != usSpan.TraceID().String() {
		t.Errorf("ban %+v: want the address, with the eu kick and the us drop as evidence (the rewrite does not count)", b)
	}
	// The same list the edges read.
	client, _ := bans.NewClient(rd.URL())
	defer client.Close()
	store, _ := bans.NewStore(bans.Defaults(), bans.Options{Client: client})
	if stored, err := store.List(ctx); err != nil || len(stored) != 1 || len(stored[0].Evidence) != 2 {
		t.Errorf("shared ban list: %+v %v", stored, err)
	}

	// Both regions' traces, and central's correlation span, in Jaeger.
	for _, region := range []string{"eu", "us"} {
		want := euSpan
		if region == "us" {
			want = usSpan
		}
		eventually(t, "the "+region+" detection in Jaeger", func() bool {
			td, err := spantest.JaegerTraces(j.QueryURL(), telemetry.ServiceEdge, start.Add(-time.Minute), time.Now().Add(time.Minute), 100)
			if err != nil {
				t.Fatal(err)
			}
			return findSpan(td, region, want.SpanID().String())
		})
	}
	eventually(t, "the correlation span in Jaeger", func() bool {
		td, err := spantest.JaegerTraces(j.QueryURL(), telemetry.ServiceCentral, start.Add(-time.Minute), time.Now().Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		return td.SpanCount() == 1
	})
	var metrics string
	{
		req, _ := http.NewRequest(http.MethodGet, c.api+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(raw)
	}
	for _, m := range []string{"rustguard_central_spans_received_total{transport=\"grpc\"} 3", "rustguard_central_correlation_bans_total 1",
		"rustguard_central_detections_ingested_total{action=\"alert\"} 2", "rustguard_central_redis_up 1"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
}

// findSpan reports whether td holds the span on a resource of region.
func findSpan(td ptrace.Traces, region, spanID string) bool {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		if r, ok := rs.Resource().Attributes().Get(telemetry.AttrRegion); !ok || r.Str() != region {
			continue
		}
		for k := 0; k < rs.ScopeSpans().Len(); k++ {
			spans := rs.ScopeSpans().At(k).Spans()
			for s := 0; s < spans.Len(); s++ {
				if spans.At(s).SpanID().String() == spanID {
					return true
				}
			}
		}
	}
	return false
}

// TestTwoCentralsOneRedis: two replicas on one Redis, each receiving one
// region, answer the same and ban once.
func TestTwoCentralsOneRedis(t *testing.T) {
	rd := testservers.StartRedis(t)
	a, b := startCentral(t, rd.URL(), nil), startCentral(t, rd.URL(), nil)
	expA, _ := exporters(t, a, ingestToken)
	_, expB := exporters(t, b, ingestToken)
	ctx := context.Background()
	const uuid = "069a79f4-44e9-4726-a5be-fca90e38aaf5"
	eu, us := spantest.Edge{Region: "eu", Instance: "e1"}, spantest.Edge{Region: "us", Instance: "u1"}
	if err := spantest.Export(ctx, expA, eu.Detection(spantest.Event("combat.reach", detection.ActionBan, "Notch", uuid, "203.0.113.7", true, time.Now()), spantest.IDs())); err != nil {
		t.Fatal(err)
	}
	if err := spantest.Export(ctx, expB, us.Detection(spantest.Event("movement.fly", detection.ActionKick, "Notch", uuid, "2001:db8::7", true, time.Now()), spantest.IDs())); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/players/" + uuid, "/v1/players/notch", "/v1/bans", "/v1/detections?limit=10", "/v1/attacks"} {
		var fromA, fromB any
		a.get(t, path, &fromA)
		b.get(t, path, &fromB)
		ja, _ := json.Marshal(fromA)
		jb, _ := json.Marshal(fromB)
		if string(ja) != string(jb) {
			t.Errorf("%s differs between replicas:\n%s\n%s", path, ja, jb)
		}
	}
	var list struct {
		Bans []struct{ ID string } `json:"bans"`
	}
	a.get(t, "/v1/bans", &list)
	var ids []string
	for _, b := range list.Bans {
		ids = append(ids, b.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"name:notch", "uuid:" + uuid}) {
		t.Errorf("bans %v, want the account's uuid and name", ids)
	}
	client, _ := bans.NewClient(rd.URL())
	defer client.Close()
	if seq, _ := client.Get(ctx, "rustguard:{bans}:seq").Int64(); seq != 2 {
		t.Errorf("ban list written %d times, want 2 (uuid and name, once)", seq)
	}
}

// TestIngestTokenEnforced: without the ingest token, or with a wrong one,
// edges' exports are refused on both transports and nothing is stored.
func TestIngestTokenEnforced(t *testing.T) {
	rd := testservers.StartRedis(t)
	c := startCentral(t, rd.URL(), nil)
	span := (spantest.Edge{Region: "eu", Instance: "e"}).Detection(spantest.Event("combat.reach", detection.ActionKick, "P", "", "203.0.113.1", false, time.Now()), spantest.IDs())
	for _, tok := range []string{"", "wrong-token-0123456789", adminToken} {
		g, h := exporters(t, c, tok)
		err := spantest.Export(context.Background(), g, span)
		if status.Code(err) != codes.Unauthenticated && !strings.Contains(fmt.Sprint(err), "Unauthenticated") {
			t.Errorf("grpc with %q: %v, want Unauthenticated", tok, err)
		}
		if err := spantest.Export(context.Background(), h, span); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("http with %q: %v, want 401", tok, err)
		}
	}
	var page struct{ Detections []any }
	if c.get(t, "/v1/detections", &page); len(page.Detections) != 0 {
		t.Errorf("unauthenticated detections stored: %v", page.Detections)
	}
	// Every /v1 route and /metrics want the admin token; the ingest token
	// does not open them.
	for _, path := range []string{"/v1/detections", "/v1/players/p", "/v1/attacks", "/v1/bans", "/metrics"} {
		for _, tok := range []string{"", ingestToken, "wrong"} {
			req, _ := http.NewRequest(http.MethodGet, c.api+path, nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s with %q: %s", path, tok, resp.Status)
			}
		}
	}
}

// TestRedisOutage: with Redis down, exports are answered "retry later"
// (gRPC Unavailable, HTTP 503) and /readyz says why; an exporter that
// retries delivers on its own once Redis is back.
func TestRedisOutage(t *testing.T) {
	rd := testservers.StartRedis(t)
	c := startCentral(t, rd.URL(), nil)
	g, h := exporters(t, c, ingestToken)
	edge := spantest.Edge{Region: "eu", Instance: "e"}
	ctx := context.Background()
	rd.Stop()
	span := edge.Detection(spantest.Event("combat.reach", detection.ActionKick, "P", "", "203.0.113.1", false, time.Now()), spantest.IDs())
	if err := spantest.Export(ctx, g, span); status.Code(err) != codes.Unavailable && !strings.Contains(fmt.Sprint(err), "Unavailable") {
		t.Errorf("grpc with Redis down: %v, want Unavailable", err)
	}
	if err := spantest.Export(ctx, h, span); err == nil || !strings.Contains(err.Error(), "retry-able") || strings.Contains(err.Error(), rd.Addr()) {
		t.Errorf("http with Redis down: %v, want a retryable 503 that does not name Redis's address", err)
	}
	var ready struct {
		Ready        bool              `json:"ready"`
		Dependencies map[string]string `json:"dependencies"`
	}
	eventually(t, "readyz reports Redis down", func() bool {
		return c.get(t, "/readyz", &ready) == http.StatusServiceUnavailable && strings.HasPrefix(ready.Dependencies["redis"], "down")
	})
	if ready.Dependencies["forward"] != "disabled" {
		t.Errorf("forward dependency %q", ready.Dependencies["forward"])
	}

	// An edge's exporter with its default retries, while Redis comes back.
	retrying, err := otlptraceRetrying(ctx, c.grpc)
	if err != nil {
		t.Fatal(err)
	}
	defer retrying.Shutdown(ctx)
	done := make(chan error, 1)
	go func() { done <- spantest.Export(ctx, retrying, span) }()
	time.Sleep(300 * time.Millisecond) // let the first attempts fail
	rd.Restart()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("export after Redis came back: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("export did not succeed after Redis came back")
	}
	var page struct {
		Detections []struct {
			SpanID string `json:"span_id"`
		} `json:"detections"`
	}
	c.get(t, "/v1/detections", &page)
	if len(page.Detections) != 1 || page.Detections[0].SpanID != span.SpanContext.SpanID().String() {
		t.Errorf("detections after the outage: %+v", page.Detections)
	}
	eventually(t, "readyz ready again", func() bool { return c.get(t, "/readyz", &ready) == http.StatusOK })
}

// otlptraceRetrying is the SDK's gRPC exporter as an edge runs it, with
// retries on, and quick ones for the test.
func otlptraceRetrying(ctx context.Context, addr string) (*otlptrace.Exporter, error) {
	return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithHeaders(map[string]string{"Authorization": "Bearer " + ingestToken}),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: waitTimeout}))
}
