// Package forward sends every trace central receives, unchanged, to the
// tracing backend (Jaeger) named by the standard OpenTelemetry exporter
// variables (FromEnv).
//
// Forwarding must never make ingest fail: edges retry what aggregation
// could not take, not what the tracing backend could not. So Forward only
// queues: the queue is bounded (in spans), a full queue drops the new
// traces and counts them, and a few workers send batches, merging what
// waits, with retries and exponential back-off for the errors OTLP calls
// retryable. A batch is dropped (and counted) after a permanent error or
// when its retries run out. Nothing configured means no forwarder at all.
package forward

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Queue and retry bounds.
const (
	// QueueSpans bounds the spans waiting to be sent: about three seconds
	// of central's benchmark ingest rate (20,000 spans/s), roughly 100 MB
	// of decoded spans at most. A backend outage longer than that drops
	// spans (counted) rather than growing central's memory.
	QueueSpans = 65536
	// batchSpans is how many waiting spans one export merges: fewer,
	// larger requests when the backend falls behind.
	batchSpans = 4096
	// workers is how many exports run at once: enough to cover a slow
	// round trip, few enough not to swamp a recovering backend.
	workers = 4
	// backoffMin, backoffMax and retryFor shape the retries: the first
	// retry comes quickly (a restarting backend is back within a second
	// or two), later ones spread out, and after retryFor the batch goes
	// (the SDK's exporters give up after a minute; central holds newer
	// spans behind this one).
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	retryFor   = 30 * time.Second
	// maxResponseBytes caps how much of the backend's answer is read.
	maxResponseBytes = 64 << 10
)

// Drop reasons label rustguard_central_spans_forward_dropped_total.
const (
	dropQueueFull = "queue_full"
	dropRejected  = "rejected"
	dropRetries   = "retries_exhausted"
	dropShutdown  = "shutdown"
)

// Options are the forwarder's dependencies.
type Options struct {
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	// RetryFor overrides how long a batch is retried (tests); 0 means
	// retryFor.
	RetryFor time.Duration
}

// Forwarder queues traces and sends them to the backend.
type Forwarder struct {
	cfg      Config
	log      *slog.Logger
	retryFor time.Duration
	send     func(ctx context.Context, td ptrace.Traces) error
	closer   func() error

	mu      sync.Mutex
	queue   []ptrace.Traces
	queued  int // spans in queue
	closed  bool
	notify  chan struct{}
	done    chan struct{}
	stopped sync.WaitGroup
	cancel  context.CancelFunc

	dropWarn logGate

	healthMu  sync.Mutex
	lastErr   error
	failSince time.Time
	up        atomic.Bool

	m metrics
}

