package fleet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// consulDatacenter is the one datacenter of the local fleet: the regions
// are the edges' region setting, as in a fleet whose regions share a
// Consul datacenter.
const consulDatacenter = "dc1"

// consulNode names the dev agent's node.
const consulNode = "fleet"

func (f *Fleet) startConsul(ctx context.Context) error {
	dir := filepath.Join(f.opts.Dir, "data", "consul")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("consul: %w", err)
	}
	cfgPath := filepath.Join(dir, "consul.json")
	spec := func(p []int) procSpec {
		// A dev agent (server and client in one, state in memory) on
		// 127.0.0.1 only, with DNS, gRPC and HTTPS off: nothing here uses
		// them, and each would be one more port.
		cfg := map[string]any{
			"datacenter": consulDatacenter, "node_name": consulNode,
			"bind_addr": "127.0.0.1", "client_addr": "127.0.0.1",
			"ports": map[string]int{"http": p[0], "serf_lan": p[1], "serf_wan": p[2], "server": p[3],
				"dns": -1, "grpc": -1, "grpc_tls": -1, "https": -1},
			"log_level": "warn", "disable_update_check": true,
			"connect": map[string]any{"enabled": false}, "ui_config": map[string]any{"enabled": false},
		}
		raw, _ := json.MarshalIndent(cfg, "", "  ")
		_ = os.WriteFile(cfgPath, raw, 0o600)
		return procSpec{name: "consul", bin: f.opts.ConsulBin, args: []string{"agent", "-dev", "-config-file", cfgPath},
			dir: dir, env: baseEnv(), log: logPath(f.opts.Dir, "consul")}
	}
	ready := func(ctx context.Context, p *Process, ports []int) error {
		addr := loopback(ports[0])
		return waitReady(ctx, p, func(ctx context.Context) error {
			var leader string
			if err := getJSON(ctx, "http://"+addr+"/v1/status/leader", &leader); err != nil || leader == "" {
				return fmt.Errorf("no leader yet (%v)", err)
			}
			var node json.RawMessage
			if err := getJSON(ctx, "http://"+addr+"/v1/catalog/node/"+consulNode, &node); err != nil || string(node) == "null" {
				return fmt.Errorf("node not registered yet (%v)", err)
			}
			return nil
		})
	}
	p, ports, err := f.startWithRetry(ctx, "consul", []int{f.opts.ConsulPort, 0, 0, 0}, spec, ready)
	if err != nil {
		return err
	}
	f.track(p)
	f.ConsulAddr = loopback(ports[0])
	return nil
}

