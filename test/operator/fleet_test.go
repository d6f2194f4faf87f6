package operator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/testservers"
)

// A small fleet on loopback, started once for the whole operator view:
// Redis, Consul, Jaeger, rustguard-central, two edges (eu, us) exporting
// their traces to central, and flying-squid registered in Consul as the
// backend. Every process is this test's child and is stopped by its PID.

const (
	adminToken  = "operator-admin-token-0123456789"
	ingestToken = "operator-ingest-token-0123456789"
	// mcVersion is the Minecraft version the backend serves and the bots
	// speak (make run's default).
	mcVersion = "1.21.4"
	// jaegerUI is the link base the operator page gets: only a link, the
	// test Jaeger serves no UI.
	jaegerUI = "http://127.0.0.1:16686"
	// startTimeout bounds one process's start on a loaded 2-core machine
	// (flying-squid is the slowest: it generates its world).
	startTimeout = 60 * time.Second
	// stopTimeout is how long a process gets after SIGTERM before SIGKILL
	// (an edge drains its players).
	stopTimeout = 10 * time.Second
	// botTimeout bounds one cheat.js run (login, cheat, kick).
	botTimeout = 60 * time.Second
	// pollEvery is how often a wait re-checks a condition it cannot be
	// told about (an HTTP endpoint's state).
	pollEvery = 100 * time.Millisecond
	// logTail is how much of a process's output a failure shows.
	logTail = 4 << 10
)

// proc is one child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
}

// tailBuffer keeps the last logTail bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > logTail {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-logTail:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// start runs cmd and stops it by PID when the test ends: SIGTERM, then
// SIGKILL after stopTimeout.
func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, out: &tailBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, p.out.String())
		}
	})
	return p
}

// childEnv is the test's environment without anything that configures a
// RustGuard binary, OpenTelemetry or Consul, plus env.
func childEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RUSTGUARD_") || strings.HasPrefix(name, "OTEL_") || strings.HasPrefix(name, "CONSUL_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, env...)
}

// freePorts returns n distinct free loopback ports (held until all are
// chosen, so the kernel cannot hand one out twice).
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		if state != "" {
			last = state
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, timeout, last)
		}
		time.Sleep(pollEvery)
	}
}

// httpGet answers the status and body of a GET with an optional bearer
// token.
func httpGet(url, token string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

func waitHTTP(t *testing.T, p *proc, url, token string, status int) {
	t.Helper()
	waitFor(t, p.name+" answers "+url, startTimeout, func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.name, p.out.String())
		default:
		}
		code, body, err := httpGet(url, token)
		if err != nil {
			return false, err.Error()
		}
		return code == status, fmt.Sprintf("%d %s", code, body)
	})
}

// binary is a built RustGuard binary: RUSTGUARD_<NAME>_BIN (make test sets
// it) or bin/ under the repository root (make build).
func binary(t *testing.T, envVar, name string) string {
	t.Helper()
	bin := os.Getenv(envVar)
	if bin == "" {
		bin = filepath.Join(repoRoot(t), "bin", name)
	}
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(repoRoot(t), bin)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s: %v (make build, or set %s)", name, err, envVar)
	}
	return bin
}

// nodeScripts is test/e2e, where the Minecraft peers live, with its
// installed npm packages.
func nodeScripts(t *testing.T) (node, dir string) {
	t.Helper()
	dir = filepath.Join(repoRoot(t), "test", "e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "flying-squid")); err != nil {
		t.Skipf("npm packages not installed (make deps-npm): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed (make deps-apt)")
	}
	return node, dir
}

type edgeProc struct {
	*proc
	region, addr, admin string
}

type fleet struct {
	redis        *testservers.Redis
	consul       *testservers.Consul
	jaeger       *testservers.Jaeger
	central      *proc
	centralURL   string
	centralOTLP  string // OTLP/gRPC
	edges        []*edgeProc
	node, e2eDir string
}

