package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/central/internal/configsvc"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/testservers"
)

// configServer is the API with the configuration service on a real Consul
// agent.
func configServer(t *testing.T) (*httptest.Server, *testservers.Consul) {
	t.Helper()
	consul := testservers.StartConsul(t, "dc1")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := configsvc.New(consul.Client(), configsvc.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	h, err := New(Options{Token: testToken, Config: svc, Fleet: svc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, consul
}

// call sends a request with the token and decodes the JSON answer.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func TestConfigAPIRoundTrip(t *testing.T) {
	srv, _ := configServer(t)

	code, got := call(t, srv, "GET", "/v1/config", "")
	if code != 200 || got["version"] != 1.0 || !equalJSON(got["config"], map[string]any{}) {
		t.Fatalf("GET /v1/config: %d %v", code, got)
	}

	doc := `{"detection": {"checks": {"combat.reach": {"mode": "alert"}}}, "proxy": {"listen_address": "0.0.0.0:25577"}}`
	code, got = call(t, srv, "POST", "/v1/config/validate", `{"config": `+doc+`}`)
	if code != 200 || got["valid"] != true || !equalJSON(got["restart_required"], []any{"proxy.listen_address"}) {
		t.Fatalf("validate: %d %v", code, got)
	}
	code, got = call(t, srv, "POST", "/v1/config/validate", `{"config": {"gate": {"attack_mode": "x", "nope": 1}}}`)
	if code != 422 || got["valid"] != false {
		t.Fatalf("validate invalid: %d %v", code, got)
	}
	problems := got["problems"].([]any)
	fields := map[string]string{}
	for _, p := range problems {
		m := p.(map[string]any)
		fields[m["field"].(string)] = m["reason"].(string)
	}
	if !strings.Contains(fields["gate.nope"], "unknown key") || !strings.Contains(fields["gate.attack_mode"], "must be auto, on or off") {
		t.Fatalf("problems %v: want gate.nope and gate.attack_mode with their reasons", problems)
	}

	code, got = call(t, srv, "PUT", "/v1/config", `{"version": 1, "config": `+doc+`, "updated_by": "alice"}`)
	if code != 200 || got["version"] != 2.0 || !equalJSON(got["restart_required"], []any{"proxy.listen_address"}) {
		t.Fatalf("PUT: %d %v", code, got)
	}
	code, got = call(t, srv, "PUT", "/v1/config", `{"version": 1, "config": {}}`)
	if code != 409 || got["current_version"] != 2.0 || !strings.Contains(got["error"].(string), "based on version 1") {
		t.Fatalf("stale PUT: %d %v", code, got)
	}
	code, got = call(t, srv, "PUT", "/v1/config", `{"version": 2, "config": {"messages": {"shutdown": ""}}}`)
	if code != 422 || !strings.Contains(got["error"].(string), "messages.shutdown") {
		t.Fatalf("invalid PUT: %d %v", code, got)
	}
	code, got = call(t, srv, "PUT", "/v1/config", `{"config": {}}`)
	if code != 400 || !strings.Contains(got["error"].(string), `"version" is required`) {
		t.Fatalf("PUT without a version: %d %v", code, got)
	}
	code, _ = call(t, srv, "PUT", "/v1/config", `{"version": 2, "config": {}, "extra": 1}`)
	if code != 400 {
		t.Fatalf("PUT with an unknown field: %d", code)
	}

	code, got = call(t, srv, "GET", "/v1/config", "")
	if code != 200 || got["version"] != 2.0 || got["updated_by"] != "alice" {
		t.Fatalf("GET after PUT: %d %v", code, got)
	}
	var stored map[string]any
	_ = json.Unmarshal([]byte(doc), &stored)
	if !equalJSON(got["config"], stored) {
		t.Fatalf("GET config %v, want %v", got["config"], stored)
	}

	code, got = call(t, srv, "GET", "/v1/config/history", "")
	versions := got["versions"].([]any)
	if code != 200 || len(versions) != 2 || versions[0].(map[string]any)["version"] != 2.0 {
		t.Fatalf("history: %d %v", code, got)
	}
	code, got = call(t, srv, "GET", "/v1/config/history/1", "")
	if code != 200 || got["version"] != 1.0 {
		t.Fatalf("history/1: %d %v", code, got)
	}
	if code, _ = call(t, srv, "GET", "/v1/config/history/9", ""); code != 404 {
		t.Fatalf("history/9: %d", code)
	}
	if code, _ = call(t, srv, "GET", "/v1/config/history?limit=0", ""); code != 400 {
		t.Fatalf("history?limit=0: %d", code)
	}

	code, got = call(t, srv, "POST", "/v1/config/rollback", `{"version": 1, "based_on": 2, "updated_by": "bob"}`)
	if code != 200 || got["version"] != 3.0 || got["rollback_of"] != 1.0 {
		t.Fatalf("rollback: %d %v", code, got)
	}
	if code, _ = call(t, srv, "POST", "/v1/config/rollback", `{"version": 1, "based_on": 2}`); code != 409 {
		t.Fatalf("stale rollback: %d", code)
	}
	if code, _ = call(t, srv, "POST", "/v1/config/rollback", `{"version": 40}`); code != 404 {
		t.Fatalf("rollback to an unknown version: %d", code)
	}
	code, got = call(t, srv, "GET", "/v1/config", "")
	if code != 200 || got["version"] != 3.0 || !equalJSON(got["config"], map[string]any{}) {
		t.Fatalf("GET after rollback: %d %v", code, got)
	}
}

func TestFleetAPI(t *testing.T) {
	srv, consul := configServer(t)
	err := consul.Client().Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: "edge-eu", Name: config.EdgeService, Port: 25565,
		Meta:  map[string]string{"region": "eu-west", config.MetaConfigVersion: "1", config.MetaConfigStatus: config.ConfigApplied},
		Check: &api.AgentServiceCheck{TTL: "1m", Status: api.HealthPassing},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The agent hands the registration to the catalogue in the
	// background: ask until the edge is listed.
	var code int
	var got map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code, got = call(t, srv, "GET", "/v1/fleet", "")
		if edges, _ := got["edges"].([]any); len(edges) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if code != 200 || got["version"] != 1.0 || got["converged"] != true {
		t.Fatalf("GET /v1/fleet: %d %v", code, got)
	}
	edges := got["edges"].([]any)
	e := edges[0].(map[string]any)
	if len(edges) != 1 || e["id"] != "edge-eu" || e["region"] != "eu-west" || e["health"] != "passing" || e["config_version"] != 1.0 {
		t.Fatalf("edges %v", edges)
	}
}

// TestConfigAPINeedsTheToken: every configuration endpoint is behind the
// token.
func TestConfigAPINeedsTheToken(t *testing.T) {
	srv, _ := configServer(t)
	for _, ep := range []struct{ method, path string }{
		{"GET", "/v1/config"}, {"PUT", "/v1/config"}, {"POST", "/v1/config/validate"},
		{"GET", "/v1/config/history"}, {"GET", "/v1/config/history/1"}, {"POST", "/v1/config/rollback"}, {"GET", "/v1/fleet"},
	} {
		for _, auth := range []string{"", "Bearer wrong"} {
			req, _ := http.NewRequest(ep.method, srv.URL+ep.path, bytes.NewReader([]byte(`{"version": 1, "config": {}}`)))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %q: %d, want 401", ep.method, ep.path, auth, resp.StatusCode)
			}
		}
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
