package config

import (
	"bytes"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testAdminToken  = "admin-token-0123456789"
	testIngestToken = "ingest-token-0123456789"
)

// centralEnv is the smallest environment central starts with.
func centralEnv(extra map[string]string) func(string) (string, bool) {
	m := map[string]string{"RUSTGUARD_REDIS_URL": "redis://127.0.0.1:6379", "RUSTGUARD_ADMIN_TOKEN": testAdminToken}
	for k, v := range extra {
		m[k] = v
	}
	return envMap(m)
}

func TestLoadCentralDefaults(t *testing.T) {
	c, err := LoadCentral(centralEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultCentral()
	want.RedisURL, want.AdminToken = "redis://127.0.0.1:6379", testAdminToken
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.OTLPGRPCAddr != "127.0.0.1:4317" || c.OTLPHTTPAddr != "127.0.0.1:4318" || c.RedisKeyPrefix != "rustguard" {
		t.Errorf("documented defaults changed: %+v", c)
	}
}

func TestLoadCentralReadsEveryVariable(t *testing.T) {
	c, err := LoadCentral(centralEnv(map[string]string{
		"RUSTGUARD_CENTRAL_HTTP_ADDR":          "127.0.0.1:9000",
		"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR":     "0.0.0.0:14317",
		"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR":     "off",
		"RUSTGUARD_REDIS_KEY_PREFIX":           "fleet2",
		"RUSTGUARD_INGEST_TOKEN":               testIngestToken,
		"RUSTGUARD_CENTRAL_DETECTIONS_MAX_LEN": "5000",
		"RUSTGUARD_CENTRAL_DETECTIONS_MAX_AGE": "48h",
		"RUSTGUARD_CENTRAL_CONFIG_DATACENTERS": "us,ap",
		"RUSTGUARD_CENTRAL_JAEGER_UI_URL":      "http://jaeger.internal:16686/jaeger",
		"RUSTGUARD_LOG_LEVEL":                  "debug",
		"RUSTGUARD_LOG_FORMAT":                 "json",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Central{
		HTTPAddr: "127.0.0.1:9000", OTLPGRPCAddr: "0.0.0.0:14317", OTLPHTTPAddr: ListenerOff,
		RedisURL: "redis://127.0.0.1:6379", RedisKeyPrefix: "fleet2",
		AdminToken: testAdminToken, IngestToken: testIngestToken,
		DetectionsMaxLen: 5000, DetectionsMaxAge: Duration(48 * time.Hour),
		ConfigDatacenters: []string{"us", "ap"},
		JaegerUIURL:       "http://jaeger.internal:16686/jaeger",
		Log:               Log{Level: LevelDebug, Format: FormatJSON},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if n := len(CentralVariables()); n != 13 {
		t.Errorf("%d variables; a new one needs a line in this test and in docs/CENTRAL.md", n)
	}
}

// TestCentralRefuses: every refusal names the variable and says why.
func TestCentralRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		drop string // a variable of the base environment to leave out
		want []string
	}{
		{"no redis", nil, "RUSTGUARD_REDIS_URL", []string{"RUSTGUARD_REDIS_URL", "is required"}},
		{"no admin token", nil, "RUSTGUARD_ADMIN_TOKEN", []string{"RUSTGUARD_ADMIN_TOKEN", "is required"}},
		{"redis scheme", map[string]string{"RUSTGUARD_REDIS_URL": "127.0.0.1:6379"}, "", []string{"RUSTGUARD_REDIS_URL", "redis://"}},
		{"short admin token", map[string]string{"RUSTGUARD_ADMIN_TOKEN": "s3cret"}, "", []string{"RUSTGUARD_ADMIN_TOKEN", "16"}},
		{"token with a space", map[string]string{"RUSTGUARD_INGEST_TOKEN": "abcdefgh ijklmnopq"}, "", []string{"RUSTGUARD_INGEST_TOKEN", "printable"}},
		{"same tokens", map[string]string{"RUSTGUARD_INGEST_TOKEN": testAdminToken}, "", []string{"RUSTGUARD_INGEST_TOKEN", "must differ"}},
		{"grpc beyond loopback without a token", map[string]string{"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR": "0.0.0.0:4317"}, "",
			[]string{"RUSTGUARD_INGEST_TOKEN", "RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR=0.0.0.0:4317", "beyond loopback"}},
		{"http on every interface without a token", map[string]string{"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR": ":4318"}, "",
			[]string{"RUSTGUARD_INGEST_TOKEN", "RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR=:4318"}},
		{"a host name without a token", map[string]string{"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR": "central.internal:4318"}, "",
			[]string{"RUSTGUARD_INGEST_TOKEN"}},
		{"both listeners off", map[string]string{"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR": "off", "RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR": "off"}, "",
			[]string{"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR", "at least one"}},
		{"collision", map[string]string{"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR": "127.0.0.1:8080"}, "",
			[]string{"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR", "collides with RUSTGUARD_CENTRAL_HTTP_ADDR"}},
		{"bad address", map[string]string{"RUSTGUARD_CENTRAL_HTTP_ADDR": "8080"}, "", []string{"RUSTGUARD_CENTRAL_HTTP_ADDR", "host:port"}},
		{"prefix with braces", map[string]string{"RUSTGUARD_REDIS_KEY_PREFIX": "a{b}"}, "", []string{"RUSTGUARD_REDIS_KEY_PREFIX", "braces"}},
		{"short retention", map[string]string{"RUSTGUARD_CENTRAL_DETECTIONS_MAX_AGE": "1h"}, "", []string{"RUSTGUARD_CENTRAL_DETECTIONS_MAX_AGE", "at least"}},
		{"tiny log", map[string]string{"RUSTGUARD_CENTRAL_DETECTIONS_MAX_LEN": "10"}, "", []string{"RUSTGUARD_CENTRAL_DETECTIONS_MAX_LEN", "at least 1000"}},
		{"not a number", map[string]string{"RUSTGUARD_CENTRAL_DETECTIONS_MAX_LEN": "lots"}, "", []string{"RUSTGUARD_CENTRAL_DETECTIONS_MAX_LEN=\"lots\""}},
		{"log level", map[string]string{"RUSTGUARD_LOG_LEVEL": "loud"}, "", []string{"RUSTGUARD_LOG_LEVEL"}},
		{"jaeger ui not a url", map[string]string{"RUSTGUARD_CENTRAL_JAEGER_UI_URL": "jaeger:16686"}, "", []string{"RUSTGUARD_CENTRAL_JAEGER_UI_URL", "http://"}},
		{"jaeger ui script", map[string]string{"RUSTGUARD_CENTRAL_JAEGER_UI_URL": "javascript:alert(1)"}, "", []string{"RUSTGUARD_CENTRAL_JAEGER_UI_URL", "http://"}},
		{"jaeger ui with a query", map[string]string{"RUSTGUARD_CENTRAL_JAEGER_UI_URL": "http://jaeger:16686/?x=1"}, "", []string{"RUSTGUARD_CENTRAL_JAEGER_UI_URL", "without credentials, query"}},
	} {
		m := map[string]string{"RUSTGUARD_REDIS_URL": "redis://127.0.0.1:6379", "RUSTGUARD_ADMIN_TOKEN": testAdminToken}
		delete(m, tc.drop)
		for k, v := range tc.env {
			m[k] = v
		}
		_, err := LoadCentral(envMap(m))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), testAdminToken) || strings.Contains(err.Error(), "abcdefgh") {
			t.Errorf("%s: error repeats a token: %v", tc.name, err)
		}
	}
}

func TestCentralTokenAllowsEveryListener(t *testing.T) {
	_, err := LoadCentral(centralEnv(map[string]string{
		"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR": "0.0.0.0:4317", "RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR": "[::]:4318",
		"RUSTGUARD_INGEST_TOKEN": testIngestToken,
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1:4317", "[::1]:4317", "localhost:4317", "127.9.9.9:1"} {
		if !loopbackListener(addr) {
			t.Errorf("%s is loopback", addr)
		}
	}
	var fe *FieldError
	err = Central{}.Validate()
	if !errors.As(err, &fe) {
		t.Errorf("Validate returns FieldErrors, got %T", err)
	}
}

func TestCentralLogValueMasksSecrets(t *testing.T) {
	c, err := LoadCentral(centralEnv(map[string]string{"RUSTGUARD_INGEST_TOKEN": testIngestToken, "RUSTGUARD_REDIS_URL": "redis://:hunter2hunter2@127.0.0.1:6379"}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	for _, secret := range []string{testAdminToken, testIngestToken, "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line shows a secret: %s", out)
		}
	}
	if !strings.Contains(out, "RUSTGUARD_CENTRAL_HTTP_ADDR=127.0.0.1:8080") {
		t.Errorf("log line lacks the settings: %s", out)
	}
}
