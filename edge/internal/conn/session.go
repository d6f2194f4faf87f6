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
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// session is one client connection and, after login starts, its backend leg.
type session struct {
	h  *Handler
	id uint64
	// log is built from the fields below on first use (logger): most
	// connections - server-list pings, refused bots at the default level -
	// never log, and preformatting their fields cost more than the ping.
	log    *slog.Logger
	client net.Conn
	addr   netip.AddrPort

	backendMu sync.Mutex // guards backend and closed: a kick may come from another goroutine
	backend   net.Conn
	closed    bool
	hs        packets.Handshake
	table     *packets.Table
	// username and identity name the player to kicks and logs: the
	// account's name and UUID once authenticated, before that the name
	// from Login Start and its offline UUID. Set before the session is
	// registered, then only read.
	username string
	identity mcproto.UUID

	// route is how this login is authenticated (AuthRoute of its host).
	route AuthRoute
	// profile is the account the session server confirmed (online mode;
	// authenticated is then set), and fwd what the backend is told.
	profile       auth.Profile
	authenticated bool
	fwd           forwarding.Player
	// enc encrypts the client leg when the edge owns its encryption
	// (online mode, cipher.go); nil otherwise. Used under clientMu.
	enc auth.Stream
	// backendWriteMu serialises writes to the backend leg on online
	// routes, where the clientbound relay answers the backend's
	// velocity:player_info itself while the serverbound relay forwards.
	backendWriteMu sync.Mutex

	// clientMu serialises writes to the client: the clientbound relay
	// writes batches of frames, a kick writes one frame between them.
	clientMu sync.Mutex
	comp     mcproto.Compressor // used under clientMu
	injected []byte             // the frame injectClient writes, reused (under clientMu)

	// Published by each direction's relay after it wrote a batch, read by
	// kick and by the other direction.
	state     [mcproto.NumDirections]atomic.Uint32 // mcproto.State
	threshold [mcproto.NumDirections]atomic.Int32
	raw       [mcproto.NumDirections]atomic.Bool // leg no longer frame-aligned (encrypted or spliced)

	// stageDeadline is when the connection's current unauthenticated stage
	// must be over: the handshake and the first packet after it
	// (proxy.handshake_timeout from accept). A read deadline of a moment
	// (readWithin) never pushes past it, so no stream of well-timed bytes
	// holds a connection open longer than its stage allows.
	stageDeadline time.Time
	// loginDeadline is when the backend must have sent Login Success
	// (proxy.login_timeout from the handshake). A serverbound frame held
	// while the edge waits for the backend never waits past it.
	loginDeadline time.Time

	// ticket holds the gate's per-address slots for this login.
	ticket *gate.Ticket

	// span is the login's mc.connect span until it ends (trace.go); nil
	// for pings, untraced edges and once relaying started. Only the
	// session's own goroutine touches it.
	span trace.Span
	// outcome overrides the span's outcome when the reason enum has no
	// word for it (a passed verification).
	outcome string

	// det is the detection engine's view of this player (nil when
	// detection is off). Both relay goroutines use it under detMu.
	det   *detect.Player
	detMu sync.Mutex

	// atEnd is what the login's steps leave to do when the connection
	// ends (later), run by finish in reverse order: on the goroutine that
	// ends the connection, which after the relay started is not the one
	// that ran the login.
	atEnd []func()
	// done is the listener's Accepted.Done, called last.
	done func()
	// pumps is the relay once it started: closing a leg wakes its parked
	// pumps (wake).
	pumps atomic.Pointer[relayRun]

	closeOnce sync.Once
	// drainAfter: the relay kicked the client for a malformed packet after
	// its reader had stopped; finish drains the client leg after counting
	// the rejection.
	drainAfter bool
	kicked     atomic.Bool
	lingering  atomic.Bool // kicked (or the backend hung up): the client leg drains until clientLingerUntil, then closes
	// clientLingerUntil is the client leg's linger deadline (unix
	// nanoseconds), stored before lingering: whoever drains the leg sets
	// it again, since a relay may have moved the deadline meanwhile.
	clientLingerUntil atomic.Int64
	// backendLingering: kicked (or the player hung up), and the backend
	// leg was half-closed rather than closed; the relay's clientbound side drains it until
	// backendLingerUntil (unix nanoseconds), then closes it (drainBackend).
	backendLingering   atomic.Bool
	backendLingerUntil atomic.Int64
	kickReason         atomic.Uint32 // reason.Reason of the kick, for the metric
}

