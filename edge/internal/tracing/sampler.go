package tracing

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/telemetry"
)

// KeepEvents wraps a sampler so that the spans central aggregates are
// always sampled: detections, attack reports, bans and configuration
// changes. Every other span (a connection's setup and its steps) is left to
// base. The decision is keyed by span name, the one thing a sampler always
// sees at start; these spans are roots of their own traces (a detection
// links to its connection rather than being its child), so keeping them
// never drags a connection trace the sampler dropped along.
func KeepEvents(base sdktrace.Sampler) sdktrace.Sampler { return keepEvents{base} }

type keepEvents struct{ base sdktrace.Sampler }

// AlwaysSampled reports whether spans named name are kept whatever the
// configured sampler says.
func AlwaysSampled(name string) bool {
	switch name {
	case telemetry.SpanDetection, telemetry.SpanAttack, telemetry.SpanBan, telemetry.SpanConfigApply:
		return true
	}
	return false
}

func (k keepEvents) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if AlwaysSampled(p.Name) {
		return sdktrace.SamplingResult{
			Decision:   sdktrace.RecordAndSample,
			Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState(),
		}
	}
	return k.base.ShouldSample(p)
}

func (k keepEvents) Description() string {
	return "KeepEvents{" + k.base.Description() + "}"
}
