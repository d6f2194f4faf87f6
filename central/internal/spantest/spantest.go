// Package spantest builds the spans an edge sends, for central's tests and
// load tool: detection and attack spans with the shared attribute mapping
// (shared/telemetry), on a resource with the edge's region and instance,
// sent through the real OpenTelemetry exporters or as OTLP requests.
package spantest

import (
	"context"
	"crypto/rand"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// Edge is the sender: its region and instance id go on the resource.
type Edge struct {
	Region   string
	Instance string
}

// Resource is the edge's OpenTelemetry resource.
func (e Edge) Resource() *resource.Resource {
	return resource.NewSchemaless(
		attribute.String(telemetry.AttrServiceName, telemetry.ServiceEdge),
		attribute.String(telemetry.AttrServiceInstance, e.Instance),
		attribute.String(telemetry.AttrRegion, e.Region),
	)
}

// Event returns a detection event of the current schema.
func Event(check string, action detection.Action, player, uuid, addr string, authenticated bool, at time.Time) detection.Event {
	return detection.Event{
		Schema: detection.SchemaVersion, Check: check, Layer: 2, Severity: detection.SeverityHigh, Action: action, VL: 4,
		Player: player, UUID: uuid, Authenticated: authenticated, ClientAddr: addr, Protocol: 769, Brand: "vanilla",
		Session: "s1", Details: map[string]string{"value": "x"}, Time: at,
	}
}

// IDs returns a fresh random span context (sampled).
func IDs() trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	_, _ = rand.Read(tid[:])
	_, _ = rand.Read(sid[:])
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}

// Detection is the mc.detection span of ev as the edge makes it, with the
// given span context (IDs() for a fresh one).
func (e Edge) Detection(ev detection.Event, sc trace.SpanContext) tracetest.SpanStub {
	return tracetest.SpanStub{
		Name: telemetry.SpanDetection, SpanContext: sc, StartTime: ev.Time, EndTime: ev.Time,
		Attributes: telemetry.DetectionAttributes(&ev), Resource: e.Resource(),
		InstrumentationScope: instrumentation.Scope{Name: "rustguard-edge"},
	}
}

// Attack is an attack report span.
func (e Edge) Attack(active bool, joinsPerSecond float64, failed int64, shape string, shapeCount int64, at time.Time) tracetest.SpanStub {
	return tracetest.SpanStub{
		Name: telemetry.SpanAttack, SpanContext: IDs(), StartTime: at, EndTime: at,
		Attributes: []attribute.KeyValue{
			attribute.Bool(telemetry.AttrAttackActive, active),
			attribute.Float64(telemetry.AttrAttackJoinsPerSec, joinsPerSecond),
			attribute.Int64(telemetry.AttrAttackFailedVerify, failed),
			attribute.String(telemetry.AttrAttackNameShape, shape),
			attribute.Int64(telemetry.AttrAttackNameShapeHits, shapeCount),
		},
		Resource: e.Resource(), InstrumentationScope: instrumentation.Scope{Name: "rustguard-edge"},
	}
}

// Connect is a plain mc.connect span (central only forwards those).
func (e Edge) Connect(at time.Time) tracetest.SpanStub {
	return tracetest.SpanStub{
		Name: telemetry.SpanConnect, SpanContext: IDs(), StartTime: at, EndTime: at.Add(time.Millisecond),
		Attributes: []attribute.KeyValue{attribute.String(telemetry.AttrOutcome, "relayed")},
		Resource:   e.Resource(), InstrumentationScope: instrumentation.Scope{Name: "rustguard-edge"},
	}
}

// Export sends spans through an SDK exporter, as the edge's batch
// processor does.
func Export(ctx context.Context, exp sdktrace.SpanExporter, spans ...tracetest.SpanStub) error {
	return exp.ExportSpans(ctx, tracetest.SpanStubs(spans).Snapshots())
}

// noRetry makes an exporter report the first failure, so a test sees the
// answer central gave.
var noRetryGRPC = otlptracegrpc.RetryConfig{Enabled: false}
var noRetryHTTP = otlptracehttp.RetryConfig{Enabled: false}

// GRPCExporter is the SDK's OTLP/gRPC exporter for addr (host:port),
// without retries, sending token as the edges do ("" for none).
func GRPCExporter(ctx context.Context, addr, token string) (*otlptrace.Exporter, error) {
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(), otlptracegrpc.WithRetry(noRetryGRPC)}
	if token != "" {
		opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	return otlptracegrpc.New(ctx, opts...)
}

// HTTPExporter is the SDK's OTLP/HTTP (protobuf) exporter for addr.
func HTTPExporter(ctx context.Context, addr, token string) (*otlptrace.Exporter, error) {
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure(), otlptracehttp.WithRetry(noRetryHTTP)}
	if token != "" {
		opts = append(opts, otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	return otlptracehttp.New(ctx, opts...)
}

// Traces builds OTLP traces (pdata) holding spans, grouped by resource as
// an exporter would, for the ptraceotlp clients and the fuzz seeds.
func Traces(spans ...tracetest.SpanStub) ptrace.Traces {
	td := ptrace.NewTraces()
	byRes := map[attribute.Distinct]ptrace.SpanSlice{}
	for _, s := range spans {
		ss, ok := byRes[s.Resource.Equivalent()]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			for _, kv := range s.Resource.Attributes() {
				putAttr(rs.Resource().Attributes(), kv)
			}
			sc := rs.ScopeSpans().AppendEmpty()
			sc.Scope().SetName(s.InstrumentationScope.Name)
			ss = sc.Spans()
			byRes[s.Resource.Equivalent()] = ss
		}
		sp := ss.AppendEmpty()
		sp.SetName(s.Name)
		sp.SetTraceID(pcommon.TraceID(s.SpanContext.TraceID()))
		sp.SetSpanID(pcommon.SpanID(s.SpanContext.SpanID()))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.StartTime))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.EndTime))
		for _, kv := range s.Attributes {
			putAttr(sp.Attributes(), kv)
		}
	}
	return td
}

func putAttr(m pcommon.Map, kv attribute.KeyValue) {
	k := string(kv.Key)
	switch kv.Value.Type() {
	case attribute.BOOL:
		m.PutBool(k, kv.Value.AsBool())
	case attribute.INT64:
		m.PutInt(k, kv.Value.AsInt64())
	case attribute.FLOAT64:
		m.PutDouble(k, kv.Value.AsFloat64())
	default:
		m.PutStr(k, kv.Value.Emit())
	}
}