// run drives the connection from the first byte; the returned reason is
// None for a connection that ended normally.
func (s *session) run(ctx context.Context, a Accepted) (reason.Reason, error) {
	o := &s.h.o
	accepted := time.Now()
	s.stageDeadline = accepted.Add(o.HandshakeTimeout)
	_ = s.client.SetDeadline(s.stageDeadline)

	f := mcproto.NewFramer(o.Pool, handshakeCap)
	s.later(f.Release) // the relay reads the client leg with this framer
	f.Load(a.Pending)
	l := newLeg(s.client, f)

	// The legacy (pre-1.7) ping starts with 0xFE where a modern client sends
	// a VarInt length; a VarInt decoder would read it as a 254-byte frame and
	// wait for bytes that never come (docs/PROTOCOL.md, Status and the legacy ping).
	for len(f.Buffered()) == 0 {
		if err := l.fill(); err != nil {
			return classify(err), err
		}
	}
	switch f.Buffered()[0] {
	case 0xFE:
		o.Metrics.Connections.WithLabelValues("legacy_ping").Inc()
		return s.legacyPing(ctx, l)
	case 0x02:
		// A handshake frame is at least 6 bytes long, so a first byte of 2 is
		// a pre-1.7 login packet, not a frame length.
		s.writeLegacyKick(reason.LegacyClient.PlayerMessage(s.h.messages()))
		return reason.LegacyClient, fmt.Errorf("pre-1.7 login")
	}

	raw, body, err := l.next()
	if err != nil {
		return classify(err), fmt.Errorf("read handshake: %w", err)
	}
	id, n, err := mcproto.ReadVarInt(body)
	if err != nil || id != 0x00 {
		return reason.Malformed, fmt.Errorf("first packet id %#x is not a handshake: %v", id, err)
	}
	hs, err := packets.DecodeHandshake(body[n:], 0)
	if errors.Is(err, packets.ErrBadIntent) {
		return reason.BadIntent, err
	}
	if err != nil {
		return reason.Malformed, fmt.Errorf("decode handshake: %w", err)
	}
	s.hs = hs
	s.log = nil // rebuilt with the protocol

	switch hs.Intent {
	case mcproto.IntentStatus:
		o.Metrics.Connections.WithLabelValues("status").Inc()
		return s.status(ctx, l)
	case mcproto.IntentLogin, mcproto.IntentTransfer:
		if hs.Intent == mcproto.IntentTransfer {
			o.Metrics.Connections.WithLabelValues("transfer").Inc()
		} else {
			o.Metrics.Connections.WithLabelValues("login").Inc()
		}
		ctx = s.startConnect(ctx, accepted)
		r, err := s.login(ctx, l, raw, a.OverCapacity)
		if errors.Is(err, errRelaying) {
			return r, err // the span ended when the relay started
		}
		s.endConnect(s.outcome, r, err)
		return r, err
	}
	return reason.BadIntent, fmt.Errorf("handshake intent %d", hs.Intent)
}

// status answers a server-list ping: the status JSON from the cache, then
// the ping echoed, all without a backend connection.
func (s *session) status(ctx context.Context, l *leg) (reason.Reason, error) {
	l.f.SetMax(statusCap)
	var out []byte
	for answered := 0; answered < 2; answered++ {
		_, body, err := l.next()
		if err != nil {
			if isClosed(err) {
				return reason.None, nil // pingers may hang up after the JSON
			}
			return classify(err), fmt.Errorf("read status packet: %w", err)
		}
		id, n, err := mcproto.ReadVarInt(body)
		if err != nil {
			return reason.Malformed, err
		}
		out = out[:0]
		switch {
		case id == 0x00 && len(body) == n: // Status Request: id only
			// The cache sees the routed host, never the client's
			// forwarding parts, which must not reach a backend.
			hs := s.hs
			hs.Host = packets.ParseHost(s.hs.Host).Host
			json := s.h.o.Status.Status(ctx, s.statusBackend(hs.Host), hs)
			out = mcproto.AppendVarInt(out, int32(1+mcproto.VarIntLen(int32(len(json)))+len(json)))
			out = append(out, 0x00)
			out = mcproto.AppendString(out, string(json))
		case id == 0x01 && len(body) == n+8: // Ping Request: i64 echoed back
			out = mcproto.AppendFrame(out, body)
			if _, err := s.client.Write(out); err != nil {
				return reason.None, err
			}
			return reason.None, nil
		default:
			return reason.Malformed, fmt.Errorf("status packet id %#x with %d bytes", id, len(body)-n)
		}
		if _, err := s.client.Write(out); err != nil {
			return reason.None, err
		}
	}
	return reason.None, nil
}

