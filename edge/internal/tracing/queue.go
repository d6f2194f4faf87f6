package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Retry of a batch the exporter could not deliver. The OTLP exporters
// retry transient failures themselves, within one export call; when a call
// still fails (central is down for longer than that), the queue keeps the
// batch and tries again, while new spans wait behind it in the bounded
// queue. That is how spans survive a restart of central.
const (
	// retryFirstWait is the pause after a batch's first failed export
	// call: short, because the call itself has already retried for up to
	// its timeout.
	retryFirstWait = 500 * time.Millisecond
	// retryMaxWait caps the doubling pause, so spans reach a central that
	// came back within about this long.
	retryMaxWait = 5 * time.Second
	// retryMaxAge is how long one batch is retried before it is dropped:
	// a central that is away this long is not "briefly down", and the
	// queue behind the batch would rather carry newer spans. Outages much
	// shorter than this (a restart, a deploy) lose nothing beyond what
	// overflowed the queue.
	retryMaxAge = 5 * time.Minute
)

// Why a span was dropped: the reason label of
// rustguard_edge_trace_spans_dropped_total.
const (
	dropQueueFull = "queue_full" // the queue was full when the span ended
	dropRejected  = "rejected"   // the receiver refused the batch for good (malformed, unauthorised)
	dropExpired   = "expired"    // retried for retryMaxAge without success
	dropShutdown  = "shutdown"   // still queued when the shutdown deadline passed
)

// queue is the edge's span processor: a bounded channel between the
// goroutines that end spans and one goroutine that exports them in
// batches. Ending a span never waits: when the channel is full the span is
// dropped and counted. It replaces the SDK's batch processor, whose
// queue-full drops are not visible in the edge's metrics and which drops a
// batch its exporter could not deliver.
type queue struct {
	cfg QueueConfig
	exp sdktrace.SpanExporter
	log *slog.Logger

	ch    chan sdktrace.ReadOnlySpan
	flush chan chan struct{}
	stop  chan struct{} // closed by Shutdown
	done  chan struct{} // closed when run returns
	// stopCtx bounds the final drain; set by Shutdown before stop is
	// closed, so run reads it after seeing stop closed.
	stopCtx  context.Context
	stopOnce sync.Once
	held     atomic.Int64 // spans taken from ch but not yet exported or dropped
	failing  bool         // run's own: the last export failed (for the log)

	// Retry pauses and age; fields so tests can shorten them.
	retryFirst, retryMax, retryAge time.Duration

	exported prometheus.Counter
	errors   prometheus.Counter
	dropped  map[string]prometheus.Counter
}

// newQueue starts a queue exporting through exp and registers its
// metrics on reg (nil: not registered).
func newQueue(cfg QueueConfig, exp sdktrace.SpanExporter, reg prometheus.Registerer, constLabels prometheus.Labels, log *slog.Logger) (*queue, error) {
	q := &queue{cfg: cfg, exp: exp, log: log,
		ch: make(chan sdktrace.ReadOnlySpan, cfg.MaxQueueSize), flush: make(chan chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{}),
		retryFirst: retryFirstWait, retryMax: retryMaxWait, retryAge: retryMaxAge,
		dropped: make(map[string]prometheus.Counter)}
	q.exported = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_trace_spans_exported_total", ConstLabels: constLabels,
		Help: "Spans the OTLP endpoint accepted."})
	q.errors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_trace_export_errors_total", ConstLabels: constLabels,
		Help: "Export calls that failed (each after the exporter's own retries); the batch is retried unless refused for good."})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_trace_spans_dropped_total", ConstLabels: constLabels,
		Help: "Spans never exported, by reason: queue_full (the queue was full), rejected (the endpoint refused them for good), expired (undeliverable for 5 minutes), shutdown (still queued when the edge stopped)."},
		[]string{"reason"})
	for _, r := range []string{dropQueueFull, dropRejected, dropExpired, dropShutdown} {
		q.dropped[r] = dropped.WithLabelValues(r)
	}
	length := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_edge_trace_queue_length", ConstLabels: constLabels,
		Help: "Spans waiting for export, including a batch being retried."},
		func() float64 { return float64(len(q.ch)) + float64(q.held.Load()) })
	capacity := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_edge_trace_queue_capacity", ConstLabels: constLabels,
		Help: "The span queue's size (OTEL_BSP_MAX_QUEUE_SIZE); spans ending while it is full are dropped."},
		func() float64 { return float64(cfg.MaxQueueSize) })
	if reg != nil {
		cs := []prometheus.Collector{q.exported, q.errors, dropped, length, capacity}
		for i, c := range cs {
			if err := reg.Register(c); err != nil {
				for _, done := range cs[:i] {
					reg.Unregister(done)
				}
				return nil, fmt.Errorf("tracing: register metrics: %w", err)
			}
		}
	}
	go q.run()
	return q, nil
}

// OnStart implements sdktrace.SpanProcessor.
func (q *queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it queues a sampled span, or
// drops and counts it when the queue is full. It never blocks.
func (q *queue) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if q.stopped() {
		q.dropped[dropShutdown].Inc()
		return
	}
	select {
	case q.ch <- s:
	default:
		q.dropped[dropQueueFull].Inc()
	}
}

