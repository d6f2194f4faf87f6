// Package ingest receives the edges' traces over OTLP, gRPC and HTTP, and
// is central's trust boundary: forged detections could get honest players
// banned by the correlation policy.
//
// Data enters as OTLP export requests and leaves three ways:
//
//   - detection events (mc.detection spans, telemetry.DecodeDetection) and
//     attack reports (rustguard.attack spans, telemetry.DecodeAttack), as a
//     report.Batch handed to the Sink (aggregation and correlation);
//   - the whole request, unchanged, handed to the Forwarder (the tracing
//     backend), only once the Sink has taken the batch;
//   - the answer to the exporter, following OTLP's rules so that exporters
//     retry exactly what can succeed: a Sink failure (Redis down) is
//     retryable (gRPC Unavailable, HTTP 503); a malformed or oversized
//     request is permanent (InvalidArgument, HTTP 400/413); spans that do
//     not decode are rejected one by one in a partial success while the
//     rest is kept.
//
// With a token, every request must carry "Authorization: Bearer <token>"
// (edges set it through OTEL_EXPORTER_OTLP_HEADERS); it is checked before
// the body is read (gRPC: in the transport's tap, before the message is
// decoded) and compared in constant time. Sizes are capped before decoding:
// request bytes (compressed and decompressed), and the number of resource,
// scope and span entries, counted on the wire for protobuf.
package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// Bounds on what one request may make central hold.
const (
	// MaxRequestBytes caps a request body, after decompression: gRPC's own
	// default receive limit. An edge's batch (512 spans by default,
	// OTEL_BSP_MAX_EXPORT_BATCH_SIZE) is well under 1 MB.
	MaxRequestBytes = 4 << 20
	// MaxSpansPerRequest caps the spans of one request: 16 times the
	// SDK's default batch, room for edges that raise the batch size.
	MaxSpansPerRequest = 8192
	// maxEntries caps resource, scope and span entries together, counted
	// on the wire before decoding: an empty entry costs two bytes to send
	// and a hundred to hold, so a request of empty entries must not reach
	// the decoder.
	maxEntries = 2 * MaxSpansPerRequest
	// acceptTimeout bounds the Sink's work for one request (one pipelined
	// Redis round trip or two); the exporter retries after a timeout.
	acceptTimeout = 5 * time.Second
	// maxClockSkew is how far in the future a detection may claim to be:
	// edges run NTP; more is a broken clock or a forgery.
	maxClockSkew = 5 * time.Minute
	// MaxEventAge is how old a detection may be on arrival: an edge's
	// export queue is in memory and its retries give up within minutes,
	// so a day-old detection is a replay. It is also the longest
	// correlation window (config.Correlation).
	MaxEventAge = 24 * time.Hour
	// maxMessageLen caps the error text of a partial success or a refusal.
	maxMessageLen = 256
	// maxRegionLen matches the edge's region validation.
	maxRegionLen = 64
)

// Sink takes what central decoded from one request. An error means the
// batch was not (entirely) stored and the exporter should retry it; the
// Sink must make a retry harmless (idempotent by span).
type Sink interface {
	Accept(ctx context.Context, b *report.Batch) error
}

// Forwarder takes a received request's traces, unchanged, for the tracing
// backend. It must not block, and it owns td afterwards.
type Forwarder interface {
	Forward(td ptrace.Traces)
}

// Options are the receiver's dependencies.
type Options struct {
	Sink    Sink      // required
	Forward Forwarder // nil: no forwarding
	// Token, when set, must come as "Authorization: Bearer <token>".
	Token      string
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time
}

// Receiver decodes OTLP trace requests; serve it with GRPCServer and
// HTTPHandler.
type Receiver struct {
	sink    Sink
	forward Forwarder
	token   [sha256.Size]byte
	hasTok  bool
	log     *slog.Logger
	now     func() time.Time
	m       metrics
}