// readWithin sets a read deadline d from now, or the stage's deadline if
// that comes first: per-read deadlines only ever make it earlier.
func (s *session) readWithin(d time.Duration) {
	t := time.Now().Add(d)
	if !s.stageDeadline.IsZero() && s.stageDeadline.Before(t) {
		t = s.stageDeadline
	}
	_ = s.client.SetReadDeadline(t)
}

// later registers fn to run when the connection ends (finish), like a
// defer that outlives the function: a login step's clean-up must wait for
// the relay, which runs on goroutines of its own. Only the goroutine
// running the login calls it, before the relay starts.
func (s *session) later(fn func()) { s.atEnd = append(s.atEnd, fn) }

// errRelaying is what the login's steps return once the relay has started:
// the connection goes on without them and its pumps finish it.
var errRelaying = errors.New("relaying")

// closeAll closes both legs once.
func (s *session) closeAll() {
	s.closeOnce.Do(func() {
		_ = s.client.Close()
		s.backendMu.Lock()
		s.closed = true
		b := s.backend
		s.backendMu.Unlock()
		if b != nil {
			_ = b.Close()
		}
		s.wake()
	})
}

// wake resumes the relay's parked pumps after a leg was closed or the
// player kicked: a socket closed while parked leaves the poller's set
// without an event, so nothing else would.
func (s *session) wake() {
	if r := s.pumps.Load(); r != nil {
		r.up.wake()
		r.down.wake()
	}
}

// setBackend attaches the backend leg; false (and the leg closed) when the
// session was closed meanwhile.
func (s *session) setBackend(b net.Conn) bool {
	s.backendMu.Lock()
	defer s.backendMu.Unlock()
	if s.closed {
		_ = b.Close()
		return false
	}
	s.backend = b
	return true
}

// logger is the session's logger, carrying the connection id, the client's
// address and, once known, its protocol and player name. Only the session's
// own goroutine calls it.
func (s *session) logger() *slog.Logger {
	if s.log == nil {
		attrs := make([]any, 0, 8)
		attrs = append(attrs, "conn_id", s.id, "remote", s.addr.String())
		if s.hs.Protocol != 0 {
			attrs = append(attrs, "protocol", s.hs.Protocol)
		}
		if s.username != "" {
			attrs = append(attrs, "player", s.username)
		}
		s.log = s.h.o.Log.With(attrs...)
	}
	return s.log
}

// debug logs at debug level, building the logger only when that level is on.
func (s *session) debug(msg string, args ...any) {
	if s.h.o.Log.Enabled(context.Background(), slog.LevelDebug) {
		s.logger().Debug(msg, args...)
	}
}

// kick tells the player why, when the client leg is still frame-aligned, and
// closes the connection.
func (s *session) kick(r reason.Reason) { s.kickWith(r, r.PlayerMessage(s.h.messages())) }

