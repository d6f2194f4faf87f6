package conn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/discovery"
	"github.com/rustguard/rustguard/edge/internal/forwarding"
	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// login takes a login from Login Start to the relay, one named step at a
// time: read Login Start, admit (the gate), authenticate (online routes:
// the edge is the online-mode server), identify (who detection, kicks and
// traces name), verify (the limbo, when the gate asks), choose a backend,
// dial it with failover and log in there, then relay. handshake is the
// client's handshake frame as it arrived.
func (s *session) login(ctx context.Context, l *leg, handshake []byte, overCapacity bool) (reason.Reason, error) {
	o := &s.h.o
	if o.TuneClient != nil {
		o.TuneClient(s.client)
	}
	s.state[mcproto.Serverbound].Store(uint32(mcproto.StateLogin))
	s.state[mcproto.Clientbound].Store(uint32(mcproto.StateLogin))
	// From here on, the handshake frame's bytes may be overwritten by reads.
	handshake = append([]byte(nil), handshake...)

	s.table = packets.Lookup(s.hs.Protocol)
	if s.table == nil {
		s.disconnect(mcproto.StateLogin, reason.UnsupportedVersion.PlayerMessage(s.h.messages()))
		return reason.UnsupportedVersion, fmt.Errorf("protocol %d not supported", s.hs.Protocol)
	}
	if s.hs.Intent == mcproto.IntentTransfer && s.hs.Protocol < mcproto.Protocol1_20_5 {
		return reason.BadIntent, fmt.Errorf("transfer intent from protocol %d", s.hs.Protocol)
	}

	loginStart, ls, r, err := s.readLoginStart(l)
	if err != nil {
		return r, err
	}
	host := packets.ParseHost(s.hs.Host)
	if o.AuthRoute != nil {
		s.route = o.AuthRoute(host.Host)
	}
	s.username, s.identity = ls.Name, mcproto.OfflineUUID(ls.Name)
	s.log = nil // rebuilt with the player's name
	s.tracePlayer()

	if overCapacity {
		s.disconnect(mcproto.StateLogin, reason.ServerFull.PlayerMessage(s.h.messages()))
		return reason.ServerFull, fmt.Errorf("max connections reached")
	}
	if s.route.Online && s.route.Forwarding == forwarding.Velocity && s.hs.Protocol < forwarding.MinVelocityProtocol {
		// Velocity forwarding rides on login plugin messages (1.13+): a
		// backend could never learn who this client is.
		s.disconnect(mcproto.StateLogin, msgVelocityNeeds113)
		return reason.UnsupportedVersion, fmt.Errorf("protocol %d is older than 1.13, which Velocity forwarding needs", s.hs.Protocol)
	}

	req := gate.LoginRequest{Addr: s.addr.Addr(), Name: ls.Name, UUID: ls.UUID, Host: host.Host,
		Protocol: s.hs.Protocol, AuthPending: s.route.Online}
	d, ticket := s.admit(ctx, req)
	if ticket != nil {
		s.ticket = ticket
		s.later(ticket.Release)
	}
	if s.route.Online && (d.Allowed() || d.Outcome == gate.Verify) {
		if r, err := s.authenticate(ctx, l, ls, d); err != nil {
			return r, err
		}
		req.Name, req.UUID, req.Authenticated, req.AuthPending = s.profile.Name, s.profile.ID, true, false
		if o.Gate != nil {
			d = o.Gate.Identified(req, d)
		}
	}
	if s.identify(ls) {
		s.later(func() {
			s.detMu.Lock()
			_ = s.det.Close() // ends a recording, if one runs
			s.detMu.Unlock()
		})
	}

	switch {
	case d.Outcome == gate.Verify && o.Limbo != nil && o.Limbo.Supports(s.hs.Protocol):
		return s.verify(ctx, l, req)
	case d.Outcome == gate.Verify:
		// No limbo for this version (1.21.5+ lacks world data): admit
		// unverified rather than lock the newest clients out.
		s.debug("verification requested but not available for this version; admitting")
	case !d.Allowed():
		s.disconnect(mcproto.StateLogin, d.Message)
		return reason.Refused, fmt.Errorf("gate: %s", d.Reason)
	}
	if o.OnJoin != nil {
		o.OnJoin()
	}
	if !s.h.register(s) {
		s.disconnect(mcproto.StateLogin, reason.ShuttingDown.PlayerMessage(s.h.messages()))
		return reason.ShuttingDown, fmt.Errorf("edge is shutting down")
	}
	s.later(func() { s.h.unregister(s) })

	candidates, r, err := s.chooseBackend(ctx, host)
	if err != nil {
		return r, err
	}
	hsFrame, lsFrame := s.backendPreamble(handshake, loginStart, host, ls)
	if s.loginDeadline.IsZero() {
		s.setLoginDeadline()
	}
	down, addr, r, err := s.dialWithFailover(ctx, candidates, host, hsFrame, lsFrame)
	if err != nil {
		return r, err
	}
	o.Backends.Acquire(addr)
	s.later(func() { o.Backends.Release(addr) })
	s.endConnect(outcomeRelayed, reason.None, nil)
	s.relay(l, down)
	return reason.None, errRelaying
}

