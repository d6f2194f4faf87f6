package workload

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/player"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"p50 of four rounds up", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(sortDurations(tt.samples), tt.p); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// directEnv runs a backend and points the workloads straight at it.
func directEnv(t *testing.T) *Env {
	t.Helper()
	srv, err := backend.New(backend.Config{Threshold: backend.DefaultThreshold, BulkPacket: backend.DefaultBulkPacket,
		Mix: defaultMix})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := srv.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	return &Env{
		Addr:      addr,
		Backend:   srv,
		BulkFrame: backend.BulkFrame(backend.DefaultThreshold, backend.DefaultBulkPacket),
	}
}

func TestWorkloadsDirect(t *testing.T) {
	e := directEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b, err := Bulk(ctx, e, BulkConfig{Conns: 2, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if b.Bytes%int64(len(e.BulkFrame)) != 0 || b.MBps() <= 0 || b.ProxyCPU != 0 || b.Allocs != (Allocs{}) {
		t.Errorf("bulk %+v: want whole frames, a rate and no proxy CPU or allocations", b)
	}

	r, err := RTT(ctx, e, RTTConfig{Conns: 5, Interval: 5 * time.Millisecond, Warmup: 20 * time.Millisecond,
		Duration: 200 * time.Millisecond, Kind: player.EchoPlugin, LoginPar: 5})
	if err != nil {
		t.Fatal(err)
	}
	if r.Samples == 0 || r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max || r.Allocs != (Allocs{}) {
		t.Errorf("rtt %+v: want ordered percentiles and no proxy allocations", r)
	}

	// Players spread over two loopback source addresses.
	e.Sources = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 1, 1)}
	s, err := Status(ctx, e, StatusConfig{Workers: 2, Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Pings == 0 || s.PerSecond() <= 0 || s.ProxyCPU != 0 || s.Trace != (Trace{}) {
		t.Errorf("status %+v", s)
	}

	before := e.Backend.Stats().Logins
	l, err := Logins(ctx, e, LoginsConfig{Workers: 2, Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if l.Logins == 0 || l.PerSecond() <= 0 || e.Backend.Stats().Logins-before < l.Logins {
		t.Errorf("logins %+v; backend saw %d", l, e.Backend.Stats().Logins-before)
	}
}

func TestIdleMeasuresAProcess(t *testing.T) {
	e := directEnv(t)
	e.PID = os.Getpid() // this process stands in for a proxy
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Idle(ctx, e, IdleConfig{Conns: 50, LoginPar: 10, Settle: 10 * time.Millisecond, Probe: 5, Kind: player.EchoKeepAlive})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != 50 || r.RSSBefore <= 0 || r.RSSAfter <= 0 {
		t.Errorf("idle %+v", r)
	}
	if st := e.Backend.Stats(); st.Logins != 50 || st.Echoes != 5 {
		t.Errorf("backend saw %+v, want 50 logins and 5 probe echoes", st)
	}
}

func TestWorkloadsFailFunctionally(t *testing.T) {
	e := directEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Nothing listens here: logins and pings cannot happen.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.Addr = ln.Addr().String()
	ln.Close()
	if _, err := Bulk(ctx, e, BulkConfig{Conns: 1, Duration: time.Millisecond}); !errors.Is(err, ErrFailed) {
		t.Errorf("bulk without a server: %v", err)
	}
	if _, err := Status(ctx, e, StatusConfig{Workers: 1, Duration: 100 * time.Millisecond}); !errors.Is(err, ErrFailed) {
		t.Errorf("status without a server: %v", err)
	}
	if _, err := Logins(ctx, e, LoginsConfig{Workers: 1, Duration: 100 * time.Millisecond}); !errors.Is(err, ErrFailed) {
		t.Errorf("logins without a server: %v", err)
	}
	if _, err := Idle(ctx, e, IdleConfig{Conns: 1}); !errors.Is(err, ErrFailed) {
		t.Errorf("idle without a proxy pid: %v", err)
	}

	// A proxy that has died fails the workload even if traffic flowed.
	e2 := directEnv(t)
	e2.Alive = func() error { return errors.New("proxy exited") }
	if _, err := Bulk(ctx, e2, BulkConfig{Conns: 1, Duration: 50 * time.Millisecond}); !errors.Is(err, ErrFailed) {
		t.Errorf("bulk with a dead proxy: %v", err)
	}
}
