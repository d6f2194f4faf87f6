package server

import (
	"bytes"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// TestIdlePlayerKeepsNoGoroutine: once a player is relayed, the goroutine
// that ran its login has returned, and once neither side has sent anything
// for a moment (conn's parkAfter) both legs wait in the edge's poller with
// no goroutine at all. Before,
// an idle player kept two goroutines, one parked under the whole login
// (an 8 KiB stack), the largest part of what it cost. Bytes from either
// side still go through at once, and a player who leaves is finished and
// counted.
func TestIdlePlayerKeepsNoGoroutine(t *testing.T) {
	b := startBackend(t, 256, false)
	e := startEdge(t, testConfig(b.addr()))
	c := dial(t, e.Addr().String())
	c.login(t, 47, "Alex")
	bc := b.nextLogin(t)
	keepAlive := func(n int32) {
		t.Helper()
		if _, err := c.Write(frameRaw(0x00, mcproto.AppendVarInt(nil, n))); err != nil {
			t.Fatal(err)
		}
		if _, err := bc.fr.Next(); err != nil {
			t.Fatal(err)
		}
	}
	idle := func() bool {
		return !goroutinesIn("/edge/internal/conn.(*session).login(") &&
			goroutinesWith("/edge/internal/conn.(*pump).") == 0
	}
	// Before 1.20.2 the client's leg leaves login with its first play
	// packet: a player who has sent none yet is idle too.
	waitFor(t, idle)
	keepAlive(42)
	waitFor(t, idle)
	if got := e.ln.Active(); got != 1 {
		t.Fatalf("%d active connections, want 1", got)
	}

	// Parked legs wake for what arrives, in both directions, and park again.
	for i := range 2 {
		keepAlive(int32(i))
		if _, err := bc.Write(frameRaw(0x00, mcproto.AppendVarInt(nil, int32(i)))); err != nil {
			t.Fatal(err)
		}
		if id, _ := c.packet(t); id != 0x00 {
			t.Fatalf("client got packet %#x, want the backend's keep-alive", id)
		}
		waitFor(t, idle)
	}

	_ = c.Close()
	waitFor(t, func() bool { return e.ln.Active() == 0 })
}

// TestParkedPlayerTimesOut: a player whose legs wait in the poller is
// still closed when proxy.timeout passes with nothing read, and counted
// as an idle timeout; the poller, not a waiting goroutine, sees the
// deadline pass. (A timeout shorter than conn's parkAfter would never
// let the legs park.)
func TestParkedPlayerTimesOut(t *testing.T) {
	const idle = 500 * time.Millisecond
	b := startBackend(t, 256, false)
	cfg := testConfig(b.addr())
	cfg.Proxy.Timeout = config.Duration(idle)
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())
	c.login(t, 47, "Alex")
	b.nextLogin(t)
	start := time.Now()
	c.expectClosed(t)
	if waited := time.Since(start); waited < idle {
		t.Fatalf("closed after %v, before the idle timeout of %v", waited, idle)
	}
	waitFor(t, func() bool { return rejected(e, reason.IdleTimeout) == 1 && e.ln.Active() == 0 })
}

// goroutinesWith counts the goroutines with a frame in a function whose
// name contains fn.
func goroutinesWith(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			count := 0
			for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
				if bytes.Contains(g, []byte(fn)) {
					count++
				}
			}
			return count
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestParkedPlayerEnds: when one side hangs up, or the edge kicks the
// player (a ban), while both legs are parked, the relay still ends and the
// connection is counted out. A hang-up wakes its own leg; closing the
// other socket then removes that leg from the poller without an event, so
// the edge must wake it itself (session.wake), or the player's relay would
// never finish.
func TestParkedPlayerEnds(t *testing.T) {
	b := startBackend(t, 256, false)
	e := startEdge(t, testConfig(b.addr()))
	idle := func() bool { return goroutinesWith("/edge/internal/conn.(*pump).") == 0 }
	for _, side := range []string{"backend", "client", "kick"} {
		t.Run(side, func(t *testing.T) {
			c := dial(t, e.Addr().String())
			c.login(t, 47, "Alex")
			bc := b.nextLogin(t)
			waitFor(t, idle)
			switch side {
			case "backend":
				_ = bc.Close()
				c.expectClosed(t)
			case "client":
				_ = c.Close()
				if _, err := bc.fr.Next(); err == nil {
					t.Fatal("backend read a frame from a client that hung up")
				}
			case "kick":
				kicked := e.handler.KickWhere(func(netip.Addr, string, mcproto.UUID) (string, bool) { return "banned", true })
				if kicked != 1 {
					t.Fatalf("kicked %d players, want 1", kicked)
				}
				if msg := c.expectClosed(t); !bytes.Contains(msg, []byte("banned")) {
					t.Fatalf("last packet %q, want the kick's message", msg)
				}
			}
			waitFor(t, func() bool { return e.ln.Active() == 0 && idle() })
		})
	}
}
