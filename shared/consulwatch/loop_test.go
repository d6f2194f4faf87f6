package consulwatch

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestNextIndex(t *testing.T) {
	tests := []struct {
		name      string
		prev, got uint64
		want      uint64
	}{
		{"first answer", 0, 42, 42},
		{"moves forward", 42, 50, 50},
		{"unchanged", 50, 50, 50},
		{"went backwards resets", 50, 7, 1},
		{"zero is clamped", 0, 0, 1},
		{"zero after progress", 50, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextIndex(tt.prev, tt.got); got != tt.want {
				t.Fatalf("NextIndex(%d, %d) = %d, want %d", tt.prev, tt.got, got, tt.want)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	for failures := 1; failures < 40; failures++ {
		want := min(BackoffBase<<min(failures-1, 16), BackoffMax)
		for range 20 {
			d := Backoff(failures)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", failures, d, want/2, want)
			}
		}
	}
}

// TestLoopIndexRules drives a Loop with a scripted server: the index it
// sends follows the answers, goes to 1 after an error and after the answer
// went backwards, and is never 0 once running; every request is reported.
func TestLoopIndexRules(t *testing.T) {
	type answer struct {
		index uint64
		err   error
	}
	script := []answer{{100, nil}, {120, nil}, {0, errors.New("agent restarted")}, {7, nil}, {0, nil}, {9, nil}}
	want := []uint64{0, 100, 120, 1, 7, 1}
	var sent []uint64
	var reports []error
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var epoch atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		Loop{
			Wait: time.Second,
			Fetch: func(_ context.Context, index uint64, wait time.Duration) (uint64, error) {
				if wait != time.Second {
					t.Errorf("wait %v, want 1s", wait)
				}
				sent = append(sent, index)
				if len(sent) == len(script) {
					cancel()
				}
				a := script[len(sent)-1]
				return a.index, a.err
			},
			Report: func(err error) { reports = append(reports, err) },
			Epoch:  epoch.Load,
		}.Run(ctx)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the loop did not get through its script")
	}
	if len(sent) != len(want) {
		t.Fatalf("sent %v, want %v", sent, want)
	}
	for i := range want {
		if sent[i] != want[i] {
			t.Fatalf("sent %v, want %v", sent, want)
		}
	}
	if len(reports) != len(script)-1 || reports[2] == nil {
		t.Fatalf("reports %v: want one per request but the last (the loop was stopping), the third an error", reports)
	}
}

// TestLoopIsRateLimited: a watcher whose answers come back at once (a
// busy catalog moves every index) still asks at most Burst times at once
// and then once per MinInterval, instead of spinning on the agent.
func TestLoopIsRateLimited(t *testing.T) {
	const calls = Burst + 2
	var at []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	Loop{Fetch: func(context.Context, uint64, time.Duration) (uint64, error) {
		at = append(at, time.Now())
		if len(at) == calls {
			cancel()
		}
		return uint64(len(at)), nil
	}}.Run(ctx)
	if len(at) != calls {
		t.Fatalf("%d requests, want %d", len(at), calls)
	}
	// After the burst, each request waited for a token of its own. The
	// slack covers the moments between the limiter's clock and Fetch's;
	// a loop that spins makes all its requests within a few Dithers.
	const slack = MinInterval / 10
	if got, want := at[calls-1].Sub(at[0]), (calls-Burst)*MinInterval-slack; got < want {
		t.Fatalf("%d requests in %v; the rate allows them no sooner than %v", calls, got, want)
	}
}
