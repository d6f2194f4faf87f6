package spantest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxQueryBytes caps a query answer read by tests.
const maxQueryBytes = 64 << 20

// JaegerTraces asks Jaeger's query API (v3) for the traces of service that
// started between from and to, at most limit of them, and returns them as
// OTLP traces. No trace found is an empty result, not an error.
func JaegerTraces(queryURL, service string, from, to time.Time, limit int) (ptrace.Traces, error) {
	q := url.Values{}
	q.Set("query.service_name", service)
	q.Set("query.start_time_min", from.UTC().Format(time.RFC3339Nano))
	q.Set("query.start_time_max", to.UTC().Format(time.RFC3339Nano))
	q.Set("query.num_traces", strconv.Itoa(limit))
	resp, err := http.Get(queryURL + "/api/v3/traces?" + q.Encode())
	if err != nil {
		return ptrace.Traces{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxQueryBytes))
	if err != nil {
		return ptrace.Traces{}, err
	}
	out := ptrace.NewTraces()
	if resp.StatusCode == http.StatusNotFound {
		return out, nil
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("jaeger query: %s: %.300s", resp.Status, body)
	}
	// The answer is a stream of {"result": <OTLP traces>} objects.
	dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(body)))
	for dec.More() {
		var chunk struct {
			Result json.RawMessage `json:"result"`
		}
		if err := dec.Decode(&chunk); err != nil {
			return out, fmt.Errorf("jaeger query answer: %w", err)
		}
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(chunk.Result)
		if err != nil {
			return out, fmt.Errorf("jaeger query answer: %w", err)
		}
		td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out, nil
}
