package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/otlprecv"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// traceWait bounds waiting for spans at the receiver: the edge batches for
// 200 ms; the rest is room for -race on a loaded machine.
const traceWait = 20 * time.Second

// traceTo points the edges a test starts next at a recording OTLP
// receiver (gRPC), tracing every connection (always_on; the edge's default
// samples one in a hundred) unless extra OTEL_* settings say otherwise;
// every other OTEL_ variable of the process is cleared for the test.
func traceTo(t *testing.T, extra ...string) *otlprecv.Receiver {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	r, err := otlprecv.Listen(otlprecv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+r.GRPCAddr())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return r
}

func flush(t *testing.T, e *Edge) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), traceWait)
	defer cancel()
	if err := e.Tracing.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

func byName(spans []otlprecv.Span, name string) []otlprecv.Span {
	var out []otlprecv.Span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func waitSpans(t *testing.T, r *otlprecv.Receiver, ok func([]otlprecv.Span) bool) []otlprecv.Span {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), traceWait)
	defer cancel()
	spans, err := r.Wait(ctx, func(s []otlprecv.Span, _ int) bool { return ok(s) })
	if err != nil {
		t.Fatalf("%v; got %s", err, names(spans))
	}
	return spans
}

func names(spans []otlprecv.Span) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "%s ", s.Name)
	}
	return b.String()
}

// TestLoginIsTracedPingsAreNot: a login through a real edge arrives as
// one mc.connect with its steps as children and the documented attributes
// on the edge's resource; status and legacy pings leave no span.
func TestLoginIsTracedPingsAreNot(t *testing.T) {
	r := traceTo(t, "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test")
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Region = "eu-west"
	cfg.Discovery.InstanceID = "edge-eu-1"
	e := startEdge(t, cfg)
	if !e.Tracing.Enabled() {
		t.Fatal("tracing off with an endpoint set")
	}

	ping(t, e.Addr().String(), 765)
	lc := dial(t, e.Addr().String())
	if _, err := lc.Write(legacyPing16("localhost", 25565)); err != nil {
		t.Fatal(err)
	}
	lc.expectClosed(t)

	c := dial(t, e.Addr().String())
	c.login(t, 765, "Steve")
	b.nextLogin(t)
	flush(t, e)
	spans := waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanConnect)) == 1 })
	flush(t, e)
	spans = r.Spans()

	connects := byName(spans, telemetry.SpanConnect)
	if len(connects) != 1 {
		t.Fatalf("%d mc.connect spans for one login and two pings (%s)", len(connects), names(spans))
	}
	conn := connects[0]
	local := c.LocalAddr().(*net.TCPAddr)
	for k, v := range map[string]any{
		telemetry.AttrClientAddress: "127.0.0.1",
		telemetry.AttrPeerAddress:   "127.0.0.1",
		telemetry.AttrPeerPort:      int64(local.Port),
		telemetry.AttrProtocol:      int64(765),
		telemetry.AttrNextState:     "login",
		telemetry.AttrHost:          "localhost",
		telemetry.AttrBackend:       b.addr(),
		telemetry.AttrOutcome:       "relayed",
		telemetry.AttrPlayerName:    "Steve",
		telemetry.AttrPlayerUUID:    mcproto.OfflineUUID("Steve").String(),
		telemetry.AttrAuthenticated: false,
	} {
		if conn.Attributes[k] != v {
			t.Errorf("mc.connect %s = %v, want %v", k, conn.Attributes[k], v)
		}
	}
	if _, err := strconv.ParseUint(fmt.Sprint(conn.Attributes[telemetry.AttrSession]), 36, 64); err != nil {
		t.Errorf("mc.session.id %v", conn.Attributes[telemetry.AttrSession])
	}
	for k, v := range map[string]any{"service.name": "rustguard-edge", "service.version": "test", "cloud.region": "eu-west",
		"service.instance.id": "edge-eu-1", "deployment.environment.name": "test"} {
		if conn.Resource[k] != v {
			t.Errorf("resource %s = %v, want %v", k, conn.Resource[k], v)
		}
	}
	for _, step := range []string{telemetry.SpanGate, telemetry.SpanBackendChoose, telemetry.SpanBackendDial, telemetry.SpanLogin} {
		got := byName(spans, step)
		if len(got) != 1 {
			t.Errorf("%d %s spans, want 1", len(got), step)
			continue
		}
		s := got[0]
		if s.TraceID != conn.TraceID || s.ParentSpanID != conn.SpanID {
			t.Errorf("%s is not a child of mc.connect", step)
		}
		if s.Start.Before(conn.Start) || s.End.After(conn.End) {
			t.Errorf("%s [%v, %v] outside mc.connect [%v, %v]", step, s.Start, s.End, conn.Start, conn.End)
		}
	}
	if g := byName(spans, telemetry.SpanGate); len(g) == 1 && (g[0].Attributes[telemetry.AttrGateDecision] != "allow") {
		t.Errorf("mc.gate %v", g[0].Attributes)
	}
	if d := byName(spans, telemetry.SpanBackendDial); len(d) == 1 && (d[0].Attributes[telemetry.AttrAttempt] != int64(1) || d[0].Attributes[telemetry.AttrBackend] != b.addr()) {
		t.Errorf("mc.backend.dial %v", d[0].Attributes)
	}
	if len(spans) != 5 {
		t.Errorf("%d spans (%s), want the login's 5: pings are not traced", len(spans), names(spans))
	}
	if x := metricSum(t, e, "rustguard_edge_trace_spans_exported_total"); x != 5 {
		t.Errorf("rustguard_edge_trace_spans_exported_total %v, want 5", x)
	}
}

