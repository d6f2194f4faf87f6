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
	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// login reads Login Start, connects the backend and hands over to the relay.
// handshake is the client's handshake frame as it arrived.
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

	l.f.SetMax(loginStartCap)
	rawStart, body, err := l.next()
	if err != nil {
		r := classify(err)
		if r != reason.None && r != reason.HandshakeTimeout {
			// The client is in login and can read why.
			s.disconnect(mcproto.StateLogin, r.PlayerMessage(s.h.messages()))
		}
		return r, fmt.Errorf("read login start: %w", err)
	}
	loginStart := append([]byte(nil), rawStart...)
	id, n, err := mcproto.ReadVarInt(body)
	if err != nil || id != 0x00 {
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(s.h.messages()))
		return reason.Malformed, fmt.Errorf("expected login start, got id %#x", id)
	}
	ls, err := packets.DecodeLoginStart(body[n:], s.hs.Protocol)
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(s.h.messages()))
		return reason.Malformed, fmt.Errorf("decode login start: %w", err)
	}
	s.username = ls.Name
	if ls.HasUUID {
		s.uuid = ls.UUID
	}
	s.log = nil // rebuilt with the player's name
	s.tracePlayer(ls.Name)
	if o.Detect != nil {
		uuid := ""
		if ls.HasUUID {
			uuid = ls.UUID.String()
		}
		s.det = o.Detect.NewPlayer(detect.PlayerInfo{Protocol: s.hs.Protocol, Name: ls.Name, UUID: uuid, Addr: s.addr,
			Session: strconv.FormatUint(s.id, 36), Trace: s.spanContext()})
		defer func() {
			s.detMu.Lock()
			_ = s.det.Close() // ends a recording, if one runs
			s.detMu.Unlock()
		}()
	}

	if overCapacity {
		s.disconnect(mcproto.StateLogin, reason.ServerFull.PlayerMessage(s.h.messages()))
		return reason.ServerFull, fmt.Errorf("max connections reached")
	}
	if o.Gate != nil {
		gctx, gspan := s.step(ctx, telemetry.SpanGate)
		ticket, d := o.Gate.Login(gctx, gate.LoginRequest{Addr: s.addr.Addr(), Name: ls.Name, UUID: ls.UUID,
			Host: packets.ParseHost(s.hs.Host).Host, Protocol: s.hs.Protocol})
		if gspan != nil {
			gspan.SetAttributes(attribute.String(telemetry.AttrGateDecision, d.Outcome.String()),
				attribute.String(telemetry.AttrGateReason, d.Reason.String()))
			gspan.End()
		}
		if ticket != nil {
			s.ticket = ticket
			defer ticket.Release()
		}
		switch {
		case d.Outcome == gate.Verify && o.Limbo != nil && o.Limbo.Supports(s.hs.Protocol):
			// The edge answers this login itself: a short verification in a
			// limbo, then a transfer back (1.20.5+) or a "please reconnect".
			host, port := o.TransferHost, o.TransferPort
			if host == "" { // back to the address the player typed
				host, port = packets.ParseHost(s.hs.Host).Host, int(s.hs.Port)
			}
			lctx, lspan := s.step(ctx, telemetry.SpanLimbo)
			res, err := o.Limbo.Run(lctx, s.client, l.f.TakeBuffered(), s.hs.Protocol, ls.Name, ls.UUID, host, port)
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
				o.Gate.Verified(s.addr.Addr(), ls.Name)
				s.outcome = outcomeVerified
				return reason.None, nil
			case res.Reason.Failure():
				blocked := o.Gate.Failed(s.addr.Addr())
				return reason.VerificationFailed, fmt.Errorf("verification failed: %s %s (address blocked: %v)", res.Reason, res.Detail, blocked)
			}
			return reason.None, err
		case d.Outcome == gate.Verify:
			// No limbo for this version (1.21.5+ lacks world data): admit
			// unverified rather than lock the newest clients out.
			s.debug("verification requested but not available for this version; admitting")
		case !d.Allowed():
			s.disconnect(mcproto.StateLogin, d.Message)
			return reason.Refused, fmt.Errorf("gate: %s", d.Reason)
		}
	}
	if o.OnJoin != nil {
		o.OnJoin()
	}
	if !s.h.register(s) {
		s.disconnect(mcproto.StateLogin, reason.ShuttingDown.PlayerMessage(s.h.messages()))
		return reason.ShuttingDown, fmt.Errorf("edge is shutting down")
	}
	defer s.h.unregister(s)

	host := packets.ParseHost(s.hs.Host)
	_, cspan := s.step(ctx, telemetry.SpanBackendChoose)
	candidates, err := o.Backends.Candidates(host.Host, strings.ToLower(ls.Name))
	if cspan != nil {
		cspan.SetAttributes(attribute.String(telemetry.AttrHost, host.Host), attribute.Int(telemetry.AttrCandidates, len(candidates)))
		endStep(cspan, err)
	}
	if errors.Is(err, discovery.ErrUnknownHost) {
		s.disconnect(mcproto.StateLogin, reason.UnknownHost.PlayerMessage(s.h.messages()))
		return reason.UnknownHost, fmt.Errorf("no pool serves host %q", host.Host)
	}
	if err != nil || len(candidates) == 0 {
		s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(s.h.messages()))
		return reason.BackendUnavailable, fmt.Errorf("no backend for %q: %w", host.Host, err)
	}

	// What a backend receives first: an optional PROXY v2 header, the
	// handshake (rebuilt only if the host carried client-supplied forwarding
	// parts that no backend should trust), then Login Start as it arrived.
	hsFrame := handshake
	if clean := host.BackendHost(); clean != s.hs.Host {
		hs := s.hs
		hs.Host = clean
		hsFrame = mcproto.AppendFrame(nil, hs.AppendTo(nil, s.hs.Protocol))
	}
	deadline := time.Now().Add(o.LoginTimeout)
	s.loginDeadline, s.stageDeadline = deadline, deadline
	_ = s.client.SetDeadline(deadline)

	// Failover: a backend that refuses, times out, or hangs up before it
	// answered Login Start is skipped for the next candidate within the same
	// login; the player sees nothing of it.
	var down *leg
	var lastErr error
	for i, addr := range candidates {
		backend, f, err := s.tryBackend(ctx, addr, i+1, hsFrame, loginStart, deadline)
		if err != nil {
			lastErr = err
			o.Backends.MarkFailed(addr)
			s.debug("backend failed during login, trying the next", "backend", addr, "err", err)
			continue
		}
		if !s.setBackend(backend) {
			// Kicked (a ban, a shutdown) while the backend was dialled.
			f.Release()
			return reason.None, fmt.Errorf("session closed during backend dial")
		}
		o.Backends.Acquire(addr)
		defer o.Backends.Release(addr)
		down = newLeg(backend, f)
		s.debug("relaying", "backend", addr)
		if s.tracing() {
			s.span.SetAttributes(attribute.String(telemetry.AttrBackend, addr))
		}
		break
	}
	if down == nil {
		s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(s.h.messages()))
		return reason.BackendUnavailable, fmt.Errorf("every backend failed for %q: %w", host.Host, lastErr)
	}
	s.endConnect(outcomeRelayed, reason.None, nil)
	return s.relay(l, down)
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