// msgVelocityNeeds113 tells a pre-1.13 client on a Velocity-forwarding
// route what to do.
const msgVelocityNeeds113 = "This server needs Minecraft 1.13 or newer. Please join with a newer version."

// readLoginStart reads and decodes Login Start. loginStart is the frame as
// it arrived, copied: ls aliases it (the profile key of 1.19–1.19.2), and
// the leg's buffer is reused by the reads that follow.
func (s *session) readLoginStart(l *leg) (loginStart []byte, ls packets.LoginStart, r reason.Reason, err error) {
	l.f.SetMax(loginStartCap)
	rawStart, _, err := l.next()
	if err != nil {
		r := classify(err)
		if r != reason.None && r != reason.HandshakeTimeout {
			// The client is in login and can read why.
			s.disconnect(mcproto.StateLogin, r.PlayerMessage(s.h.messages()))
		}
		return nil, ls, r, fmt.Errorf("read login start: %w", err)
	}
	loginStart = append([]byte(nil), rawStart...)
	_, h, _ := mcproto.ParseFrameHeader(loginStart)
	body := loginStart[h:]
	id, n, err := mcproto.ReadVarInt(body)
	if err != nil || id != 0x00 {
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(s.h.messages()))
		return nil, ls, reason.Malformed, fmt.Errorf("expected login start, got id %#x", id)
	}
	ls, err = packets.DecodeLoginStart(body[n:], s.hs.Protocol)
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(s.h.messages()))
		return nil, ls, reason.Malformed, fmt.Errorf("decode login start: %w", err)
	}
	return loginStart, ls, reason.None, nil
}

// admit asks the gate (layer 1). Without a gate everyone is admitted.
func (s *session) admit(ctx context.Context, req gate.LoginRequest) (gate.Decision, *gate.Ticket) {
	o := &s.h.o
	if o.Gate == nil {
		return gate.Decision{Outcome: gate.Allow}, nil
	}
	gctx, gspan := s.step(ctx, telemetry.SpanGate)
	ticket, d := o.Gate.Login(gctx, req)
	if gspan != nil {
		gspan.SetAttributes(attribute.String(telemetry.AttrGateDecision, d.Outcome.String()),
			attribute.String(telemetry.AttrGateReason, d.Reason.String()))
		gspan.End()
	}
	return d, ticket
}

// identify settles who this player is for everything after it: the
// detection engine's player (authenticated or not), the trace, kicks and
// logs. It reports whether a detection player was made (the caller closes
// it).
func (s *session) identify(ls packets.LoginStart) bool {
	o := &s.h.o
	if s.authenticated {
		s.username, s.identity = s.profile.Name, s.profile.ID
		s.log = nil
		s.tracePlayer()
	}
	if o.Detect == nil {
		return false
	}
	uuid := ""
	switch {
	case s.authenticated:
		uuid = s.profile.ID.String()
	case ls.HasUUID:
		uuid = ls.UUID.String() // replaced by the offline UUID: a claim (detect.PlayerInfo)
	}
	s.det = o.Detect.NewPlayer(detect.PlayerInfo{Protocol: s.hs.Protocol, Name: s.username, UUID: uuid,
		Authenticated: s.authenticated, Addr: s.addr,
		Session: strconv.FormatUint(s.id, 36), Trace: s.spanContext()})
	return true
}

