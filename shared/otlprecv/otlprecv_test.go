package otlprecv

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func request(name string) ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("cloud.region", "eu")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName(name)
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{2})
	s.Attributes().PutInt("n", 7)
	l := s.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{3})
	l.SetSpanID(pcommon.SpanID{4})
	return ptraceotlp.NewExportRequestFromTraces(td)
}

func TestReceiverGRPCAndHTTP(t *testing.T) {
	r, err := Listen(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cc, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := ptraceotlp.NewGRPCClient(cc).Export(ctx, request("a")); err != nil {
		t.Fatal(err)
	}
	body, _ := request("b").MarshalProto()
	resp, err := http.Post(r.HTTPEndpoint()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("http status %d", resp.StatusCode)
	}
	spans, err := r.Wait(ctx, func(_ []Span, n int) bool { return n == 2 })
	if err != nil {
		t.Fatal(err)
	}
	s := spans[0]
	if s.Name != "a" || s.Resource["cloud.region"] != "eu" || s.Attributes["n"] != int64(7) ||
		len(s.Links) != 1 || s.Links[0].TraceID != "03000000000000000000000000000000" || s.ParentSpanID != "" {
		t.Errorf("%+v", s)
	}
	if r.Count("b") != 1 {
		t.Errorf("count b = %d", r.Count("b"))
	}

	// Refused, then stopped and started again on the same port.
	r.Refuse(codes.InvalidArgument)
	if _, err := ptraceotlp.NewGRPCClient(cc).Export(ctx, request("c")); status.Code(err) != codes.InvalidArgument {
		t.Errorf("refused export: %v", err)
	}
	r.Refuse(codes.OK)
	addr := r.GRPCAddr()
	r.Stop()
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	if _, err := ptraceotlp.NewGRPCClient(cc).Export(short, request("d")); status.Code(err) != codes.Unavailable && status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("export to a stopped receiver: %v", err)
	}
	cancel2()
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if r.GRPCAddr() != addr {
		t.Fatalf("restarted on %s, want %s", r.GRPCAddr(), addr)
	}
	if _, err := ptraceotlp.NewGRPCClient(cc).Export(ctx, request("e"), grpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	if r.Count("") != 3 || r.Count("c") != 0 || r.Count("d") != 0 {
		t.Errorf("counts: total %d c %d d %d", r.Count(""), r.Count("c"), r.Count("d"))
	}
}
