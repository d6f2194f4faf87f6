// Package target starts and stops the things the load tool measures: the
// synthetic backend reached directly, rustguard-edge in its two modes (and
// with tracing on, and as an online-mode server) and HAProxy in its two
// modes. Each proxy runs as a child process on free
// 127.0.0.1 ports, is waited for through its health endpoint and is stopped
// by PID, so its CPU time and memory can be read from /proc.
package target

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
	"strings"
	"syscall"
	"text/template"
	"time"
)

// Name identifies a target.
type Name string

// The targets, in report order.
const (
	Direct        Name = "direct"
	Edge          Name = "edge"
	EdgeSplice    Name = "edge-splice"
	HAProxy       Name = "haproxy"
	HAProxySplice Name = "haproxy-splice"
	// EdgeTraced is edge with tracing on, exporting every span to an
	// OTLP endpoint (Options.OTLPEndpoint): edge and edge-traced side by
	// side are the tracing overhead.
	EdgeTraced Name = "edge-traced"
	// EdgeOnline is edge as the players' online-mode server
	// (RUSTGUARD_AUTH_MODE=online): it authenticates every login with the
	// session server at Options.SessionServer and encrypts the client leg;
	// the backend leg stays offline with forwarding none, since the
	// synthetic backend is an offline server that reads no forwarding.
	EdgeOnline Name = "edge-online"
)

// All returns every target in report order.
func All() []Name {
	return []Name{Direct, Edge, EdgeSplice, HAProxy, HAProxySplice, EdgeTraced, EdgeOnline}
}

// Parse checks a target name.
func Parse(s string) (Name, error) {
	for _, n := range All() {
		if string(n) == s {
			return n, nil
		}
	}
	return "", fmt.Errorf("unknown target %q (want one of direct, edge, edge-splice, haproxy, haproxy-splice, edge-traced, edge-online): %w", s, ErrUnknown)
}

// IsEdge reports whether n runs rustguard-edge.
func (n Name) IsEdge() bool {
	return n == Edge || n == EdgeSplice || n == EdgeTraced || n == EdgeOnline
}

// IsHAProxy reports whether n runs HAProxy.
func (n Name) IsHAProxy() bool { return n == HAProxy || n == HAProxySplice }

// Errors callers branch on.
var (
	// ErrUnknown is a target name that does not exist.
	ErrUnknown = errors.New("target: unknown target")
	// ErrNotReady means a proxy did not become healthy in time.
	ErrNotReady = errors.New("target: proxy not ready")
	// ErrExited means a proxy process ended on its own.
	ErrExited = errors.New("target: proxy exited")
)

const (
	// readyTimeout bounds the wait for a proxy's health endpoint: both
	// start in well under a second; ten is room for a loaded machine.
	readyTimeout = 10 * time.Second
	// readyPoll is the pause between health checks while a proxy starts.
	readyPoll = 20 * time.Millisecond
	// stopTimeout is how long a proxy may drain after SIGTERM before it is
	// killed; the edge drains with its own, shorter deadline.
	stopTimeout = 15 * time.Second
	// healthTimeout bounds one health request.
	healthTimeout = time.Second
	// proxyIdleTimeout is the idle timeout given to both proxies, in
	// seconds: longer than any workload, so the idle workload's
	// connections are not closed under it (the edge defaults to 30).
	proxyIdleTimeout = 600
	// HAProxyMaxPipes caps the pipes HAProxy keeps for splicing. Its
	// default (maxconn/4) costs two descriptors each and, with maxconn
	// near RLIMIT_NOFILE/2, pushes it past the limit so it refuses to
	// start; 200 pipes cover every stream the workloads splice at once,
	// and HAProxy copies through buffers when none is free.
	HAProxyMaxPipes = 200
	// logTailBytes is how much of a failed proxy's log goes into the error.
	logTailBytes = 2048
)

// Options say how to start proxies.
type Options struct {
	Backend    string   // host:port of the synthetic backend
	EdgeBin    string   // path of the rustguard-edge binary
	EdgeEnv    []string // extra KEY=VALUE settings for the edge
	EdgeDebug  bool     // run the edge with RUSTGUARD_LOG_LEVEL=debug
	HAProxyBin string   // path or name of the haproxy binary
	// HAProxySplice is "auto" (option splice-auto) or "force"
	// (option splice-request and splice-response).
	HAProxySplice string
	// EdgeMaxConns is RUSTGUARD_MAX_CONNECTIONS for the edge.
	EdgeMaxConns int
	// HAProxyMaxConn is HAProxy's maxconn. HAProxy sizes its descriptor
	// needs from it (two per connection) and refuses to start when they
	// exceed RLIMIT_NOFILE, so it is derived from the limit.
	HAProxyMaxConn int
	// WorkDir receives configs and logs; it must exist.
	WorkDir string
	// OTLPEndpoint is where edge-traced exports its spans
	// (OTEL_EXPORTER_OTLP_ENDPOINT: a URL such as http://127.0.0.1:4317);
	// OTLPProtocol is grpc or http/protobuf; OTLPEnv are more OTEL_*
	// settings for edge-traced only (headers, sampler, batch knobs).
	OTLPEndpoint string
	OTLPProtocol string
	OTLPEnv      []string
	// SessionServer is the base URL edge-online asks hasJoined
	// (RUSTGUARD_SESSION_SERVER): the double the tool runs
	// (bench/internal/accounts).
	SessionServer string
}