// New returns a receiver.
func New(o Options) (*Receiver, error) {
	if o.Sink == nil {
		return nil, errors.New("ingest: Options.Sink is required")
	}
	r := &Receiver{sink: o.Sink, forward: o.Forward, log: o.Log, now: o.Now}
	if o.Token != "" {
		r.token, r.hasTok = sha256.Sum256([]byte(o.Token)), true
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	var err error
	if r.m, err = newMetrics(o.Registerer); err != nil {
		return nil, err
	}
	return r, nil
}

// authorized checks an Authorization header value. Both sides are hashed
// first, so the comparison takes the same time whatever the length of the
// guess.
func (r *Receiver) authorized(header string) bool {
	if !r.hasTok {
		return true
	}
	const scheme = "Bearer "
	got := ""
	if len(header) > len(scheme) && header[:len(scheme)] == scheme {
		got = header[len(scheme):]
	}
	h := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(h[:], r.token[:]) == 1 && got != ""
}

// Error kinds of export, which the transports map to OTLP's codes.
var (
	// errPermanent: the request can never succeed; do not retry.
	errPermanent = errors.New("permanent")
	// errRetryable: central cannot take the request now; retry later.
	errRetryable = errors.New("retryable")
)

// result is the outcome of one export.
type result struct {
	rejected int64  // spans refused one by one (partial success)
	message  string // why, for the exporter's log
}

// export handles one decoded request: it decodes the spans central acts
// on, hands the batch to the Sink and, once the Sink has it, the traces to
// the Forwarder. transport labels metrics ("grpc" or "http").
func (r *Receiver) export(ctx context.Context, transport string, td ptrace.Traces) (result, error) {
	n := td.SpanCount()
	r.m.spans.WithLabelValues(transport).Add(float64(n))
	if n == 0 {
		return result{}, nil
	}
	if n > MaxSpansPerRequest {
		r.m.errors.WithLabelValues("too_many_spans").Inc()
		return result{}, fmt.Errorf("%w: %d spans in one request, at most %d", errPermanent, n, MaxSpansPerRequest)
	}
	var b report.Batch
	res := r.decode(td, &b)
	if res.rejected > 0 {
		r.m.rejected.Add(float64(res.rejected))
		r.m.errors.WithLabelValues("invalid_span").Add(float64(res.rejected))
		r.log.Debug("rejected spans", "transport", transport, "rejected", res.rejected, "err", res.message)
	}
	if !b.Empty() {
		actx, cancel := context.WithTimeout(ctx, acceptTimeout)
		err := r.sink.Accept(actx, &b)
		cancel()
		if err != nil {
			r.m.errors.WithLabelValues("unavailable").Inc()
			r.log.Warn("could not store a batch; the exporter will retry", "transport", transport,
				"detections", len(b.Detections), "attacks", len(b.Attacks), "err", err)
			// The exporter hears only that it may retry: the cause names
			// central's internals (addresses of Redis) and is in the log.
			return result{}, fmt.Errorf("%w: central cannot store detections right now; retry later", errRetryable)
		}
		r.m.detections.Add(float64(len(b.Detections)))
		r.m.attacks.Add(float64(len(b.Attacks)))
	}
	if r.forward != nil {
		r.forward.Forward(td)
	}
	return res, nil
}

// decode walks the request and fills b with the detections and attack
// reports it holds. Other spans are only forwarded. A span central should
// act on but cannot decode is rejected: it counts in the result, and the
// first reason is kept for the exporter.
func (r *Receiver) decode(td ptrace.Traces, b *report.Batch) result {
	var res result
	reject := func(err error) {
		res.rejected++
		if res.message == "" {
			res.message = cut(err.Error())
		}
	}
	now := r.now()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resource := attrs(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				switch span.Name() {
				case telemetry.SpanDetection:
					d, err := decodeDetection(resource, span, now)
					if err != nil {
						reject(err)
						continue
					}
					b.Detections = append(b.Detections, d)
				case telemetry.SpanAttack:
					a, err := decodeAttack(resource, span, now)
					if err != nil {
						reject(err)
						continue
					}
					b.Attacks = append(b.Attacks, a)
				}
			}
		}
	}
	if res.rejected > 0 {
		res.message = cut(fmt.Sprintf("%d span(s) rejected; first: %s", res.rejected, res.message))
	}
	return res
}

func decodeDetection(resource attrs, span ptrace.Span, now time.Time) (report.Detection, error) {
	start := span.StartTimestamp().AsTime()
	ev, err := telemetry.DecodeDetection(span.Name(), resource, attrs(span.Attributes()), start)
	if err != nil {
		return report.Detection{}, err
	}
	if err := checkSpan(span, ev.Region, start, now); err != nil {
		return report.Detection{}, fmt.Errorf("detection span: %w", err)
	}
	if ev.ClientAddr != "" {
		a, err := netip.ParseAddr(ev.ClientAddr)
		if err != nil {
			return report.Detection{}, fmt.Errorf("detection span: %s %q is not an IP address", telemetry.AttrClientAddress, ev.ClientAddr)
		}
		ev.ClientAddr = a.Unmap().WithZone("").String()
	}
	if ev.Authenticated && ev.UUID == "" {
		return report.Detection{}, errors.New("detection span: authenticated without a player UUID")
	}
	return report.Detection{Event: normalizeEvent(ev), TraceID: span.TraceID().String(), SpanID: span.SpanID().String()}, nil
}

