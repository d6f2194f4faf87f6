package testservers

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestJaegerStarts(t *testing.T) {
	j := StartJaeger(t)
	resp, err := http.Get(j.QueryURL() + "/api/v3/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("services: %s %s", resp.Status, body)
	}
}

// TestJaegerStoresOTLP: a trace sent to the OTLP/HTTP receiver comes back
// from the query API, the path every trace test relies on.
func TestJaegerStoresOTLP(t *testing.T) {
	j := StartJaeger(t)
	now := time.Now()
	body := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"probe"}}]},
"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"hello","kind":1,
"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`, now.UnixNano(), now.Add(time.Millisecond).UnixNano())
	resp, err := http.Post(j.OTLPHTTPEndpoint()+"/v1/traces", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("otlp: %s", resp.Status)
	}
	q := j.QueryURL() + "/api/v3/traces?query.service_name=probe&query.num_traces=5" +
		"&query.start_time_min=" + url.QueryEscape(now.Add(-time.Minute).Format(time.RFC3339Nano)) +
		"&query.start_time_max=" + url.QueryEscape(now.Add(time.Minute).Format(time.RFC3339Nano))
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(b), "eee19b7ec3c1b174") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace not found: %s %s", resp.Status, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
