package ingest

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
)

// FuzzHTTPDecode feeds arbitrary bodies through the OTLP/HTTP decoding
// path, protobuf and JSON, and on to the span decoders: nothing may panic,
// and whatever reaches the sink must be a valid, bounded event. The seed
// corpus (testdata/fuzz/FuzzHTTPDecode) holds real edge requests in both
// encodings.
func FuzzHTTPDecode(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte("{}"), true)
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"cloud.region","value":{"stringValue":"eu"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"mc.detection","startTimeUnixNano":"1","attributes":[{"key":"detection.action","value":{"stringValue":"rewrite"}}]}]}]}]}`), true)
	s := &sink{}
	r, err := New(Options{Sink: s, Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, json bool) {
		media := mediaProtobuf
		if json {
			media = mediaJSON
		}
		req, _, err := r.decodeHTTP(media, body)
		if err != nil {
			return
		}
		s.batches = s.batches[:0]
		if _, err := r.export(context.Background(), "http", req.Traces()); err != nil {
			return
		}
		for _, d := range s.detections() {
			if err := d.Validate(); err != nil {
				t.Fatalf("invalid event reached the sink: %v", err)
			}
			if _, err := hex.DecodeString(d.TraceID); err != nil || len(d.TraceID) != 32 || len(d.SpanID) != 16 {
				t.Fatalf("ids %q %q", d.TraceID, d.SpanID)
			}
			if !validRegion(d.Region) || d.Action > detection.ActionBan {
				t.Fatalf("event %+v", d.Event)
			}
		}
		if n := len(s.detections()) + len(s.attacks()); n > MaxSpansPerRequest {
			t.Fatalf("%d events from one request", n)
		}
	})
}

// fuzzNow is the receiver's clock while fuzzing; the seeds were made a
// minute before it.
var fuzzNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// TestFuzzSeedsReachTheSink: the committed seeds are real edge batches
// that decode (otherwise the fuzzer would start from nothing useful).
func TestFuzzSeedsReachTheSink(t *testing.T) {
	s := &sink{}
	r, err := New(Options{Sink: s, Now: func() time.Time { return fuzzNow }})
	if err != nil {
		t.Fatal(err)
	}
	for name, media := range map[string]string{"edge-batch-protobuf": mediaProtobuf, "edge-batch-json": mediaJSON} {
		body := readSeed(t, name)
		req, _, err := r.decodeHTTP(media, body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := r.export(context.Background(), "http", req.Traces())
		if err != nil || res.rejected != 0 {
			t.Fatalf("%s: %+v, %v", name, res, err)
		}
	}
	if d, a := len(s.detections()), len(s.attacks()); d != 4 || a != 2 {
		t.Errorf("seeds gave %d detections and %d attack reports, want 4 and 2", d, a)
	}
}

func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzHTTPDecode", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(raw), "\n", 3)
	lit := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
	s, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}
