// Package report holds what central learns from one OTLP request: the
// detection events and attack reports decoded from the edges' spans, each
// with the span's identity. Ingest produces a Batch; the aggregator stores
// it and the correlator judges it. The types live here, apart from all
// three, so none of them imports another.
package report

import (
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// Detection is one detection event with the span it came from.
type Detection struct {
	detection.Event
	TraceID string `json:"trace_id"` // 32 lower-case hex digits
	SpanID  string `json:"span_id"`  // 16 lower-case hex digits
}

// Attack is one attack report with the span it came from.
type Attack struct {
	telemetry.AttackReport
	TraceID string
	SpanID  string
}

// Batch is everything central decoded from one request.
type Batch struct {
	Detections []Detection
	Attacks    []Attack
}

// Empty reports whether the batch carries nothing central acts on.
func (b *Batch) Empty() bool { return len(b.Detections) == 0 && len(b.Attacks) == 0 }
