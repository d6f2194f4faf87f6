package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/detection"
)

const token = "ingest-token-for-tests"

// sink records what the receiver hands on; fail makes it refuse.
type sink struct {
	mu      sync.Mutex
	batches []report.Batch
	fail    error
}

func (s *sink) Accept(_ context.Context, b *report.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.batches = append(s.batches, *b)
	return nil
}

func (s *sink) detections() []report.Detection {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []report.Detection
	for _, b := range s.batches {
		out = append(out, b.Detections...)
	}
	return out
}

func (s *sink) attacks() []report.Attack {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []report.Attack
	for _, b := range s.batches {
		out = append(out, b.Attacks...)
	}
	return out
}

// forwarder records the traces handed on.
type forwarder struct {
	mu    sync.Mutex
	spans int
}

func (f *forwarder) Forward(td ptrace.Traces) {
	f.mu.Lock()
	f.spans += td.SpanCount()
	f.mu.Unlock()
}

func (f *forwarder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.spans
}

type fixture struct {
	r        *Receiver
	sink     *sink
	fwd      *forwarder
	reg      *prometheus.Registry
	grpcAddr string
	httpURL  string
}

func start(t *testing.T, tok string) *fixture {
	t.Helper()
	f := &fixture{sink: &sink{}, fwd: &forwarder{}, reg: prometheus.NewRegistry()}
	r, err := New(Options{Sink: f.sink, Forward: f.fwd, Token: tok, Registerer: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := r.GRPCServer()
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	f.grpcAddr = ln.Addr().String()
	hs := httptest.NewServer(r.HTTPHandler())
	t.Cleanup(hs.Close)
	f.httpURL = hs.URL
	return f
}

func (f *fixture) grpcClient(t *testing.T) ptraceotlp.GRPCClient {
	t.Helper()
	cc, err := grpc.NewClient(f.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return ptraceotlp.NewGRPCClient(cc)
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

var eu = spantest.Edge{Region: "eu", Instance: "edge-eu-1"}

// TestExportersDeliverDetections: the SDK's own exporters, over both
// transports, deliver every action's detection and an attack report to
// the sink, and every span (the connection span too) to the forwarder.
func TestExportersDeliverDetections(t *testing.T) {
	f := start(t, token)
	ctx := context.Background()
	grpcExp, err := spantest.GRPCExporter(ctx, f.grpcAddr, token)
	if err != nil {
		t.Fatal(err)
	}
	defer grpcExp.Shutdown(ctx)
	httpExp, err := spantest.HTTPExporter(ctx, strings.TrimPrefix(f.httpURL, "http://"), token)
	if err != nil {
		t.Fatal(err)
	}
	defer httpExp.Shutdown(ctx)

	now := time.Now().Truncate(time.Microsecond)
	var spans []tracetest.SpanStub
	for _, a := range detection.Actions() {
		spans = append(spans, eu.Detection(spantest.Event("badpackets.invalid_pitch", a, "Cheater", "4566E69F-C907-38EE-8D71-D7E8B1C5A5D8", "::ffff:203.0.113.7", false, now), spantest.IDs()))
	}
	spans = append(spans, eu.Attack(true, 40, 12, "Aaaa0000", 90, now), eu.Connect(now))
	if err := spantest.Export(ctx, grpcExp, spans...); err != nil {
		t.Fatalf("grpc: %v", err)
	}
	if err := spantest.Export(ctx, httpExp, spans...); err != nil {
		t.Fatalf("http: %v", err)
	}
	dets := f.sink.detections()
	if len(dets) != 2*len(detection.Actions()) {
		t.Fatalf("%d detections, want %d", len(dets), 2*len(detection.Actions()))
	}
	seen := map[detection.Action]int{}
	for _, d := range dets {
		seen[d.Action]++
		if d.Region != "eu" || d.Edge != "edge-eu-1" || d.Player != "Cheater" || d.ClientAddr != "203.0.113.7" ||
			d.UUID != "4566e69f-c907-38ee-8d71-d7e8b1c5a5d8" || !d.Time.Equal(now) || len(d.TraceID) != 32 || len(d.SpanID) != 16 {
			t.Errorf("detection %+v", d)
		}
	}
	for _, a := range detection.Actions() {
		if seen[a] != 2 {
			t.Errorf("action %s arrived %d times, want 2", a, seen[a])
		}
	}
	if at := f.sink.attacks(); len(at) != 2 || !at[0].Active || at[0].NameShape != "Aaaa0000" || at[0].JoinsPerSecond != 40 {
		t.Errorf("attacks %+v", at)
	}
	if got := f.fwd.count(); got != 2*len(spans) {
		t.Errorf("forwarded %d spans, want %d", got, 2*len(spans))
	}
	if got := testutil.ToFloat64(f.r.m.spans.WithLabelValues("grpc")); got != float64(len(spans)) {
		t.Errorf("grpc spans metric %v", got)
	}
}

// TestIngestToken: without the token, or with a wrong one, nothing reaches
// aggregation or forwarding, on either transport.
func TestIngestToken(t *testing.T) {
	f := start(t, token)
	ctx := context.Background()
	td := spantest.Traces(eu.Detection(spantest.Event("a.b", detection.ActionKick, "P", "", "203.0.113.1", false, time.Now()), spantest.IDs()))
	c := f.grpcClient(t)
	for name, cctx := range map[string]context.Context{
		"none": ctx, "wrong": withToken(ctx, "wrong-token-0123456789"), "prefix": withToken(ctx, token[:len(token)-1]),
		"longer": withToken(ctx, token+"x"), "empty": withToken(ctx, ""),
	} {
		_, err := c.Export(cctx, ptraceotlp.NewExportRequestFromTraces(td))
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("grpc %s token: %v, want Unauthenticated", name, err)
		}
	}
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	for name, auth := range map[string]string{"none": "", "wrong": "Bearer wrong-token-0123456789", "no scheme": token, "basic": "Basic " + token} {
		resp := post(t, f.httpURL+PathTraces, mediaProtobuf, auth, body, "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("http %s: %s, want 401", name, resp.Status)
		}
	}
	if n := len(f.sink.detections()); n != 0 || f.fwd.count() != 0 {
		t.Fatalf("unauthenticated data got through: %d detections, %d forwarded", n, f.fwd.count())
	}
	if _, err := c.Export(withToken(ctx, token), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "Bearer "+token, body, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("http with the token: %s", resp.Status)
	}
	if n := len(f.sink.detections()); n != 2 {
		t.Errorf("%d detections with the token, want 2", n)
	}
	if got := testutil.ToFloat64(f.r.m.errors.WithLabelValues("unauthenticated")); got != 9 {
		t.Errorf("unauthenticated metric %v, want 9", got)
	}
}

func post(t *testing.T, url, media, auth string, body []byte, encoding string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", media)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

// TestPartialSuccess: spans that do not decode are rejected one by one,
// the rest is stored, and the whole request is forwarded.
func TestPartialSuccess(t *testing.T) {
	f := start(t, "")
	now := time.Now()
	good := eu.Detection(spantest.Event("a.b", detection.ActionDrop, "P", "", "203.0.113.1", false, now), spantest.IDs())
	badAction := eu.Detection(spantest.Event("a.b", detection.ActionDrop, "P", "", "203.0.113.1", false, now), spantest.IDs())
	td := spantest.Traces(good, badAction, eu.Connect(now))
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).Attributes().PutStr("detection.action", "nuke")
	future := spantest.Traces(eu.Detection(spantest.Event("a.b", detection.ActionDrop, "P", "", "203.0.113.1", false, now.Add(time.Hour)), spantest.IDs()))
	future.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	noRegion := spantest.Traces((spantest.Edge{Instance: "x"}).Detection(spantest.Event("a.b", detection.ActionDrop, "P", "", "203.0.113.1", false, now), spantest.IDs()))
	noRegion.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	badAddr := spantest.Traces(eu.Detection(spantest.Event("a.b", detection.ActionDrop, "P", "", "not-an-ip", false, now), spantest.IDs()))
	badAddr.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())

	resp, err := f.grpcClient(t).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.PartialSuccess().RejectedSpans(); got != 4 {
		t.Errorf("rejected %d, want 4 (%s)", got, resp.PartialSuccess().ErrorMessage())
	}
	if msg := resp.PartialSuccess().ErrorMessage(); !strings.Contains(msg, "nuke") {
		t.Errorf("message %q does not say why", msg)
	}
	if n := len(f.sink.detections()); n != 1 {
		t.Errorf("%d detections stored, want 1", n)
	}
	if f.fwd.count() != 6 {
		t.Errorf("forwarded %d spans, want all 6", f.fwd.count())
	}
}

// TestRetryableWhenTheSinkFails: a batch the sink cannot take (Redis down)
// is answered so that exporters retry it, and it is not forwarded yet (the
// retry will be).
func TestRetryableWhenTheSinkFails(t *testing.T) {
	f := start(t, "")
	f.sink.fail = errors.New("redis: connection refused")
	td := spantest.Traces(eu.Detection(spantest.Event("a.b", detection.ActionKick, "P", "", "203.0.113.1", false, time.Now()), spantest.IDs()))
	_, err := f.grpcClient(t).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("grpc: %v, want Unavailable", err)
	}
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", body, "")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("http: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if f.fwd.count() != 0 {
		t.Errorf("forwarded %d spans of a batch that will be retried", f.fwd.count())
	}
	// Spans central does not aggregate never depend on the sink.
	f.sink.fail = errors.New("still down")
	if _, err := f.grpcClient(t).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(spantest.Traces(eu.Connect(time.Now())))); err != nil {
		t.Errorf("connection span with the sink down: %v", err)
	}
}

