package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/testservers"
)

// The legs the edge stops framing park like framed ones: a spliced leg
// (play inspection off, passthrough) and a leg copied through the client's
// cipher (play inspection off, online mode). Each kind here is started by
// one of these.

// copiedPlayer is a logged-in player whose legs the edge copies raw.
type copiedPlayer struct {
	client net.Conn // the player's socket, as the test holds it
	bc     *backendConn
	// exchange sends a play packet each way and fails the test unless
	// both arrive as sent; large makes the clientbound one several
	// splices' (or reads') worth.
	exchange func(t *testing.T, token int, large bool)
}

// copiedKind starts an edge whose players' legs go raw after their first
// play packet each way (cfg changed by tune first), and returns it with
// join, which logs player i in and takes both legs raw.
type copiedKind struct {
	name  string
	start func(t *testing.T, tune func(*config.Edge)) (*Edge, func(t *testing.T, i int) copiedPlayer)
}

var copiedKinds = []copiedKind{{"spliced", startSplicedEdge}, {"cipher", startCipherEdge}}

// startSplicedEdge: passthrough players with play inspection off, whose
// legs are spliced.
func startSplicedEdge(t *testing.T, tune func(*config.Edge)) (*Edge, func(*testing.T, int) copiedPlayer) {
	const protocol = mcproto.Protocol1_12_2
	b := startBackend(t, 256, false)
	cfg := testConfig(b.addr())
	cfg.Proxy.InspectPlay = false
	tune(&cfg)
	e := startEdge(t, cfg)
	join := func(t *testing.T, i int) copiedPlayer {
		t.Helper()
		spliced := testutil.ToFloat64(e.Metrics.SplicedConns)
		c := dial(t, e.Addr().String())
		_ = c.SetDeadline(time.Time{}) // the edge's idle timeout is under test
		c.login(t, protocol, fmt.Sprintf("Idle%d", i))
		p := copiedPlayer{client: c.Conn, bc: b.nextLogin(t)}
		p.exchange = func(t *testing.T, token int, large bool) {
			t.Helper()
			size := 30
			if large {
				size = 3 << 20
			}
			if err := exchangeSpliced(c, p.bc, protocol, int64(token), size); err != nil {
				t.Fatal(err)
			}
		}
		p.exchange(t, i, false)
		waitFor(t, func() bool { return testutil.ToFloat64(e.Metrics.SplicedConns) == spliced+2 })
		return p
	}
	return e, join
}

// startCipherEdge: online-mode players with play inspection off, whose
// legs are copied through the client leg's cipher without framing.
func startCipherEdge(t *testing.T, tune func(*config.Edge)) (*Edge, func(*testing.T, int) copiedPlayer) {
	const protocol = 47
	ss := testservers.StartSessionServer(t)
	b := startBackend(t, 256, false)
	cfg := onlineConfig(b.addr(), ss, config.ForwardBungeeCord)
	cfg.Proxy.InspectPlay = false
	tune(&cfg)
	e := startEdge(t, cfg)
	join := func(t *testing.T, i int) copiedPlayer {
		t.Helper()
		c, _ := onlineLogin(t, e.Addr().String(), protocol, ss, ss.AddAccount(t, fmt.Sprintf("Idle%d", i)))
		bc := b.nextLogin(t)
		onlinePlay(t, c, bc, protocol)
		p := copiedPlayer{client: c.Conn, bc: bc}
		// exchangeEncrypted sends a large clientbound packet every time.
		p.exchange = func(t *testing.T, _ int, _ bool) { t.Helper(); exchangeEncrypted(t, c, bc, protocol) }
		p.exchange(t, i, false)
		if n := testutil.ToFloat64(e.Metrics.SplicedConns); n != 0 {
			t.Fatalf("%v legs spliced: an encrypted leg must never be", n)
		}
		return p
	}
	return e, join
}

// noPumpRunning: no relay direction has a goroutine (every leg is parked
// in the poller, or its relay has ended).
func noPumpRunning() bool { return goroutinesWith("/edge/internal/conn.(*pump).") == 0 }

// readUntilClosed reads the player's socket until the edge ends the
// stream (end of stream or reset), failing if it does not within d.
func readUntilClosed(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the edge did not close the player's connection within %v", d)
	}
}

