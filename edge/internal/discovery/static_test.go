package discovery

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/telemetry"
)

// TestStaticReadinessFollowsProbe: a backend that drops one player's login,
// or one player's dial that fails, must not flip /readyz; only the probe
// decides.
func TestStaticReadinessFollowsProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	s := NewStatic(addr, time.Second, telemetry.New("test", "test"), quietLog())
	ctx := context.Background()
	if s.Reachable() {
		t.Fatal("Reachable before any probe")
	}
	s.probeOnce(ctx)
	if !s.Reachable() {
		t.Fatal("not Reachable after a probe of a listening backend")
	}

	// What the login path does when the backend accepted but hung up
	// before answering Login Start.
	s.MarkFailed(addr)
	if !s.Reachable() {
		t.Fatal("one dropped login made the edge unready")
	}

	// A player's dial that fails (the backend went away) does not decide
	// either; the next probe does.
	_ = ln.Close()
	if c, err := s.Dial(ctx, addr); err == nil {
		_ = c.Close()
		t.Fatal("dial of a closed listener succeeded")
	}
	if !s.Reachable() {
		t.Fatal("a player's failed dial made the edge unready before the probe ran")
	}
	s.probeOnce(ctx)
	if s.Reachable() {
		t.Fatal("still Reachable after a probe of a closed backend")
	}

	// A probe cut short by shutdown leaves the state alone.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	s.reachable.Store(true)
	s.probeOnce(cancelled)
	if !s.Reachable() {
		t.Fatal("a probe cancelled by shutdown changed readiness")
	}
}
