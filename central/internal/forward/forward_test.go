package forward

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/telemetry"
	"github.com/rustguard/rustguard/shared/testservers"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		ok   bool
		want Config
	}{
		{"nothing", nil, false, Config{}},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j:4318", "OTEL_TRACES_EXPORTER": "none"}, false, Config{}},
		{"base URL, default protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j:4318/"}, true,
			Config{Protocol: ProtocolHTTPProtobuf, Endpoint: "http://j:4318/v1/traces", Timeout: 10 * time.Second}},
		{"traces endpoint as is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://j/custom"}, true,
			Config{Protocol: ProtocolHTTPProtobuf, Endpoint: "https://j/custom", Timeout: 10 * time.Second}},
		{"grpc URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc, x-team = fleet ", "OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, true,
			Config{Protocol: ProtocolGRPC, Endpoint: "j:4317", Insecure: true, Timeout: 2500 * time.Millisecond, Compression: "gzip",
				Headers: map[string]string{"Authorization": "Bearer abc", "x-team": "fleet"}}},
		{"grpc host:port is TLS unless insecure", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "j:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, true,
			Config{Protocol: ProtocolGRPC, Endpoint: "j:4317", Timeout: 10 * time.Second}},
		{"grpc insecure", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "j:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_INSECURE": "true"}, true,
			Config{Protocol: ProtocolGRPC, Endpoint: "j:4317", Insecure: true, Timeout: 10 * time.Second}},
		{"traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, true,
			Config{Protocol: ProtocolHTTPJSON, Endpoint: "http://j:4318/v1/traces", Timeout: 10 * time.Second}},
	} {
		got, ok, err := FromEnv(env(tc.env))
		if err != nil || ok != tc.ok {
			t.Errorf("%s: ok %v, err %v", tc.name, ok, err)
			continue
		}
		if got.String() != tc.want.String() || got.Insecure != tc.want.Insecure || got.Timeout != tc.want.Timeout ||
			got.Compression != tc.want.Compression || len(got.Headers) != len(tc.want.Headers) {
			t.Errorf("%s: got %+v\nwant %+v", tc.name, got, tc.want)
		}
		for k, v := range tc.want.Headers {
			if got.Headers[k] != v {
				t.Errorf("%s: header %s = %q, want %q", tc.name, k, got.Headers[k], v)
			}
		}
	}
	for name, m := range map[string]map[string]string{
		"OTEL_EXPORTER_OTLP_PROTOCOL":        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
		"OTEL_EXPORTER_OTLP_TIMEOUT":         {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "j:4318"},
		"OTEL_EXPORTER_OTLP_HEADERS":         {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"},
		"OTEL_EXPORTER_OTLP_COMPRESSION":     {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"},
	} {
		if _, _, err := FromEnv(env(m)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the variable", name, err)
		}
	}
}

func start(t *testing.T, cfg Config, reg *prometheus.Registry, retry time.Duration) *Forwarder {
	t.Helper()
	f, err := New(cfg, Options{Registerer: reg, RetryFor: retry, Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
	})
	return f
}

// TestForwardsUnchangedToJaeger: over each protocol, what central forwards
// is found in Jaeger's query API by service and region, span for span with
// the attributes the edge set.
func TestForwardsUnchangedToJaeger(t *testing.T) {
	j := testservers.StartJaeger(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + j.OTLPGRPCAddr(), "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{"http-protobuf", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": j.OTLPHTTPEndpoint(), "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}},
		{"http-json", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": j.OTLPHTTPEndpoint() + "/v1/traces", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ok, err := FromEnv(env(tc.env))
			if err != nil || !ok {
				t.Fatalf("FromEnv: %v %v", ok, err)
			}
			reg := prometheus.NewRegistry()
			f := start(t, cfg, reg, 0)
			region := "region-" + tc.name
			edge := spantest.Edge{Region: region, Instance: "edge-1"}
			now := time.Now()
			ev := spantest.Event("combat.reach", detection.ActionKick, "Cheater", "", "203.0.113.7", false, now)
			sc := spantest.IDs()
			// Three requests, forwarded as they come.
			f.Forward(spantest.Traces(edge.Detection(ev, sc)))
			f.Forward(spantest.Traces(edge.Connect(now)))
			f.Forward(spantest.Traces(edge.Attack(true, 12, 3, "Aaaa", 9, now)))
			var found ptrace.Span
			var res ptrace.ResourceSpans
			deadline := time.Now().Add(20 * time.Second)
			for found == (ptrace.Span{}) {
				td, err := spantest.JaegerTraces(j.QueryURL(), telemetry.ServiceEdge, now.Add(-time.Minute), now.Add(time.Minute), 100)
				if err != nil {
					t.Fatal(err)
				}
				spanEach(td, func(rs ptrace.ResourceSpans, sp ptrace.Span) {
					if sp.SpanID().String() == sc.SpanID().String() {
						found, res = sp, rs
					}
				})
				if found != (ptrace.Span{}) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("detection span not found in Jaeger")
				}
				time.Sleep(100 * time.Millisecond)
			}
			if r, _ := res.Resource().Attributes().Get(telemetry.AttrRegion); r.Str() != region {
				t.Errorf("cloud.region %q, want %q", r.Str(), region)
			}
			if found.Name() != telemetry.SpanDetection || found.TraceID().String() != sc.TraceID().String() {
				t.Errorf("span %s %s", found.Name(), found.TraceID())
			}
			want := telemetry.FromKeyValues(telemetry.DetectionAttributes(&ev))
			for k, v := range want {
				got, ok := found.Attributes().Get(k)
				if !ok || got.AsRaw() != v {
					t.Errorf("attribute %s = %v, want %v", k, got.AsRaw(), v)
				}
			}
			waitFor(t, "all spans counted as forwarded", func() bool { return testutil.ToFloat64(f.m.forwarded) == 3 })
			if ok, detail := f.Health(); !ok {
				t.Errorf("health: %s", detail)
			}
		})
	}
}

