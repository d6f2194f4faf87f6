package workload

import (
	"context"
	"fmt"
	"time"

	"github.com/rustguard/rustguard/bench/internal/player"
	"github.com/rustguard/rustguard/bench/internal/procstat"
)

// IdleConfig sizes the idle-memory workload.
type IdleConfig struct {
	Conns    int           // players to hold open
	LoginPar int           // logins in flight while opening them
	Settle   time.Duration // pause after the last login before reading RSS
	// Probe is how many of the idle players echo once after the reading,
	// to prove the connections were still alive when measured.
	Probe int
	Kind  player.EchoKind
}

// IdleResult is the idle workload's outcome.
type IdleResult struct {
	Conns     int
	RSSBefore int64 // proxy VmRSS before the first login, bytes
	RSSAfter  int64 // proxy VmRSS with every player idle in play, bytes
}

// KiBPerConn is the RSS growth per idle connection in KiB.
func (r IdleResult) KiBPerConn() float64 {
	return float64(r.RSSAfter-r.RSSBefore) / 1024 / float64(r.Conns)
}

// Idle reads the proxy's RSS, logs in cfg.Conns players that then stay
// idle in play, waits cfg.Settle and reads RSS again. It needs a proxy
// (PID ≠ 0).
func Idle(ctx context.Context, e *Env, cfg IdleConfig) (IdleResult, error) {
	if e.PID == 0 {
		return IdleResult{}, fmt.Errorf("idle: needs a proxy process to measure: %w", ErrFailed)
	}
	before := e.Backend.Stats()
	rss0, err := procstat.RSS(e.PID)
	if err != nil {
		return IdleResult{}, fmt.Errorf("idle: %w", err)
	}
	sessions, err := loginAll(ctx, e, cfg.Conns, cfg.LoginPar, "idle")
	if err != nil {
		return IdleResult{}, fmt.Errorf("idle: %w", err)
	}
	defer closeAll(sessions)
	for _, s := range sessions {
		s.ReleaseBuffers()
	}
	if err := wait(ctx, cfg.Settle); err != nil {
		return IdleResult{}, fmt.Errorf("idle: %w", err)
	}
	rss1, err := procstat.RSS(e.PID)
	if err != nil {
		return IdleResult{}, fmt.Errorf("idle: %w", err)
	}
	// Prove the measured connections were live: a sample must still echo.
	step := max(len(sessions)/max(cfg.Probe, 1), 1)
	for i := 0; i < len(sessions); i += step {
		if _, _, err := sessions[i].Echo(cfg.Kind, int32(i+1), nil); err != nil {
			return IdleResult{}, fmt.Errorf("idle: player %d no longer answers: %w: %w", i, ErrFailed, err)
		}
	}
	if err := e.alive(); err != nil {
		return IdleResult{}, fmt.Errorf("idle: %w: %w", ErrFailed, err)
	}
	res := IdleResult{Conns: len(sessions), RSSBefore: rss0, RSSAfter: rss1}
	return res, e.checkBackend(before)
}
