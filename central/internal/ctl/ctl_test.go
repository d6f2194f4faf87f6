package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/central/internal/ctl"
	"github.com/rustguard/rustguard/central/internal/server"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/testservers"
)

const token = "admin-token-0123456789"

func startCentral(t *testing.T) string {
	t.Helper()
	rd := testservers.StartRedis(t)
	cfg := config.DefaultCentral()
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "off"
	cfg.RedisURL, cfg.AdminToken = rd.URL(), token
	c, err := server.New(server.Options{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Shutdown(ctx)
	})
	a, _, _ := c.Addrs()
	return "http://" + a
}

func run(t *testing.T, url, tok string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{ctl.EnvURL: url, ctl.EnvToken: tok}
	err := ctl.Run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return out.String(), err
}

func TestCtlAgainstCentral(t *testing.T) {
	url := startCentral(t)
	out, err := run(t, url, token, "bans", "add", "-type", "ip", "-value", "203.0.113.7", "-duration", "10m", "-reason", "botting")
	if err != nil || !strings.Contains(out, `"id": "ip:203.0.113.7"`) {
		t.Fatalf("bans add: %v\n%s", err, out)
	}
	out, err = run(t, url, token, "bans", "list")
	var list struct{ Bans []struct{ ID, Reason string } }
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Bans) != 1 || list.Bans[0].Reason != "botting" {
		t.Fatalf("bans list: %v\n%s", err, out)
	}
	if _, err := run(t, url, token, "bans", "add", "-type", "ip", "-value", "nope"); err == nil || !strings.Contains(err.Error(), "value: ") {
		t.Errorf("invalid ban: %v, want the API's error naming the field", err)
	}
	if out, err := run(t, url, token, "bans", "remove", "-type", "ip", "-value", "203.0.113.7"); err != nil || !strings.Contains(out, `"removed": true`) {
		t.Errorf("bans remove: %v %s", err, out)
	}
	if _, err := run(t, url, token, "bans", "remove", "-type", "ip", "-value", "203.0.113.7"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("remove twice: %v", err)
	}
	for _, args := range [][]string{
		{"detections", "-region", "eu", "-since", "1h", "-limit", "5"}, {"counts", "-bucket", "hour"},
		{"players", "Notch", "-limit", "5"}, {"players", "-since", "1h", "069a79f4-44e9-4726-a5be-fca90e38aaf5"}, {"attacks"},
	} {
		if out, err := run(t, url, token, args...); err != nil || !json.Valid([]byte(out)) {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	if _, err := run(t, url, token, "detections", "-since", "yesterday"); err == nil || !strings.Contains(err.Error(), "since") {
		t.Errorf("bad since: %v", err)
	}
	if _, err := run(t, url, token, "config", "get"); err == nil || !strings.Contains(err.Error(), "does not serve it") {
		t.Errorf("config on a central without the configuration service: %v", err)
	}
	if _, err := run(t, url, "wrong-token-0123456789", "bans", "list"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := run(t, url, "", "bans", "list"); !errors.Is(err, ctl.ErrUsage) || !strings.Contains(err.Error(), ctl.EnvToken) {
		t.Errorf("no token: %v", err)
	}
}

func TestCtlUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"bans", "-h"}, {"bans", "add", "-h"}, {"detections", "-h"}, {"players", "-h"}, {"config", "-h"}, {"config", "set", "-h"}} {
		if _, err := run(t, "http://127.0.0.1:1", token, args...); err != nil {
			t.Errorf("%v: %v, want help and success", args, err)
		}
	}
	for _, args := range [][]string{{}, {"nonsense"}, {"bans"}, {"bans", "ban"}, {"bans", "add", "-type", "ip"}, {"players"}, {"config"}, {"config", "show", "x"},
		{"config", "rollback"}, {"detections", "-frobnicate"}} {
		if _, err := run(t, "http://127.0.0.1:1", token, args...); !errors.Is(err, ctl.ErrUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// TestCtlConfigRequests: the config and fleet commands send what the
// configuration API documents (docs/CENTRAL.md, docs/CONFIG.md). The API
// itself belongs to the configuration service; a recorder stands in for it
// here.
func TestCtlConfigRequests(t *testing.T) {
	type call struct{ method, path, query, body string }
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls = append(calls, call{r.Method, r.URL.Path, r.URL.RawQuery, string(b)})
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	doc := filepath.Join(t.TempDir(), "fleet.json")
	if err := os.WriteFile(doc, []byte(`{"correlation":{"ban":false}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"config", "get"}, {"config", "validate", doc}, {"config", "set", "-version", "4", "-by", "alice", doc},
		{"config", "history", "-limit", "3"}, {"config", "show", "2"}, {"config", "rollback", "-version", "2", "-based-on", "5"}, {"fleet"},
	} {
		if _, err := run(t, srv.URL, token, args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	want := []call{
		{"GET", "/v1/config", "", ""},
		{"POST", "/v1/config/validate", "", `{"config":{"correlation":{"ban":false}}}`},
		{"PUT", "/v1/config", "", `{"config":{"correlation":{"ban":false}},"updated_by":"alice","version":4}`},
		{"GET", "/v1/config/history", "limit=3", ""},
		{"GET", "/v1/config/history/2", "", ""},
		{"POST", "/v1/config/rollback", "", `{"based_on":5,"version":2}`},
		{"GET", "/v1/fleet", "", ""},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls %+v", calls)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d: %+v, want %+v", i, calls[i], want[i])
		}
	}
	if _, err := run(t, srv.URL, token, "config", "set", doc); !errors.Is(err, ctl.ErrUsage) {
		t.Errorf("set without -version: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte("correlation: {}"), 0o600)
	if _, err := run(t, srv.URL, token, "config", "validate", bad); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("YAML document: %v", err)
	}
}