// TestIdleRawPlayersKeepNoGoroutine: players whose legs the edge copies
// without framing (spliced, or through the cipher) and who send nothing
// keep no goroutine, like framed players (TestIdlePlayerKeepsNoGoroutine).
// Each such leg used to keep one blocked in the copy for its whole life,
// two goroutines per idle player. The parked legs wake for what arrives,
// both ways, pass it exactly, large or small, and park again.
func TestIdleRawPlayersKeepNoGoroutine(t *testing.T) {
	const players = 20
	for _, kind := range copiedKinds {
		t.Run(kind.name, func(t *testing.T) {
			e, join := kind.start(t, func(*config.Edge) {})
			var all []copiedPlayer
			for i := range players {
				all = append(all, join(t, i))
			}
			waitFor(t, noPumpRunning)
			if got := e.ln.Active(); got != players {
				t.Fatalf("%d active connections, want %d", got, players)
			}
			for round := range 2 {
				for i, p := range all {
					p.exchange(t, 100*round+i, i%10 == 0)
				}
				waitFor(t, noPumpRunning)
			}
			for _, p := range all {
				_ = p.client.Close()
			}
			waitFor(t, func() bool { return e.ln.Active() == 0 && noPumpRunning() })
		})
	}
}

// TestParkedRawPlayerTimesOut: a raw player whose legs wait in the poller
// is still closed when proxy.timeout passes with nothing read, and counted
// as an idle timeout; the poller's sweep sees the deadline pass.
func TestParkedRawPlayerTimesOut(t *testing.T) {
	const idle = 500 * time.Millisecond
	for _, kind := range copiedKinds {
		t.Run(kind.name, func(t *testing.T) {
			e, join := kind.start(t, func(cfg *config.Edge) { cfg.Proxy.Timeout = config.Duration(idle) })
			p := join(t, 0)
			// Each leg's last bytes reach the edge after this: neither
			// may time out before idle has passed since.
			sent := time.Now()
			p.exchange(t, 1, false)
			waitFor(t, noPumpRunning)
			readUntilClosed(t, p.client, 10*time.Second)
			if waited := time.Since(sent); waited < idle {
				t.Fatalf("closed after %v, before the idle timeout of %v", waited, idle)
			}
			waitFor(t, func() bool { return rejected(e, reason.IdleTimeout) == 1 && e.ln.Active() == 0 })
		})
	}
}

// TestParkedRawPlayerEnds: when one side hangs up, or a ban kicks the
// player, while both raw legs are parked, the relay still ends and the
// connection is counted out, as for framed legs (TestParkedPlayerEnds).
// The kick carries no message: a raw client leg is not frame-aligned.
func TestParkedRawPlayerEnds(t *testing.T) {
	for _, kind := range copiedKinds {
		t.Run(kind.name, func(t *testing.T) {
			e, join := kind.start(t, func(*config.Edge) {})
			for i, side := range []string{"backend", "client", "kick"} {
				t.Run(side, func(t *testing.T) {
					p := join(t, i)
					waitFor(t, noPumpRunning)
					switch side {
					case "backend":
						_ = p.bc.Close()
						readUntilClosed(t, p.client, 10*time.Second)
					case "client":
						_ = p.client.Close()
						_ = p.bc.SetReadDeadline(time.Now().Add(10 * time.Second))
						if _, err := p.bc.fr.Next(); err == nil {
							t.Fatal("backend read a frame from a client that hung up")
						}
					case "kick":
						before := rejected(e, reason.Banned)
						kicked := e.handler.KickWhere(func(netip.Addr, string, mcproto.UUID) (string, bool) { return "banned", true })
						if kicked != 1 {
							t.Fatalf("kicked %d players, want 1", kicked)
						}
						readUntilClosed(t, p.client, 10*time.Second)
						_ = p.bc.SetReadDeadline(time.Now().Add(10 * time.Second))
						if _, err := p.bc.fr.Next(); !errors.Is(err, io.EOF) {
							t.Fatalf("backend leg ended with %v, want end of stream", err)
						}
						waitFor(t, func() bool { return rejected(e, reason.Banned) == before+1 })
					}
					waitFor(t, func() bool { return e.ln.Active() == 0 && noPumpRunning() })
				})
			}
		})
	}
}
