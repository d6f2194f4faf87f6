package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The edge's tracing counters (edge/internal/tracing). An edge without
// tracing does not expose them, which reads as zero.
const (
	metricSpansExported = "rustguard_edge_trace_spans_exported_total"
	metricSpansDropped  = "rustguard_edge_trace_spans_dropped_total"
)

// Trace is what the edge's span queue did during a window: spans the OTLP
// endpoint accepted and spans dropped (queue full, refused, given up).
// Both are zero for targets without tracing.
type Trace struct {
	Exported, Dropped float64
}

// repeated is one measured window of a repeated operation.
type repeated struct {
	Done     int64         // operations completed in the window
	Elapsed  time.Duration // length of the window
	ProxyCPU time.Duration // proxy user+system CPU in the window; 0 for direct
	Trace    Trace
}

// repeat runs op in workers loops, each iteration a fresh operation with
// its own timeout, and counts those that finish inside the window (after
// warmup, for duration). The first failure stops everything and is
// returned. A machine so loaded that nothing finished in the window keeps
// it open for the first completion (up to timeout), which proves the
// operation works.
func (e *Env) repeat(ctx context.Context, workers int, warmup, duration, timeout time.Duration,
	op func(ctx context.Context, i int, rng *rand.Rand) error) (repeated, error) {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		inWindow atomic.Bool
		done     atomic.Int64
		first    = make(chan struct{}) // closed by the window's first completion
		wg       sync.WaitGroup
		failed   errOnce
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := w; sctx.Err() == nil; i += workers {
				octx, cancel := context.WithTimeout(sctx, timeout)
				err := op(octx, i, rng)
				cancel()
				if err != nil {
					if sctx.Err() != nil {
						return
					}
					failed.set(err)
					stop()
					return
				}
				if inWindow.Load() && done.Add(1) == 1 {
					close(first)
				}
			}
		}()
	}
	var res repeated
	err := wait(sctx, warmup)
	cpu0, cerr := cpuOf(e.PID)
	tr0, terr := e.traceCounters(sctx)
	t0 := time.Now()
	inWindow.Store(true)
	if err == nil {
		err = wait(sctx, duration)
	}
	if err == nil && done.Load() == 0 {
		select {
		case <-first:
		case <-sctx.Done():
			err = sctx.Err()
		case <-time.After(timeout):
		}
	}
	inWindow.Store(false)
	res.Done, res.Elapsed = done.Load(), time.Since(t0)
	cpu1, cerr1 := cpuOf(e.PID)
	tr1, terr1 := e.traceCounters(sctx)
	stop()
	wg.Wait()
	if ferr := failed.get(); ferr != nil {
		if aerr := e.alive(); aerr != nil {
			ferr = fmt.Errorf("%w (%w)", ferr, aerr)
		}
		return res, fmt.Errorf("%w: %w", ErrFailed, ferr)
	}
	for _, e := range []error{err, cerr, cerr1, terr, terr1} {
		if e != nil {
			return res, e
		}
	}
	res.ProxyCPU = cpu1 - cpu0
	res.Trace = Trace{Exported: tr1.Exported - tr0.Exported, Dropped: tr1.Dropped - tr0.Dropped}
	if res.Done == 0 {
		return res, fmt.Errorf("nothing completed in %s: %w", res.Elapsed, ErrFailed)
	}
	return res, nil
}

// traceCounters reads the edge's span counters (zero when it has none).
func (e *Env) traceCounters(ctx context.Context) (Trace, error) {
	if e.MetricsURL == "" {
		return Trace{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.MetricsURL, nil)
	if err != nil {
		return Trace{}, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Trace{}, fmt.Errorf("scrape %s: %w", e.MetricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Trace{}, fmt.Errorf("scrape %s: %s", e.MetricsURL, resp.Status)
	}
	sums, err := sumMetrics(resp.Body, metricSpansExported, metricSpansDropped)
	if errors.Is(err, ErrNoMetric) {
		return Trace{}, nil // tracing is off on this edge
	}
	if err != nil {
		return Trace{}, fmt.Errorf("scrape %s: %w", e.MetricsURL, err)
	}
	return Trace{Exported: sums[metricSpansExported], Dropped: sums[metricSpansDropped]}, nil
}
