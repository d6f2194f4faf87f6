package conn

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// traceSession is a session as login sees it, with tracer tr (nil: off).
func traceSession(t testing.TB, tr trace.Tracer) *session {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	h := NewHandler(Options{Tracer: tr})
	return &session{h: h, id: 42, client: a, addr: netip.MustParseAddrPort("203.0.113.7:50000"),
		hs:       packets.Handshake{Protocol: 769, Host: "play.example.com", Port: 25565, Intent: mcproto.IntentLogin},
		username: "Steve", identity: mcproto.OfflineUUID("Steve")}
}

// loginSpans runs the span calls of one login's setup, as login does.
func loginSpans(s *session) {
	ctx := s.startConnect(context.Background(), time.Now())
	s.tracePlayer()
	_ = s.spanContext()
	for _, name := range []string{telemetry.SpanGate, telemetry.SpanBackendChoose, telemetry.SpanBackendDial, telemetry.SpanLogin} {
		if _, sp := s.step(ctx, name); sp != nil {
			endStep(sp, nil)
		}
	}
	s.endConnect(outcomeRelayed, reason.None, nil)
}

// TestTracingOffCostsNothing: with no tracer a login's span calls
// allocate nothing (no spans, no attribute slices); with a sampler that
// drops the connection they build no children and no attributes.
func TestTracingOffCostsNothing(t *testing.T) {
	s := traceSession(t, nil)
	if n := testing.AllocsPerRun(100, func() { loginSpans(s) }); n != 0 {
		t.Errorf("tracing off: %v allocations per login", n)
	}

	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	s = traceSession(t, tp.Tracer("test"))
	loginSpans(s)
	if got := len(exp.GetSpans()); got != 0 {
		t.Errorf("unsampled login exported %d spans", got)
	}
	// The connection's context is still valid: detections link to it.
	s = traceSession(t, tp.Tracer("test"))
	s.startConnect(context.Background(), time.Now())
	if !s.spanContext().IsValid() {
		t.Error("an unsampled connection has no span context to link to")
	}
	if _, sp := s.step(context.Background(), telemetry.SpanGate); sp != nil {
		t.Error("a child span was built for an unsampled connection")
	}
}

func TestLoginSpansAreChildrenOfConnect(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	s := traceSession(t, tp.Tracer("test"))
	accepted := time.Now().Add(-time.Second)
	ctx := s.startConnect(context.Background(), accepted)
	s.tracePlayer()
	_, sp := s.step(ctx, telemetry.SpanGate)
	endStep(sp, nil)
	s.endConnect("", reason.Refused, nil)
	s.endConnect(outcomeRelayed, reason.None, nil) // only the first end counts
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	gate, conn := spans[0], spans[1]
	if conn.Name != telemetry.SpanConnect || gate.Parent.SpanID() != conn.SpanContext.SpanID() || !conn.StartTime.Equal(accepted) {
		t.Errorf("connect %s started %v (want %v), gate parent %v", conn.Name, conn.StartTime, accepted, gate.Parent.SpanID())
	}
	attrs := map[string]any{}
	for _, kv := range conn.Attributes {
		attrs[string(kv.Key)] = kv.Value.AsInterface()
	}
	for k, v := range map[string]any{
		telemetry.AttrClientAddress: "203.0.113.7", telemetry.AttrProtocol: int64(769), telemetry.AttrNextState: "login",
		telemetry.AttrHost: "play.example.com", telemetry.AttrSession: "16", telemetry.AttrPlayerName: "Steve",
		telemetry.AttrPlayerUUID: mcproto.OfflineUUID("Steve").String(), telemetry.AttrAuthenticated: false,
		telemetry.AttrOutcome: "refused",
	} {
		if attrs[k] != v {
			t.Errorf("%s = %v, want %v", k, attrs[k], v)
		}
	}
}

// BenchmarkLoginSpans is the tracing cost of one login's setup: off (no
// exporter configured), unsampled, and sampled into a no-op processor.
func BenchmarkLoginSpans(b *testing.B) {
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	sampled := sdktrace.NewTracerProvider()
	for _, bc := range []struct {
		name string
		tr   trace.Tracer
	}{{"off", nil}, {"unsampled", unsampled.Tracer("b")}, {"sampled", sampled.Tracer("b")}} {
		b.Run(bc.name, func(b *testing.B) {
			s := traceSession(b, bc.tr)
			b.ReportAllocs()
			for b.Loop() {
				loginSpans(s)
			}
		})
	}
}

// TestAuthenticatedPlayerInTrace: once the session server confirmed the
// account, the connection's span names the account, not the claim.
func TestAuthenticatedPlayerInTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	s := traceSession(t, tp.Tracer("test"))
	s.startConnect(context.Background(), time.Now())
	s.tracePlayer() // the claim, at Login Start
	account := mcproto.UUID{0x12, 0x34}
	s.username, s.identity, s.authenticated = "Steve", account, true
	s.tracePlayer()
	s.endConnect(outcomeRelayed, reason.None, nil)
	attrs := map[string]any{}
	for _, kv := range exp.GetSpans()[0].Attributes {
		attrs[string(kv.Key)] = kv.Value.AsInterface()
	}
	if attrs[telemetry.AttrPlayerUUID] != account.String() || attrs[telemetry.AttrAuthenticated] != true {
		t.Fatalf("span names %v (authenticated %v), want the account %s", attrs[telemetry.AttrPlayerUUID], attrs[telemetry.AttrAuthenticated], account)
	}
}
