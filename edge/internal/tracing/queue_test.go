package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startQueue runs a queue over exp behind an always-sampling provider.
func startQueue(t *testing.T, cfg QueueConfig, exp sdktrace.SpanExporter) (*queue, trace.Tracer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	q, err := newQueue(cfg, exp, reg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	q.retryFirst, q.retryMax = time.Millisecond, 5*time.Millisecond
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(q))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
	})
	return q, tp.Tracer("test"), reg
}

func endSpans(tr trace.Tracer, n int) {
	for i := range n {
		_, s := tr.Start(context.Background(), fmt.Sprintf("s%d", i))
		s.End()
	}
}

func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestQueueBatchesBySize(t *testing.T) {
	exp := newMemExporter()
	q, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 64, MaxExportBatchSize: 4}, exp)
	endSpans(tr, 10)
	if !exp.waitFor(within(t, 10*time.Second), func(m *memExporter) bool { return len(m.spans) == 8 }) {
		t.Fatalf("full batches not sent: %v", exp.batches)
	}
	// The two left wait for the (hour-long) delay, or a flush.
	if err := q.ForceFlush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(exp.batches) != "[4 4 2]" || testutil.ToFloat64(q.exported) != 10 {
		t.Errorf("batches %v, exported %v", exp.batches, testutil.ToFloat64(q.exported))
	}
}

func TestQueueSendsAfterTheDelay(t *testing.T) {
	exp := newMemExporter()
	_, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: 20 * time.Millisecond, ExportTimeout: time.Second, MaxQueueSize: 64, MaxExportBatchSize: 512}, exp)
	endSpans(tr, 3)
	if !exp.waitFor(within(t, 10*time.Second), func(m *memExporter) bool { return len(m.spans) == 3 }) {
		t.Fatalf("a partial batch was not sent after the delay: %v", exp.batches)
	}
}

// TestQueueNeverBlocksAndCountsDrops: with the exporter stuck, ending
// spans still returns at once; what does not fit is dropped and counted,
// and what fit is exported once the exporter moves again.
func TestQueueNeverBlocksAndCountsDrops(t *testing.T) {
	exp := newMemExporter()
	exp.gate = make(chan struct{})
	q, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: 0, ExportTimeout: time.Minute, MaxQueueSize: 8, MaxExportBatchSize: 2}, exp)
	done := make(chan struct{})
	go func() {
		endSpans(tr, 100)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ending spans blocked behind a stuck exporter")
	}
	dropped := testutil.ToFloat64(q.dropped[dropQueueFull])
	waiting := float64(len(q.ch)) + float64(q.held.Load())
	if dropped+waiting != 100 || dropped < 100-8-2 {
		t.Errorf("dropped %v + waiting %v, want 100 with at least 90 dropped", dropped, waiting)
	}
	close(exp.gate) // the exporter moves again
	if !exp.waitFor(within(t, 10*time.Second), func(m *memExporter) bool { return float64(len(m.spans)) == waiting }) {
		t.Errorf("exported %d of the %v that fit", exp.count(), waiting)
	}
}

func TestQueueRetriesABatchUntilDelivered(t *testing.T) {
	exp := newMemExporter()
	exp.fail = func(call int) error {
		if call <= 3 {
			return status.Error(codes.Unavailable, "central is restarting")
		}
		return nil
	}
	q, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: 0, ExportTimeout: time.Second, MaxQueueSize: 64, MaxExportBatchSize: 512}, exp)
	endSpans(tr, 5)
	if !exp.waitFor(within(t, 10*time.Second), func(m *memExporter) bool { return len(m.spans) == 5 }) {
		t.Fatalf("not delivered after the failures: %d", exp.count())
	}
	waitUntil(t, func() bool { return testutil.ToFloat64(q.exported) == 5 }) // counted after the call returns
	if e, x := testutil.ToFloat64(q.errors), testutil.ToFloat64(q.exported); e != 3 || x != 5 {
		t.Errorf("errors %v, exported %v; want 3 and 5", e, x)
	}
	for r, c := range q.dropped {
		if v := testutil.ToFloat64(c); v != 0 {
			t.Errorf("dropped %s: %v", r, v)
		}
	}
}

