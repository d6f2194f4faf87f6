package config

import (
	"bytes"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestLogValue(t *testing.T) {
	e := DefaultEdge()
	e.Proxy.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config loaded", "config", e)
	out := buf.String()
	for _, want := range []string{
		"config.region=local",
		"config.proxy.listen_address=0.0.0.0:25565",
		"config.proxy.timeout=30s",
		"config.proxy.keepalive_interval=60s",
		"config.proxy.trusted_proxies=10.0.0.0/8,2001:db8::/32",
		"config.log.format=text",
		"config.admin.listen_address=127.0.0.1:9565",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %q:\n%s", want, out)
		}
	}
}

func TestProvenanceLogValue(t *testing.T) {
	path := writeFile(t, "proxy:\n  max_connections: 5\n")
	_, prov, err := LoadEdge(envMap(map[string]string{EnvConfigFile: path, "RUSTGUARD_REGION": "eu"}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config loaded", "sources", prov)
	out := buf.String()
	for _, want := range []string{"sources.file=" + path, "sources.from_file=proxy.max_connections", "sources.from_env=region"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %q:\n%s", want, out)
		}
	}
}

func TestSourceString(t *testing.T) {
	tests := []struct {
		s    Source
		want string
	}{{SourceDefault, "default"}, {SourceFile, "file"}, {SourceEnv, "env"}, {Source(9), "Source(9)"}}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Source(%d).String() = %q; want %q", int(tt.s), got, tt.want)
		}
	}
}

// TestRedaction exercises the secret hook on a stand-in struct, since Edge
// has no secrets yet, and checks Redacted leaves today's Edge unchanged.
func TestRedaction(t *testing.T) {
	type inner struct {
		Password string `yaml:"password" secret:"true"`
		Empty    string `yaml:"empty" secret:"true"`
		Host     string `yaml:"host"`
	}
	type outer struct {
		Token string `yaml:"token" secret:"true"`
		Redis inner  `yaml:"redis"`
	}
	v := outer{Token: "t0k", Redis: inner{Password: "hunter2", Host: "redis:6379"}}
	redactStruct(reflect.ValueOf(&v).Elem())
	want := outer{Token: redactedMark, Redis: inner{Password: redactedMark, Host: "redis:6379"}}
	if v != want {
		t.Fatalf("redacted = %+v; want %+v", v, want)
	}
	if got := DefaultEdge().Redacted(); !reflect.DeepEqual(got, DefaultEdge()) {
		t.Fatalf("Redacted() changed an Edge without secrets: %+v", got)
	}
}
