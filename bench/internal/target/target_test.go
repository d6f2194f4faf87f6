package target

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, n := range All() {
		got, err := Parse(string(n))
		if err != nil || got != n {
			t.Errorf("Parse(%q) = %q, %v", n, got, err)
		}
	}
	if _, err := Parse("nginx"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Parse(nginx) err = %v", err)
	}
}

func TestEdgeOnlineEnv(t *testing.T) {
	o := Options{Backend: "127.0.0.1:1", SessionServer: "http://127.0.0.1:9"}
	env := strings.Join(edgeEnv(nil, EdgeOnline, o, "127.0.0.1:2", 3), "\n")
	for _, s := range []string{"RUSTGUARD_AUTH_MODE=online", "RUSTGUARD_FORWARDING=none",
		"RUSTGUARD_SESSION_SERVER=http://127.0.0.1:9", "RUSTGUARD_INSPECT_PLAY=true"} {
		if !strings.Contains(env, s) {
			t.Errorf("edge-online env lacks %q", s)
		}
	}
	if env := strings.Join(edgeEnv(nil, Edge, o, "127.0.0.1:2", 3), "\n"); strings.Contains(env, "AUTH_MODE") || strings.Contains(env, "SESSION_SERVER") {
		t.Errorf("plain edge gets online settings:\n%s", env)
	}
	if !EdgeOnline.IsEdge() {
		t.Error("edge-online is not an edge")
	}
}

func TestHAProxyConfig(t *testing.T) {
	o := Options{Backend: "127.0.0.1:2000", HAProxyMaxConn: 500}
	tests := []struct {
		name    Name
		splice  string
		want    []string
		notWant []string
		wantErr bool
	}{
		{HAProxy, "force", []string{"mode tcp", "bind 127.0.0.1:3000", "server mc 127.0.0.1:2000", "maxconn 500", "monitor-uri /healthz", "bind 127.0.0.1:3001"},
			[]string{"splice"}, false},
		{HAProxySplice, "auto", []string{"option splice-auto"}, []string{"splice-request"}, false},
		{HAProxySplice, "force", []string{"option splice-request", "option splice-response"}, []string{"splice-auto"}, false},
		{HAProxySplice, "sometimes", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.name)+"/"+tt.splice, func(t *testing.T) {
			o.HAProxySplice = tt.splice
			cfg, err := HAProxyConfig(tt.name, o, 3000, 3001)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(cfg, s) {
					t.Errorf("config lacks %q:\n%s", s, cfg)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(cfg, s) {
					t.Errorf("config has %q:\n%s", s, cfg)
				}
			}
		})
	}
}

func TestEdgeEnv(t *testing.T) {
	base := []string{"PATH=/bin", "RUSTGUARD_INSPECT_PLAY=true", "RUSTGUARD_CONFIG=/etc/x.yaml"}
	o := Options{Backend: "127.0.0.1:1", EdgeMaxConns: 20000, EdgeEnv: []string{"RUSTGUARD_LOG_LEVEL=warn"}}
	env := strings.Join(edgeEnv(base, EdgeSplice, o, "127.0.0.1:2", 3), "\n")
	for _, s := range []string{"PATH=/bin", "RUSTGUARD_INSPECT_PLAY=false", "RUSTGUARD_MAX_CONNECTIONS=20000",
		"RUSTGUARD_BACKEND_ADDR=127.0.0.1:1", "RUSTGUARD_LISTEN_ADDR=127.0.0.1:2", "RUSTGUARD_ADMIN_ADDR=127.0.0.1:3",
		"RUSTGUARD_TIMEOUT=600", "RUSTGUARD_ATTACK_MODE=off", "RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT=0"} {
		if !strings.Contains(env, s) {
			t.Errorf("env lacks %q", s)
		}
	}
	if strings.Contains(env, "RUSTGUARD_CONFIG") || strings.Contains(env, "RUSTGUARD_INSPECT_PLAY=true") {
		t.Errorf("inherited RUSTGUARD_ settings leaked:\n%s", env)
	}
	// Extras come last so they win over the benchmark's own.
	if !strings.HasSuffix(env, "RUSTGUARD_LOG_LEVEL=warn") {
		t.Errorf("extra settings are not last:\n%s", env)
	}
}

// TestEdgeEnvTracing: only edge-traced exports spans; an OTLP endpoint in
// the tool's own environment reaches no edge.
func TestEdgeEnvTracing(t *testing.T) {
	base := []string{"PATH=/bin", "OTEL_EXPORTER_OTLP_ENDPOINT=http://shell:4317", "OTEL_TRACES_SAMPLER=always_off"}
	o := Options{Backend: "127.0.0.1:1", OTLPEndpoint: "http://127.0.0.1:4317", OTLPProtocol: "grpc",
		OTLPEnv: []string{"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20x"}}
	plain := strings.Join(edgeEnv(base, Edge, o, "127.0.0.1:2", 3), "\n")
	if strings.Contains(plain, "OTEL_") {
		t.Errorf("edge gets OTEL_ settings:\n%s", plain)
	}
	traced := strings.Join(edgeEnv(base, EdgeTraced, o, "127.0.0.1:2", 3), "\n")
	for _, s := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20x", "RUSTGUARD_INSPECT_PLAY=true"} {
		if !strings.Contains(traced, s) {
			t.Errorf("edge-traced env lacks %q:\n%s", s, traced)
		}
	}
	if strings.Contains(traced, "shell") || strings.Contains(traced, "always_off") {
		t.Errorf("the tool's own OTEL_ settings leaked:\n%s", traced)
	}
}

// TestHAProxyStartStop runs the real HAProxy, relays one connection through
// it and stops it by PID.
func TestHAProxyStartStop(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed (make test installs it): ", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 4)
				if _, err := c.Read(b); err == nil {
					_, _ = c.Write(b)
				}
			}()
		}
	}()
	for _, n := range []Name{HAProxy, HAProxySplice} {
		t.Run(string(n), func(t *testing.T) {
			o := Options{Backend: ln.Addr().String(), HAProxyBin: bin, HAProxySplice: "force", HAProxyMaxConn: 100, WorkDir: t.TempDir()}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p, err := Start(ctx, n, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Stop() })
			if p.PID <= 0 || p.Alive() != nil {
				t.Fatalf("pid %d, alive: %v", p.PID, p.Alive())
			}
			if p.MetricsURL != "" {
				t.Errorf("haproxy has a metrics URL %q; only the edge exposes its counters", p.MetricsURL)
			}
			c, err := net.DialTimeout("tcp", p.Addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 4)
			if _, err := c.Read(b); err != nil || string(b) != "ping" {
				t.Fatalf("relay answered %q, %v", b, err)
			}
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(p.Alive(), ErrExited) {
				t.Fatal("haproxy still alive after Stop")
			}
		})
	}
}

func TestStartFailsWhenProxyExits(t *testing.T) {
	// /bin/false stands in for an edge that dies at start-up.
	o := Options{Backend: "127.0.0.1:1", EdgeBin: "/bin/false", WorkDir: t.TempDir()}
	_, err := Start(context.Background(), Edge, o)
	if !errors.Is(err, ErrExited) {
		t.Fatalf("err = %v, want ErrExited", err)
	}
}