// verify runs the verification limbo: the edge answers this login itself,
// then the client is transferred back (1.20.5+) or asked to reconnect. On
// an online route it runs on the encrypted connection, for the
// authenticated account.
func (s *session) verify(ctx context.Context, l *leg, req gate.LoginRequest) (reason.Reason, error) {
	o := &s.h.o
	host, port := o.TransferHost, o.TransferPort
	if host == "" { // back to the address the player typed
		host, port = packets.ParseHost(s.hs.Host).Host, int(s.hs.Port)
	}
	var c net.Conn = s.client
	if s.authenticated {
		c = &cipherConn{Conn: s.client, s: s, dec: l.dec}
	}
	lctx, lspan := s.step(ctx, telemetry.SpanLimbo)
	// req names the account once authenticated, else what Login Start said.
	res, err := o.Limbo.Run(lctx, c, l.f.TakeBuffered(), s.hs.Protocol, req.Name, req.UUID, host, port)
	if lspan != nil {
		result := outcomeVerified
		if !res.Passed {
			result = res.Reason.String()
		}
		lspan.SetAttributes(attribute.String(telemetry.AttrOutcome, result))
		endStep(lspan, err)
	}
	switch {
	case res.Passed:
		o.Gate.Verified(s.addr.Addr(), req.VerifyKey())
		s.outcome = outcomeVerified
		return reason.None, nil
	case res.Reason.Failure():
		blocked := o.Gate.Failed(s.addr.Addr())
		return reason.VerificationFailed, fmt.Errorf("verification failed: %s %s (address blocked: %v)", res.Reason, res.Detail, blocked)
	}
	return reason.None, err
}

// chooseBackend lists the backends that may serve the routed host.
func (s *session) chooseBackend(ctx context.Context, host packets.HostInfo) ([]string, reason.Reason, error) {
	o := &s.h.o
	_, cspan := s.step(ctx, telemetry.SpanBackendChoose)
	candidates, err := o.Backends.Candidates(host.Host, strings.ToLower(s.username))
	if cspan != nil {
		cspan.SetAttributes(attribute.String(telemetry.AttrHost, host.Host), attribute.Int(telemetry.AttrCandidates, len(candidates)))
		endStep(cspan, err)
	}
	if errors.Is(err, discovery.ErrUnknownHost) {
		s.disconnect(mcproto.StateLogin, reason.UnknownHost.PlayerMessage(s.h.messages()))
		return nil, reason.UnknownHost, fmt.Errorf("no pool serves host %q", host.Host)
	}
	if err != nil || len(candidates) == 0 {
		s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(s.h.messages()))
		return nil, reason.BackendUnavailable, fmt.Errorf("no backend for %q: %w", host.Host, err)
	}
	return candidates, reason.None, nil
}

// backendPreamble is what a backend receives after the optional PROXY
// header: the handshake and Login Start.
//
// Passthrough: the handshake as it arrived (rebuilt only if the host
// carried client-supplied forwarding parts that no backend should trust),
// then Login Start as it arrived. Online: the handshake with the routed
// host (for BungeeCord forwarding, followed by the edge's forwarding parts)
// and a Login Start with the account's name and UUID; the 1.19–1.19.2
// profile key stays as the client sent it.
func (s *session) backendPreamble(handshake, loginStart []byte, host packets.HostInfo, ls packets.LoginStart) (hsFrame, lsFrame []byte) {
	if !s.authenticated {
		hsFrame = handshake
		if clean := host.BackendHost(); clean != s.hs.Host {
			hs := s.hs
			hs.Host = clean
			hsFrame = mcproto.AppendFrame(nil, hs.AppendTo(nil, s.hs.Protocol))
		}
		return hsFrame, loginStart
	}
	hs := s.hs
	switch s.route.Forwarding {
	case forwarding.BungeeCord:
		hs.Host = forwarding.BungeeHost(host.Host, s.fwd, "")
	case forwarding.BungeeGuard:
		hs.Host = forwarding.BungeeHost(host.Host, s.fwd, string(s.route.Secret))
	default:
		hs.Host = host.BackendHost()
	}
	hsFrame = mcproto.AppendFrame(nil, hs.AppendTo(nil, s.hs.Protocol))
	ls.Name, ls.HasUUID, ls.UUID = s.profile.Name, true, s.profile.ID
	lsFrame = mcproto.AppendFrame(nil, ls.AppendTo(nil, s.hs.Protocol))
	return hsFrame, lsFrame
}

// setLoginDeadline starts the login's clock: from now, proxy.login_timeout
// until Login Success. Client frames held meanwhile never wait past it.
func (s *session) setLoginDeadline() {
	deadline := time.Now().Add(s.h.o.LoginTimeout)
	s.loginDeadline, s.stageDeadline = deadline, deadline
	_ = s.client.SetDeadline(deadline)
}

