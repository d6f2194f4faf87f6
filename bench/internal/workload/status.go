package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	Pings    int64         // pings completed in the window
	Elapsed  time.Duration // length of the window
	ProxyCPU time.Duration // proxy user+system CPU in the window; 0 for direct
	Trace    Trace         // the edge's spans in the window (pings are not traced: zero)
}

// PerSecond is completed pings per second.
func (r StatusResult) PerSecond() float64 { return float64(r.Pings) / r.Elapsed.Seconds() }

// CPUPerPing is the proxy's CPU time per ping, in microseconds.
func (r StatusResult) CPUPerPing() float64 {
	return float64(r.ProxyCPU) / float64(time.Microsecond) / float64(r.Pings)
}

// Status runs cfg.Workers loops of new connection → handshake (intent 1) →
// status request → response → ping → pong → close, counting those that
// finish inside the window. Each one is a new TCP connection, so this is
// also the connection-rate workload.
func Status(ctx context.Context, e *Env, cfg StatusConfig) (StatusResult, error) {
	before := e.Backend.Stats()
	w, err := e.repeat(ctx, cfg.Workers, cfg.Warmup, cfg.Duration, pingTimeout, func(ctx context.Context, i int, rng *rand.Rand) error {
		_, err := player.StatusPing(ctx, e.dialer(i), e.Addr, rng.Int64())
		return err
	})
	res := StatusResult{Pings: w.Done, Elapsed: w.Elapsed, ProxyCPU: w.ProxyCPU, Trace: w.Trace}
	if err != nil {
		return res, fmt.Errorf("status: %w", err)
	}
	return res, e.checkBackend(before)
}
