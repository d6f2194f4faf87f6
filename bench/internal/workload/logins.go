package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

const (
	// maxLoginNames keeps names within String(16) ("login" + 5 digits).
	maxLoginNames = 100000
	// onlineNamesPerWorker: against an online target every name is an
	// account of the session-server double, and making one costs the tool
	// about a millisecond of CPU (an RSA signature) that would compete
	// with the edge inside the window. Each worker cycles through this many
	// names instead; since worker w only takes i ≡ w mod Workers, no two
	// workers share a name, so no two logins of one account overlap (the
	// double keeps one join per name).
	onlineNamesPerWorker = 16
)

// LoginsConfig sizes the login-rate workload.
type LoginsConfig struct {
	Workers  int           // logins in flight
	Warmup   time.Duration // logins before the window are not counted
	Duration time.Duration // measurement window
}

// LoginsResult is the login workload's outcome.
type LoginsResult struct {
	Logins   int64         // logins completed in the window
	Elapsed  time.Duration // length of the window
	ProxyCPU time.Duration // proxy user+system CPU in the window; 0 for direct
	Trace    Trace         // the edge's spans in the window (zero without tracing)
}

// PerSecond is completed logins per second.
func (r LoginsResult) PerSecond() float64 { return float64(r.Logins) / r.Elapsed.Seconds() }

// CPUPerLogin is the proxy's CPU time per login, in microseconds.
func (r LoginsResult) CPUPerLogin() float64 {
	return float64(r.ProxyCPU) / float64(time.Microsecond) / float64(r.Logins)
}

// Logins runs cfg.Workers loops of new connection → handshake (intent 2)
// → Login Start → Login Success → Join Game → close, counting those that
// finish inside the window: the rate at which a proxy admits players,
// including its backend connection per login.
func Logins(ctx context.Context, e *Env, cfg LoginsConfig) (LoginsResult, error) {
	before := e.Backend.Stats()
	w, err := e.repeat(ctx, cfg.Workers, cfg.Warmup, cfg.Duration, loginTimeout, func(ctx context.Context, i int, _ *rand.Rand) error {
		n := i % maxLoginNames
		if e.Join != nil {
			n = i % (cfg.Workers * onlineNamesPerWorker)
		}
		s, err := e.login(ctx, i, "login"+strconv.Itoa(n))
		if err != nil {
			return err
		}
		s.Close()
		return nil
	})
	res := LoginsResult{Logins: w.Done, Elapsed: w.Elapsed, ProxyCPU: w.ProxyCPU, Trace: w.Trace}
	if err != nil {
		return res, fmt.Errorf("logins: %w", err)
	}
	return res, e.checkBackend(before)
}
