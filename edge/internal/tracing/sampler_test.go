package tracing

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/telemetry"
)

func TestKeepEventsKeepsWhatCentralAggregates(t *testing.T) {
	base, err := ParseSampler("always_off", "")
	if err != nil {
		t.Fatal(err)
	}
	s := KeepEvents(base)
	tid := trace.TraceID{1}
	for _, name := range []string{telemetry.SpanDetection, telemetry.SpanAttack, telemetry.SpanBan, telemetry.SpanConfigApply} {
		if d := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid, Name: name}).Decision; d != sdktrace.RecordAndSample {
			t.Errorf("%s under always_off: %v", name, d)
		}
	}
	for _, name := range []string{telemetry.SpanConnect, telemetry.SpanGate, telemetry.SpanBackendDial, telemetry.SpanLogin, "other"} {
		if d := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid, Name: name}).Decision; d != sdktrace.Drop {
			t.Errorf("%s under always_off: %v, want the base sampler's drop", name, d)
		}
	}
	if s.Description() != "KeepEvents{AlwaysOffSampler}" {
		t.Errorf("description %s", s.Description())
	}
}

// TestKeepEventsFollowsBaseForConnections: under a parent-based ratio,
// children follow their mc.connect parent, and a detection is kept even
// when its connection was dropped.
func TestKeepEventsFollowsBaseForConnections(t *testing.T) {
	base, err := ParseSampler("parentbased_traceidratio", "0")
	if err != nil {
		t.Fatal(err)
	}
	exp := newMemExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(KeepEvents(base)), sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")
	ctx, conn := tr.Start(context.Background(), telemetry.SpanConnect)
	_, gate := tr.Start(ctx, telemetry.SpanGate)
	gate.End()
	conn.End()
	if conn.SpanContext().IsSampled() || !conn.SpanContext().IsValid() {
		t.Errorf("connection under ratio 0: sampled %v, valid %v (a valid context is what detections link to)", conn.SpanContext().IsSampled(), conn.SpanContext().IsValid())
	}
	_, det := tr.Start(context.Background(), telemetry.SpanDetection, trace.WithLinks(trace.Link{SpanContext: conn.SpanContext()}))
	det.End()
	got := exp.names()
	if len(got) != 1 || got[0] != telemetry.SpanDetection {
		t.Errorf("exported %v, want only the detection", got)
	}
}
