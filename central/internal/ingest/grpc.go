package ingest

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // exporters may compress (OTEL_EXPORTER_OTLP_COMPRESSION=gzip)
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// maxStreamsPerConn bounds concurrent requests on one connection: an
// edge's exporter sends one batch at a time.
const maxStreamsPerConn = 32

// GRPCServer returns a gRPC server with the OTLP trace service registered.
// Requests without the token are refused when the stream opens, before
// their message is read; larger messages than MaxRequestBytes (after
// decompression) are refused by gRPC itself.
func (r *Receiver) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		grpc.ForceServerCodecV2(countingCodec{delegate: encoding.GetCodecV2("proto"), r: r}),
	}, opts...)
	if r.hasTok {
		opts = append(opts, grpc.InTapHandle(r.tap))
	}
	s := grpc.NewServer(opts...)
	ptraceotlp.RegisterGRPCServer(s, &grpcTraces{r: r})
	return s
}

// tap runs when a stream opens, with only its headers read.
func (r *Receiver) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	var h string
	if v := info.Header.Get("authorization"); len(v) == 1 {
		h = v[0]
	}
	if !r.authorized(h) {
		r.m.errors.WithLabelValues("unauthenticated").Inc()
		return ctx, status.Error(codes.Unauthenticated, "missing or wrong ingest token")
	}
	return ctx, nil
}

type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export implements ptraceotlp.GRPCServer.
func (g *grpcTraces) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	res, err := g.r.export(ctx, "grpc", req.Traces())
	switch {
	case errors.Is(err, errRetryable):
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, cut(err.Error()))
	case err != nil:
		return ptraceotlp.NewExportResponse(), status.Error(codes.InvalidArgument, cut(err.Error()))
	}
	resp := ptraceotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(res.rejected)
		resp.PartialSuccess().SetErrorMessage(res.message)
	}
	return resp, nil
}

// countingCodec counts a request's entries on the wire (countEntries)
// before the OTLP codec decodes it.
type countingCodec struct {
	delegate encoding.CodecV2
	r        *Receiver
}

func (c countingCodec) Marshal(v any) (mem.BufferSlice, error) { return c.delegate.Marshal(v) }

func (c countingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if _, err := countEntries(buf.ReadOnlyData(), maxEntries); err != nil {
		reason := "malformed"
		if errors.Is(err, errTooMany) {
			reason = "too_many_spans"
		}
		c.r.m.errors.WithLabelValues(reason).Inc()
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return c.delegate.Unmarshal(mem.BufferSlice{buf}, v)
}

func (c countingCodec) Name() string { return c.delegate.Name() }