// kickWith is kick with a message of the caller's (a check's).
func (s *session) kickWith(r reason.Reason, msg string) {
	tc, isTCP := s.client.(*net.TCPConn)
	if isTCP {
		// Before kicked is visible: a relay that sees kicked and ends must
		// find lingering set, or its end would close the client leg under
		// the disconnect being written.
		s.clientLingerUntil.Store(time.Now().Add(kickLinger).UnixNano())
		s.lingering.Store(true)
		// Likewise the backend leg's drain: a relay that ends on kicked
		// must find it set, or it would close the leg outright.
		s.lingerBackend(time.Now().Add(kickLinger))
	}
	if !s.kicked.CompareAndSwap(false, true) {
		return
	}
	s.kickReason.Store(uint32(r))
	// The clientbound relay holds clientMu while it writes; to a client that
	// does not read, that write waits for the idle timeout. Shorten it: the
	// kick waits at most this long, then the relay's write fails and the
	// kick proceeds (a client that reads nothing loses nothing it would
	// have read). The relay sets its own deadline before it checks kicked,
	// so this one, set after kicked, is never overwritten.
	_ = s.client.SetWriteDeadline(time.Now().Add(kickWriteWait))
	s.clientMu.Lock()
	if !s.raw[mcproto.Clientbound].Load() && s.table != nil {
		st := mcproto.State(s.state[mcproto.Clientbound].Load())
		s.writeDisconnectLocked(st, msg)
	}
	s.clientMu.Unlock()
	// Closing a socket that still has unread bytes makes the kernel send a
	// reset, and a reset can make the client drop the disconnect it has not
	// read yet (a flooding client always has bytes in flight). So: send FIN
	// after the message, read and discard for a moment, then close.
	// The backend leg likewise: it streams to the player all the time, so
	// its socket nearly always holds unread bytes, and a reset there
	// discards what the edge accepted from the player just before the
	// kick and has not yet delivered (shutBackend).
	if isTCP {
		_ = tc.CloseWrite()
		until := time.Now().Add(kickLinger)
		s.clientLingerUntil.Store(until.UnixNano())
		_ = tc.SetReadDeadline(until)
		s.shutBackend()
		return
	}
	s.closeAll()
}

// lingerBackend marks the backend leg, when there is one that can be
// half-closed, for shutBackend: from now on only drainBackend closes it
// before the session ends.
func (s *session) lingerBackend(until time.Time) {
	s.backendMu.Lock()
	defer s.backendMu.Unlock()
	if s.closed || s.backendLingering.Load() {
		return
	}
	if _, ok := s.backend.(interface{ CloseWrite() error }); !ok {
		return
	}
	// The deadline before the flag: a reader that sees the flag finds it.
	s.backendLingerUntil.Store(until.UnixNano())
	s.backendLingering.Store(true)
}

// shutBackend ends the backend leg after a kick (or the player's hang-up)
// without a reset: FIN after what the edge has written, then its bytes are
// read and discarded until the backend hangs up or the linger deadline
// passes (drainBackend, run by the relay's clientbound side, the leg's only
// reader), and only then is it closed. A leg lingerBackend did not mark is closed at once.
func (s *session) shutBackend() {
	s.backendMu.Lock()
	s.closed = true
	b := s.backend
	s.backendMu.Unlock()
	if b == nil {
		return
	}
	if !s.backendLingering.Load() {
		_ = b.Close()
	} else {
		_ = b.(interface{ CloseWrite() error }).CloseWrite()
		// A deadline already passed: the clientbound pump's read returns
		// now, not when the backend next speaks; drainBackend sets the
		// linger deadline when it starts reading.
		_ = b.SetReadDeadline(time.Now())
	}
	// A parked clientbound pump must see backendShut now, not at its idle
	// deadline: it is the drain's only reader.
	s.wake()
}

// drainBackend reads and discards the backend leg after shutBackend, until
// the backend hangs up or the linger deadline passes. Nothing read here
// reaches the player. finish calls it once both pumps have ended (one
// reader per leg) and the outcome is counted, so a kick's metric and log
// line do not wait for a backend that is slow to hang up; the caller
// closes the socket afterwards.
func (s *session) drainBackend() {
	if !s.backendLingering.Load() {
		return
	}
	s.backendMu.Lock()
	b := s.backend
	s.backendMu.Unlock()
	// The pump may have moved the deadline after shutBackend set it.
	_ = b.SetReadDeadline(time.Unix(0, s.backendLingerUntil.Load()))
	// A leg of its own: it waits without holding a buffer, like every leg.
	l := newLeg(b, mcproto.NewFramer(s.h.o.Pool, mcproto.MaxFrameLength))
	for l.discard() == nil {
	}
	l.f.Release()
}

// drainClient reads and discards what a kicked client still sends until it
// hangs up or the linger deadline kickWith set passes, for a kick made
// after the relay's reader had stopped (the reason is in kickWith). The
// caller closes the socket afterwards.
func (s *session) drainClient() {
	if !s.lingering.Load() {
		return // not a TCP socket: kickWith closed it already
	}
	s.lingerDeadline()
	// A leg of its own: it waits without holding a buffer, like every leg.
	l := newLeg(s.client, mcproto.NewFramer(s.h.o.Pool, mcproto.MaxFrameLength))
	for l.discard() == nil {
	}
	l.f.Release()
}