func (f *Fleet) startRedis(ctx context.Context) error {
	dir := filepath.Join(f.opts.Dir, "data", "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	spec := func(p []int) procSpec {
		// No persistence: the local fleet starts from nothing each time.
		return procSpec{name: "redis", bin: f.opts.RedisBin, dir: dir, env: baseEnv(), log: logPath(f.opts.Dir, "redis"),
			args: []string{"--port", strconv.Itoa(p[0]), "--bind", "127.0.0.1", "--dir", dir,
				"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}}
	}
	ready := func(ctx context.Context, p *Process, ports []int) error {
		return waitReady(ctx, p, func(ctx context.Context) error { return redisPing(ctx, loopback(ports[0])) })
	}
	p, ports, err := f.startWithRetry(ctx, "redis", []int{0}, spec, ready)
	if err != nil {
		return err
	}
	f.track(p)
	f.RedisURL = "redis://" + loopback(ports[0])
	return nil
}

// redisPing sends an inline PING and expects +PONG.
func redisPing(ctx context.Context, addr string) error {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// jaegerConfig is the configuration Jaeger v2 reads: OTLP in, the memory
// store, the query API. Its defaults would open about fifteen ports on all
// interfaces; this opens four, on 127.0.0.1. Its own tracing and metrics
// are off (they would export to :4317 and bind :8888).
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
          max_traces: %d
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

// jaegerMaxTraces bounds Jaeger's memory store: a local fleet that runs
// for a day of demos stays within a few hundred MB.
const jaegerMaxTraces = 100000

func (f *Fleet) startJaeger(ctx context.Context) error {
	dir := filepath.Join(f.opts.Dir, "data", "jaeger")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("jaeger: %w", err)
	}
	cfgPath := filepath.Join(dir, "jaeger.yaml")
	spec := func(p []int) procSpec {
		_ = os.WriteFile(cfgPath, fmt.Appendf(nil, jaegerConfig, p[0], p[1], jaegerMaxTraces, p[2], p[3]), 0o600)
		// Jaeger must not export its own telemetry anywhere.
		env := append(baseEnv(), "OTEL_TRACES_EXPORTER=none")
		return procSpec{name: "jaeger", bin: f.opts.JaegerBin, args: []string{"--config", cfgPath},
			dir: dir, env: env, log: logPath(f.opts.Dir, "jaeger")}
	}
	ready := func(ctx context.Context, p *Process, ports []int) error {
		return waitReady(ctx, p, func(ctx context.Context) error {
			for _, port := range ports[1:] {
				c, err := net.DialTimeout("tcp", loopback(port), requestTimeout)
				if err != nil {
					return err
				}
				_ = c.Close()
			}
			var services json.RawMessage
			return getJSON(ctx, "http://"+loopback(ports[0])+"/api/v3/services", &services)
		})
	}
	p, ports, err := f.startWithRetry(ctx, "jaeger", []int{f.opts.JaegerQueryPort, 0, 0, 0}, spec, ready)
	if err != nil {
		return err
	}
	f.track(p)
	f.Jaeger = Jaeger{QueryURL: "http://" + loopback(ports[0]), OTLPGRPC: loopback(ports[2])}
	return nil
}

func (f *Fleet) startBackend(ctx context.Context) error {
	readyCh := make(chan int, 1)
	onLine := func(line []byte) {
		var ev struct {
			Event string `json:"event"`
			Port  int    `json:"port"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Event == "ready" {
			select {
			case readyCh <- ev.Port:
			default:
			}
		}
		if f.opts.BackendLine != nil {
			f.opts.BackendLine(line)
		}
	}
	spec := func(p []int) procSpec {
		args := []string{"backend.js", "--host", "127.0.0.1", "--port", strconv.Itoa(p[0]), "--version", f.opts.MCVersion}
		if f.opts.BackendOpAll {
			args = append(args, "--op-all")
		}
		return procSpec{name: "backend", bin: f.opts.NodeBin, args: args, dir: f.opts.ScriptsDir,
			env: baseEnv(), log: logPath(f.opts.Dir, "backend"), onLine: onLine}
	}
	ready := func(ctx context.Context, p *Process, ports []int) error {
		ctx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		select {
		case <-readyCh:
			return nil
		case <-p.Done():
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("backend.js printed no ready line within %v; the end of %s:\n%s", startTimeout, p.LogPath, p.LogTail())
		}
	}
	p, ports, err := f.startWithRetry(ctx, "backend", []int{f.opts.BackendPort}, spec, ready)
	if err != nil {
		return err
	}
	f.track(p)
	f.Backend = loopback(ports[0])
	return nil
}

// backendCheckInterval is how often Consul checks the backend's port: a
// backend that stops leaves the edges' pool within this (plus the check's
// timeout).
const backendCheckInterval = "2s"

// registerBackend puts flying-squid in Consul's catalog as BackendService
// with a TCP health check, passing from the start (it is up: its ready line
// came), so the edges have a backend as soon as they ask.
func (f *Fleet) registerBackend(ctx context.Context) error {
	host, port, _ := net.SplitHostPort(f.Backend)
	portNum, _ := strconv.Atoi(port)
	reg := map[string]any{
		"ID": BackendService + "-1", "Name": BackendService, "Address": host, "Port": portNum,
		"Check": map[string]any{"Name": "minecraft port", "TCP": f.Backend, "Interval": backendCheckInterval,
			"Timeout": "1s", "Status": "passing"},
	}
	body, _ := json.Marshal(reg)
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+f.ConsulAddr+"/v1/agent/service/register", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("register the backend in Consul: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("register the backend in Consul: %s: %s", resp.Status, msg)
	}
	f.progress("registered flying-squid %s in Consul as %q", f.Backend, BackendService)
	return nil
}

// maxReadyBody caps a readiness answer read here.
const maxReadyBody = 1 << 20

// getJSON GETs url and decodes a 200 answer into out.
func getJSON(ctx context.Context, url string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReadyBody))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %.200s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}

// errNotReady is a readiness answer that is not yet the one wanted.
var errNotReady = errors.New("not ready")
