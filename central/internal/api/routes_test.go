package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/correlate"
	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/testservers"
)

const testToken = "admin-token-0123456789"

type apiFixture struct {
	url   string
	agg   *aggregate.Aggregator
	store *bans.Store
	redis *testservers.Redis
}

func startAPI(t *testing.T) *apiFixture {
	t.Helper()
	srv := testservers.StartRedis(t)
	client, err := bans.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	agg, err := aggregate.New(aggregate.Config{KeyPrefix: "rustguard", MaxLen: 10000, MaxAge: 24 * time.Hour}, aggregate.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	store, err := bans.NewStore(bans.Defaults(), bans.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	corr, err := correlate.New(correlate.Options{Client: client, KeyPrefix: "rustguard", History: agg, Bans: store})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Token: testToken, Detections: agg, Attacks: corr, Bans: store})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &apiFixture{url: hs.URL, agg: agg, store: store, redis: srv}
}

func (f *apiFixture) do(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, body %q is not a JSON object", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// TestEveryRouteNeedsTheToken: without the token, or with a wrong one,
// every /v1 route answers 401 and changes nothing.
func TestEveryRouteNeedsTheToken(t *testing.T) {
	f := startAPI(t)
	routes := []struct{ method, path string }{
		{"GET", "/v1/detections"}, {"GET", "/v1/detections/counts"}, {"GET", "/v1/players/Notch"}, {"GET", "/v1/players"}, {"GET", "/v1/attacks"},
		{"GET", "/v1/bans"}, {"POST", "/v1/bans"}, {"DELETE", "/v1/bans/ip/203.0.113.7"}, {"DELETE", "/v1/bans?type=ip&value=203.0.113.7"},
	}
	for _, r := range routes {
		for _, tok := range []string{"", "wrong-token-0123456789", testToken + "x"} {
			code, body := f.do(t, r.method, r.path, tok, `{"type":"ip","value":"203.0.113.7"}`)
			if code != http.StatusUnauthorized || body["error"] == nil {
				t.Errorf("%s %s with %q: %d %v, want 401 with an error", r.method, r.path, tok, code, body)
			}
		}
		code, _ := f.do(t, r.method, r.path, testToken, `{"type":"ip","value":"203.0.113.7"}`)
		if code == http.StatusUnauthorized {
			t.Errorf("%s %s with the token: 401", r.method, r.path)
		}
	}
}

func TestBansEndpoint(t *testing.T) {
	f := startAPI(t)
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]string{"type": "player", "value": "x"}, "type"},
		{map[string]string{"type": "ip", "value": "not-an-ip"}, "value"},
		{map[string]string{"type": "cidr", "value": "0.0.0.0/0"}, "value"},
		{map[string]string{"type": "name", "value": "a name with spaces"}, "value"},
		{map[string]string{"type": "ip", "value": "203.0.113.7", "duration": "soon"}, "duration"},
		{map[string]string{"type": "ip", "value": "203.0.113.7", "duration": "-5m"}, "duration"},
		{map[string]string{"type": "ip", "value": "203.0.113.7", "reason": strings.Repeat("x", bans.MaxReasonLen+1)}, "reason"},
	} {
		code, body := f.do(t, "POST", "/v1/bans", testToken, tc.body)
		if code != http.StatusBadRequest || body["field"] != tc.field || !strings.HasPrefix(body["error"].(string), tc.field+": ") {
			t.Errorf("POST %v: %d %v, want 400 naming %s", tc.body, code, body, tc.field)
		}
	}
	for _, raw := range []string{`{"type":"ip","value":"203.0.113.7","extra":1}`, `not json`, ``} {
		if code, body := f.do(t, "POST", "/v1/bans", testToken, raw); code != http.StatusBadRequest || body["error"] == nil {
			t.Errorf("POST %q: %d %v", raw, code, body)
		}
	}

	code, body := f.do(t, "POST", "/v1/bans", testToken, BanRequest{Type: "ip", Value: "203.0.113.7", Duration: "10m", Reason: "botting"})
	if code != http.StatusCreated || body["id"] != "ip:203.0.113.7" || body["permanent"] != false || body["source"] != apiBanSource {
		t.Fatalf("POST: %d %v", code, body)
	}
	exp, _ := time.Parse(time.RFC3339Nano, body["expires"].(string))
	if d := time.Until(exp); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("expires in %v, want 10m", d)
	}
	if code, body := f.do(t, "POST", "/v1/bans", testToken, BanRequest{Type: "cidr", Value: "2001:db8::/48"}); code != http.StatusCreated || body["permanent"] != true || body["expires"] != nil {
		t.Errorf("permanent: %d %v", code, body)
	}
	code, body = f.do(t, "GET", "/v1/bans", testToken, nil)
	if list, _ := body["bans"].([]any); code != http.StatusOK || len(list) != 2 {
		t.Fatalf("GET: %d %v", code, body)
	}
	// The API writes the list the edges read.
	list, err := f.store.List(context.Background())
	if err != nil || len(list) != 2 {
		t.Fatalf("store: %v %v", list, err)
	}

	if code, body := f.do(t, "DELETE", "/v1/bans/cidr/2001:db8::/48", testToken, nil); code != http.StatusOK || body["removed"] != true {
		t.Errorf("DELETE path: %d %v", code, body)
	}
	if code, body := f.do(t, "DELETE", "/v1/bans?type=ip&value=203.0.113.7", testToken, nil); code != http.StatusOK || body["removed"] != true {
		t.Errorf("DELETE query: %d %v", code, body)
	}
	if code, _ := f.do(t, "DELETE", "/v1/bans/ip/203.0.113.7", testToken, nil); code != http.StatusNotFound {
		t.Errorf("DELETE again: %d, want 404", code)
	}
	if code, body := f.do(t, "DELETE", "/v1/bans/planet/x", testToken, nil); code != http.StatusBadRequest || body["field"] != "type" {
		t.Errorf("DELETE bad type: %d %v", code, body)
	}
}