// TestRefusedLoginIsTraced: a login the gate refuses ends its mc.connect
// with the reason, and no backend step is traced.
func TestRefusedLoginIsTraced(t *testing.T) {
	r := traceTo(t)
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Gate.NamePattern = "^[a-z]+$"
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())
	if _, err := c.Write(append(handshake(765, "localhost", 25565, 2), loginStart(765, "Not_Allowed")...)); err != nil {
		t.Fatal(err)
	}
	c.expectClosed(t)
	spans := waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanConnect)) == 1 })
	conn := byName(spans, telemetry.SpanConnect)[0]
	if conn.Attributes[telemetry.AttrOutcome] != "refused" {
		t.Errorf("outcome %v, want refused", conn.Attributes[telemetry.AttrOutcome])
	}
	flush(t, e)
	spans = r.Spans()
	g := byName(spans, telemetry.SpanGate)
	if len(g) != 1 || g[0].Attributes[telemetry.AttrGateDecision] != "refuse" || g[0].Attributes[telemetry.AttrGateReason] != "bad_name" {
		t.Errorf("mc.gate spans %+v", g)
	}
	if len(byName(spans, telemetry.SpanBackendDial)) != 0 {
		t.Error("a refused login dialled a backend")
	}
}

// TestDetectionIsLinkedAndAlwaysSampled: a flag becomes an mc.detection
// span linked to the login's mc.connect; under always_off the connection
// is not exported but the detection still is, linked to its trace.
func TestDetectionIsLinkedAndAlwaysSampled(t *testing.T) {
	for _, sampler := range []string{"always_on", "always_off"} {
		t.Run(sampler, func(t *testing.T) {
			r := traceTo(t, "OTEL_TRACES_SAMPLER="+sampler)
			b := startBackend(t, -1, false)
			cfg := testConfig(b.addr())
			cfg.Detection.Enabled = true
			cfg.Region = "us-east"
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			const protocol = 47 // 1.8: play right after Login Success
			c.login(t, protocol, "Cheater")
			b.nextLogin(t)
			table := packets.Lookup(protocol)
			look := packets.PlayerLook{Yaw: 10, Pitch: 95}.AppendData(mcproto.AppendVarInt(nil, table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerLook)), protocol)
			if _, err := c.Write(mcproto.AppendFrame(nil, look)); err != nil {
				t.Fatal(err)
			}
			spans := waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanDetection)) >= 1 })
			d := byName(spans, telemetry.SpanDetection)[0]
			ev, err := telemetry.DecodeDetection(d.Name, telemetry.MapAttributes(d.Resource), telemetry.MapAttributes(d.Attributes), d.Start)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Check != "badpackets.invalid_pitch" || ev.Player != "Cheater" || ev.Region != "us-east" || ev.Protocol != protocol {
				t.Errorf("decoded %+v", ev)
			}
			if len(d.Links) != 1 || d.Links[0].TraceID == strings.Repeat("0", 32) {
				t.Fatalf("detection links %+v, want the connection", d.Links)
			}
			flush(t, e)
			connects := byName(r.Spans(), telemetry.SpanConnect)
			switch sampler {
			case "always_on":
				if len(connects) != 1 || d.Links[0].TraceID != connects[0].TraceID || d.Links[0].SpanID != connects[0].SpanID {
					t.Errorf("link %+v, mc.connect %+v", d.Links, connects)
				}
				if connects[0].Attributes[telemetry.AttrSession] != ev.Session {
					t.Errorf("session %v on the connection, %v on the detection", connects[0].Attributes[telemetry.AttrSession], ev.Session)
				}
			case "always_off":
				if len(connects) != 0 {
					t.Errorf("always_off exported %d connection spans", len(connects))
				}
			}
		})
	}
}

