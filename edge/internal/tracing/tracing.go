package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/rustguard/rustguard/shared/telemetry"
)

// Exporter retries and reconnects. The exporters' own defaults (first
// retry after 5 s, reconnects backing off to 2 minutes) would leave spans
// waiting long after central is back; these keep that to a few seconds.
const (
	exporterRetryFirst = 500 * time.Millisecond
	exporterRetryMax   = 5 * time.Second
	// exporterRetryTotal bounds the exporter's own retries within one
	// call. The gRPC exporter also ends a call at OTEL_EXPORTER_OTLP_TIMEOUT
	// (10 s by default); the HTTP exporter applies that timeout to each
	// request only, so without this bound a receiver answering 503 would
	// hold the queue for the whole OTEL_BSP_EXPORT_TIMEOUT. After a call
	// fails, the queue retries the batch itself (queue.go).
	exporterRetryTotal = 10 * time.Second
	// grpcReconnectMax caps gRPC's reconnect back-off.
	grpcReconnectMax = 5 * time.Second
	// grpcConnectTimeout bounds one connection attempt.
	grpcConnectTimeout = 5 * time.Second
)

// instrumentation names the edge's tracer.
const instrumentation = "github.com/rustguard/rustguard/edge"

// Options are what the edge knows about itself.
type Options struct {
	Region   string // cloud.region
	Instance string // service.instance.id
	Version  string // service.version
	// Registry receives the queue's metrics; nil: not registered.
	Registry prometheus.Registerer
	Log      *slog.Logger
	// Lookup reads the environment; nil: os.LookupEnv. The OTLP exporter
	// and the resource's OTEL_RESOURCE_ATTRIBUTES are always read from
	// the process environment by the OpenTelemetry SDK itself.
	Lookup Lookup
	// Exporter replaces the OTLP exporter the environment describes, for
	// tests of what the edge exports; nil in production.
	Exporter sdktrace.SpanExporter
}

// Tracing is the edge's tracer provider. A nil *Tracing, or one built
// without an exporter, is off: Tracer returns nil and the edge starts no
// spans at all.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	queue    *queue
	log      *slog.Logger
}

// New reads the OTEL_* variables (ReadSettings) and builds the provider.
// With no exporter configured it returns an off Tracing and no error.
func New(ctx context.Context, o Options) (*Tracing, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	lookup := o.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	s, err := ReadSettings(lookup)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	t := &Tracing{log: o.Log}
	if !s.Export && o.Exporter == nil {
		o.Log.Info("tracing off", "why", s.Why)
		return t, nil
	}
	res, err := newResource(ctx, o)
	if err != nil {
		return nil, err
	}
	exp := o.Exporter
	if exp == nil {
		if exp, err = newExporter(ctx, s.Protocol); err != nil {
			return nil, err
		}
	}
	var constLabels prometheus.Labels
	if o.Region != "" {
		constLabels = prometheus.Labels{"region": o.Region}
	}
	t.queue, err = newQueue(s.Queue, exp, o.Registry, constLabels, o.Log.With("component", "tracing"))
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, err
	}
	sampler := KeepEvents(s.Sampler)
	t.provider = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
		sdktrace.WithSpanProcessor(t.queue),
	)
	t.tracer = t.provider.Tracer(instrumentation, trace.WithInstrumentationVersion(o.Version))
	o.Log.Info("tracing on", "why", s.Why, "protocol", s.Protocol, "sampler", sampler.Description(),
		"batch_delay", s.Queue.ScheduleDelay.String(), "queue", s.Queue.MaxQueueSize, "batch", s.Queue.MaxExportBatchSize,
		"service", serviceName(res))
	return t, nil
}

// newResource describes this edge: service.name (rustguard-edge unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says otherwise),
// service.version, whatever OTEL_RESOURCE_ATTRIBUTES adds (for example
// deployment.environment.name), and cloud.region and service.instance.id
// from the edge's own configuration. Those two always come from the edge:
// central aggregates detections by them, and they must agree with the
// edge's metrics, logs and Consul registration.
func newResource(ctx context.Context, o Options) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String(telemetry.AttrServiceName, telemetry.ServiceEdge),
			attribute.String(telemetry.AttrServiceVersion, o.Version),
		),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(
			attribute.String(telemetry.AttrRegion, o.Region),
			attribute.String(telemetry.AttrServiceInstance, o.Instance),
		),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	if err != nil {
		// A partial resource (an OTEL_RESOURCE_ATTRIBUTES entry that does
		// not parse) is still usable; the SDK says which entry.
		o.Log.Warn("tracing: part of OTEL_RESOURCE_ATTRIBUTES ignored", "err", err)
	}
	env, _ := resource.New(ctx, resource.WithFromEnv())
	for _, k := range []string{telemetry.AttrRegion, telemetry.AttrServiceInstance} {
		if v, ok := env.Set().Value(attribute.Key(k)); ok {
			o.Log.Warn("tracing: OTEL_RESOURCE_ATTRIBUTES sets "+k+"; the edge's own value is used", "ignored", v.Emit())
		}
	}
	return res, nil
}

func serviceName(res *resource.Resource) string {
	v, _ := res.Set().Value(attribute.Key(telemetry.AttrServiceName))
	return v.AsString()
}

// newExporter builds the OTLP exporter for protocol; the exporter reads
// endpoint, headers, TLS, compression and timeout from the environment.
func newExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx,
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true,
				InitialInterval: exporterRetryFirst, MaxInterval: exporterRetryMax, MaxElapsedTime: exporterRetryTotal}),
			otlptracegrpc.WithDialOption(grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: exporterRetryFirst, Multiplier: backoff.DefaultConfig.Multiplier, Jitter: backoff.DefaultConfig.Jitter, MaxDelay: grpcReconnectMax},
				MinConnectTimeout: grpcConnectTimeout,
			})))
	default: // http/protobuf or http/json: the HTTP exporter reads which
		exp, err = otlptracehttp.New(ctx,
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true,
				InitialInterval: exporterRetryFirst, MaxInterval: exporterRetryMax, MaxElapsedTime: exporterRetryTotal}))
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP %s exporter: %w", protocol, err)
	}
	return exp, nil
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.tracer != nil }

// Tracer is the edge's tracer, nil when tracing is off: callers check for
// nil and then skip building spans and their attributes altogether.
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return nil
	}
	return t.tracer
}

// ForceFlush exports what is queued, waiting until ctx ends.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Shutdown exports what is still queued, retrying until ctx ends (spans
// left then are dropped and counted), and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	err := t.provider.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.log.Warn("tracing: shutdown deadline passed before every span was exported (see rustguard_edge_trace_spans_dropped_total)")
	}
	return err
}