// New returns a forwarder for cfg; call Start to send.
func New(cfg Config, o Options) (*Forwarder, error) {
	f := &Forwarder{cfg: cfg, log: o.Log, retryFor: o.RetryFor, notify: make(chan struct{}, 1), done: make(chan struct{})}
	if f.retryFor <= 0 {
		f.retryFor = retryFor
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
		f.cfg.Timeout = defaultTimeout
	}
	switch cfg.Protocol {
	case ProtocolGRPC:
		creds := insecure.NewCredentials()
		if !cfg.Insecure {
			tc := cfg.TLS
			if tc == nil {
				tc = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			creds = credentials.NewTLS(tc)
		}
		opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
		if cfg.Compression == "gzip" {
			opts = append(opts, grpc.WithDefaultCallOptions(grpc.UseCompressor("gzip")))
		}
		cc, err := grpc.NewClient(cfg.Endpoint, opts...)
		if err != nil {
			return nil, fmt.Errorf("forward: %s: %w", cfg, err)
		}
		client := ptraceotlp.NewGRPCClient(cc)
		md := metadata.New(cfg.Headers)
		f.send = func(ctx context.Context, td ptrace.Traces) error {
			if len(md) > 0 {
				ctx = metadata.NewOutgoingContext(ctx, md)
			}
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
			return classifyGRPC(err)
		}
		f.closer = cc.Close
	case ProtocolHTTPProtobuf, ProtocolHTTPJSON:
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.TLS
		tr.MaxIdleConnsPerHost = workers
		hc := &http.Client{Transport: tr}
		f.send = func(ctx context.Context, td ptrace.Traces) error { return sendHTTP(ctx, hc, cfg, td) }
		f.closer = func() error { tr.CloseIdleConnections(); return nil }
	default:
		return nil, fmt.Errorf("forward: protocol %q: want grpc, http/protobuf or http/json", cfg.Protocol)
	}
	var err error
	if f.m, err = newMetrics(o.Registerer, f); err != nil {
		return nil, err
	}
	f.up.Store(true)
	return f, nil
}

// Forward queues td for the backend and returns at once. The forwarder
// owns td from now on. When the queue is full td is dropped and counted.
func (f *Forwarder) Forward(td ptrace.Traces) {
	n := td.SpanCount()
	if n == 0 {
		return
	}
	f.mu.Lock()
	if f.closed || f.queued+n > QueueSpans {
		closed := f.closed
		f.mu.Unlock()
		reason := dropQueueFull
		if closed {
			reason = dropShutdown
		}
		f.m.dropped.WithLabelValues(reason).Add(float64(n))
		return
	}
	f.queue = append(f.queue, td)
	f.queued += n
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// Start runs the workers until Shutdown.
func (f *Forwarder) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	for range workers {
		f.stopped.Go(func() { f.work(ctx) })
	}
}

// Shutdown stops taking traces, sends what is queued until ctx ends, then
// drops the rest (counted) and closes the connection.
func (f *Forwarder) Shutdown(ctx context.Context) {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	close(f.done) // workers drain the queue, then return
	finished := make(chan struct{})
	go func() { f.stopped.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		if f.cancel != nil {
			f.cancel() // abort exports and back-off waits
		}
		<-finished
	}
	if f.cancel != nil {
		f.cancel()
	}
	f.mu.Lock()
	left := f.queued
	f.queue, f.queued = nil, 0
	f.mu.Unlock()
	if left > 0 {
		f.m.dropped.WithLabelValues(dropShutdown).Add(float64(left))
		f.log.Warn("traces not forwarded before shutdown", "spans", left)
	}
	_ = f.closer()
}

// Queued is how many spans wait to be sent.
func (f *Forwarder) Queued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queued
}

// Health reports whether the last export succeeded, and otherwise since
// when exports fail and why.
func (f *Forwarder) Health() (ok bool, detail string) {
	f.healthMu.Lock()
	defer f.healthMu.Unlock()
	if f.lastErr == nil {
		return true, "ok: " + f.cfg.String()
	}
	return false, fmt.Sprintf("failing since %s: %v", f.failSince.UTC().Format(time.RFC3339), f.lastErr)
}

// take removes up to batchSpans spans' worth of queued traces, merged into
// one. It returns false when the queue is empty.
func (f *Forwarder) take() (ptrace.Traces, int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) == 0 {
		return ptrace.Traces{}, 0, false
	}
	td := f.queue[0]
	n := td.SpanCount()
	i := 1
	if len(f.queue) > 1 {
		merged := ptrace.NewTraces()
		td.ResourceSpans().MoveAndAppendTo(merged.ResourceSpans())
		for ; i < len(f.queue); i++ {
			m := f.queue[i].SpanCount()
			if n+m > batchSpans {
				break
			}
			f.queue[i].ResourceSpans().MoveAndAppendTo(merged.ResourceSpans())
			n += m
		}
		td = merged
	}
	clear(f.queue[:i])
	f.queue = f.queue[i:]
	f.queued -= n
	return td, n, true
}

func (f *Forwarder) work(ctx context.Context) {
	for {
		td, n, ok := f.take()
		if !ok {
			select {
			case <-f.notify:
				continue
			case <-f.done:
				if td, n, ok = f.take(); !ok {
					return
				}
			case <-ctx.Done():
				return
			}
		}
		f.deliver(ctx, td, n)
		// Another worker may have been woken for the same signal; make
		// sure someone looks at what is left.
		if f.Queued() > 0 {
			select {
			case f.notify <- struct{}{}:
			default:
			}
		}
	}
}

