package conn

import (
	"context"
	"net"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// Outcomes of a traced connection beyond the reason enum
// (telemetry.AttrOutcome).
const (
	outcomeRelayed  = "relayed"  // relaying to a backend started
	outcomeVerified = "verified" // passed the verification limbo; the client reconnects
	outcomeClosed   = "closed"   // the client went away during setup
)

// A connection's setup is traced only when it is a login (or transfer): one
// mc.connect span from accept until relaying starts or the connection is
// refused, with a child per step. Status and legacy pings, the bulk of all
// connections, are counted in metrics and never traced. Spans are built
// per login, never per packet; with tracing off (Options.Tracer nil) none
// of this runs, and with the connection not sampled no child and no
// attribute is built.

// startConnect starts the mc.connect span, backdated to accept, and
// returns the context its children start from.
func (s *session) startConnect(ctx context.Context, accepted time.Time) context.Context {
	tr := s.h.o.Tracer
	if tr == nil {
		return ctx
	}
	ctx, s.span = tr.Start(ctx, telemetry.SpanConnect, trace.WithTimestamp(accepted), trace.WithSpanKind(trace.SpanKindServer))
	if !s.span.IsRecording() {
		return ctx
	}
	next := "login"
	if s.hs.Intent == mcproto.IntentTransfer {
		next = "transfer"
	}
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		attribute.String(telemetry.AttrClientAddress, s.addr.Addr().String()),
		attribute.Int(telemetry.AttrProtocol, int(s.hs.Protocol)),
		attribute.String(telemetry.AttrNextState, next),
		attribute.String(telemetry.AttrHost, packets.ParseHost(s.hs.Host).Host),
		attribute.String(telemetry.AttrSession, strconv.FormatUint(s.id, 36)),
	)
	if peer, ok := s.client.RemoteAddr().(*net.TCPAddr); ok {
		ap := peer.AddrPort()
		attrs = append(attrs, attribute.String(telemetry.AttrPeerAddress, ap.Addr().Unmap().String()),
			attribute.Int(telemetry.AttrPeerPort, int(ap.Port())))
	}
	s.span.SetAttributes(attrs...)
	return ctx
}

// tracing reports whether this connection's steps are recorded.
func (s *session) tracing() bool { return s.span != nil && s.span.IsRecording() }

// spanContext is the mc.connect span's context, for detection spans to
// link to (invalid when the connection is not traced).
func (s *session) spanContext() trace.SpanContext {
	if s.span == nil {
		return trace.SpanContext{}
	}
	return s.span.SpanContext()
}

// tracePlayer records who the player is: the name Login Start claims and
// its offline UUID, or once the session server confirmed the account, its
// name and UUID (never a UUID a client merely claims). Setting it again
// replaces the claim.
func (s *session) tracePlayer() {
	if !s.tracing() {
		return
	}
	s.span.SetAttributes(
		attribute.String(telemetry.AttrPlayerName, s.username),
		attribute.String(telemetry.AttrPlayerUUID, s.identity.String()),
		attribute.Bool(telemetry.AttrAuthenticated, s.authenticated),
	)
}

// step starts a child of mc.connect; nil when the connection is not
// traced (then the caller sets nothing on it).
func (s *session) step(ctx context.Context, name string) (context.Context, trace.Span) {
	if !s.tracing() {
		return ctx, nil
	}
	return s.h.o.Tracer.Start(ctx, name)
}

// endStep ends a child span, marking it failed when err is set.
func endStep(sp trace.Span, err error) {
	if err != nil {
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}

// endConnect ends mc.connect with the connection's outcome: "relayed"
// when relaying starts, otherwise the refusal's reason, "verified" after
// the limbo or "closed". Only the first call counts.
func (s *session) endConnect(outcome string, r reason.Reason, err error) {
	if s.span == nil {
		return
	}
	sp := s.span
	s.span = nil // a detection keeps the context it was given at login
	if sp.IsRecording() {
		if outcome == "" {
			outcome = outcomeClosed
			if r != reason.None {
				outcome = r.String()
			}
		}
		sp.SetAttributes(attribute.String(telemetry.AttrOutcome, outcome))
		if r == reason.BackendUnavailable && err != nil {
			// The edge's failure, not the player's: the one refusal that
			// marks the trace as an error.
			sp.SetStatus(codes.Error, err.Error())
		}
	}
	sp.End()
}