// startFleet brings the fleet up and waits until both edges route to the
// backend.
func startFleet(t *testing.T) *fleet {
	t.Helper()
	edgeBin := binary(t, "RUSTGUARD_EDGE_BIN", "rustguard-edge")
	centralBin := binary(t, "RUSTGUARD_CENTRAL_BIN", "rustguard-central")
	f := &fleet{}
	f.node, f.e2eDir = nodeScripts(t)
	f.redis = testservers.StartRedis(t)
	f.consul = testservers.StartConsul(t, "dc1")
	f.jaeger = testservers.StartJaeger(t)

	ports := freePorts(t, 2)
	f.centralURL, f.centralOTLP = "http://"+ports[0], ports[1]
	cmd := exec.Command(centralBin)
	cmd.Env = childEnv(
		"RUSTGUARD_CENTRAL_HTTP_ADDR="+ports[0],
		"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR="+ports[1],
		"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR=off",
		"RUSTGUARD_REDIS_URL="+f.redis.URL(),
		"RUSTGUARD_ADMIN_TOKEN="+adminToken,
		"RUSTGUARD_INGEST_TOKEN="+ingestToken,
		"RUSTGUARD_CENTRAL_JAEGER_UI_URL="+jaegerUI,
		"CONSUL_HTTP_ADDR="+f.consul.HTTPAddr(),
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+f.jaeger.OTLPGRPCAddr(),
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
	)
	f.central = start(t, "central", cmd)
	waitHTTP(t, f.central, f.centralURL+"/readyz", "", http.StatusOK)

	backend := f.startBackend(t)
	reg := &consulapi.AgentServiceRegistration{ID: "minecraft-1", Name: "minecraft", Address: "127.0.0.1", Port: backend,
		Check: &consulapi.AgentServiceCheck{TCP: net.JoinHostPort("127.0.0.1", strconv.Itoa(backend)), Interval: "1s", Timeout: "1s"}}
	if err := f.consul.Client().Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}

	for _, region := range []string{"eu", "us"} {
		ports := freePorts(t, 2)
		cmd := exec.Command(edgeBin)
		cmd.Dir = t.TempDir()
		cmd.Env = childEnv(
			"RUSTGUARD_CONFIG=",
			"RUSTGUARD_REGION="+region,
			"RUSTGUARD_INSTANCE_ID=edge-"+region+"-1",
			"RUSTGUARD_LISTEN_ADDR="+ports[0],
			"RUSTGUARD_ADMIN_ADDR="+ports[1],
			"RUSTGUARD_REDIS_URL="+f.redis.URL(),
			"CONSUL_HTTP_ADDR="+f.consul.HTTPAddr(),
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+f.centralOTLP,
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20"+ingestToken,
			// Detections reach central within a fraction of a second.
			"OTEL_BSP_SCHEDULE_DELAY=200",
			// Every bot comes from 127.0.0.1: the gate's per-address
			// limits are made for the internet.
			"RUSTGUARD_GATE_CONN_ADDR_RATE=0", "RUSTGUARD_GATE_CONN_PREFIX_RATE=0",
			"RUSTGUARD_GATE_LOGIN_ADDR_RATE=0", "RUSTGUARD_GATE_LOGIN_PREFIX_RATE=0",
			"RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT=0", "RUSTGUARD_GATE_MAX_ACCOUNTS_PER_ADDR=0",
		)
		e := &edgeProc{proc: start(t, "edge "+region, cmd), region: region, addr: ports[0], admin: ports[1]}
		waitHTTP(t, e.proc, "http://"+e.admin+"/readyz", "", http.StatusOK)
		f.edges = append(f.edges, e)
	}
	return f
}

// startBackend starts flying-squid on a free port and returns the port.
func (f *fleet) startBackend(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(f.node, "backend.js", "--host", "127.0.0.1", "--port", "0", "--version", mcVersion)
	cmd.Dir = f.e2eDir
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	p := start(t, "flying-squid", cmd)
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var ev struct {
				Event string `json:"event"`
				Port  int    `json:"port"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "ready" {
				ready <- ev.Port
			}
		}
	}()
	t.Cleanup(func() { _ = pw.Close() })
	select {
	case port := <-ready:
		return port
	case <-p.done:
		t.Fatalf("flying-squid exited:\n%s", p.out.String())
	case <-time.After(startTimeout):
		t.Fatalf("flying-squid not ready within %v:\n%s", startTimeout, p.out.String())
	}
	return 0
}

// cheat runs cheat.js through an edge: a mineflayer bot that logs in and
// sends the packets check key exists to catch. It returns whether the edge
// kicked it.
func (f *fleet) cheat(t *testing.T, e *edgeProc, username, check string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), botTimeout+10*time.Second)
	defer cancel()
	host, port, _ := net.SplitHostPort(e.addr)
	cmd := exec.CommandContext(ctx, f.node, "cheat.js", "--host", host, "--port", port, "--version", mcVersion,
		"--username", username, "--cheat", check, "--expect", "kick", "--timeout-ms", strconv.Itoa(int(botTimeout.Milliseconds())))
	cmd.Dir = f.e2eDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cheat.js %s through %s: %v\nstdout: %s\nstderr: %s", check, e.region, err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res struct {
		Event  string `json:"event"`
		Kicked bool   `json:"kicked"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Event != "result" {
		t.Fatalf("cheat.js %s: last line %q: %v", check, lines[len(lines)-1], err)
	}
	return res.Kicked
}
