// Package listener accepts players: the first step of the data path. It
// owns the accept loop (with back-off when the process runs out of file
// descriptors, so existing players stay), the connection cap, and the trust
// boundary for PROXY headers: only peers in configured CIDRs may state
// another client address. Each accepted connection goes to the conn handler.
package listener

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/edge/internal/conn"
	"github.com/rustguard/rustguard/edge/internal/proxyproto"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/edge/internal/telemetry"
)

const (
	// Accept back-off after an error such as EMFILE: start small so a brief
	// spike costs little, cap at a second so recovery is quick. The same
	// shape as net/http's Server.
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	// overflowMin is how many connections past max_connections we still
	// read a handshake from, to tell logins "server full" and answer pings
	// from the cache. Past that, connections are closed without a word.
	overflowMin = 64
)

// Handler serves one accepted connection.
type Handler interface {
	Serve(ctx context.Context, a conn.Accepted)
}

// Trust says which peers may send PROXY headers.
type Trust interface {
	Contains(netip.Addr) bool
}

// Options configure a Listener.
type Options struct {
	Addr               string
	MaxConnections     int
	Trust              Trust // nil: trust nobody
	ProxyHeaderTimeout time.Duration
	Handler            Handler
	// Admit decides at accept, on the real client address, whether the
	// connection may proceed: reason.None admits, anything else is why it
	// is refused, for the metric (nil admits everyone). Refused
	// connections are closed without a word: nothing has been read from
	// them yet.
	Admit   func(netip.Addr) reason.Reason
	Metrics *telemetry.Metrics
	Log     *slog.Logger
}

// Listener is the edge's player-facing TCP listener.
type Listener struct {
	o      Options
	ln     net.Listener
	active atomic.Int64
	open   atomic.Bool
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Listen binds o.Addr.
func Listen(o Options) (*Listener, error) {
	// No keepalive on accept: Go's default would spend setsockopt calls on
	// every server-list ping and every refused bot. The handler sets the
	// configured options once a connection turns out to be a login.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	l := &Listener{o: o, ln: ln, conns: make(map[net.Conn]struct{})}
	l.open.Store(true)
	return l, nil
}

// Addr is the bound address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Listening reports whether the listener still accepts.
func (l *Listener) Listening() bool { return l.open.Load() }

// Active is the number of open client connections.
func (l *Listener) Active() int { return int(l.active.Load()) }

// Serve accepts until the listener is closed. It never returns on accept
// errors such as EMFILE: it backs off and keeps the players it has.
func (l *Listener) Serve(ctx context.Context) error {
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !l.open.Load() {
				return nil
			}
			l.o.Metrics.AcceptErrors.Inc()
			if backoff == 0 {
				backoff = acceptBackoffMin
				l.o.Log.Warn("accept failing; backing off", "err", err)
			} else {
				backoff = min(2*backoff, acceptBackoffMax)
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		if backoff != 0 {
			l.o.Log.Info("accept recovered")
			backoff = 0
		}
		n := l.active.Add(1)
		over := n > int64(l.o.MaxConnections)
		if over && n > int64(l.o.MaxConnections+max(overflowMin, l.o.MaxConnections/10)) {
			l.active.Add(-1)
			l.o.Metrics.Reject(reason.OverCapacity)
			_ = c.Close()
			continue
		}
		l.o.Metrics.ActiveConnections.Inc()
		l.track(c, true)
		l.wg.Add(1)
		go l.serve(ctx, c, over)
	}
}

func (l *Listener) serve(ctx context.Context, c net.Conn, over bool) {
	// The handler calls done when the connection has ended, which for a
	// relayed player is long after Serve returned (conn.Accepted.Done);
	// before the handler has it, this goroutine does.
	done := func() {
		l.track(c, false)
		_ = c.Close()
		l.active.Add(-1)
		l.o.Metrics.ActiveConnections.Dec()
		l.wg.Done()
	}
	handed := false
	defer func() {
		if !handed {
			done()
		}
	}()
	a := conn.Accepted{Conn: c, OverCapacity: over, Done: done}
	var peer netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = ta.AddrPort()
	} else if p, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		peer = p
	} else {
		return
	}
	a.Client = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	if l.o.Trust != nil && l.o.Trust.Contains(a.Client.Addr()) {
		h, rest, err := proxyproto.ReadConn(c, l.o.ProxyHeaderTimeout)
		switch {
		case errors.Is(err, proxyproto.ErrLocal), errors.Is(err, proxyproto.ErrNoAddress):
			// The balancer's own connection (a health check): keep the
			// socket address.
		case err != nil:
			l.o.Metrics.Reject(reason.ProxyHeader)
			l.o.Log.Debug("bad PROXY header from trusted peer", "peer", a.Client.String(), "err", err)
			return
		default:
			a.Client = h.Source
		}
		a.Pending = rest
	}
	if l.o.Admit != nil {
		if r := l.o.Admit(a.Client.Addr()); r != reason.None {
			l.o.Metrics.Reject(r)
			return
		}
	}
	handed = true
	l.o.Handler.Serve(ctx, a)
}

func (l *Listener) track(c net.Conn, add bool) {
	l.mu.Lock()
	if add {
		l.conns[c] = struct{}{}
	} else {
		delete(l.conns, c)
	}
	l.mu.Unlock()
}

// Close stops accepting. Connections already open keep running.
func (l *Listener) Close() error {
	l.open.Store(false)
	return l.ln.Close()
}

// Drain waits for open connections to end until ctx is done, then closes
// whatever is left. Call it after Close (and after telling players why).
func (l *Listener) Drain(ctx context.Context) {
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	l.mu.Lock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	<-done
}