func TestHTTPMediaTypesAndMethods(t *testing.T) {
	f := start(t, "")
	td := spantest.Traces(eu.Detection(spantest.Event("a.b", detection.ActionAlert, "P", "", "203.0.113.1", false, time.Now()), spantest.IDs()))
	js, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, f.httpURL+PathTraces, "application/json; charset=utf-8", "", js, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != mediaJSON {
		t.Fatalf("json: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	out := ptraceotlp.NewExportResponse()
	b, _ := io.ReadAll(resp.Body)
	if err := out.UnmarshalJSON(b); err != nil {
		t.Errorf("json response %q: %v", b, err)
	}
	pb, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(pb)
	_ = zw.Close()
	if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", gz.Bytes(), "gzip"); resp.StatusCode != http.StatusOK {
		t.Errorf("gzip: %s", resp.Status)
	}
	for _, media := range []string{"text/plain", "application/xml", "", "application/x-protobuf/evil"} {
		if resp := post(t, f.httpURL+PathTraces, media, "", pb, ""); resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("media %q: %s, want 415", media, resp.Status)
		}
	}
	if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", pb, "br"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown encoding: %s, want 400", resp.Status)
	}
	r, err := http.Get(f.httpURL + PathTraces)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %s, want 405", r.Status)
	}
	if n := len(f.sink.detections()); n != 2 {
		t.Errorf("%d detections, want 2", n)
	}
}

