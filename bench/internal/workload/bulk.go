package workload

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/player"
)

// BulkConfig sizes the bulk throughput workload.
type BulkConfig struct {
	Conns    int           // parallel streams
	Warmup   time.Duration // streaming before the measurement window opens
	Duration time.Duration // measurement window
}

// BulkResult is the bulk workload's outcome.
type BulkResult struct {
	Bytes    int64         // wire bytes received in the window, all streams
	Elapsed  time.Duration // length of the window
	ProxyCPU time.Duration // proxy user+system CPU in the window; 0 for direct
	// Allocs is the proxy's heap allocations and relayed frames in the
	// window; zero for targets without a metrics endpoint.
	Allocs Allocs
}

// MBps is the aggregate throughput in MB/s (10^6 bytes).
func (r BulkResult) MBps() float64 {
	return float64(r.Bytes) / bytesPerMB / r.Elapsed.Seconds()
}

// CPUPerGB is proxy CPU seconds per GB (10^9 bytes) forwarded.
func (r BulkResult) CPUPerGB() float64 {
	return r.ProxyCPU.Seconds() / (float64(r.Bytes) / bytesPerGB)
}

// Cores is the proxy's average CPU use in the window, in cores.
func (r BulkResult) Cores() float64 { return r.ProxyCPU.Seconds() / r.Elapsed.Seconds() }

// Bulk logs in cfg.Conns players whose backend streams chunk frames at
// them, lets the streams run for cfg.Warmup, then counts the bytes that
// arrive in cfg.Duration and the proxy CPU and heap allocations spent on
// them.
func Bulk(ctx context.Context, e *Env, cfg BulkConfig) (BulkResult, error) {
	before := e.Backend.Stats()
	sessions, err := loginAll(ctx, e, cfg.Conns, cfg.Conns, backend.BulkPrefix)
	if err != nil {
		return BulkResult{}, fmt.Errorf("bulk: %w", err)
	}
	defer closeAll(sessions)

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		received atomic.Int64
		wg       sync.WaitGroup
		failed   errOnce
	)
	for _, s := range sessions {
		wg.Add(1)
		go func(s *player.Session) {
			defer wg.Done()
			err := s.ReceiveBulk(sctx, e.BulkFrame, func(n int) { received.Add(int64(n)) })
			if err != nil {
				failed.set(err)
				stop()
			}
		}(s)
	}

	var res BulkResult
	err = wait(sctx, cfg.Warmup)
	m0, merr := e.markBulk(sctx, &received)
	if err == nil && merr == nil {
		err = wait(sctx, cfg.Duration)
	}
	m1, merr1 := e.markBulk(sctx, &received)
	stop()
	wg.Wait()
	if ferr := failed.get(); ferr != nil {
		return res, fmt.Errorf("bulk: %w: %w", ErrFailed, ferr)
	}
	for _, merr := range []error{merr, merr1, err} {
		if merr != nil {
			return res, fmt.Errorf("bulk: %w", merr)
		}
	}
	allocs, err := e.closeWindow(ctx, m0.edge, m1.edge)
	if err != nil {
		return res, fmt.Errorf("bulk: proxy allocations: %w", err)
	}
	res = BulkResult{Bytes: m1.bytes - m0.bytes, Elapsed: m1.at.Sub(m0.at), ProxyCPU: m1.cpu - m0.cpu,
		Allocs: allocs}
	if res.Bytes <= 0 {
		return res, fmt.Errorf("bulk: no bytes arrived in %s: %w", res.Elapsed, ErrFailed)
	}
	if err := e.alive(); err != nil {
		return res, fmt.Errorf("bulk: %w: %w", ErrFailed, err)
	}
	return res, e.checkBackend(before)
}

// bulkMark is one end of the bulk measurement window.
type bulkMark struct {
	bytes int64         // bytes received so far, all streams
	cpu   time.Duration // proxy CPU so far
	at    time.Time
	edge  counters // proxy allocations and frames so far
}

// markBulk reads everything the bulk window is the difference of. The
// cheap readings come first and the metrics scrape last, in the same order
// at both ends, so the scrape's few milliseconds shift both ends alike.
func (e *Env) markBulk(ctx context.Context, received *atomic.Int64) (bulkMark, error) {
	m := bulkMark{bytes: received.Load()}
	var err error
	if m.cpu, err = cpuOf(e.PID); err != nil {
		return m, err
	}
	m.at = time.Now()
	if m.edge, err = e.edgeCounters(ctx); err != nil {
		return m, fmt.Errorf("proxy allocations: %w", err)
	}
	return m, nil
}
