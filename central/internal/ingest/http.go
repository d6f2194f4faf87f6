package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// OTLP/HTTP media types.
const (
	mediaProtobuf = "application/x-protobuf"
	mediaJSON     = "application/json"
)

// retryAfterSeconds is the Retry-After of a 503: Redis outages seen here
// last seconds; the exporter backs off further on its own.
const retryAfterSeconds = "1"

// PathTraces is the OTLP/HTTP traces path.
const PathTraces = "/v1/traces"

// HTTPHandler serves OTLP/HTTP at /v1/traces: POST with
// application/x-protobuf or application/json, optionally gzip-encoded.
func (r *Receiver) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathTraces, r.serveHTTP)
	return mux
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if !r.authorized(req.Header.Get("Authorization")) {
		r.m.errors.WithLabelValues("unauthenticated").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="rustguard-central-ingest"`)
		writeStatus(w, mediaJSON, http.StatusUnauthorized, codes.Unauthenticated, "missing or wrong ingest token")
		return
	}
	media, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || media != mediaProtobuf && media != mediaJSON {
		r.m.errors.WithLabelValues("unsupported_media_type").Inc()
		writeStatus(w, mediaJSON, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("content type %q: want %s or %s", cut(req.Header.Get("Content-Type")), mediaProtobuf, mediaJSON))
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= MaxRequestBytes+bytes.MinRead { // keep pooled buffers bounded
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if code, err := readBody(w, req, buf); err != nil {
		reason := "malformed"
		if code == http.StatusRequestEntityTooLarge {
			reason = "too_large"
		}
		r.m.errors.WithLabelValues(reason).Inc()
		writeStatus(w, media, code, codes.InvalidArgument, err.Error())
		return
	}
	ereq, code, err := r.decodeHTTP(media, buf.Bytes())
	if err != nil {
		writeStatus(w, media, code, codes.InvalidArgument, err.Error())
		return
	}
	res, err := r.export(req.Context(), "http", ereq.Traces())
	switch {
	case errors.Is(err, errRetryable):
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeStatus(w, media, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	case err != nil:
		writeStatus(w, media, http.StatusBadRequest, codes.InvalidArgument, err.Error())
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(res.rejected)
		resp.PartialSuccess().SetErrorMessage(res.message)
	}
	var body []byte
	if media == mediaJSON {
		body, err = resp.MarshalJSON()
	} else {
		body, err = resp.MarshalProto()
	}
	if err != nil {
		writeStatus(w, media, http.StatusInternalServerError, codes.Internal, "encode response")
		return
	}
	w.Header().Set("Content-Type", media)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// decodeHTTP decodes a request body of the given media type. The entries
// of a protobuf body are counted before it is decoded.
func (r *Receiver) decodeHTTP(media string, body []byte) (ptraceotlp.ExportRequest, int, error) {
	ereq := ptraceotlp.NewExportRequest()
	if media == mediaProtobuf {
		if _, err := countEntries(body, maxEntries); err != nil {
			reason := "malformed"
			if errors.Is(err, errTooMany) {
				reason = "too_many_spans"
			}
			r.m.errors.WithLabelValues(reason).Inc()
			return ereq, http.StatusBadRequest, err
		}
		if err := ereq.UnmarshalProto(body); err != nil {
			r.m.errors.WithLabelValues("malformed").Inc()
			return ereq, http.StatusBadRequest, fmt.Errorf("%w: %w", errMalformed, err)
		}
		return ereq, 0, nil
	}
	if err := ereq.UnmarshalJSON(body); err != nil {
		r.m.errors.WithLabelValues("malformed").Inc()
		return ereq, http.StatusBadRequest, fmt.Errorf("malformed OTLP JSON: %s", cut(err.Error()))
	}
	return ereq, 0, nil
}

// readBody reads the request body into buf, decompressing gzip, and caps
// both the bytes on the wire and the decompressed bytes at MaxRequestBytes.
// It returns the HTTP status to answer when it fails.
func readBody(w http.ResponseWriter, req *http.Request, buf *bytes.Buffer) (int, error) {
	body := http.MaxBytesReader(w, req.Body, MaxRequestBytes)
	var src io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return bodyStatus(err, "gzip")
		}
		defer zr.Close()
		src = zr
	default:
		return http.StatusBadRequest, fmt.Errorf("content encoding %q: want gzip or none", cut(enc))
	}
	n, err := buf.ReadFrom(io.LimitReader(src, MaxRequestBytes+1))
	if err != nil {
		return bodyStatus(err, "read")
	}
	if n > MaxRequestBytes {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request over %d bytes decompressed", MaxRequestBytes)
	}
	return 0, nil
}

func bodyStatus(err error, what string) (int, error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes", MaxRequestBytes)
	}
	return http.StatusBadRequest, fmt.Errorf("%s request body: %s", what, cut(err.Error()))
}

// writeStatus answers an error the way OTLP/HTTP wants it: a
// google.rpc.Status in the request's encoding.
func writeStatus(w http.ResponseWriter, media string, httpCode int, code codes.Code, msg string) {
	st := status.New(code, cut(msg)).Proto()
	var body []byte
	var err error
	if media == mediaProtobuf {
		body, err = proto.Marshal(st)
	} else {
		media = mediaJSON
		body, err = protojson.Marshal(st)
	}
	if err != nil {
		body = nil
	}
	w.Header().Set("Content-Type", media)
	w.WriteHeader(httpCode)
	_, _ = w.Write(body)
}