// TestHostileRequests: oversized, overfull and malformed requests are
// refused as permanent errors before they cost memory.
func TestHostileRequests(t *testing.T) {
	f := start(t, "")
	// Too many spans.
	var spans []tracetest.SpanStub
	for range MaxSpansPerRequest + 1 {
		spans = append(spans, eu.Connect(time.Now()))
	}
	many := ptraceotlp.NewExportRequestFromTraces(spantest.Traces(spans...))
	_, err := f.grpcClient(t).Export(context.Background(), many)
	if code := status.Code(err); code == codes.OK || code == codes.Unavailable {
		t.Errorf("grpc, %d spans: %v, want a permanent error", MaxSpansPerRequest+1, err)
	}
	pb, _ := many.MarshalProto()
	if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", pb, ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("http, too many spans: %s", resp.Status)
	}
	js, _ := many.MarshalJSON()
	if len(js) <= MaxRequestBytes {
		if resp := post(t, f.httpURL+PathTraces, mediaJSON, "", js, ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("http json, too many spans: %s", resp.Status)
		}
	}

	// A megabyte of empty resource entries: two bytes each on the wire.
	empties := bytes.Repeat(protowire.AppendBytes(protowire.AppendTag(nil, fieldResourceSpans, protowire.BytesType), nil), 1<<19)
	if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", empties, ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("http, empty entries: %s", resp.Status)
	}
	// Over the size cap, plain and as a gzip bomb.
	if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", make([]byte, MaxRequestBytes+1), ""); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("http, big body: %s", resp.Status)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 4*MaxRequestBytes))
	_ = zw.Close()
	if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", gz.Bytes(), "gzip"); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("http, gzip bomb of %d bytes: %s", gz.Len(), resp.Status)
	}
	for name, body := range map[string][]byte{"truncated": pb[:len(pb)/2], "garbage": []byte("\xff\xff\xff\xff\xff")} {
		if resp := post(t, f.httpURL+PathTraces, mediaProtobuf, "", body, ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("http, %s: %s", name, resp.Status)
		}
	}
	if resp := post(t, f.httpURL+PathTraces, mediaJSON, "", []byte(`{"resourceSpans":[{`), ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("http, broken json: %s", resp.Status)
	}
	// gRPC refuses oversized messages itself.
	cc, err := grpc.NewClient(f.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(8*MaxRequestBytes)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	big := ptrace.NewTraces()
	big.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("x", strings.Repeat("x", MaxRequestBytes))
	if _, err := ptraceotlp.NewGRPCClient(cc).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(big)); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("grpc, big message: %v, want ResourceExhausted", err)
	}
	if n := len(f.sink.detections()); n != 0 || f.fwd.count() != 0 {
		t.Errorf("hostile requests reached the sink (%d) or the forwarder (%d)", n, f.fwd.count())
	}
}

func TestCountEntries(t *testing.T) {
	td := spantest.Traces(eu.Connect(time.Now()), eu.Connect(time.Now()), (spantest.Edge{Region: "us"}).Connect(time.Now()))
	pb, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	n, err := countEntries(pb, 100)
	if err != nil || n != 2+2+3 {
		t.Errorf("countEntries = %d, %v; want 7 (2 resources, 2 scopes, 3 spans)", n, err)
	}
	if _, err := countEntries(pb, 6); !errors.Is(err, errTooMany) {
		t.Errorf("limit 6: %v", err)
	}
}