func TestQueueDropsARefusedBatch(t *testing.T) {
	exp := newMemExporter()
	exp.fail = func(call int) error {
		if call == 1 {
			return fmt.Errorf("export: %w", status.Error(codes.InvalidArgument, "malformed"))
		}
		return nil
	}
	q, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 64, MaxExportBatchSize: 3}, exp)
	endSpans(tr, 3) // refused for good: not retried
	endSpans(tr, 3) // the next batch goes through
	if !exp.waitFor(within(t, 10*time.Second), func(m *memExporter) bool { return len(m.spans) == 3 }) {
		t.Fatal("the batch after a refused one was not sent")
	}
	if r := testutil.ToFloat64(q.dropped[dropRejected]); r != 3 || exp.calls != 2 {
		t.Errorf("rejected %v after %d calls, want 3 after 2", r, exp.calls)
	}
}

func TestQueueGivesUpAfterRetryAge(t *testing.T) {
	exp := newMemExporter()
	exp.fail = func(int) error { return status.Error(codes.Unavailable, "down") }
	q, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: 0, ExportTimeout: time.Second, MaxQueueSize: 64, MaxExportBatchSize: 512}, exp)
	q.retryAge = 50 * time.Millisecond
	endSpans(tr, 4)
	ctx := within(t, 10*time.Second)
	for testutil.ToFloat64(q.dropped[dropExpired]) != 4 {
		if ctx.Err() != nil {
			t.Fatalf("expired %v, want 4", testutil.ToFloat64(q.dropped[dropExpired]))
		}
		exp.waitFor(ctx, func(m *memExporter) bool { return true })
	}
}

func TestQueueShutdownFlushes(t *testing.T) {
	exp := newMemExporter()
	q, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 64, MaxExportBatchSize: 512}, exp)
	endSpans(tr, 5)
	if err := q.Shutdown(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if exp.count() != 5 || !exp.down {
		t.Errorf("after shutdown: %d exported, exporter shut down %v", exp.count(), exp.down)
	}
	endSpans(tr, 1)
	if d := testutil.ToFloat64(q.dropped[dropShutdown]); d != 1 {
		t.Errorf("a span after shutdown: dropped %v", d)
	}
}

// TestQueueShutdownIsBounded: with central unreachable, shutdown still
// returns at its deadline and counts what it could not send.
func TestQueueShutdownIsBounded(t *testing.T) {
	exp := newMemExporter()
	exp.fail = func(int) error { return status.Error(codes.Unavailable, "down") }
	q, tr, _ := startQueue(t, QueueConfig{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 64, MaxExportBatchSize: 512}, exp)
	endSpans(tr, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := q.Shutdown(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v with a 200ms deadline", took)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown: %v", err)
	}
	<-q.done
	if d := testutil.ToFloat64(q.dropped[dropShutdown]); d != 7 {
		t.Errorf("dropped at shutdown %v, want 7", d)
	}
}

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{status.Error(codes.InvalidArgument, "x"), true},
		{fmt.Errorf("max retry time elapsed: %w", status.Error(codes.Unavailable, "x")), false},
		{errors.Join(errors.New("partial"), status.Error(codes.Unauthenticated, "token")), true},
		{status.Error(codes.ResourceExhausted, "x"), false},
		{context.DeadlineExceeded, false},
		{errors.New(`Post "http://127.0.0.1:1/v1/traces": dial tcp 127.0.0.1:1: connect: connection refused`), false},
		{errors.New("failed to send to http://127.0.0.1:1/v1/traces: 400 Bad Request (body: no)"), true},
	} {
		if got := permanent(tc.err); got != tc.want {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// waitUntil polls cond (a metric the export goroutine updates after the
// exporter returned) for up to ten seconds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	ctx := within(t, 10*time.Second)
	for !cond() {
		if ctx.Err() != nil {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
