// Package workload runs the four measurements of the benchmark against one
// target address: bulk throughput, echo latency under load, status pings
// per second and memory per idle connection. Each workload drives
// synthetic players (package player) against the synthetic backend through
// the target and returns numbers; any functional failure (a login that does
// not complete, a corrupted frame, a lost echo, a proxy that dies) is an
// error, never a slow result.
package workload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/player"
	"github.com/rustguard/rustguard/bench/internal/procstat"
)

// ErrFailed wraps every functional failure of a workload.
var ErrFailed = errors.New("workload failed")

const (
	// loginTimeout bounds one login (dial to Join Game). Logins take
	// milliseconds; under the idle workload's burst a SYN may be
	// retransmitted (1 s, then 3 s), so this leaves room for two.
	loginTimeout = 15 * time.Second
	// pingTimeout bounds one status exchange, for the same reason.
	pingTimeout = 10 * time.Second
	// bytesPerMB and bytesPerGB are decimal, as network throughput is
	// usually quoted.
	bytesPerMB = 1e6
	bytesPerGB = 1e9
)

// Env is what every workload needs to reach a target.
type Env struct {
	// Addr is where players connect (the proxy, or the backend for direct).
	Addr string
	// PID is the proxy process to charge CPU and memory to; 0 for direct.
	PID int
	// MetricsURL is the proxy's Prometheus endpoint, where the rtt and bulk
	// workloads read its allocation and packet counters; empty for
	// targets without one (direct, HAProxy), which skips that reading.
	MetricsURL string
	// Alive reports whether the proxy is still running (nil means yes).
	Alive func() error
	// Backend is the synthetic backend behind the target.
	Backend *backend.Server
	// BulkFrame is the exact frame the backend streams in bulk mode.
	BulkFrame []byte
	// Sources are the loopback addresses players dial from, in turn.
	// Empty means the kernel's choice (127.0.0.1).
	Sources []net.IP
	// Join is the session server players join through when the target is
	// an online-mode server (edge-online); nil for every other target.
	Join player.Joiner
	Log  *slog.Logger
}

// login logs player name in through the target, as player i: online
// (answering the Encryption Request) when the target needs it.
func (e *Env) login(ctx context.Context, i int, name string) (*player.Session, error) {
	return player.LoginOnline(ctx, e.dialer(i), e.Addr, name, e.Join)
}

// dialer returns the dialer for player number i.
func (e *Env) dialer(i int) *net.Dialer {
	d := &net.Dialer{Timeout: loginTimeout}
	if len(e.Sources) > 0 {
		d.LocalAddr = &net.TCPAddr{IP: e.Sources[i%len(e.Sources)]}
	}
	return d
}

func (e *Env) alive() error {
	if e.Alive == nil {
		return nil
	}
	return e.Alive()
}

// checkBackend fails when the backend saw malformed traffic during a
// workload: the proxy corrupted something on the way in.
func (e *Env) checkBackend(before backend.Stats) error {
	after := e.Backend.Stats()
	if n := after.ProtocolErrors - before.ProtocolErrors; n > 0 {
		return fmt.Errorf("backend saw %d protocol errors (last: %s): %w", n, after.LastError, ErrFailed)
	}
	return nil
}

// wait blocks for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loginAll logs in n players named prefix+index with at most par logins in
// flight. It returns every session or, on the first failure, closes them
// all and returns the error.
func loginAll(ctx context.Context, e *Env, n, par int, prefix string) ([]*player.Session, error) {
	sessions := make([]*player.Session, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range min(par, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				lctx, lcancel := context.WithTimeout(ctx, loginTimeout)
				s, err := e.login(lctx, i, fmt.Sprintf("%s%05d", prefix, i))
				lcancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("player %d of %d: %w", i, n, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				sessions[i] = s
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		closeAll(sessions)
		if err := e.alive(); err != nil {
			firstErr = fmt.Errorf("%w (%w)", firstErr, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrFailed, firstErr)
	}
	return sessions, nil
}

func closeAll(sessions []*player.Session) {
	for _, s := range sessions {
		if s != nil {
			s.Close()
		}
	}
}

// errOnce keeps the first error of many goroutines.
type errOnce struct {
	mu  sync.Mutex
	err error
}

func (o *errOnce) set(err error) {
	o.mu.Lock()
	if o.err == nil {
		o.err = err
	}
	o.mu.Unlock()
}

func (o *errOnce) get() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// sortDurations sorts samples in place and returns them.
func sortDurations(d []time.Duration) []time.Duration {
	slices.Sort(d)
	return d
}

// cpuOf returns the proxy's CPU time, or 0 for direct.
func cpuOf(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	return procstat.CPUTime(pid)
}
