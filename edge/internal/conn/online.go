package conn

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/forwarding"
	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// encryptionResponseCap bounds the client's Encryption Response: two RSA
// blocks of the edge's key (128 bytes each for the generated 1024-bit key,
// 512 for the largest key file allowed) with their length prefixes, or the
// 1.19 form's block, salt and a signature by a profile key (256 bytes).
const encryptionResponseCap = 2 << 10

// authenticate makes the edge the online-mode server for this client: its
// own Encryption Request, the client's answer, the client leg's cipher in
// both directions, and the session server's confirmation. On success the
// session knows the account (s.profile, s.authenticated) and every byte
// between the edge and the client from here on is encrypted. d is the
// gate's decision: under attack (or with verification forced) a login
// remembered for this name and address may skip the session server.
//
// The edge's Encryption Request and the client's Encryption Response are
// the edge's own frames: nothing is relayed, and the relay's flow starts
// after them, so a client that sends another Encryption Response later has
// no request to answer and is malformed.
func (s *session) authenticate(ctx context.Context, l *leg, ls packets.LoginStart, d gate.Decision) (reason.Reason, error) {
	o := &s.h.o
	if o.AuthKey == nil || o.Authenticator == nil {
		// server.New builds both whenever a route is online.
		s.disconnect(mcproto.StateLogin, reason.AuthUnavailable.PlayerMessage(s.h.messages()))
		return reason.AuthUnavailable, errors.New("online route without a key or authenticator")
	}
	actx, span := s.step(ctx, telemetry.SpanAuth)
	r, err := s.authenticateSteps(actx, l, ls, d)
	if span != nil {
		outcome := "authenticated"
		if r != reason.None {
			outcome = r.String()
		}
		span.SetAttributes(attribute.String(telemetry.AttrOutcome, outcome))
		endStep(span, err)
	}
	return r, err
}

func (s *session) authenticateSteps(ctx context.Context, l *leg, ls packets.LoginStart, d gate.Decision) (reason.Reason, error) {
	o := &s.h.o
	// The whole online login, the session server and the backend's login
	// included, must be over within proxy.login_timeout from here.
	s.setLoginDeadline()
	h, err := o.AuthKey.NewHandshake()
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.AuthUnavailable.PlayerMessage(s.h.messages()))
		return reason.AuthUnavailable, err
	}
	req := mcproto.AppendFrame(nil, h.Request().AppendTo(nil, s.hs.Protocol))
	if _, err := s.client.Write(req); err != nil {
		return reason.None, fmt.Errorf("write encryption request: %w", err)
	}

	l.f.SetMax(encryptionResponseCap)
	_, body, err := l.next()
	if err != nil {
		r := classify(err)
		if r != reason.None && r != reason.HandshakeTimeout {
			s.disconnect(mcproto.StateLogin, r.PlayerMessage(s.h.messages()))
		}
		return r, fmt.Errorf("read encryption response: %w", err)
	}
	id, n, err := mcproto.ReadVarInt(body)
	if err != nil || id != 0x01 {
		// Nothing else was asked: a Login Plugin Response, a Login
		// Acknowledged or anything else is a client that does not follow.
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(s.h.messages()))
		return reason.Malformed, fmt.Errorf("expected encryption response, got id %#x: %w", id, errIllegalTransition)
	}
	resp, err := packets.DecodeEncryptionResponse(body[n:], s.hs.Protocol)
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.Malformed.PlayerMessage(s.h.messages()))
		return reason.Malformed, err
	}
	secret, err := h.Accept(resp, ls)
	if err != nil {
		s.disconnect(mcproto.StateLogin, reason.AuthFailed.PlayerMessage(s.h.messages()))
		return reason.AuthFailed, fmt.Errorf("encryption response: %w", err)
	}
	enc, dec, err := auth.NewStreams(secret)
	if err != nil {
		return reason.AuthUnavailable, err
	}
	// Both directions switch here, as in vanilla: the client encrypts
	// everything after its response, and every answer from now on, the
	// refusals below included, is encrypted.
	s.clientMu.Lock()
	s.enc = enc
	s.clientMu.Unlock()
	l.decryptFrom(dec)

	sctx, cancel := context.WithDeadline(ctx, s.loginDeadline)
	defer cancel()
	profile, err := o.Authenticator.Authenticate(sctx, auth.Login{Name: ls.Name, Addr: s.addr.Addr(), ServerID: h.ServerID(secret),
		SendIP: s.route.SendIP, UnderAttack: d.Outcome == gate.Verify || d.Reason == gate.Verified})
	switch {
	case errors.Is(err, auth.ErrNotJoined):
		s.disconnect(mcproto.StateLogin, reason.AuthFailed.PlayerMessage(s.h.messages()))
		return reason.AuthFailed, fmt.Errorf("authenticate %s: %w", ls.Name, err)
	case err != nil:
		s.disconnect(mcproto.StateLogin, reason.AuthUnavailable.PlayerMessage(s.h.messages()))
		return reason.AuthUnavailable, fmt.Errorf("authenticate %s: %w", ls.Name, err)
	}
	s.profile, s.authenticated = profile, true
	s.fwd = forwarding.Player{Addr: s.addr.Addr(), ID: profile.ID, Name: profile.Name, Properties: profile.Properties,
		Protocol: s.hs.Protocol}
	if ls.HasKey {
		s.fwd.Key = &forwarding.ProfileKey{Expiry: ls.KeyExpiry, PublicKey: ls.PublicKey, Signature: ls.KeySignature}
	}
	return reason.None, nil
}