// normalizeEvent puts the fields central keys on into one form: a UUID in
// lower case (edges send the dashed form).
func normalizeEvent(ev detection.Event) detection.Event {
	ev.UUID = lowerASCII(ev.UUID)
	return ev
}

func decodeAttack(resource attrs, span ptrace.Span, now time.Time) (report.Attack, error) {
	start := span.StartTimestamp().AsTime()
	a, err := telemetry.DecodeAttack(span.Name(), resource, attrs(span.Attributes()), start)
	if err != nil {
		return report.Attack{}, err
	}
	if err := checkSpan(span, a.Region, start, now); err != nil {
		return report.Attack{}, fmt.Errorf("attack span: %w", err)
	}
	return report.Attack{AttackReport: a, TraceID: span.TraceID().String(), SpanID: span.SpanID().String()}, nil
}

// checkSpan wants what central keys on: span and trace ids (a retried
// batch is recognised by them), a region of the edge's shape, and a time
// within the bounds an honest edge can produce.
func checkSpan(span ptrace.Span, region string, start, now time.Time) error {
	if span.TraceID().IsEmpty() || span.SpanID().IsEmpty() {
		return errors.New("trace or span id is empty")
	}
	if !validRegion(region) {
		return fmt.Errorf("%s %q must be 1 to %d letters, digits, '-', '_' or '.'", telemetry.AttrRegion, cut(region), maxRegionLen)
	}
	switch {
	case start.After(now.Add(maxClockSkew)):
		return fmt.Errorf("start time %s is more than %v ahead of central's clock", start.UTC().Format(time.RFC3339), maxClockSkew)
	case start.Before(now.Add(-MaxEventAge)):
		return fmt.Errorf("start time %s is older than %v", start.UTC().Format(time.RFC3339), MaxEventAge)
	}
	return nil
}

// validRegion applies the edge's rule for region names (shared/config).
func validRegion(v string) bool {
	ok := v != "" && len(v) <= maxRegionLen
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return ok
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// cut shortens an error text for a response; the text may quote
// attacker-chosen values.
func cut(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	i := maxMessageLen
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}

// attrs adapts a pdata attribute map to telemetry.Attributes.
type attrs pcommon.Map

// Get implements telemetry.Attributes. A value of a type the decoder does
// not read (bytes, a map, a list) is returned as its string form, so a
// typed field holding one fails to decode instead of reading as missing.
func (a attrs) Get(key string) (any, bool) {
	v, ok := pcommon.Map(a).Get(key)
	if !ok {
		return nil, false
	}
	return value(v), true
}

// Range implements telemetry.Attributes.
func (a attrs) Range(f func(string, any) bool) {
	pcommon.Map(a).Range(func(k string, v pcommon.Value) bool { return f(k, value(v)) })
}

func value(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeEmpty:
		return ""
	}
	return "<" + v.Type().String() + ">"
}

type metrics struct {
	spans      *prometheus.CounterVec
	rejected   prometheus.Counter
	errors     *prometheus.CounterVec
	detections prometheus.Counter
	attacks    prometheus.Counter
}

// errorReasons label rustguard_central_ingest_errors_total.
var errorReasons = []string{"unauthenticated", "too_large", "too_many_spans", "malformed", "unsupported_media_type", "invalid_span", "unavailable"}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_central_spans_received_total", Help: "Spans received over OTLP, by transport (grpc, http)."}, []string{"transport"}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_spans_rejected_total", Help: "Detection and attack spans refused one by one (partial success): malformed, out of bounds, or without ids."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_central_ingest_errors_total", Help: "OTLP requests or spans central refused or could not take, by reason: " +
				"unauthenticated, too_large, too_many_spans, malformed, unsupported_media_type, invalid_span (per span), unavailable (retryable: Redis)."},
			[]string{"reason"}),
		detections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_detection_spans_total", Help: "Detection spans decoded and handed to aggregation (retries of a batch included; rustguard_central_detections_ingested_total counts each detection once)."}),
		attacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_attack_reports_total", Help: "Attack-mode reports decoded from the edges' spans."}),
	}
	for _, t := range []string{"grpc", "http"} {
		m.spans.WithLabelValues(t)
	}
	for _, r := range errorReasons {
		m.errors.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.spans, m.rejected, m.errors, m.detections, m.attacks} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("ingest: register metrics: %w", err)
		}
	}
	return m, nil
}
