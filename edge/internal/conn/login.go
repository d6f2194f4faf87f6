package conn

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// login reads Login Start, connects the backend and hands over to the relay.
// handshake is the client's handshake frame as it arrived.
func (s *session) login(ctx context.Context, l *leg, handshake []byte, overCapacity bool) (reason.Reason, error) {
	o := &s.h.o
	s.state[mcproto.Serverbound].Store(uint32(mcproto.StateLogin))
	s.state[mcproto.Clientbound].Store(uint32(mcproto.StateLogin))
	// From here on, the handshake frame's bytes may be overwritten by reads.
	handshake = append([]byte(nil), handshake...)

	s.table = packets.Lookup(s.hs.Protocol)
	if s.table == nil {
		s.disconnect(mcproto.StateLogin, reason.UnsupportedVersion.PlayerMessage(o.Messages))
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
			s.disconnect(mcproto.StateLogin, r.PlayerMessage(o.Messages))
		}
		return r, fmt.Errorf("read login start: %w", err)
	}
	loginStart := append([]byte(nil), rawStart...)
	id, n, err := mcproto.ReadVarInt(body)
	if err != nil || id != 0x00 {
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(o.Messages))
		return reason.Malformed, fmt.Errorf("expected login start, got id %#x", id)
	}
	ls, err := packets.DecodeLoginStart(body[n:], s.hs.Protocol)
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(o.Messages))
		return reason.Malformed, fmt.Errorf("decode login start: %w", err)
	}
	s.username = ls.Name
	s.log = s.log.With("player", ls.Name)
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
		s.disconnect(mcproto.StateLogin, reason.ServerFull.PlayerMessage(o.Messages))
		return reason.ServerFull, fmt.Errorf("max connections reached")
	}
	if !s.h.register(s) {
		s.disconnect(mcproto.StateLogin, reason.ShuttingDown.PlayerMessage(o.Messages))
		return reason.ShuttingDown, fmt.Errorf("edge is shutting down")
	}
	defer s.h.unregister(s)

	host := packets.ParseHost(s.hs.Host)
	addr, err := o.Backends.Pick(host.Host)
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(o.Messages))
		return reason.BackendUnavailable, fmt.Errorf("pick backend for %q: %w", host.Host, err)
	}
	backend, err := o.Backends.Dial(ctx, addr)
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(o.Messages))
		return reason.BackendUnavailable, fmt.Errorf("dial backend %s: %w", addr, err)
	}
	s.backend = backend
	if o.TuneBackend != nil {
		o.TuneBackend(backend)
	}

	// What the backend receives first: an optional PROXY v2 header, the
	// handshake (rebuilt only if the host carried client-supplied forwarding
	// parts that no backend should trust), then Login Start as it arrived.
	var first []byte
	if o.ProxyHeader != nil {
		if bap, err := netip.ParseAddrPort(backend.RemoteAddr().String()); err == nil {
			first = append(first, o.ProxyHeader(s.addr, bap)...)
		}
	}
	if clean := host.BackendHost(); clean != s.hs.Host {
		hs := s.hs
		hs.Host = clean
		first = mcproto.AppendFrame(first, hs.AppendTo(nil, s.hs.Protocol))
	} else {
		first = append(first, handshake...)
	}
	first = append(first, loginStart...)
	deadline := time.Now().Add(o.LoginTimeout)
	_ = backend.SetDeadline(deadline)
	_ = s.client.SetDeadline(deadline)
	if _, err := backend.Write(first); err != nil {
		s.disconnect(mcproto.StateLogin, reason.BackendUnavailable.PlayerMessage(o.Messages))
		return reason.BackendUnavailable, fmt.Errorf("write to backend %s: %w", addr, err)
	}
	s.log.Debug("relaying", "backend", addr)
	return s.relay(l)
}

// TuneTCP applies the design note's socket options.
func TuneTCP(c net.Conn, noDelay, keepAlive bool, interval time.Duration) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetNoDelay(noDelay)
	if keepAlive {
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: interval, Interval: interval, Count: 3})
	} else {
		_ = tc.SetKeepAlive(false)
	}
}