// dialWithFailover logs in to the first candidate that answers. A backend
// that refuses, times out, or hangs up before it answered Login Start is
// skipped for the next candidate within the same login; the player sees
// nothing of it.
func (s *session) dialWithFailover(ctx context.Context, candidates []string, host packets.HostInfo, hsFrame, lsFrame []byte) (down *leg, addr string, r reason.Reason, err error) {
	o := &s.h.o
	var lastErr error
	for i, addr := range candidates {
		backend, f, err := s.tryBackend(ctx, addr, i+1, hsFrame, lsFrame, s.loginDeadline)
		if err != nil {
			lastErr = err
			o.Backends.MarkFailed(addr)
			s.debug("backend failed during login, trying the next", "backend", addr, "err", err)
			continue
		}
		if !s.setBackend(backend) {
			// Kicked (a ban, a shutdown) while the backend was dialled.
			f.Release()
			return nil, "", reason.None, fmt.Errorf("session closed during backend dial")
		}
		s.debug("relaying", "backend", addr)
		if s.tracing() {
			s.span.SetAttributes(attribute.String(telemetry.AttrBackend, addr))
		}
		return newLeg(backend, f), addr, reason.None, nil
	}
	s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(s.h.messages()))
	return nil, "", reason.BackendUnavailable, fmt.Errorf("every backend failed for %q: %w", host.Host, lastErr)
}

// tryBackend dials addr (the attempt-th candidate), sends the login
// preamble and waits for the first bytes of the backend's answer, which it
// returns buffered in a framer. Traced as mc.backend.dial (the connect)
// and mc.login (the backend's login until its first answer, when relaying
// starts).
func (s *session) tryBackend(ctx context.Context, addr string, attempt int, hsFrame, loginStart []byte, deadline time.Time) (net.Conn, *mcproto.Framer, error) {
	o := &s.h.o
	dctx, dspan := s.step(ctx, telemetry.SpanBackendDial)
	if dspan != nil {
		dspan.SetAttributes(attribute.String(telemetry.AttrBackend, addr), attribute.Int(telemetry.AttrAttempt, attempt))
	}
	backend, err := o.Backends.Dial(dctx, addr)
	if dspan != nil {
		endStep(dspan, err)
	}
	if err != nil {
		return nil, nil, err
	}
	_, lspan := s.step(ctx, telemetry.SpanLogin)
	if lspan != nil {
		lspan.SetAttributes(attribute.String(telemetry.AttrBackend, addr), attribute.Int(telemetry.AttrAttempt, attempt))
	}
	backend, f, err := s.backendLogin(backend, addr, hsFrame, loginStart, deadline)
	if lspan != nil {
		endStep(lspan, err)
	}
	return backend, f, err
}

// backendLogin sends the login preamble on a fresh backend connection and
// waits for the first bytes of its answer; on failure it closes backend.
func (s *session) backendLogin(backend net.Conn, addr string, hsFrame, loginStart []byte, deadline time.Time) (net.Conn, *mcproto.Framer, error) {
	o := &s.h.o
	if o.TuneBackend != nil {
		o.TuneBackend(backend)
	}
	var first []byte
	if o.ProxyHeader != nil {
		if bap, err := netip.ParseAddrPort(backend.RemoteAddr().String()); err == nil {
			first = append(first, o.ProxyHeader(s.addr, bap)...)
		}
	}
	first = append(first, hsFrame...)
	first = append(first, loginStart...)
	// A backend that accepted but does not answer within the dial timeout
	// is as good as down for this login.
	answerBy := time.Now().Add(o.FirstAnswerTimeout)
	if answerBy.After(deadline) {
		answerBy = deadline
	}
	_ = backend.SetDeadline(answerBy)
	if _, err := backend.Write(first); err != nil {
		_ = backend.Close()
		return nil, nil, fmt.Errorf("write to backend %s: %w", addr, err)
	}
	f := mcproto.NewFramer(o.Pool, mcproto.MaxFrameLength)
	if err := newLeg(backend, f).fill(); err != nil {
		f.Release()
		_ = backend.Close()
		return nil, nil, fmt.Errorf("backend %s before its first answer: %w", addr, err)
	}
	_ = backend.SetDeadline(deadline)
	return backend, f, nil
}

// TuneTCP applies the original design's (docs/DESIGN.md) socket options.
func TuneTCP(c net.Conn, noDelay, keepAlive bool, interval time.Duration) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	if !noDelay {
		_ = tc.SetNoDelay(false) // Go turns TCP_NODELAY on for every TCP socket
	}
	if keepAlive {
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: interval, Interval: interval, Count: 3})
	} else {
		_ = tc.SetKeepAlive(false)
	}
}
