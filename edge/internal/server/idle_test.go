package server

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// TestRelayedPlayerKeepsNoLoginStack: once a player is relayed, the
// goroutine that ran its login has returned; the player is carried by its
// two pumps alone, each parked only as deep as the pump. Before, that
// goroutine stayed parked under the whole login for the player's session,
// and its stack (8 KiB) was the largest part of what an idle player cost.
// When the player leaves, the connection is still finished and counted.
func TestRelayedPlayerKeepsNoLoginStack(t *testing.T) {
	b := startBackend(t, 256, false)
	e := startEdge(t, testConfig(b.addr()))
	c := dial(t, e.Addr().String())
	c.login(t, 47, "Alex")
	bc := b.nextLogin(t)
	// A play packet goes through: the relay runs.
	if _, err := c.Write(frameRaw(0x00, mcproto.AppendVarInt(nil, 42))); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.fr.Next(); err != nil {
		t.Fatal(err)
	}

	waitFor(t, func() bool { return !goroutinesIn("/edge/internal/conn.(*session).login(") })
	if n := goroutinesWith("/edge/internal/conn.(*pump).run("); n != 2 {
		t.Errorf("%d pump goroutines for one relayed player, want 2", n)
	}
	if got := e.ln.Active(); got != 1 {
		t.Fatalf("%d active connections, want 1", got)
	}

	_ = c.Close()
	waitFor(t, func() bool { return e.ln.Active() == 0 && goroutinesWith("/edge/internal/conn.(*pump).run(") == 0 })
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
