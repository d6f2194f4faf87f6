// Package tracing is the edge's OpenTelemetry tracer provider: the
// resource that says which edge a span comes from, the sampler, and the
// bounded queue that carries finished spans to an OTLP endpoint (the
// central service, or any collector) without ever slowing a player down.
//
// Everything is configured by the standard OTEL_* variables
// (docs/TELEMETRY.md): with no exporter configured, New returns a Tracing
// whose Tracer is nil and the rest of the edge skips every span, so
// tracing that is off costs nothing on the data path.
//
// Spans named telemetry.SpanDetection, SpanAttack, SpanBan and
// SpanConfigApply are always sampled, whatever OTEL_TRACES_SAMPLER says:
// they are what central aggregates. Connection spans follow the sampler.
//
// Metrics stay Prometheus: the queue counts what it exported, dropped and
// failed on the edge's registry; there is no OpenTelemetry metrics SDK.
package tracing
