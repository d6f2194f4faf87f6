package conn

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

	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/forwarding"
	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/edge/internal/limbo"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/edge/internal/world"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Backends chooses and dials backends (edge/internal/discovery).
type Backends interface {
	// Candidates lists backends for a handshake host, best first, for a
	// player key (the lower-cased name; "" for pings).
	Candidates(host, playerKey string) ([]string, error)
	// Dial opens a TCP connection to addr, bounded by ctx.
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// Acquire and Release count this edge's players per backend.
	Acquire(addr string)
	Release(addr string)
	// MarkFailed reports a backend that accepted but failed a login
	// before answering, so later logins try it last.
	MarkFailed(addr string)
}

// Gate decides whether a login may proceed (edge/internal/gate) and
// learns the outcome of verifications.
type Gate interface {
	Login(ctx context.Context, r gate.LoginRequest) (*gate.Ticket, gate.Decision)
	// Identified applies the rules that need a proven identity once an
	// online-mode login is authenticated.
	Identified(r gate.LoginRequest, d gate.Decision) gate.Decision
	// Verified records a passed verification for key
	// (gate.LoginRequest.VerifyKey).
	Verified(addr netip.Addr, key string)
	Failed(addr netip.Addr) (blocked bool)
}

// Authenticator asks the session server whether a player joined
// (edge/internal/auth).
type Authenticator interface {
	Authenticate(ctx context.Context, l auth.Login) (auth.Profile, error)
}

// AuthRoute is how logins on one routed host are authenticated and how the
// backend learns who the player is (config auth.*; docs/CONFIG.md,
// "Authentication").
type AuthRoute struct {
	// Online: the edge authenticates the player with the session server
	// and owns the client leg's encryption. Otherwise passthrough: an
	// encrypted stream the backend starts is relayed untouched.
	Online bool
	// Forwarding and Secret (Velocity's HMAC key, BungeeGuard's token)
	// tell an offline backend who the player is; online routes only.
	Forwarding forwarding.Mode
	Secret     []byte
	// SendIP asks the session server to check the player's address
	// (auth.prevent_proxy_connections).
	SendIP bool
}

// Verifier plays the verification limbo (edge/internal/limbo).
type Verifier interface {
	Supports(protocol int32) bool
	Run(ctx context.Context, c net.Conn, pending []byte, protocol int32, name string, uuid mcproto.UUID, transferHost string, transferPort int) (limbo.Result, error)
}

// StatusSource answers status pings without bothering the backend each time.
type StatusSource interface {
	// Status returns the status JSON to send for a ping with handshake hs
	// that would be served by backend.
	Status(ctx context.Context, backend string, hs packets.Handshake) []byte
}

// Options configure a Handler.
type Options struct {
	Log      *slog.Logger
	Metrics  *telemetry.Metrics
	Pool     *mcproto.BufferPool
	Backends Backends
	Status   StatusSource
	Messages reason.Messages

	HandshakeTimeout time.Duration // accept → handshake and the first packet after it
	LoginTimeout     time.Duration // handshake → Login Success; client frames held meanwhile wait at most this
	// FirstAnswerTimeout bounds how long a backend may take to answer Login
	// Start before the next candidate is tried.
	FirstAnswerTimeout time.Duration
	IdleTimeout        time.Duration // no bytes on a leg for this long closes the connection
	InspectPlay        bool          // parse play frames; false splices play traffic
	// ProxyHeader, when non-nil, returns the PROXY v2 header to send to the
	// backend ahead of the handshake so it sees the player's address.
	ProxyHeader func(client, backend netip.AddrPort) []byte
	// Gate admits logins (layer 1); nil admits everyone.
	Gate Gate
	// Limbo verifies players the gate sends to verification; nil admits
	// them unverified. TransferHost/Port is where 1.20.5+ clients are sent
	// back after passing (the edge's public address).
	Limbo        Verifier
	TransferHost string
	TransferPort int
	// OnJoin, when set, is called for every login the gate admitted (the
	// fleet's joins-per-second signal).
	OnJoin func()
	// Detect is the detection engine; nil turns detection off.
	Detect *detect.Engine
	// World is the edge's world replica, fed from every relayed player's
	// clientbound world packets when InspectPlay is on; nil: no replica.
	World *world.Store
	// TuneBackend sets socket options (TCP_NODELAY, keepalive) on a
	// freshly dialled backend connection.
	TuneBackend func(net.Conn)
	// TuneClient sets them on a player's connection once it is a login;
	// pings and refused connections close before they would matter.
	TuneClient func(net.Conn)
	// Tracer traces the setup of each login (edge/internal/tracing); nil
	// traces nothing and costs nothing.
	Tracer trace.Tracer
	// AuthRoute gives the authentication of a routed host; nil:
	// passthrough for every host. An online route needs AuthKey (the
	// edge's RSA key for Encryption Request) and Authenticator.
	AuthRoute     func(host string) AuthRoute
	AuthKey       *auth.Key
	Authenticator Authenticator
}

