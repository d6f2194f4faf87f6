package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/edge/internal/telemetry"
)

// ErrBackendUnavailable is returned when no backend can take a player.
var ErrBackendUnavailable = errors.New("backend unavailable")

// probeInterval is how often the edge checks that its backend accepts TCP
// connections: the same period as the Consul agent's /readyz check
// (register.go), so readiness is never staler than the check that reads it.
const probeInterval = 5 * time.Second

// Static serves every host from one backend address.
type Static struct {
	addr        string
	candidates  []string // shared, read-only: Candidates returns it as is
	dialTimeout time.Duration
	dialer      net.Dialer
	metrics     *telemetry.Metrics
	log         *slog.Logger
	reachable   atomic.Bool
	probed      atomic.Bool
}

// NewStatic returns a Static backend set for addr.
func NewStatic(addr string, dialTimeout time.Duration, m *telemetry.Metrics, log *slog.Logger) *Static {
	return &Static{addr: addr, candidates: []string{addr}, dialTimeout: dialTimeout, metrics: m, log: log}
}

// Pick returns the backend for host.
func (s *Static) Pick(string) (string, error) { return s.addr, nil }

// Candidates returns the one configured backend for every host, without
// allocating.
func (s *Static) Candidates(string, string) ([]string, error) { return s.candidates, nil }

// Acquire does nothing: with one backend there is nothing to balance.
func (s *Static) Acquire(string) {}

// Release does nothing; see Acquire.
func (s *Static) Release(string) {}

// Dial connects to addr within the dial timeout. A player's dial does not
// change readiness: only the probe does (see Reachable).
func (s *Static) Dial(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.dialTimeout)
	defer cancel()
	start := time.Now()
	c, err := s.dialer.DialContext(ctx, "tcp", addr)
	s.metrics.BackendDial.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackendUnavailable, err)
	}
	return c, nil
}

// Reachable reports whether the last probe of the backend worked. It follows
// the probe alone: what happens to one player's login (a backend that drops
// it, a dial that loses a race with a restart) must not take the whole edge
// out of its load balancer until the next event, and a player can provoke
// such failures on purpose.
func (s *Static) Reachable() bool { return s.reachable.Load() }

func (s *Static) setReachable(ok bool) {
	was := s.reachable.Swap(ok)
	first := !s.probed.Swap(true)
	if was != ok || first {
		if ok {
			s.metrics.BackendReachable.Set(1)
			s.log.Info("backend reachable", "backend", s.addr)
		} else {
			s.metrics.BackendReachable.Set(0)
			s.log.Warn("backend unreachable", "backend", s.addr)
		}
	}
}

// Probe checks the backend now and every probeInterval until ctx ends.
func (s *Static) Probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		s.probeOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probeOnce dials the backend once and records the outcome for Reachable.
func (s *Static) probeOnce(ctx context.Context) {
	c, err := s.Dial(ctx, s.addr)
	if err == nil {
		_ = c.Close()
	}
	if ctx.Err() != nil {
		// Shutting down: a dial cut short says nothing about the backend.
		return
	}
	s.setReachable(err == nil)
}

// MarkFailed does nothing: with one backend there is nothing to reorder,
// and readiness follows the probe alone (see Reachable).
func (s *Static) MarkFailed(string) {}