// lingerDeadline sets the client leg's read deadline to its linger
// deadline, for a reader that drains it.
func (s *session) lingerDeadline() {
	_ = s.client.SetReadDeadline(time.Unix(0, s.clientLingerUntil.Load()))
}

// lingerClient ends the client leg after the backend hung up, as a kick
// does but without a message of the edge's: the backend's last packets
// (often its own disconnect) are written, the player nearly always has
// bytes in flight, and closing now would be a reset that can make the
// client drop them. FIN, then the relay's serverbound side (or finish,
// drainClient) discards what the player still sends until it hangs up or
// kickLinger passes.
func (s *session) lingerClient() {
	tc, ok := s.client.(*net.TCPConn)
	if !ok {
		return
	}
	until := time.Now().Add(kickLinger)
	s.clientLingerUntil.Store(until.UnixNano())
	s.lingering.Store(true)
	s.clientMu.Lock() // after any write of a kick's disconnect in progress
	_ = tc.CloseWrite()
	s.clientMu.Unlock()
	_ = tc.SetReadDeadline(until)
	// A parked serverbound pump drains the leg from now on (the lingering
	// branch of run, or of awaitRaw on a raw leg); without the wake it
	// would wait for its idle deadline.
	s.wake()
}

// kickWriteWait bounds how long a kick waits for a clientbound write in
// progress, and the write of the disconnect itself.
const kickWriteWait = time.Second

// kickLinger is how long a kicked client's bytes are read and discarded
// before its socket is closed: long enough for the client to read the
// disconnect and hang up even on a loaded machine (a flooding client may
// not read for a while), short enough that a kicked flood costs little.
const kickLinger = 3 * time.Second

// closeBackend closes the backend leg only, unless shutBackend half-closed it:
// then drainBackend closes it once drained (closeAll, at the session's
// very end, closes it regardless).
func (s *session) closeBackend() {
	s.backendMu.Lock()
	s.closed = true
	b := s.backend
	s.backendMu.Unlock()
	if b != nil && !s.backendLingering.Load() {
		_ = b.Close()
	}
	s.wake()
}

// injectClient writes one packet of the edge's own (a setback; pkt is id
// and data) to the client from the serverbound relay: framed for the
// client leg's compression and encrypted in write order, under clientMu
// like the clientbound relay's batches and probes, so it lands between
// two whole frames. Nothing is written once the leg is raw, a kick is
// under way, or the client's leg is not in play.
func (s *session) injectClient(pkt []byte, idle time.Duration) error {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.kicked.Load() || s.raw[mcproto.Clientbound].Load() || mcproto.State(s.state[mcproto.Clientbound].Load()) != mcproto.StatePlay {
		return nil
	}
	s.injected = s.comp.AppendFrame(s.injected[:0], pkt, int(s.threshold[mcproto.Clientbound].Load()))
	s.encryptLocked(s.injected)
	_ = s.client.SetWriteDeadline(time.Now().Add(idle))
	if _, err := s.client.Write(s.injected); err != nil {
		return fmt.Errorf("write setback: %w", err)
	}
	return nil
}

// disconnect sends a Disconnect for the current clientbound state.
func (s *session) disconnect(st mcproto.State, msg string) {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	s.writeDisconnectLocked(st, msg)
}

func (s *session) writeDisconnectLocked(st mcproto.State, msg string) {
	pkt := packets.AppendDisconnect(nil, st, s.hs.Protocol, msg)
	if pkt == nil {
		return
	}
	frame := s.comp.AppendFrame(nil, pkt, int(s.threshold[mcproto.Clientbound].Load()))
	s.encryptLocked(frame)
	// A short deadline: a client that does not read must not hold the kick.
	_ = s.client.SetWriteDeadline(time.Now().Add(kickWriteWait))
	_, _ = s.client.Write(frame)
}

// statusBackend is the backend whose status a ping for the routed host
// shows ("" when none: the cache answers with the fallback MOTD).
func (s *session) statusBackend(host string) string {
	c, err := s.h.o.Backends.Candidates(host, "")
	if err != nil || len(c) == 0 {
		return ""
	}
	return c[0]
}
