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

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/discovery"
	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
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
	if o.Detect != nil {
		uuid := ""
		if ls.HasUUID {
			uuid = ls.UUID.String()
		}
		s.det = o.Detect.NewPlayer(detect.PlayerInfo{Protocol: s.hs.Protocol, Name: ls.Name, UUID: uuid, Addr: s.addr,
			Session: strconv.FormatUint(s.id, 36)})
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
		ticket, d := o.Gate.Login(ctx, gate.LoginRequest{Addr: s.addr.Addr(), Name: ls.Name, UUID: ls.UUID,
			Host: packets.ParseHost(s.hs.Host).Host, Protocol: s.hs.Protocol})
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
			res, err := o.Limbo.Run(ctx, s.client, l.f.TakeBuffered(), s.hs.Protocol, ls.Name, ls.UUID, host, port)
			switch {
			case res.Passed:
				o.Gate.Verified(s.addr.Addr(), ls.Name)
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
	candidates, err := o.Backends.Candidates(host.Host, strings.ToLower(ls.Name))
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
	for _, addr := range candidates {
		backend, f, err := s.tryBackend(ctx, addr, hsFrame, loginStart, deadline)
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
		break
	}
	if down == nil {
		s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(s.h.messages()))
		return reason.BackendUnavailable, fmt.Errorf("every backend failed for %q: %w", host.Host, lastErr)
	}
	return s.relay(l, down)
}

// tryBackend dials addr, sends the login preamble and waits for the first
// bytes of the backend's answer, which it returns buffered in a framer.
func (s *session) tryBackend(ctx context.Context, addr string, hsFrame, loginStart []byte, deadline time.Time) (net.Conn, *mcproto.Framer, error) {
	o := &s.h.o
	backend, err := o.Backends.Dial(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
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

// TuneTCP applies the design note's socket options.
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
