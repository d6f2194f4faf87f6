package tracing

import (
	"context"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"

	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/otlprecv"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// clearOTEL unsets every OTEL_ variable of the test process for the test.
func clearOTEL(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				if k := kv[:i]; len(k) > 5 && k[:5] == "OTEL_" {
					t.Setenv(k, "")
					os.Unsetenv(k)
				}
				break
			}
		}
	}
}

// receiver starts a recording OTLP receiver and points the exporter at it
// with protocol.
func receiver(t *testing.T, protocol string) *otlprecv.Receiver {
	t.Helper()
	clearOTEL(t)
	r, err := otlprecv.Listen(otlprecv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	if protocol == ProtocolGRPC {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+r.GRPCAddr())
	} else {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.HTTPEndpoint())
	}
	return r
}

func newTracing(t *testing.T) (*Tracing, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	tr, err := New(context.Background(), Options{Region: "eu-west", Instance: "edge-eu-1", Version: "v9", Registry: reg,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tr.Shutdown(ctx)
	})
	return tr, reg
}

func event() *detection.Event {
	return &detection.Event{
		Schema: detection.SchemaVersion, Check: "badpackets.invalid_pitch", Layer: 2,
		Severity: detection.SeverityHigh, Action: detection.ActionKick, VL: 3.5,
		Player: "Cheater", UUID: "4566e69f-c907-38ee-8d71-d7e8b1c5a5d8",
		ClientAddr: "203.0.113.7", Protocol: 769, Brand: "vanilla", Region: "eu-west", Edge: "edge-eu-1",
		Session: "k3", Details: map[string]string{"pitch": "-300"},
		Time: time.Now().Add(-time.Minute).Truncate(time.Microsecond).UTC(),
	}
}

// TestDetectionReachesTheReceiver: over both protocols, a detection
// arrives as central will read it: DecodeDetection gives the event back,
// the resource names the edge, and the link points at the connection.
func TestDetectionReachesTheReceiver(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			r := receiver(t, protocol)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,cloud.region=elsewhere")
			t.Setenv("OTEL_TRACES_SAMPLER", "always_off") // detections are kept anyway
			tr, _ := newTracing(t)
			if !tr.Enabled() {
				t.Fatal("tracing off with an endpoint set")
			}
			conn := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0xab, 1}, SpanID: trace.SpanID{0xcd, 2}})
			want := event()
			tr.Detections().DetectLinked(want, conn)
			spans, err := r.Wait(within(t, 20*time.Second), func(_ []otlprecv.Span, n int) bool { return n >= 1 })
			if err != nil {
				t.Fatal(err)
			}
			s := spans[0]
			got, err := telemetry.DecodeDetection(s.Name, telemetry.MapAttributes(s.Resource), telemetry.MapAttributes(s.Attributes), s.Start)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, want) {
				t.Errorf("decoded\n %+v\nwant\n %+v", got, *want)
			}
			for k, v := range map[string]any{"service.name": "rustguard-edge", "service.version": "v9",
				"deployment.environment.name": "staging", "cloud.region": "eu-west", "service.instance.id": "edge-eu-1"} {
				if s.Resource[k] != v {
					t.Errorf("resource %s = %v, want %v", k, s.Resource[k], v)
				}
			}
			if len(s.Links) != 1 || s.Links[0].TraceID != conn.TraceID().String() || s.Links[0].SpanID != conn.SpanID().String() {
				t.Errorf("links %+v, want the connection %s/%s", s.Links, conn.TraceID(), conn.SpanID())
			}
			if s.TraceID == conn.TraceID().String() || s.ParentSpanID != "" {
				t.Errorf("detection is not a root of its own trace: %s parent %q", s.TraceID, s.ParentSpanID)
			}
		})
	}
}

func TestServiceNameFromEnvironment(t *testing.T) {
	r := receiver(t, ProtocolGRPC)
	t.Setenv("OTEL_SERVICE_NAME", "edge-canary")
	tr, _ := newTracing(t)
	tr.Ban(BanAdd, bans.Ban{Kind: bans.KindIP, Value: "203.0.113.7", Source: "check:x", Created: time.Unix(100, 0), Expires: time.Unix(160, 0)})
	tr.Ban(BanRemove, bans.Ban{Kind: bans.KindName, Value: "Griefer", Source: "operator:root"})
	tr.ConfigApplied(7, ConfigResultRefused, os.ErrInvalid)
	spans, err := r.Wait(within(t, 20*time.Second), func(_ []otlprecv.Span, n int) bool { return n >= 3 })
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]otlprecv.Span{}
	for _, s := range spans {
		by[s.Name] = append(by[s.Name], s)
		if s.Resource["service.name"] != "edge-canary" {
			t.Errorf("%s: service.name %v", s.Name, s.Resource["service.name"])
		}
	}
	if b := by[telemetry.SpanBan]; len(b) != 2 ||
		b[0].Attributes[telemetry.AttrBanOperation] != "add" || b[0].Attributes[telemetry.AttrBanKind] != "ip" ||
		b[0].Attributes[telemetry.AttrBanValue] != "203.0.113.7" || b[0].Attributes[telemetry.AttrBanDuration] != int64(60) ||
		b[1].Attributes[telemetry.AttrBanOperation] != "remove" || b[1].Attributes[telemetry.AttrBanSource] != "operator:root" {
		t.Errorf("ban spans %+v", b)
	}
	if c := by[telemetry.SpanConfigApply]; len(c) != 1 || c[0].Attributes[telemetry.AttrConfigVersion] != int64(7) ||
		c[0].Attributes[telemetry.AttrConfigResult] != "refused" || c[0].StatusCode != 2 /* error */ {
		t.Errorf("config spans %+v", c)
	}
}