// Handler serves accepted connections. It keeps a registry of the sessions
// that reached login so it can tell every player why when the edge stops.
type Handler struct {
	o      Options
	nextID atomic.Uint64
	// msgs are the player-facing texts: Options.Messages until
	// SetMessages replaces them (the fleet document's messages section).
	msgs atomic.Pointer[reason.Messages]

	// worldScratch lends the buffers a relay needs while it feeds one
	// world packet to the replica (world.go): pooled per edge, so an idle
	// player keeps none.
	worldScratch sync.Pool

	mu       sync.Mutex
	sessions map[*session]struct{}
	draining bool

	// pl holds idle relayed legs without goroutines (poller_linux.go),
	// made when the first leg parks and closed by Shutdown; nil where it
	// cannot be made, and then legs wait on goroutines as before.
	plOnce   sync.Once
	pl       atomic.Pointer[poller]
	plClosed atomic.Bool
}

// poller returns the handler's poller, making it on first use; nil when
// there is none (not Linux, it failed, or the handler shut down).
func (h *Handler) poller() *poller {
	if !pollerAvailable || h.plClosed.Load() {
		return nil
	}
	h.plOnce.Do(func() {
		pl, err := newPoller(h.o.IdleTimeout)
		if err != nil {
			h.o.Log.Warn("idle connections keep a goroutine each: no poller", "err", err)
			return
		}
		h.pl.Store(pl)
	})
	return h.pl.Load()
}

// NewHandler returns a Handler.
func NewHandler(o Options) *Handler {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Pool == nil {
		o.Pool = mcproto.NewBufferPool(4096)
	}
	if o.FirstAnswerTimeout <= 0 {
		o.FirstAnswerTimeout = 5 * time.Second
	}
	h := &Handler{o: o, sessions: make(map[*session]struct{})}
	h.SetMessages(o.Messages)
	return h
}

// SetMessages replaces the texts players see when the edge disconnects
// them, from the next disconnect on.
func (h *Handler) SetMessages(m reason.Messages) { h.msgs.Store(&m) }

// messages are the texts in force.
func (h *Handler) messages() reason.Messages { return *h.msgs.Load() }

// Accepted is what the listener knows about a new connection.
type Accepted struct {
	Conn net.Conn
	// Client is the player's address: the socket peer, or the source of a
	// PROXY header from a trusted load balancer.
	Client netip.AddrPort
	// Pending holds bytes read past a PROXY header; they belong to the
	// Minecraft stream.
	Pending []byte
	// OverCapacity is set when max_connections was reached: logins are told
	// the server is full, pings are still answered from the cache.
	OverCapacity bool
	// Done, when set, is called once when the connection has ended and
	// its sockets are closed. Serve may return before that: a relayed
	// connection ends on its relay's goroutines (relay.go).
	Done func()
}

// Serve runs one connection until it ends or its relay starts, and returns.
// A relayed connection is carried on by its two pumps' goroutines, and
// whichever ends last finishes it (session.finish): no goroutine waits,
// parked deep in the login's stack, for the player to leave. a.Done is
// called once the connection has ended; a.Conn is closed by then.
func (h *Handler) Serve(ctx context.Context, a Accepted) {
	s := &session{
		h:      h,
		id:     h.nextID.Add(1),
		client: a.Conn,
		addr:   a.Client,
		done:   a.Done,
	}
	s.threshold[mcproto.Serverbound].Store(mcproto.CompressionOff)
	s.threshold[mcproto.Clientbound].Store(mcproto.CompressionOff)

	r, err := s.run(ctx, a)
	if errors.Is(err, errRelaying) {
		return
	}
	s.finish(r, err)
}

