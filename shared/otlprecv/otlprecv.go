// Package otlprecv is a small OTLP trace receiver that records what it
// receives: a stand-in for the central service in the edge's tests and in
// the load tool (rgload), built on the OpenTelemetry collector's pdata
// types over real gRPC and HTTP, exactly as central receives. It can be
// stopped and started again on the same ports, to play a central that
// restarts, and told to refuse requests, to play one that rejects them.
package otlprecv

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxRequestBytes caps one HTTP request body: an OTLP exporter's batch of
// 512 spans is well under a megabyte; a receiver must not read whatever
// length a client claims.
const maxRequestBytes = 16 << 20

// Span is one received span, flattened for assertions.
type Span struct {
	Name         string
	TraceID      string // hex
	SpanID       string // hex
	ParentSpanID string // hex; "" for a root
	Start, End   time.Time
	Attributes   map[string]any // pcommon.Map.AsRaw: string, int64, float64, bool, …
	Resource     map[string]any
	Links        []Link
	StatusCode   ptrace.StatusCode
	Kind         ptrace.SpanKind
}

// Link is one span link.
type Link struct{ TraceID, SpanID string }

// Options configure a receiver.
type Options struct {
	// CountOnly keeps counts per span name instead of the spans, for load
	// runs that send hundreds of thousands.
	CountOnly bool
}

// Receiver is a running OTLP trace receiver on loopback.
type Receiver struct {
	o                  Options
	grpcAddr, httpAddr string

	mu      sync.Mutex
	gsrv    *grpc.Server
	hsrv    *http.Server
	spans   []Span
	counts  map[string]int
	total   int
	refuse  codes.Code // codes.OK: accept
	changed chan struct{}
}

// Listen starts a receiver with OTLP/gRPC and OTLP/HTTP on free
// 127.0.0.1 ports.
func Listen(o Options) (*Receiver, error) {
	r := &Receiver{o: o, counts: make(map[string]int), changed: make(chan struct{})}
	if err := r.listen("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	return r, nil
}

// GRPCAddr is the OTLP/gRPC endpoint (host:port).
func (r *Receiver) GRPCAddr() string { return r.grpcAddr }

// HTTPEndpoint is the OTLP/HTTP base URL (the exporter appends /v1/traces).
func (r *Receiver) HTTPEndpoint() string { return "http://" + r.httpAddr }

func (r *Receiver) listen(grpcAddr, httpAddr string) error {
	gl, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return fmt.Errorf("otlprecv: listen grpc: %w", err)
	}
	hl, err := net.Listen("tcp", httpAddr)
	if err != nil {
		_ = gl.Close()
		return fmt.Errorf("otlprecv: listen http: %w", err)
	}
	gsrv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(gsrv, &grpcService{r: r})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.serveHTTP)
	hsrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.grpcAddr, r.httpAddr = gl.Addr().String(), hl.Addr().String()
	r.gsrv, r.hsrv = gsrv, hsrv
	r.mu.Unlock()
	go func() { _ = gsrv.Serve(gl) }()
	go func() { _ = hsrv.Serve(hl) }()
	return nil
}

// Stop closes both listeners and every connection, like a central that
// went away; what it received is kept. Start brings it back.
func (r *Receiver) Stop() {
	r.mu.Lock()
	gsrv, hsrv := r.gsrv, r.hsrv
	r.gsrv, r.hsrv = nil, nil
	r.mu.Unlock()
	if gsrv != nil {
		gsrv.Stop()
	}
	if hsrv != nil {
		_ = hsrv.Close()
	}
}

// Start listens again on the same ports after Stop.
func (r *Receiver) Start() error {
	r.mu.Lock()
	running := r.gsrv != nil
	r.mu.Unlock()
	if running {
		return errors.New("otlprecv: already running")
	}
	return r.listen(r.grpcAddr, r.httpAddr)
}

// Close stops the receiver for good.
func (r *Receiver) Close() { r.Stop() }

// Refuse makes the receiver answer every request with code (codes.OK:
// accept again). Over HTTP, InvalidArgument is 400, Unauthenticated 401,
// Unavailable 503, anything else 500.
func (r *Receiver) Refuse(code codes.Code) {
	r.mu.Lock()
	r.refuse = code
	r.mu.Unlock()
}

// Spans returns a copy of what was received (nil with CountOnly).
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Count returns how many spans named name were received ("" for all).
func (r *Receiver) Count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		return r.total
	}
	return r.counts[name]
}

// Wait returns the spans received once ok says they are enough, or an
// error when ctx ends first. ok is called with the receiver's lock held.
func (r *Receiver) Wait(ctx context.Context, ok func(spans []Span, total int) bool) ([]Span, error) {
	for {
		r.mu.Lock()
		if ok(r.spans, r.total) {
			out := append([]Span(nil), r.spans...)
			r.mu.Unlock()
			return out, nil
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return r.Spans(), fmt.Errorf("otlprecv: %d spans received, not the ones awaited: %w", r.Count(""), ctx.Err())
		}
	}
}

// take records one request; it returns the status to answer.
func (r *Receiver) take(td ptrace.Traces) codes.Code {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse != codes.OK {
		return r.refuse
	}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var res map[string]any
		if !r.o.CountOnly {
			res = rs.Resource().Attributes().AsRaw()
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				r.total++
				r.counts[s.Name()]++
				if !r.o.CountOnly {
					r.spans = append(r.spans, flatten(s, res))
				}
			}
		}
	}
	close(r.changed)
	r.changed = make(chan struct{})
	return codes.OK
}

func flatten(s ptrace.Span, res map[string]any) Span {
	out := Span{Name: s.Name(), TraceID: traceID(s.TraceID()), SpanID: spanID(s.SpanID()),
		Start: s.StartTimestamp().AsTime(), End: s.EndTimestamp().AsTime(),
		Attributes: s.Attributes().AsRaw(), Resource: res, StatusCode: s.Status().Code(), Kind: s.Kind()}
	if p := s.ParentSpanID(); !p.IsEmpty() {
		out.ParentSpanID = spanID(p)
	}
	for i := 0; i < s.Links().Len(); i++ {
		l := s.Links().At(i)
		out.Links = append(out.Links, Link{TraceID: traceID(l.TraceID()), SpanID: spanID(l.SpanID())})
	}
	return out
}

func traceID(id pcommon.TraceID) string { return hex.EncodeToString(id[:]) }
func spanID(id pcommon.SpanID) string   { return hex.EncodeToString(id[:]) }

type grpcService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

func (g *grpcService) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if c := g.r.take(req.Traces()); c != codes.OK {
		return ptraceotlp.NewExportResponse(), status.Error(c, "refused by the test receiver")
	}
	return ptraceotlp.NewExportResponse(), nil
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	er := ptraceotlp.NewExportRequest()
	switch req.Header.Get("Content-Type") {
	case "application/x-protobuf":
		err = er.UnmarshalProto(body)
	case "application/json":
		err = er.UnmarshalJSON(body)
	default:
		http.Error(w, "unsupported content type", http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.take(er.Traces()) {
	case codes.OK:
	case codes.InvalidArgument:
		http.Error(w, "refused by the test receiver", http.StatusBadRequest)
		return
	case codes.Unauthenticated:
		http.Error(w, "refused by the test receiver", http.StatusUnauthorized)
		return
	case codes.Unavailable:
		http.Error(w, "refused by the test receiver", http.StatusServiceUnavailable)
		return
	default:
		http.Error(w, "refused by the test receiver", http.StatusInternalServerError)
		return
	}
	out, _ := ptraceotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}