// Proxy is a running target. For Direct it is just the backend address.
type Proxy struct {
	Name    Name
	Addr    string // where players connect
	PID     int    // 0 for Direct
	LogPath string
	// MetricsURL is the edge's Prometheus endpoint on its admin address;
	// empty for the targets that have none (direct, HAProxy).
	MetricsURL string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, valid once done is closed
}

// Start starts target n (nothing for Direct) and waits until it is ready.
func Start(ctx context.Context, n Name, o Options) (*Proxy, error) {
	if n == Direct {
		return &Proxy{Name: n, Addr: o.Backend}, nil
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	health, err := FreePort()
	if err != nil {
		return nil, err
	}
	p := &Proxy{Name: n, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	var healthURL string
	switch {
	case n.IsEdge():
		p.cmd = exec.Command(o.EdgeBin)
		p.cmd.Env = edgeEnv(os.Environ(), n, o, p.Addr, health)
		healthURL = fmt.Sprintf("http://127.0.0.1:%d/readyz", health)
		p.MetricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", health)
	case n.IsHAProxy():
		cfg := filepath.Join(o.WorkDir, string(n)+".cfg")
		if err := writeHAProxyConfig(cfg, n, o, port, health); err != nil {
			return nil, err
		}
		// -db keeps HAProxy in the foreground as one process, so its PID
		// is the process doing the work.
		p.cmd = exec.Command(o.HAProxyBin, "-db", "-f", cfg)
		healthURL = fmt.Sprintf("http://127.0.0.1:%d/healthz", health)
	default:
		return nil, fmt.Errorf("start %q: %w", n, ErrUnknown)
	}
	p.LogPath = filepath.Join(o.WorkDir, fmt.Sprintf("%s-%d.log", n, time.Now().UnixNano()))
	logf, err := os.Create(p.LogPath)
	if err != nil {
		return nil, fmt.Errorf("create proxy log: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", n, p.cmd.Path, err)
	}
	p.PID = p.cmd.Process.Pid
	p.done = make(chan struct{})
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(ctx, healthURL); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("%w\n--- %s log tail ---\n%s", err, n, p.LogTail())
	}
	return p, nil
}

// edgeEnv builds the edge's environment: the tool's own minus any
// RUSTGUARD_ or OTEL_ settings (a stray one would change what is measured:
// an OTLP endpoint in the shell would turn tracing on for every edge),
// then the benchmark's, then the caller's extras, which win; edge-traced
// gets its OTLP settings last.
func edgeEnv(base []string, n Name, o Options, listen string, admin int) []string {
	env := make([]string, 0, len(base)+10+len(gateOff)+len(o.EdgeEnv)+len(o.OTLPEnv))
	for _, kv := range base {
		if !strings.HasPrefix(kv, "RUSTGUARD_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	level := "info"
	if o.EdgeDebug {
		level = "debug"
	}
	env = append(env,
		"RUSTGUARD_LISTEN_ADDR="+listen,
		"RUSTGUARD_BACKEND_ADDR="+o.Backend,
		"RUSTGUARD_ADMIN_ADDR="+net.JoinHostPort("127.0.0.1", strconv.Itoa(admin)),
		"RUSTGUARD_INSPECT_PLAY="+strconv.FormatBool(n != EdgeSplice), // edge-traced inspects, like edge
		"RUSTGUARD_LOG_LEVEL="+level,
		"RUSTGUARD_MAX_CONNECTIONS="+strconv.Itoa(o.EdgeMaxConns),
		"RUSTGUARD_TIMEOUT="+strconv.Itoa(proxyIdleTimeout),
	)
	env = append(env, gateOff...)
	if n == EdgeOnline {
		env = append(env, onlineEnv...)
		env = append(env, "RUSTGUARD_SESSION_SERVER="+o.SessionServer)
	}
	env = append(env, o.EdgeEnv...)
	if n == EdgeTraced {
		env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+o.OTLPEndpoint, "OTEL_EXPORTER_OTLP_PROTOCOL="+o.OTLPProtocol)
		env = append(env, o.OTLPEnv...)
	}
	return env
}

// gateOff switches off the edge's admission-gate limits per address and
// prefix, and its attack mode. Every benchmark player comes from loopback
// and a run logs in thousands of them per second, which the gate rightly
// treats as a bot flood (one login in flight per address, a few logins per
// second, verification in attack mode); the benchmark measures the relay
// behind the gate. 0 means "no limit" for each of these settings. -edge-env
// overrides any of them.
var gateOff = []string{
	"RUSTGUARD_GATE_CONN_ADDR_RATE=0",
	"RUSTGUARD_GATE_CONN_PREFIX_RATE=0",
	"RUSTGUARD_GATE_LOGIN_ADDR_RATE=0",
	"RUSTGUARD_GATE_LOGIN_PREFIX_RATE=0",
	"RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT=0",
	"RUSTGUARD_GATE_MAX_ACCOUNTS_PER_ADDR=0",
	"RUSTGUARD_ATTACK_MODE=off",
}

// onlineEnv makes the edge the players' online-mode server (docs/CONFIG.md,
// auth). Forwarding is none because the synthetic backend is offline and
// reads no forwarding; the edge logs that as a warning at start, once.
var onlineEnv = []string{
	"RUSTGUARD_AUTH_MODE=online",
	"RUSTGUARD_FORWARDING=none",
}

// haproxyConfig is a plain TCP relay: no health checks on the backend (the
// synthetic backend would count them as odd connections), timeouts long
// enough for the idle workload, and a monitor URI on a second port to wait
// for readiness without touching the relay.
var haproxyConfig = template.Must(template.New("haproxy").Parse(`# written by rgload for one benchmark run
global
    maxconn {{.MaxConn}}
    maxpipes {{.MaxPipes}}

defaults
    mode tcp
    maxconn {{.MaxConn}}
    timeout connect 5s
    timeout client {{.Idle}}s
    timeout server {{.Idle}}s
{{- range .Splice}}
    option {{.}}
{{- end}}

frontend minecraft
    bind {{.Listen}}
    default_backend minecraft

backend minecraft
    server mc {{.Backend}}

frontend health
    mode http
    timeout client 5s
    bind {{.Health}}
    monitor-uri /healthz
`))

// HAProxyConfig renders the configuration for target n.
func HAProxyConfig(n Name, o Options, port, health int) (string, error) {
	var splice []string
	if n == HAProxySplice {
		switch o.HAProxySplice {
		case "auto":
			splice = []string{"splice-auto"}
		case "force":
			splice = []string{"splice-request", "splice-response"}
		default:
			return "", fmt.Errorf("haproxy splice mode %q: want auto or force", o.HAProxySplice)
		}
	}
	var b bytes.Buffer
	err := haproxyConfig.Execute(&b, map[string]any{
		"MaxConn":  o.HAProxyMaxConn,
		"MaxPipes": HAProxyMaxPipes,
		"Idle":     proxyIdleTimeout,
		"Splice":   splice,
		"Listen":   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		"Backend":  o.Backend,
		"Health":   net.JoinHostPort("127.0.0.1", strconv.Itoa(health)),
	})
	if err != nil {
		return "", fmt.Errorf("render haproxy config: %w", err)
	}
	return b.String(), nil
}

func writeHAProxyConfig(path string, n Name, o Options, port, health int) error {
	cfg, err := HAProxyConfig(n, o, port, health)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write haproxy config: %w", err)
	}
	return nil
}

// waitReady polls url until it answers 200, the process exits or the
// timeout passes.
func (p *Proxy) waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: healthTimeout}
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("health request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s pid %d while starting (%v): %w", p.Name, p.PID, p.err, ErrExited)
		case <-ctx.Done():
			return fmt.Errorf("%s at %s after %s (last: %s): %w", p.Name, url, readyTimeout, last, ErrNotReady)
		case <-tick.C:
		}
	}
}

// Alive returns ErrExited if the proxy process has ended.
func (p *Proxy) Alive() error {
	if p.done == nil {
		return nil
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s pid %d (%v): %w", p.Name, p.PID, p.err, ErrExited)
	default:
		return nil
	}
}

// Stop sends SIGTERM to the proxy's PID, waits for it to drain and kills
// it if it does not. It returns an error if the proxy had already died.
func (p *Proxy) Stop() error {
	if p.cmd == nil {
		return nil
	}
	if err := p.Alive(); err != nil {
		return err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s pid %d ignored SIGTERM for %s and was killed", p.Name, p.PID, stopTimeout)
	}
}

// LogTail returns the end of the proxy's log.
func (p *Proxy) LogTail() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
	}
	return string(b)
}

// FreePort asks the kernel for a free 127.0.0.1 TCP port. The port is
// released before the child binds it; nothing else on a test machine
// races for ports in that instant often enough to matter.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// HAProxyVersion returns the first line of `haproxy -v`.
func HAProxyVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		return "", fmt.Errorf("%s -v: %w", bin, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}