func TestOffWithoutAnExporter(t *testing.T) {
	clearOTEL(t)
	tr, reg := newTracing(t)
	if tr.Enabled() || tr.Tracer() != nil || tr.Detections() != nil || tr.NewAttackReporter(func() bool { return true }) != nil {
		t.Fatal("tracing on without an exporter")
	}
	tr.Ban(BanAdd, bans.Ban{}) // no-ops
	tr.ConfigApplied(1, ConfigResultApplied, nil)
	if n, _ := testutil.GatherAndCount(reg); n != 0 {
		t.Errorf("%d metrics registered while off", n)
	}
	var nilTracing *Tracing
	if nilTracing.Enabled() || nilTracing.Tracer() != nil || nilTracing.Shutdown(context.Background()) != nil {
		t.Error("a nil Tracing is not off")
	}
	if _, err := New(context.Background(), Options{Lookup: env(map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"})}); err == nil {
		t.Error("an unknown sampler was accepted")
	}
}

// TestSpansWaitOutAnOutage: the receiver (central) goes away while the
// edge keeps producing detections; they wait in the queue and all arrive
// once it is back. The outage here is about 3 s with a 1 s export timeout
// rather than central's 30 s with the default 10 s (OTEL_BSP_EXPORT_TIMEOUT
// bounds each call): every export call in
// it fails and the queue retries the batch, exactly as in a long outage
// (batches are kept for retryMaxAge, 5 minutes).
func TestSpansWaitOutAnOutage(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			r := receiver(t, protocol)
			t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "1000")
			tr, _ := newTracing(t)
			q := tr.queue
			sink := tr.Detections()
			sink.Detect(event())
			ctx := within(t, 60*time.Second)
			for testutil.ToFloat64(q.exported) != 1 {
				if ctx.Err() != nil {
					t.Fatal("the first span was not exported")
				}
				time.Sleep(10 * time.Millisecond)
			}
			r.Stop()
			const during = 20
			for range during {
				sink.Detect(event())
			}
			// Wait until the queue has seen an export fail: the outage is
			// real to the edge, not just a slow delivery.
			for testutil.ToFloat64(q.errors) == 0 {
				if ctx.Err() != nil {
					t.Fatal("no export failed while the receiver was down")
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(3 * time.Second) // the rest of the outage: several failed retries
			if r.Count("") != 1 {
				t.Fatalf("received %d spans while stopped", r.Count(""))
			}
			if waiting := float64(len(q.ch)) + float64(q.held.Load()); waiting != during {
				t.Errorf("%v spans waiting during the outage, want %d", waiting, during)
			}
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Wait(ctx, func(_ []otlprecv.Span, n int) bool { return n == 1+during }); err != nil {
				t.Fatal(err)
			}
			for testutil.ToFloat64(q.exported) != 1+during && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond) // the receiver counts before it answers
			}
			for reason, c := range q.dropped {
				if v := testutil.ToFloat64(c); v != 0 {
					t.Errorf("dropped %s: %v", reason, v)
				}
			}
			if x := testutil.ToFloat64(q.exported); x != 1+during {
				t.Errorf("exported %v, want %d", x, 1+during)
			}
		})
	}
}

// TestRefusedOverHTTP: the HTTP exporter's answer to a 400 is dropped at
// once (retrying cannot help), a 503 is retried until accepted.
func TestRefusedOverHTTP(t *testing.T) {
	r := receiver(t, ProtocolHTTPProtobuf)
	t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "1000")
	tr, _ := newTracing(t)
	q := tr.queue
	r.Refuse(codes.InvalidArgument)
	tr.Detections().Detect(event())
	ctx := within(t, 20*time.Second)
	for testutil.ToFloat64(q.dropped[dropRejected]) != 1 {
		if ctx.Err() != nil {
			t.Fatalf("a 400 was not dropped as rejected (errors %v)", testutil.ToFloat64(q.errors))
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Refuse(codes.Unavailable)
	tr.Detections().Detect(event())
	for testutil.ToFloat64(q.errors) < 2 {
		if ctx.Err() != nil {
			t.Fatal("a 503 did not fail an export")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Refuse(codes.OK)
	if _, err := r.Wait(ctx, func(_ []otlprecv.Span, n int) bool { return n == 1 }); err != nil {
		t.Fatalf("the batch refused with 503 was not retried: %v", err)
	}
	if d := testutil.ToFloat64(q.dropped[dropRejected]); d != 1 {
		t.Errorf("rejected %v, want 1", d)
	}
}