// TestDetectionBanIsTraced: a ban action writes a rustguard.ban span with
// what was banned (offline mode: the address).
func TestDetectionBanIsTraced(t *testing.T) {
	r := traceTo(t)
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Detection.Enabled = true
	cfg.Detection.Checks = map[string]config.CheckOverride{"badpackets.invalid_pitch": {Action: "ban", KickVL: ptr(0.0)}}
	cfg.Detection.BanDuration = config.Duration(10 * time.Minute)
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())
	c.login(t, 47, "Cheater")
	b.nextLogin(t)
	look := packets.PlayerLook{Pitch: 95}.AppendData(mcproto.AppendVarInt(nil, packets.Lookup(47).ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerLook)), 47)
	if _, err := c.Write(mcproto.AppendFrame(nil, look)); err != nil {
		t.Fatal(err)
	}
	spans := waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanBan)) >= 1 })
	ban := byName(spans, telemetry.SpanBan)[0]
	for k, v := range map[string]any{telemetry.AttrBanOperation: "add", telemetry.AttrBanKind: "ip", telemetry.AttrBanValue: "127.0.0.1",
		telemetry.AttrBanSource: "check:badpackets.invalid_pitch", telemetry.AttrBanDuration: int64(600)} {
		if ban.Attributes[k] != v {
			t.Errorf("ban %s = %v, want %v", k, ban.Attributes[k], v)
		}
	}
}

// TestAttackModeIsReported: while attack mode is on the edge reports it
// (the first report within a second of it turning on).
func TestAttackModeIsReported(t *testing.T) {
	r := traceTo(t)
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Gate.AttackMode = "on"
	e := startEdge(t, cfg)
	_ = e
	spans := waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanAttack)) >= 1 })
	a := byName(spans, telemetry.SpanAttack)[0]
	if a.Attributes[telemetry.AttrAttackActive] != true || a.Resource["cloud.region"] != cfg.Region {
		t.Errorf("attack report %+v", a)
	}
}

