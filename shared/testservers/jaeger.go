package testservers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	// jaegerStartTimeout bounds start-up until every port answers; Jaeger
	// is up in about a second here, a loaded CI machine under -race needs
	// more.
	jaegerStartTimeout = 60 * time.Second
	// jaegerPollInterval is how often start-up checks the ports: Jaeger
	// offers no readiness signal we could wait on without polling.
	jaegerPollInterval = 50 * time.Millisecond
	// jaegerStopTimeout bounds waiting for a killed Jaeger to exit.
	jaegerStopTimeout = 10 * time.Second
	// jaegerStartAttempts bounds retries after a port race at start.
	jaegerStartAttempts = 3
	jaegerLogTail       = 8 << 10
)

// Jaeger is a real Jaeger v2 (all-in-one, in-memory storage) with every
// endpoint on a loopback port of its own: OTLP gRPC and HTTP in, the query
// API (HTTP /api/v3) out. Its defaults open about fifteen ports on all
// interfaces; the configuration written here opens four, on 127.0.0.1.
type Jaeger struct {
	t                                        testing.TB
	bin                                      string
	dir                                      string
	cfg                                      string
	otlpGRPC, otlpHTTP, queryHTTP, queryGRPC int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// jaegerConfig is the collector-style configuration Jaeger v2 reads: OTLP
// receivers, the memory store, the query extension. enable_tracing is off:
// otherwise Jaeger traces itself to :4317 and shuts down slowly. Its own
// metrics are off too (they would bind :8888).
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// StartJaeger runs Jaeger and waits until its OTLP and query ports accept
// connections (the OTLP ports open after the query port). The binary is
// $RUSTGUARD_JAEGER_BIN or <repo>/.tools/jaeger (make tools builds it). It
// is killed by PID when the test ends.
func StartJaeger(t testing.TB) *Jaeger {
	t.Helper()
	bin := toolBinary(t, "RUSTGUARD_JAEGER_BIN", "jaeger")
	dir := t.TempDir()
	j := &Jaeger{t: t, bin: bin, dir: dir, cfg: filepath.Join(dir, "jaeger.yaml")}
	for attempt := 0; ; attempt++ {
		p := freeLoopbackPorts(t, 4)
		j.otlpGRPC, j.otlpHTTP, j.queryHTTP, j.queryGRPC = p[0], p[1], p[2], p[3]
		conf := fmt.Sprintf(jaegerConfig, j.queryHTTP, j.queryGRPC, j.otlpGRPC, j.otlpHTTP)
		if err := os.WriteFile(j.cfg, []byte(conf), 0o600); err != nil {
			t.Fatalf("write jaeger config: %v", err)
		}
		err := j.startOnce()
		if err == nil {
			break
		}
		if attempt == jaegerStartAttempts-1 {
			t.Fatalf("jaeger: %v\n%s", err, j.logTail())
		}
	}
	t.Cleanup(func() {
		j.Stop()
		if t.Failed() {
			t.Logf("jaeger log tail:\n%s", j.logTail())
		}
	})
	return j
}

// OTLPGRPCAddr is the OTLP/gRPC receiver (host:port).
func (j *Jaeger) OTLPGRPCAddr() string { return loopback(j.otlpGRPC) }

// OTLPHTTPEndpoint is the OTLP/HTTP receiver's base URL (append /v1/traces).
func (j *Jaeger) OTLPHTTPEndpoint() string { return "http://" + loopback(j.otlpHTTP) }

// QueryURL is the base URL of the query API (GET /api/v3/...).
func (j *Jaeger) QueryURL() string { return "http://" + loopback(j.queryHTTP) }

// Stop kills Jaeger and waits for it to exit. It is idempotent.
func (j *Jaeger) Stop() {
	j.mu.Lock()
	cmd, done := j.cmd, j.done
	j.cmd = nil
	j.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
	case <-time.After(jaegerStopTimeout):
		j.t.Errorf("jaeger pid %d did not exit within %v", cmd.Process.Pid, jaegerStopTimeout)
	}
}

func (j *Jaeger) startOnce() error {
	logf, err := os.OpenFile(filepath.Join(j.dir, "jaeger.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("jaeger log: %w", err)
	}
	cmd := exec.Command(j.bin, "--config", j.cfg)
	cmd.Dir = j.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Jaeger must not export its own telemetry anywhere a test's
	// environment points.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=")
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start jaeger: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	j.mu.Lock()
	j.cmd, j.done = cmd, done
	j.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), jaegerStartTimeout)
	defer cancel()
	tick := time.NewTicker(jaegerPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			j.mu.Lock()
			j.cmd = nil
			j.mu.Unlock()
			return errors.New("jaeger exited while starting")
		default:
		}
		if j.ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			j.Stop()
			return fmt.Errorf("jaeger not ready within %v", jaegerStartTimeout)
		case <-tick.C:
		case <-done:
		}
	}
}

// ready reports whether every port accepts and the query API answers.
func (j *Jaeger) ready() bool {
	for _, p := range []int{j.otlpGRPC, j.otlpHTTP, j.queryGRPC} {
		c, err := net.DialTimeout("tcp", loopback(p), time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
	}
	resp, err := http.Get(j.QueryURL() + "/api/v3/services")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (j *Jaeger) logTail() string {
	b, err := os.ReadFile(filepath.Join(j.dir, "jaeger.log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > jaegerLogTail {
		b = b[len(b)-jaegerLogTail:]
	}
	return string(bytes.TrimSpace(b))
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// toolBinary finds a tool that `make tools` builds into .tools/: the path
// in the environment variable, else <repo>/.tools/name. Without it the test
// fails: `make test` builds every tool first, so CI never skips.
func toolBinary(t testing.TB, envVar, name string) string {
	t.Helper()
	if bin := os.Getenv(envVar); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s=%s: %v", envVar, bin, err)
		}
		return bin
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	bin := filepath.Join(root, ".tools", name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not found at %s: run make test (builds it into .tools/)", name, bin)
	}
	return bin
}
