package tracing

import (
	"context"
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// DetectionSink turns detection events into mc.detection spans (the
// contract with central: telemetry.DetectionAttributes, the event's time as
// the span's, a link to the connection's mc.connect span, always sampled).
// The engine calls it on the connection's goroutine: starting and ending a
// span costs a few microseconds and the queue never blocks.
type DetectionSink struct{ tracer trace.Tracer }

// Detections is the sink for the detection engine, nil when tracing is
// off.
func (t *Tracing) Detections() *DetectionSink {
	if !t.Enabled() {
		return nil
	}
	return &DetectionSink{tracer: t.tracer}
}

// Detect records an event with no connection to link to (a replay).
func (s *DetectionSink) Detect(e *detection.Event) { s.DetectLinked(e, trace.SpanContext{}) }

// DetectLinked records an event of the connection whose mc.connect span
// is conn. The span is a root of its own trace, linked to the connection's:
// the connection's trace may not have been sampled, and the detection must
// be kept either way.
func (s *DetectionSink) DetectLinked(e *detection.Event, conn trace.SpanContext) {
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(),
		trace.WithTimestamp(e.Time),
		trace.WithAttributes(telemetry.DetectionAttributes(e)...),
	}
	if conn.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: conn}))
	}
	_, span := s.tracer.Start(context.Background(), telemetry.SpanDetection, opts...)
	// The span runs from the event's time (when the flagged packet's batch
	// was read) to now (the flag raised): a few microseconds, but never a
	// zero duration, which Jaeger reports as a clock problem.
	span.End()
}

// Ban operations (telemetry.AttrBanOperation).
const (
	BanAdd    = "add"
	BanRemove = "remove"
)

// Ban records a rustguard.ban span: a ban written (op BanAdd: a detection's
// ban action, or an operator's) or lifted (BanRemove; only Kind, Value and
// Source matter then). The value is the ban's as stored: an IPv4 address,
// the masked prefix of a CIDR ban (an IPv6 address is banned as its /64), a
// name or a UUID. Traces may carry addresses; metrics never do.
func (t *Tracing) Ban(op string, b bans.Ban) {
	if !t.Enabled() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String(telemetry.AttrBanOperation, op),
		attribute.String(telemetry.AttrBanKind, b.Kind.String()),
		attribute.String(telemetry.AttrBanValue, b.Value),
		attribute.String(telemetry.AttrBanSource, b.Source),
	}
	if op == BanAdd {
		attrs = append(attrs, attribute.Int64(telemetry.AttrBanDuration, banSeconds(b)))
	}
	_, span := t.tracer.Start(context.Background(), telemetry.SpanBan, trace.WithNewRoot(), trace.WithAttributes(attrs...))
	span.End()
}

// banSeconds is a ban's length in whole seconds (rounded up), 0 when it is
// permanent.
func banSeconds(b bans.Ban) int64 {
	if b.Permanent() {
		return 0
	}
	d := b.Expires.Sub(b.Created)
	if d <= 0 {
		return 1 // already over by the time it was written: not permanent
	}
	return int64(math.Ceil(d.Seconds()))
}

// Configuration results (telemetry.AttrConfigResult).
const (
	ConfigResultApplied       = "applied"
	ConfigResultRefused       = "refused"
	ConfigResultRestartNeeded = "restart_needed"
)

// ConfigApplied records a rustguard.config.apply span: the fleet
// configuration document of version was applied, refused (err says why)
// or applied except for fields that need a restart. For the live
// configuration watcher to call; a no-op when tracing is off.
func (t *Tracing) ConfigApplied(version int64, result string, err error) {
	if !t.Enabled() {
		return
	}
	_, span := t.tracer.Start(context.Background(), telemetry.SpanConfigApply, trace.WithNewRoot(),
		trace.WithAttributes(attribute.Int64(telemetry.AttrConfigVersion, version), attribute.String(telemetry.AttrConfigResult, result)))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
