package workload

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rustguard/rustguard/bench/internal/player"
)

// RTTConfig sizes the latency workload.
type RTTConfig struct {
	Conns    int             // players, each with one echo in flight at most
	Interval time.Duration   // pause between one player's echoes
	Warmup   time.Duration   // echoes before the window are not recorded
	Duration time.Duration   // measurement window
	Kind     player.EchoKind // packet to bounce off the backend
	LoginPar int             // logins in flight while connecting players
}

// RTTResult is the latency workload's outcome.
type RTTResult struct {
	Samples  int
	P50, P99 time.Duration
	Max      time.Duration
	// Allocs is the proxy's heap allocations and relayed frames in the
	// window; zero for targets without a metrics endpoint.
	Allocs Allocs
}

// RTT logs in cfg.Conns players that each send an echo packet every
// cfg.Interval (phases spread evenly, so the load is steady rather than a
// pulse) and time the answers. A player whose echo is late sends the next
// one as soon as the answer arrives; no echo is ever skipped. Over the same
// window it reads the proxy's allocations per relayed frame, when the
// proxy exposes them.
func RTT(ctx context.Context, e *Env, cfg RTTConfig) (RTTResult, error) {
	before := e.Backend.Stats()
	sessions, err := loginAll(ctx, e, cfg.Conns, cfg.LoginPar, "rtt")
	if err != nil {
		return RTTResult{}, fmt.Errorf("rtt: %w", err)
	}
	defer closeAll(sessions)

	start := time.Now()
	windowStart := start.Add(cfg.Warmup)
	end := windowStart.Add(cfg.Duration)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	perConn := make([][]time.Duration, len(sessions))
	var (
		wg     sync.WaitGroup
		failed errOnce
	)
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			phase := time.Duration(int64(cfg.Interval) * int64(i) / int64(len(sessions)))
			samples, err := echoLoop(rctx, s, cfg, start.Add(phase), windowStart, end)
			perConn[i] = samples
			if err != nil {
				failed.set(err)
				stop()
			}
		}()
	}
	allocs, merr := e.allocWindow(rctx, windowStart, end)
	if merr != nil {
		stop() // the result would be incomplete; no need to run the window out
	}
	wg.Wait()
	if err := failed.get(); err != nil {
		if aerr := e.alive(); aerr != nil {
			err = fmt.Errorf("%w (%w)", err, aerr)
		}
		return RTTResult{}, fmt.Errorf("rtt: %w: %w", ErrFailed, err)
	}
	if err := ctx.Err(); err != nil {
		return RTTResult{}, fmt.Errorf("rtt: %w", err)
	}
	if merr != nil {
		return RTTResult{}, fmt.Errorf("rtt: proxy allocations: %w", merr)
	}
	var all []time.Duration
	for _, s := range perConn {
		all = append(all, s...)
	}
	if len(all) == 0 {
		return RTTResult{}, fmt.Errorf("rtt: no echo completed in the window: %w", ErrFailed)
	}
	sortDurations(all)
	res := RTTResult{
		Samples: len(all),
		P50:     percentile(all, 50),
		P99:     percentile(all, 99),
		Max:     all[len(all)-1],
		Allocs:  allocs,
	}
	return res, e.checkBackend(before)
}

// echoLoop runs one player's echoes from first until end, keeping the
// round trips of echoes sent inside [windowStart, end), and at least one.
func echoLoop(ctx context.Context, s *player.Session, cfg RTTConfig, first, windowStart, end time.Time) ([]time.Duration, error) {
	samples := make([]time.Duration, 0, int(cfg.Duration/cfg.Interval)+1)
	var buf []byte
	next := first
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for seq := int32(1); ; seq++ {
		select {
		case <-ctx.Done():
			return samples, nil
		case <-timer.C:
		}
		sent := time.Now()
		if !sent.Before(end) && len(samples) > 0 {
			return samples, nil
		}
		rtt, b, err := s.Echo(cfg.Kind, seq, buf)
		buf = b
		if err != nil {
			if ctx.Err() != nil {
				return samples, nil
			}
			return samples, err
		}
		if !sent.Before(windowStart) {
			// Past the window only when this player has no sample yet:
			// on a machine so loaded that a round trip outlasts the
			// window, every player still contributes one.
			samples = append(samples, rtt)
		}
		next = next.Add(cfg.Interval)
		if now := time.Now(); next.Before(now) {
			next = now
		}
		timer.Reset(time.Until(next))
	}
}