// TestSpansOutliveAnOutage: central (here the receiver) goes away; the edge
// keeps serving players, their spans wait in the queue and arrive once it
// is back. The outage is about 3 s with a 1 s export timeout instead of
// the 30 s with the default timeouts: each export call in it fails
// and the batch is retried, which is all a longer outage does too (batches
// are kept 5 minutes). RUSTGUARD_TEST_TRACE_OUTAGE=30s runs the long one
// with the defaults.
func TestSpansOutliveAnOutage(t *testing.T) {
	outage, extra := 3*time.Second, []string{"OTEL_BSP_EXPORT_TIMEOUT=1000"}
	if v := os.Getenv("RUSTGUARD_TEST_TRACE_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("RUSTGUARD_TEST_TRACE_OUTAGE=%q: %v", v, err)
		}
		outage, extra = d, nil
	}
	r := traceTo(t, extra...)
	b := startBackend(t, -1, false)
	e := startEdge(t, testConfig(b.addr()))
	login := func(name string) {
		c := dial(t, e.Addr().String())
		c.login(t, 765, name)
		b.nextLogin(t)
		_ = c.Close()
	}
	login("Before")
	waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanConnect)) == 1 })
	flush(t, e)
	r.Stop()
	const during = 5
	for i := range during {
		login(fmt.Sprintf("During%d", i)) // players still get in
	}
	stopped := time.Now()
	deadline := stopped.Add(outage + traceWait)
	for metricSum(t, e, "rustguard_edge_trace_export_errors_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no export failed while the receiver was down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Until(stopped.Add(outage))) // the rest of the outage
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	spans := waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanConnect)) == 1+during })
	t.Logf("MEASURE spans queued during a %v outage arrived %v after the receiver returned", outage, time.Since(back).Round(10*time.Millisecond))
	seen := map[any]bool{}
	for _, s := range byName(spans, telemetry.SpanConnect) {
		seen[s.Attributes[telemetry.AttrPlayerName]] = true
	}
	for i := range during {
		if !seen[fmt.Sprintf("During%d", i)] {
			t.Errorf("the login of During%d never arrived", i)
		}
	}
	if d := testutil.CollectAndCount(e.Metrics.Registry, "rustguard_edge_trace_spans_dropped_total"); d != 4 {
		t.Errorf("%d dropped series, want one per reason", d)
	}
	if n, err := testutil.GatherAndCount(e.Metrics.Registry, "rustguard_edge_trace_queue_length"); err != nil || n != 1 {
		t.Errorf("queue length gauge: %d %v", n, err)
	}
}

// TestLoginFailoverIsTraced: with Consul offering two backends and the
// first one dying mid-login, the trace shows both attempts: the first
// with its failure, the second relaying.
func TestLoginFailoverIsTraced(t *testing.T) {
	r := traceTo(t)
	good := startBackend(t, -1, false)
	f := startFleet(t, nil)
	f.register(t, "good", "minecraft", good.addr())
	bad := startBrokenBackend(t, closeAfterLoginStart)
	f.registerWith(t, "bad", "minecraft", bad.addr(), &api.AgentServiceCheck{TTL: brokenCheckTTL, Status: api.HealthPassing})
	f.waitRouted(t, "play.example.com", good.addr(), bad.addr())
	e := f.edges[0]
	name := stickyName(t, []*Edge{e}, "play.example.com", bad.addr(), "Fail")
	mustLogin(t, e, "play.example.com", name)
	arrival(t, good)
	flush(t, e)
	spans := waitSpans(t, r, func(s []otlprecv.Span) bool {
		for _, c := range byName(s, telemetry.SpanConnect) {
			if c.Attributes[telemetry.AttrPlayerName] == name {
				return true
			}
		}
		return false
	})
	var conn otlprecv.Span
	for _, c := range byName(spans, telemetry.SpanConnect) {
		if c.Attributes[telemetry.AttrPlayerName] == name {
			conn = c
		}
	}
	var dials, logins []otlprecv.Span
	for _, s := range spans {
		if s.TraceID != conn.TraceID {
			continue
		}
		switch s.Name {
		case telemetry.SpanBackendDial:
			dials = append(dials, s)
		case telemetry.SpanLogin:
			logins = append(logins, s)
		}
	}
	if len(dials) != 2 || len(logins) != 2 {
		t.Fatalf("%d dials and %d logins, want 2 of each", len(dials), len(logins))
	}
	attempt := func(s otlprecv.Span) (int64, any) {
		return s.Attributes[telemetry.AttrAttempt].(int64), s.Attributes[telemetry.AttrBackend]
	}
	for _, l := range logins {
		switch n, backend := attempt(l); {
		case n == 1 && backend == bad.addr():
			if l.StatusCode != 2 { // error
				t.Errorf("the failed backend login has status %v", l.StatusCode)
			}
		case n == 2 && backend == good.addr():
			if l.StatusCode == 2 {
				t.Error("the good backend's login is marked failed")
			}
		default:
			t.Errorf("mc.login attempt %d to %v", n, backend)
		}
	}
	if conn.Attributes[telemetry.AttrBackend] != good.addr() || conn.Attributes[telemetry.AttrOutcome] != "relayed" {
		t.Errorf("mc.connect %v", conn.Attributes)
	}
}

