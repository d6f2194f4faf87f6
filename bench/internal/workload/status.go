package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/bench/internal/player"
)

// StatusConfig sizes the status-ping workload.
type StatusConfig struct {
	Workers  int           // pings in flight
	Warmup   time.Duration // pings before the window are not counted
	Duration time.Duration // measurement window
}

// StatusResult is the status workload's outcome.
type StatusResult struct {
	Pings   int64         // pings completed in the window
	Elapsed time.Duration // length of the window
}

// PerSecond is completed pings per second.
func (r StatusResult) PerSecond() float64 { return float64(r.Pings) / r.Elapsed.Seconds() }

// Status runs cfg.Workers loops of new connection → handshake (intent 1) →
// status request → response → ping → pong → close, counting those that
// finish inside the window. Each one is a new TCP connection, so this is
// also the connection-rate workload.
func Status(ctx context.Context, e *Env, cfg StatusConfig) (StatusResult, error) {
	before := e.Backend.Stats()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		inWindow atomic.Bool
		done     atomic.Int64
		first    = make(chan struct{}) // closed by the window's first ping
		wg       sync.WaitGroup
		failed   errOnce
	)
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := w; sctx.Err() == nil; i += cfg.Workers {
				pctx, cancel := context.WithTimeout(sctx, pingTimeout)
				_, err := player.StatusPing(pctx, e.dialer(i), e.Addr, rng.Int64())
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
	err := wait(sctx, cfg.Warmup)
	t0 := time.Now()
	inWindow.Store(true)
	if err == nil {
		err = wait(sctx, cfg.Duration)
	}
	if err == nil && done.Load() == 0 {
		// A machine so loaded that no ping finished in the window: keep
		// the window open for the first one, which proves pings work.
		select {
		case <-first:
		case <-sctx.Done():
			err = sctx.Err()
		case <-time.After(pingTimeout):
		}
	}
	inWindow.Store(false)
	res := StatusResult{Pings: done.Load(), Elapsed: time.Since(t0)}
	stop()
	wg.Wait()
	if ferr := failed.get(); ferr != nil {
		if aerr := e.alive(); aerr != nil {
			ferr = fmt.Errorf("%w (%w)", ferr, aerr)
		}
		return res, fmt.Errorf("status: %w: %w", ErrFailed, ferr)
	}
	if err != nil {
		return res, fmt.Errorf("status: %w", err)
	}
	if res.Pings == 0 {
		return res, fmt.Errorf("status: no ping completed in %s: %w", res.Elapsed, ErrFailed)
	}
	return res, e.checkBackend(before)
}
