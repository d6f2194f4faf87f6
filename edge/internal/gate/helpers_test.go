package gate

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testGate is a gate on a fake clock with its own registry.
type testGate struct {
	*Gate
	clock *fakeClock
	reg   *prometheus.Registry
}

func newTestGate(t testing.TB, c Config, d Deps) *testGate {
	t.Helper()
	clk := newClock()
	reg := prometheus.NewRegistry()
	d.Now = clk.Now
	d.Metrics = reg
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g, err := New(c, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testGate{Gate: g, clock: clk, reg: reg}
}

// noLimits is the default configuration with every rate and slot cap off,
// for tests about something else.
func noLimits() Config {
	c := Defaults()
	c.ConnAddr, c.ConnPrefix, c.LoginAddr, c.LoginPrefix = Rate{}, Rate{}, Rate{}, Rate{}
	c.MaxLoginsInFlight, c.MaxAccountsPerAddr = 0, 0
	return c
}

// honest is a login that every default rule admits.
func honest(addr string) LoginRequest {
	return LoginRequest{Addr: netip.MustParseAddr(addr), Name: "Steve_01", Host: "play.example.com", Protocol: 763}
}

func (g *testGate) login(t testing.TB, r LoginRequest) (*Ticket, Decision) {
	t.Helper()
	return g.Login(context.Background(), r)
}