// metricSum is the sum of every series of the edge's metric name.
func metricSum(t *testing.T, e *Edge, name string) float64 {
	t.Helper()
	mfs, err := e.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func ptr[T any](v T) *T { return &v }

// TestVerificationIsTracedAndReported: in attack mode a login goes to the
// verification limbo (an mc.limbo child), and a failed verification
// counts in the next attack report with the interval's joins and name
// shape.
func TestVerificationIsTracedAndReported(t *testing.T) {
	r := traceTo(t)
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Gate.AttackMode = "on"
	e := startEdge(t, cfg)
	// The first report goes out within a second of start; the failure
	// below belongs to the next one.
	waitSpans(t, r, func(s []otlprecv.Span) bool { return len(byName(s, telemetry.SpanAttack)) >= 1 })

	c := dial(t, e.Addr().String())
	garbage := mcproto.AppendFrame(nil, []byte{0x7f, 1, 2, 3}) // no such packet in login
	if _, err := c.Write(append(append(handshake(765, "localhost", 25565, 2), loginStart(765, "Bot_1234")...), garbage...)); err != nil {
		t.Fatal(err)
	}
	c.expectClosed(t)
	spans := waitSpans(t, r, func(s []otlprecv.Span) bool {
		return len(byName(s, telemetry.SpanConnect)) == 1 && len(byName(s, telemetry.SpanAttack)) >= 2
	})
	conn := byName(spans, telemetry.SpanConnect)[0]
	if conn.Attributes[telemetry.AttrOutcome] != "verification_failed" {
		t.Errorf("mc.connect outcome %v", conn.Attributes[telemetry.AttrOutcome])
	}
	limbo := byName(spans, telemetry.SpanLimbo)
	if len(limbo) != 1 || limbo[0].ParentSpanID != conn.SpanID || limbo[0].Attributes[telemetry.AttrOutcome] != "verify.protocol" {
		t.Errorf("mc.limbo spans %+v", limbo)
	}
	if g := byName(spans, telemetry.SpanGate); len(g) != 1 || g[0].Attributes[telemetry.AttrGateDecision] != "verify" {
		t.Errorf("mc.gate spans %+v", g)
	}
	report := byName(spans, telemetry.SpanAttack)[1]
	for k, v := range map[string]any{telemetry.AttrAttackActive: true, telemetry.AttrAttackFailedVerify: int64(1),
		telemetry.AttrAttackNameShape: "Aaa_0000", telemetry.AttrAttackNameShapeHits: int64(1)} {
		if report.Attributes[k] != v {
			t.Errorf("attack report %s = %v, want %v", k, report.Attributes[k], v)
		}
	}
	if j, _ := report.Attributes[telemetry.AttrAttackJoinsPerSec].(float64); j <= 0 {
		t.Errorf("attack report joins/s %v, want the verified login counted", report.Attributes[telemetry.AttrAttackJoinsPerSec])
	}
}
