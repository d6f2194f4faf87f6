// Package consulwatch runs Consul blocking queries the way Consul's docs
// (api-docs/features/blocking) ask: the index rules, a rate limit, jittered
// back-off on errors, and never a busy loop. The edge's backend discovery,
// its fleet configuration watcher and central's configuration service all
// watch Consul through it. A Loop knows nothing of what it fetches: the
// caller's Fetch sends one request and publishes what it learnt itself, so
// an error never replaces the last good answer.
package consulwatch

import (
	"context"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"
)

const (
	// MinInterval and Burst make a rate limit per loop: at most one
	// request per interval after a burst of two. The index of a health
	// endpoint also moves on unrelated catalog churn (hashicorp/consul#3890),
	// so without it a busy catalog turns long polls into a tight loop; a
	// real change is still seen at once because the blocking request itself
	// returns immediately.
	MinInterval = 500 * time.Millisecond
	Burst       = 2
	// Dither spreads the next request of many watchers woken by the same
	// change, so they do not hit the servers in one instant.
	Dither = 50 * time.Millisecond
	// BackoffBase and BackoffMax bound the retry delay after errors
	// (exponential, jittered). The cap degrades a loop in trouble to
	// polling about every 15 s.
	BackoffBase = 250 * time.Millisecond
	BackoffMax  = 15 * time.Second
	// DefaultWait is Consul's own default for blocking queries and MaxWait
	// the longest it accepts (api-docs/features/blocking).
	DefaultWait = 5 * time.Minute
	MaxWait     = 10 * time.Minute
	// blockingSlack is added to Wait + Wait/16 (the most the server waits,
	// jitter included) before a blocking request is abandoned: it covers
	// network and server latency without hanging on a dead peer.
	blockingSlack = 10 * time.Second
)

// Loop is one blocking query run until its context ends.
type Loop struct {
	// Wait is how long one request may block (DefaultWait when 0, at most
	// MaxWait).
	Wait time.Duration
	// Fetch sends one request with the index and wait given and returns
	// the index of its answer (X-Consul-Index). It publishes what it
	// learnt itself; on error the loop backs off and keeps going.
	Fetch func(ctx context.Context, index uint64, wait time.Duration) (uint64, error)
	// Report, when set, is called after every request with its error
	// (nil when it succeeded), unless the loop is stopping.
	Report func(err error)
	// Epoch, when set, is read before every request. When it changed since
	// the last request, the index is reset to 1: another watcher on the
	// same agent saw an error, so the server may have been replaced (see
	// Run).
	Epoch func() uint64
}

// Run runs the loop until ctx ends.
func (l Loop) Run(ctx context.Context) {
	wait := l.Wait
	if wait <= 0 {
		wait = DefaultWait
	}
	wait = min(wait, MaxWait)
	// Off the hot path (one request per answer at most), so the standard
	// limiter serves; Wait fails only when ctx ends (or would end first).
	limit := rate.NewLimiter(rate.Every(MinInterval), Burst)
	var index, epoch uint64
	if l.Epoch != nil {
		epoch = l.Epoch()
	}
	failures := 0
	for {
		if limit.Wait(ctx) != nil {
			return
		}
		if l.Epoch != nil {
			if n := l.Epoch(); n != epoch {
				// A watcher that was between two requests while the agent
				// restarted sees no error itself, and its old, higher index
				// would park it on the fresh agent for the whole wait.
				epoch = n
				index = min(index, 1)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, wait+wait/16+blockingSlack)
		got, err := l.Fetch(rctx, index, wait)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if l.Report != nil {
			l.Report(err)
		}
		if err != nil {
			failures++
			// After an error the server may be a different one, restarted
			// or restored from a snapshot with a lower index. A request
			// with our old, higher index would then block for the whole
			// wait before the answer shows the index went backwards, so
			// re-read once with index 1, which any live server answers at
			// once.
			index = min(index, 1)
			if !Sleep(ctx, Backoff(failures)) {
				return
			}
			continue
		}
		failures = 0
		index = NextIndex(index, got)
		if !Sleep(ctx, rand.N(Dither)) {
			return
		}
	}
}

// NextIndex applies Consul's index rules to the index of an answer: reset
// when it went backwards (snapshot restore, a fresh server, deleting the
// entry with the highest index), and never send 0 from a running loop, since
// index 0 does not block and would spin.
func NextIndex(prev, got uint64) uint64 {
	if got < prev {
		got = 0
	}
	return max(got, 1)
}

// Backoff returns the delay before retry number failures (1-based):
// exponential from BackoffBase, capped at BackoffMax, with the upper half
// randomised so many watchers do not retry in lockstep.
func Backoff(failures int) time.Duration {
	d := BackoffMax
	// Past 16 doublings BackoffBase is far above BackoffMax; the guard only
	// keeps the shift from overflowing after a very long outage.
	if shift := failures - 1; shift < 16 {
		d = min(BackoffBase<<max(shift, 0), BackoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d or until ctx ends; false means ctx ended.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