// deliver sends one batch with retries.
func (f *Forwarder) deliver(ctx context.Context, td ptrace.Traces, n int) {
	start := time.Now()
	backoff := backoffMin
	for {
		sctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
		err := f.send(sctx, td)
		cancel()
		if err == nil {
			f.m.forwarded.Add(float64(n))
			f.setHealth(nil)
			return
		}
		f.setHealth(err)
		var re *retryable
		switch {
		case ctx.Err() != nil:
			f.m.dropped.WithLabelValues(dropShutdown).Add(float64(n))
			return
		case !errors.As(err, &re):
			f.m.dropped.WithLabelValues(dropRejected).Add(float64(n))
			if suppressed, ok := f.dropWarn.allow(time.Now()); ok {
				f.log.Warn("tracing backend refused traces; dropped", "spans", n, "target", f.cfg.String(), "err", err, "suppressed", suppressed)
			}
			return
		case time.Since(start) > f.retryFor:
			f.m.dropped.WithLabelValues(dropRetries).Add(float64(n))
			if suppressed, ok := f.dropWarn.allow(time.Now()); ok {
				f.log.Warn("tracing backend unavailable; traces dropped after retrying", "spans", n, "for", f.retryFor, "target", f.cfg.String(), "err", err, "suppressed", suppressed)
			}
			return
		}
		f.m.retries.Inc()
		wait := backoff/2 + rand.N(backoff/2+1)
		if re.after > wait {
			wait = min(re.after, backoffMax)
		}
		backoff = min(backoff*2, backoffMax)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

func (f *Forwarder) setHealth(err error) {
	f.healthMu.Lock()
	defer f.healthMu.Unlock()
	switch {
	case err == nil && f.lastErr != nil:
		f.log.Info("tracing backend reachable again", "target", f.cfg.String())
		f.lastErr = nil
	case err != nil && f.lastErr == nil:
		f.log.Warn("tracing backend failing; retrying", "target", f.cfg.String(), "err", err)
		f.lastErr, f.failSince = err, time.Now()
	case err != nil:
		f.lastErr = err
	}
	f.up.Store(f.lastErr == nil)
}

// warnEvery spaces out drop warnings, which an outage would repeat for
// every batch: one line per period says how many were left out.
const warnEvery = 10 * time.Second

// logGate lets one line through per warnEvery and counts the rest.
type logGate struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (g *logGate) allow(now time.Time) (suppressed int, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.last) < warnEvery {
		g.suppressed++
		return 0, false
	}
	g.last, suppressed, g.suppressed = now, g.suppressed, 0
	return suppressed, true
}

// retryable marks an error OTLP says to retry, with the server's wish for
// a delay (Retry-After, RetryInfo) if it stated one.
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// classifyGRPC applies OTLP/gRPC's retry rules: the codes below are
// transient; everything else is permanent.
func classifyGRPC(err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss, codes.ResourceExhausted:
		return &retryable{err: err}
	}
	return err
}

func sendHTTP(ctx context.Context, hc *http.Client, cfg Config, td ptrace.Traces) error {
	req := ptraceotlp.NewExportRequestFromTraces(td)
	var body []byte
	var err error
	media := "application/x-protobuf"
	if cfg.Protocol == ProtocolHTTPJSON {
		media = "application/json"
		body, err = req.MarshalJSON()
	} else {
		body, err = req.MarshalProto()
	}
	if err != nil {
		return fmt.Errorf("encode traces: %w", err)
	}
	if cfg.Compression == "gzip" {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = buf.Bytes()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", media)
	if cfg.Compression == "gzip" {
		hreq.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range cfg.Headers {
		hreq.Header.Set(k, v)
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return &retryable{err: err}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("%s: HTTP %s: %.200s", cfg.Endpoint, resp.Status, msg)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		r := &retryable{err: err}
		if s, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil && s > 0 {
			r.after = time.Duration(s) * time.Second
		}
		return r
	}
	return err
}

type metrics struct {
	forwarded prometheus.Counter
	dropped   *prometheus.CounterVec
	retries   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, f *Forwarder) (metrics, error) {
	m := metrics{
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_spans_forwarded_total", Help: "Spans the tracing backend accepted."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_central_spans_forward_dropped_total", Help: "Spans not forwarded, by reason: queue_full, rejected (a permanent error), retries_exhausted, shutdown."},
			[]string{"reason"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_forward_retries_total", Help: "Export attempts to the tracing backend that are retried."}),
	}
	for _, r := range []string{dropQueueFull, dropRejected, dropRetries, dropShutdown} {
		m.dropped.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_central_forward_queue_spans", Help: "Spans waiting to be forwarded."}, func() float64 { return float64(f.Queued()) })
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_central_forward_up", Help: "1 while the last export to the tracing backend succeeded."}, func() float64 {
		if f.up.Load() {
			return 1
		}
		return 0
	})
	for _, c := range []prometheus.Collector{m.forwarded, m.dropped, m.retries, queued, up} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("forward: register metrics: %w", err)
		}
	}
	return m, nil
}