func spanEach(td ptrace.Traces, f func(ptrace.ResourceSpans, ptrace.Span)) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				f(rs, ss.At(k))
			}
		}
	}
}

// waitFor polls cond: the forwarder's work is asynchronous and offers no
// event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBackendDownNeverBlocks: with the backend unreachable, Forward returns
// at once, batches are retried and then dropped (counted), a full queue
// drops new traces (counted), and health says what is wrong.
func TestBackendDownNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	reg := prometheus.NewRegistry()
	f := start(t, Config{Protocol: ProtocolHTTPProtobuf, Endpoint: "http://" + dead + "/v1/traces", Timeout: time.Second}, reg, 300*time.Millisecond)
	edge := spantest.Edge{Region: "eu", Instance: "e"}
	var spans []tracetest.SpanStub
	for range 1000 {
		spans = append(spans, edge.Connect(time.Now()))
	}
	batch := spantest.Traces(spans...)
	begin := time.Now()
	for range QueueSpans/1000 + 30 {
		td := ptrace.NewTraces()
		batch.CopyTo(td)
		f.Forward(td)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("Forward took %v with the backend down", d)
	}
	if got := testutil.ToFloat64(f.m.dropped.WithLabelValues(dropQueueFull)); got < 10_000 {
		t.Errorf("queue_full drops %v, want at least 10000", got)
	}
	waitFor(t, "batches dropped after retries", func() bool { return testutil.ToFloat64(f.m.dropped.WithLabelValues(dropRetries)) > 0 })
	if ok, detail := f.Health(); ok || !strings.Contains(detail, "failing since") {
		t.Errorf("health %v %q", ok, detail)
	}
	if testutil.ToFloat64(f.m.retries) == 0 {
		t.Error("no retries counted")
	}
}

// TestPermanentErrorsAreNotRetried: a 404 from the backend (a wrong path)
// drops the batch at once.
func TestPermanentErrorsAreNotRetried(t *testing.T) {
	j := testservers.StartJaeger(t)
	reg := prometheus.NewRegistry()
	f := start(t, Config{Protocol: ProtocolHTTPProtobuf, Endpoint: j.OTLPHTTPEndpoint() + "/v1/nothing", Timeout: time.Second}, reg, time.Minute)
	f.Forward(spantest.Traces((spantest.Edge{Region: "eu"}).Connect(time.Now())))
	waitFor(t, "rejected batch dropped", func() bool { return testutil.ToFloat64(f.m.dropped.WithLabelValues(dropRejected)) == 1 })
	if got := testutil.ToFloat64(f.m.retries); got != 0 {
		t.Errorf("%v retries of a permanent error", got)
	}
}
