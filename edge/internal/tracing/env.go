package tracing

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The exporter protocols OTEL_EXPORTER_OTLP_PROTOCOL may name.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolHTTPJSON     = "http/json"
)

// Queue defaults: the batch span processor's standard knobs
// (OTEL_BSP_*), with the edge's own schedule delay.
const (
	// DefaultScheduleDelay is how long the first span of a batch waits for
	// company before the batch is sent. The SDK's default is 5 s; the
	// edge's is short because detection spans are what central
	// aggregates, and the fleet's target is a detection visible in
	// central's API within 2 s (p99). 200 ms leaves central most of that
	// budget and still costs at most five export calls a second.
	DefaultScheduleDelay = 200 * time.Millisecond
	// DefaultExportTimeout bounds one export call, retries included (the
	// SDK's default).
	DefaultExportTimeout = 30 * time.Second
	// DefaultMaxQueueSize is how many finished spans wait for export (the
	// SDK's default). Spans are about 1 KiB each, so about 2 MiB; at the
	// default batch delay it holds several seconds of a login flood, and
	// minutes of detections while central is unreachable.
	DefaultMaxQueueSize = 2048
	// DefaultMaxExportBatchSize is the most spans one export call carries
	// (the SDK's default).
	DefaultMaxExportBatchSize = 512
	// MaxQueueSizeLimit refuses a queue that could hold more than about
	// 256 MiB of spans: a typo in OTEL_BSP_MAX_QUEUE_SIZE must not let the
	// edge's memory grow with an outage.
	MaxQueueSizeLimit = 1 << 18
)

// QueueConfig sets the bounded span queue (OTEL_BSP_*).
type QueueConfig struct {
	ScheduleDelay      time.Duration // OTEL_BSP_SCHEDULE_DELAY (ms)
	ExportTimeout      time.Duration // OTEL_BSP_EXPORT_TIMEOUT (ms)
	MaxQueueSize       int           // OTEL_BSP_MAX_QUEUE_SIZE
	MaxExportBatchSize int           // OTEL_BSP_MAX_EXPORT_BATCH_SIZE (at most MaxQueueSize)
}

// DefaultQueueConfig returns the defaults above.
func DefaultQueueConfig() QueueConfig {
	return QueueConfig{ScheduleDelay: DefaultScheduleDelay, ExportTimeout: DefaultExportTimeout,
		MaxQueueSize: DefaultMaxQueueSize, MaxExportBatchSize: DefaultMaxExportBatchSize}
}

// Settings is what the edge reads from the OTEL_* variables itself. The
// OTLP exporters read the rest (endpoint, headers, TLS, compression,
// timeout) on their own, exactly as documented for the OpenTelemetry Go
// SDK.
type Settings struct {
	// Export is true when traces go somewhere: OTEL_TRACES_EXPORTER is
	// otlp, or it is unset and an OTLP endpoint variable is set.
	Export bool
	// Why says how Export was decided, for the start-up log.
	Why string
	// Protocol is grpc, http/protobuf or http/json.
	Protocol string
	// Sampler is the configured sampler (OTEL_TRACES_SAMPLER and _ARG),
	// before the wrapper that keeps detections.
	Sampler sdktrace.Sampler
	Queue   QueueConfig
}

// Lookup reads one environment variable (os.LookupEnv).
type Lookup func(key string) (string, bool)

// ReadSettings reads the OTEL_* variables the edge interprets itself. A
// value that does not parse is refused with the variable and the reason,
// like every other setting of the edge: a typo must not quietly turn
// detections off.
func ReadSettings(env Lookup) (Settings, error) {
	get := func(k string) string {
		v, _ := env(k)
		return strings.TrimSpace(v)
	}
	var s Settings
	var errs []error

	exporters := strings.ToLower(get("OTEL_TRACES_EXPORTER"))
	endpoint := get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
	switch {
	case strings.EqualFold(get("OTEL_SDK_DISABLED"), "true"):
		s.Why = "OTEL_SDK_DISABLED=true"
	case exporters == "":
		s.Export = endpoint
		s.Why = "no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
		if endpoint {
			s.Why = "an OTLP endpoint is set"
		}
	default:
		for _, e := range strings.Split(exporters, ",") {
			switch strings.TrimSpace(e) {
			case "otlp":
				s.Export = true
			case "none":
			default:
				errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: %q is not supported (want otlp or none)", exporters, strings.TrimSpace(e)))
			}
		}
		s.Why = "OTEL_TRACES_EXPORTER=" + exporters
	}

	s.Protocol = ProtocolHTTPProtobuf // the OTLP specification's default
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := get(k); v != "" {
			switch v {
			case ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON:
				s.Protocol = v
			default:
				errs = append(errs, fmt.Errorf("%s=%q: want grpc, http/protobuf or http/json", k, v))
			}
			break
		}
	}

	sampler, err := ParseSampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))
	if err != nil {
		errs = append(errs, err)
	}
	s.Sampler = sampler

	s.Queue = DefaultQueueConfig()
	millis := func(k string, dst *time.Duration, min int64) {
		v := get(k)
		if v == "" {
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > int64(time.Hour/time.Millisecond) {
			errs = append(errs, fmt.Errorf("%s=%q: want whole milliseconds from %d to 3600000", k, v, min))
			return
		}
		*dst = time.Duration(n) * time.Millisecond
	}
	count := func(k string, dst *int) {
		v := get(k)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxQueueSizeLimit {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number from 1 to %d", k, v, MaxQueueSizeLimit))
			return
		}
		*dst = n
	}
	millis("OTEL_BSP_SCHEDULE_DELAY", &s.Queue.ScheduleDelay, 0)
	millis("OTEL_BSP_EXPORT_TIMEOUT", &s.Queue.ExportTimeout, 1)
	count("OTEL_BSP_MAX_QUEUE_SIZE", &s.Queue.MaxQueueSize)
	count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &s.Queue.MaxExportBatchSize)
	// The specification: a batch larger than the queue is the queue.
	s.Queue.MaxExportBatchSize = min(s.Queue.MaxExportBatchSize, s.Queue.MaxQueueSize)
	return s, errors.Join(errs...)
}

// DefaultConnectionRatio is the share of connection setups traced when
// OTEL_TRACES_SAMPLER is not set. Tracing every login costs the edge a
// fifth to a half more CPU per login (five spans built, then encoded and
// sent: docs/TELEMETRY.md has the numbers), which a bot flood of thousands
// of logins a second would turn against the edge; one in a hundred shows
// how setups go, at a cost lost in the noise. Detections,
// attack reports, bans and configuration changes are kept whatever the
// ratio. OTEL_TRACES_SAMPLER=always_on traces every login.
const DefaultConnectionRatio = 0.01

// ParseSampler builds the sampler OTEL_TRACES_SAMPLER names, with
// OTEL_TRACES_SAMPLER_ARG as the ratio of the traceidratio samplers
// (default 1, as the specification says). Empty is the edge's default,
// parentbased_traceidratio with the ratio from OTEL_TRACES_SAMPLER_ARG, or
// DefaultConnectionRatio without one. The edge parses these itself, rather
// than letting the SDK do it, because it wraps the result (KeepEvents).
func ParseSampler(name, arg string) (sdktrace.Sampler, error) {
	ratio := 1.0
	if name == "" {
		ratio = DefaultConnectionRatio
	}
	ratioUsed := name == "" || name == "traceidratio" || name == "parentbased_traceidratio"
	if ratioUsed && arg != "" {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1 for %s", arg, cmp.Or(name, "the default sampler"))
		}
		ratio = r
	}
	switch name {
	case "", "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", name)
}