// ForceFlush exports everything queued now, waiting until it is done or
// ctx ends.
func (q *queue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flush <- ack:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued, retrying until ctx ends, then drops
// (and counts) the rest and shuts the exporter down. Spans ending after it
// are dropped.
func (q *queue) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() {
		q.stopCtx = ctx
		close(q.stop)
	})
	select {
	case <-q.done:
	case <-ctx.Done():
		// run gives up at the same deadline; the exporter is shut down
		// regardless, which also cancels a call in flight.
	}
	return q.exp.Shutdown(ctx)
}

func (q *queue) stopped() bool {
	select {
	case <-q.stop:
		return true
	default:
		return false
	}
}

// run is the export goroutine.
func (q *queue) run() {
	defer close(q.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, q.cfg.MaxExportBatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	send := func() {
		if armed {
			timer.Stop()
			armed = false
		}
		if len(batch) > 0 {
			q.send(batch)
			clear(batch) // the spans may be collected now
			batch = batch[:0]
		}
		q.held.Store(0)
	}
	// take moves queued spans into batch, sending every full one, until
	// the channel is empty.
	take := func() {
		for {
			select {
			case s := <-q.ch:
				batch = append(batch, s)
				q.held.Store(int64(len(batch)))
				if len(batch) >= q.cfg.MaxExportBatchSize {
					send()
				}
			default:
				return
			}
		}
	}
	for {
		select {
		case s := <-q.ch:
			batch = append(batch, s)
			q.held.Store(int64(len(batch)))
			switch {
			case len(batch) >= q.cfg.MaxExportBatchSize:
				send()
			case q.cfg.ScheduleDelay <= 0:
				take()
				send()
			case !armed:
				timer.Reset(q.cfg.ScheduleDelay)
				armed = true
			}
		case <-timer.C:
			armed = false
			send()
		case ack := <-q.flush:
			take()
			send()
			close(ack)
		case <-q.stop:
			take()
			send()
			// Spans that ended while the last batches went out.
			for len(q.ch) > 0 && q.stopCtx.Err() == nil {
				take()
				send()
			}
			if n := len(q.ch); n > 0 {
				q.dropped[dropShutdown].Add(float64(n))
			}
			return
		}
	}
}

// send exports one batch, retrying it while the failure may pass (see
// retryMaxAge). It returns when the batch is delivered or dropped.
func (q *queue) send(batch []sdktrace.ReadOnlySpan) {
	first := time.Now()
	wait := q.retryFirst
	for attempt := 1; ; attempt++ {
		parent := context.Background()
		if q.stopped() {
			parent = q.stopCtx
		}
		ctx, cancel := context.WithTimeout(parent, q.cfg.ExportTimeout)
		err := q.exp.ExportSpans(ctx, batch)
		cancel()
		if err == nil {
			q.exported.Add(float64(len(batch)))
			if q.failing {
				q.failing = false
				q.log.Info("span export recovered", "attempts", attempt)
			}
			return
		}
		q.errors.Inc()
		switch {
		case permanent(err):
			q.dropped[dropRejected].Add(float64(len(batch)))
			q.log.Warn("span export refused; batch dropped", "spans", len(batch), "err", err)
			return
		case time.Since(first) >= q.retryAge:
			q.dropped[dropExpired].Add(float64(len(batch)))
			q.log.Warn("span export failing for too long; batch dropped", "spans", len(batch), "for", time.Since(first).Round(time.Second).String(), "err", err)
			return
		case q.stopped() && q.stopCtx.Err() != nil:
			q.dropped[dropShutdown].Add(float64(len(batch)))
			return
		}
		if !q.failing {
			q.failing = true
			q.log.Warn("span export failing; spans wait in the queue and are retried", "err", err,
				"queued", len(q.ch)+len(batch), "capacity", q.cfg.MaxQueueSize)
		} else {
			q.log.Debug("span export failed again", "attempt", attempt, "err", err)
		}
		// Wait before the next attempt; a shutdown cuts the wait short
		// (one more try, within the shutdown's deadline).
		var cut <-chan struct{} = q.stop
		if q.stopped() {
			cut = q.stopCtx.Done() // nil for a context without deadline: wait out the pause
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-cut:
			t.Stop()
		}
		wait = min(2*wait, q.retryMax)
	}
}

// permanent reports whether an export error means the receiver refused the
// batch for good, so retrying it cannot help: a gRPC status the OTLP
// specification calls non-retryable, or the HTTP exporter's answer to a
// 4xx other than 429 ("failed to send to …"; 429, 502, 503 and 504 it
// retries itself and reports differently). Transport errors (connection
// refused, a deadline) are not permanent: central may just be restarting.
func permanent(err error) bool {
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.InvalidArgument, codes.Unauthenticated, codes.PermissionDenied, codes.Unimplemented,
			codes.NotFound, codes.FailedPrecondition:
			return true
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return strings.Contains(err.Error(), "failed to send to ")
}