// finish ends a connection: what its steps left to do at the end (later),
// the metric and the log line for how it ended, the drain after a kick,
// closing both legs and telling the listener.
func (s *session) finish(r reason.Reason, err error) {
	h := s.h
	for i := len(s.atEnd) - 1; i >= 0; i-- {
		s.atEnd[i]()
	}
	s.atEnd = nil
	defer func() {
		s.closeAll()
		if s.done != nil {
			s.done()
		}
	}()
	if r != reason.None {
		h.o.Metrics.Reject(r)
	}
	switch {
	case err == nil:
	case r == reason.None && isClosed(err):
		s.debug("connection closed", "err", err)
	case r == reason.BackendUnavailable || r == reason.ShuttingDown:
		// Operator-relevant: a backend problem, not the player's doing.
		s.logger().Warn("connection ended", "reason", r.String(), "err", err)
	default:
		// Attacker-controlled failures stay at debug: a flood of junk must
		// not become a flood of log lines.
		s.debug("connection ended", "reason", r.String(), "err", err)
	}
	if s.drainAfter {
		s.drainClient()
	}
	s.drainBackend() // when a kick or the player's hang-up half-closed it
}

// Shutdown tells every player in login or play why the edge is going away
// and closes their connections. New sessions are refused from now on.
func (h *Handler) Shutdown() {
	h.mu.Lock()
	h.draining = true
	list := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	// In parallel: a kick can wait up to kickWriteWait for a client that
	// does not read, and one such client must not hold up the others.
	var wg sync.WaitGroup
	for _, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.kick(reason.ShuttingDown)
		}()
	}
	wg.Wait()
	// Every leg still parked goes back to a goroutine, so that whatever
	// closes it from now on (the listener's drain) ends its relay.
	h.plClosed.Store(true)
	h.plOnce.Do(func() {}) // none made from here on
	if pl := h.pl.Load(); pl != nil {
		pl.close()
	}
}

// KickWhere kicks every player in login or play for whom match returns a
// message (a new ban that covers them). It returns how many were kicked.
// match gets the player's identity: the account's UUID and name when the
// edge authenticated the player, otherwise the name the client typed and
// its offline UUID (never a UUID the client merely claimed).
func (h *Handler) KickWhere(match func(addr netip.Addr, name string, uuid mcproto.UUID) (string, bool)) int {
	h.mu.Lock()
	var hit []*session
	var msgs []string
	for s := range h.sessions {
		if msg, ok := match(s.addr.Addr(), s.username, s.identity); ok {
			hit = append(hit, s)
			msgs = append(msgs, msg)
		}
	}
	h.mu.Unlock()
	var wg sync.WaitGroup // in parallel, as in Shutdown
	for i, s := range hit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.kickWith(reason.Banned, msgs[i])
		}()
	}
	wg.Wait()
	return len(hit)
}

// Sessions is the number of connections past the handshake in login or play.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

func (h *Handler) register(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.sessions[s] = struct{}{}
	return true
}

func (h *Handler) unregister(s *session) {
	h.mu.Lock()
	delete(h.sessions, s)
	h.mu.Unlock()
}

// errReason attaches a rejection reason to an error.
type errReason struct {
	r   reason.Reason
	err error
}

func (e *errReason) Error() string { return e.r.String() + ": " + e.err.Error() }
func (e *errReason) Unwrap() error { return e.err }

func fail(r reason.Reason, format string, args ...any) error {
	return &errReason{r: r, err: fmt.Errorf(format, args...)}
}

// classify maps a read or decode error to a rejection reason.
func classify(err error) reason.Reason {
	var er *errReason
	switch {
	case errors.As(err, &er):
		return er.r
	case errors.Is(err, mcproto.ErrFrameTooLarge), errors.Is(err, mcproto.ErrLengthTooWide),
		errors.Is(err, mcproto.ErrInflateTooLarge):
		return reason.FrameTooLarge
	case isTimeout(err):
		return reason.HandshakeTimeout
	case isClosed(err):
		return reason.None
	}
	return reason.Malformed
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
