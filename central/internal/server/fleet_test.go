package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/rustguard/rustguard/shared/testservers"
)

func (c *central) put(t testing.TB, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPut, c.api+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestFleetConfigurationWithConsul: with CONSUL_HTTP_ADDR set, central runs
// the fleet configuration service: it creates the document, serves
// /v1/config and /v1/fleet, reports Consul in /readyz, and its correlation
// follows the document's policy. Started before its Consul agent, central
// serves everything else and picks the service up when Consul answers.
func TestFleetConfigurationWithConsul(t *testing.T) {
	redis := testservers.StartRedis(t)
	consul := testservers.StartConsul(t, "dc1")
	consul.Stop() // central starts while Consul is away
	t.Setenv("CONSUL_HTTP_ADDR", consul.HTTPAddr())
	c := startCentral(t, redis.URL(), nil)

	var ready struct {
		Ready        bool              `json:"ready"`
		Dependencies map[string]string `json:"dependencies"`
	}
	readyz := func() {
		resp, err := http.Get(c.api + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(&ready)
	}
	readyz()
	if !ready.Ready || ready.Dependencies["consul"] == "ok" {
		t.Fatalf("with Consul away: ready %v, consul %q; want ready (Redis is up) and Consul not ok", ready.Ready, ready.Dependencies["consul"])
	}

	consul.Restart()
	eventually(t, "consul ok in /readyz", func() bool { readyz(); return ready.Dependencies["consul"] == "ok" })
	var doc struct {
		Version int64 `json:"version"`
	}
	if code := c.get(t, "/v1/config", &doc); code != http.StatusOK || doc.Version != 1 {
		t.Fatalf("GET /v1/config: %d, version %d; want 200 and the first version", code, doc.Version)
	}
	var fleet map[string]any
	if code := c.get(t, "/v1/fleet", &fleet); code != http.StatusOK {
		t.Fatalf("GET /v1/fleet: %d", code)
	}

	// The correlation policy follows the document.
	code, out := c.put(t, "/v1/config", map[string]any{"version": 1, "config": map[string]any{"correlation": map[string]any{"ban_min_regions": 3}}})
	if code != http.StatusOK {
		t.Fatalf("PUT /v1/config: %d %v", code, out)
	}
	eventually(t, "the new policy in force", func() bool { return c.c.corr.Policy().BanMinRegions == 3 })
}