func TestDetectionQueries(t *testing.T) {
	f := startAPI(t)
	now := time.Now().Add(-time.Minute)
	var ds []report.Detection
	for _, region := range []string{"eu", "us"} {
		sc := spantest.IDs()
		ev := spantest.Event("combat.reach", detection.ActionKick, "Cheater", "4566e69f-c907-38ee-8d71-d7e8b1c5a5d8", "203.0.113.7", false, now)
		ev.Region = region
		ds = append(ds, report.Detection{Event: ev, TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()})
	}
	if _, err := f.agg.Record(context.Background(), ds, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	code, body := f.do(t, "GET", "/v1/detections?region=us&check=combat.reach&player=cheater&since=1h&limit=5", testToken, nil)
	if list, _ := body["detections"].([]any); code != http.StatusOK || len(list) != 1 || list[0].(map[string]any)["region"] != "us" {
		t.Errorf("detections: %d %v", code, body)
	}
	code, body = f.do(t, "GET", "/v1/players/CHEATER", testToken, nil)
	if regions, _ := body["regions"].([]any); code != http.StatusOK || len(regions) != 2 || len(body["trace_ids"].([]any)) != 2 {
		t.Errorf("player: %d %v", code, body)
	}
	code, body = f.do(t, "GET", "/v1/detections/counts?bucket=hour&since=2h", testToken, nil)
	if counts, _ := body["counts"].([]any); code != http.StatusOK || len(counts) != 2 {
		t.Errorf("counts: %d %v", code, body)
	}
	for _, tc := range []struct{ query, field string }{
		{"since=yesterday", "since"}, {"until=-5m", "until"}, {"limit=0", "limit"}, {"limit=100000", "limit"},
		{"region=eu%20west", "region"}, {"check=Not-A-Key", "check"}, {"player=a%00b", "player"},
		{"since=2026-12-07T10:00:00Z&until=2026-12-07T09:00:00Z", "until"},
	} {
		code, body := f.do(t, "GET", "/v1/detections?"+tc.query, testToken, nil)
		if code != http.StatusBadRequest || body["field"] != tc.field {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.query, code, body, tc.field)
		}
	}
	if code, body := f.do(t, "GET", "/v1/detections?before=nonsense", testToken, nil); code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d %v", code, body)
	}
	if code, body := f.do(t, "GET", "/v1/detections/counts?bucket=week", testToken, nil); code != http.StatusBadRequest || body["field"] != "bucket" {
		t.Errorf("bad bucket: %d %v", code, body)
	}
	if code, body := f.do(t, "GET", "/v1/attacks", testToken, nil); code != http.StatusOK || body["waves"] == nil {
		t.Errorf("attacks: %d %v", code, body)
	}

	// Redis down: a clear 503, never a hang or a 500.
	f.redis.Stop()
	for _, path := range []string{"/v1/detections", "/v1/players/x", "/v1/attacks", "/v1/bans"} {
		if code, body := f.do(t, "GET", path, testToken, nil); code != http.StatusServiceUnavailable || body["error"] == nil {
			t.Errorf("%s with Redis down: %d %v", path, code, body)
		}
	}
}
