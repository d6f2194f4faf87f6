// Package fleet brings RustGuard's whole picture up on one machine, on
// loopback: a Consul dev agent, Redis, Jaeger, rustguard-central (one or
// more replicas on the one Redis), an edge per region exporting its traces
// to central over OTLP and reading bans, limits and configuration from
// Redis and Consul, and a flying-squid backend registered in Consul with a
// health check. `make fleet` runs it through cmd/fleet; the end-to-end
// tests start one per test.
//
// Every process is a child of the caller, in a process group of its own,
// logging to <Dir>/logs/<name>.log; Stop ends them by PID, edges first (so
// they drain their players and flush their spans to central) and Consul
// last.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMCVersion is the Minecraft version the backend serves unless told
// otherwise: the newest flying-squid 1.12.0 supports (test/e2e/e2e_test.go).
const DefaultMCVersion = "1.21.4"

// EdgeService is the Consul service the edges register as, and
// BackendService the one they route players to (the edge's default
// discovery.backend_service).
const (
	EdgeService    = "rustguard-edge"
	BackendService = "minecraft"
)

// Bounds on time. Starting is mostly Node loading minecraft-data and
// Consul electing itself; the bounds are for a loaded 2-core machine and
// exist so a hang becomes an error with the child's log.
const (
	// startTimeout bounds one child from exec to ready.
	startTimeout = 90 * time.Second
	// pollInterval is how often readiness is asked: none of these
	// programs announces readiness in a way we could wait on, except
	// backend.js (its ready line).
	pollInterval = 50 * time.Millisecond
	// startAttempts bounds retries after a port race (a free port taken
	// by another process before the child bound it).
	startAttempts = 3
	// requestTimeout bounds one readiness request on loopback.
	requestTimeout = 2 * time.Second

	// edgeShutdown is the edges' proxy.shutdown_timeout here: long enough
	// to tell players why, short enough that Ctrl-C is quick.
	edgeShutdown = "5s"
	// Grace between SIGTERM and SIGKILL: an edge drains (edgeShutdown) and
	// then exports its queue for at most 5 s (docs/TELEMETRY.md); central
	// shuts down within 15 s (server.ShutdownTimeout); backend.js kicks its
	// players and exits within 1.5 s; the rest exit at once.
	edgeStopGrace    = 15 * time.Second
	centralStopGrace = 20 * time.Second
	otherStopGrace   = 10 * time.Second
)

// tokenBytes is the entropy of a generated token (hex-encoded: 48
// characters, within central's 16 to 4,096).
const tokenBytes = 24

// Region is one region's edge.
type Region struct {
	Name      string // the edge's region setting (eu, us, ap, …)
	Port      int    // player listener; 0: a free port
	AdminPort int    // admin listener (/metrics, /readyz); 0: a free port
}

// Options configure a fleet. A zero port means a free one chosen at start.
type Options struct {
	// Dir holds the children's logs (logs/), their data and the state
	// file (StateFile). Required.
	Dir string
	// The programs. NodeBin runs ScriptsDir/backend.js, which needs the
	// npm packages of ScriptsDir (test/e2e). RedisBin defaults to
	// redis-server on PATH, NodeBin to node on PATH.
	EdgeBin, CentralBin, ConsulBin, JaegerBin, RedisBin, NodeBin string
	ScriptsDir                                                   string

	// Regions gets one edge each; at least one.
	Regions []Region
	// Centrals is how many central replicas run on the one Redis (default
	// 1). The edges export to the first, as they would to the one address
	// of a load balancer in front of all of them.
	Centrals int
	// CentralPort is the first central's API port; replicas take free ones.
	CentralPort     int
	JaegerQueryPort int
	ConsulPort      int
	BackendPort     int
	// MCVersion is the backend's Minecraft version (DefaultMCVersion).
	MCVersion string
	// BackendOpAll makes every player an operator (backend.js --op-all):
	// the honest players of the demo run /give, /tp and /gamemode.
	BackendOpAll bool

	// AdminToken is central's RUSTGUARD_ADMIN_TOKEN; empty: generated.
	AdminToken string
	// EdgeEnv and CentralEnv are added last to every edge's and central's
	// environment (KEY=value), so they win.
	EdgeEnv, CentralEnv []string
	// BackendLine receives every line backend.js prints on stdout (its
	// events: join, chat, move, leave; test/e2e/README.md).
	BackendLine func(line []byte)
	// Progress gets a line per step (nil: nothing).
	Progress io.Writer
}

// Fleet is a running fleet.
type Fleet struct {
	AdminToken  string
	IngestToken string

	ConsulAddr string // host:port of Consul's HTTP API (CONSUL_HTTP_ADDR)
	RedisURL   string
	Jaeger     Jaeger
	Centrals   []*Central
	Edges      []*Edge
	Backend    string // host:port of flying-squid

	opts Options

	mu    sync.Mutex
	procs []*Process // infrastructure: consul, redis, jaeger, backend
}

// Jaeger is where Jaeger listens.
type Jaeger struct {
	QueryURL string // the query API's base URL (GET /api/v3/...)
	OTLPGRPC string // host:port of its OTLP/gRPC receiver: where central forwards
}

// Central is one central replica.
type Central struct {
	Name     string
	API      string // base URL of the API, e.g. http://127.0.0.1:8080
	OTLPGRPC string // host:port of its OTLP/gRPC receiver

	spec procSpec
	mu   sync.Mutex
	proc *Process
}

// Edge is one region's edge.
type Edge struct {
	Region   string
	Instance string // its id in Consul and in its spans (service.instance.id)
	Addr     string // player listener, host:port
	Admin    string // admin listener, host:port
	Proc     *Process
}

// Start brings the fleet up and returns when every part is ready: Consul
// has a leader, Redis answers, Jaeger's ports are open, each central's
// /readyz is 200 with Consul ok, the backend is registered and passing, and
// each edge's /readyz is 200. On an error whatever was started is stopped.
func Start(ctx context.Context, o Options) (*Fleet, error) {
	if err := o.complete(); err != nil {
		return nil, err
	}
	for _, d := range []string{"logs", "data"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("fleet directory: %w", err)
		}
	}
	f := &Fleet{opts: o, AdminToken: o.AdminToken}
	var err error
	if f.AdminToken == "" {
		if f.AdminToken, err = newToken(); err != nil {
			return nil, err
		}
	}
	if f.IngestToken, err = newToken(); err != nil {
		return nil, err
	}
	// Every fixed port is checked before anything starts: a taken one is
	// then one clear message, not a half-started fleet.
	if err := o.checkFixedPorts(); err != nil {
		return nil, err
	}
	if err := f.start(ctx); err != nil {
		f.Stop()
		return nil, err
	}
	return f, nil
}

func (f *Fleet) start(ctx context.Context) error {
	// Consul, Redis, Jaeger and the backend depend on nothing.
	err := parallel(
		func() error { return f.startConsul(ctx) },
		func() error { return f.startRedis(ctx) },
		func() error { return f.startJaeger(ctx) },
		func() error { return f.startBackend(ctx) },
	)
	if err != nil {
		return err
	}
	if err := f.registerBackend(ctx); err != nil {
		return err
	}
	central := make([]func() error, f.opts.Centrals)
	f.Centrals = make([]*Central, f.opts.Centrals)
	for i := range central {
		central[i] = func() error { return f.startCentral(ctx, i) }
	}
	if err := parallel(central...); err != nil {
		return err
	}
	edges := make([]func() error, len(f.opts.Regions))
	f.Edges = make([]*Edge, len(f.opts.Regions))
	for i := range edges {
		edges[i] = func() error { return f.startEdge(ctx, i) }
	}
	return parallel(edges...)
}

// Stop ends every process the fleet started, by PID: the edges first (they
// tell their players why and flush their spans to central), then the
// centrals (they forward what they hold to Jaeger), then the backend,
// Jaeger, Redis and Consul. It is idempotent and safe after a failed Start.
func (f *Fleet) Stop() {
	var wg sync.WaitGroup
	for _, e := range f.Edges {
		if e != nil && e.Proc != nil {
			wg.Go(func() { f.progress("stopping %s (pid %d)", e.Proc.Name, e.Proc.Pid()); e.Proc.Stop(edgeStopGrace) })
		}
	}
	wg.Wait()
	for _, c := range f.Centrals {
		if p := c.procOrNil(); p != nil {
			wg.Go(func() { f.progress("stopping %s (pid %d)", c.Name, p.Pid()); c.Stop() })
		}
	}
	wg.Wait()
	f.mu.Lock()
	procs := slices.Clone(f.procs)
	f.mu.Unlock()
	// They started at once; they stop in the order of what depends on
	// what: Consul last, so nothing loses it while stopping.
	slices.SortStableFunc(procs, func(a, b *Process) int { return stopRank(a.Name) - stopRank(b.Name) })
	for _, p := range procs {
		f.progress("stopping %s (pid %d)", p.Name, p.Pid())
		p.Stop(otherStopGrace)
	}
}

// stopRank orders the infrastructure's stop.
func stopRank(name string) int {
	return slices.Index([]string{"backend", "jaeger", "redis", "consul"}, name)
}

// Processes lists every child running now (for tests that check the
// teardown): infrastructure, centrals, edges.
func (f *Fleet) Processes() []*Process {
	f.mu.Lock()
	out := slices.Clone(f.procs)
	f.mu.Unlock()
	for _, c := range f.Centrals {
		if p := c.procOrNil(); p != nil {
			out = append(out, p)
		}
	}
	for _, e := range f.Edges {
		if e != nil && e.Proc != nil {
			out = append(out, e.Proc)
		}
	}
	return out
}

// Dir is the fleet's directory.
func (f *Fleet) Dir() string { return f.opts.Dir }

func (o *Options) complete() error {
	var missing []string
	for name, v := range map[string]string{"Dir": o.Dir, "EdgeBin": o.EdgeBin, "CentralBin": o.CentralBin,
		"ConsulBin": o.ConsulBin, "JaegerBin": o.JaegerBin, "ScriptsDir": o.ScriptsDir} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("fleet options: %s required", strings.Join(missing, ", "))
	}
	if len(o.Regions) == 0 {
		return errors.New("fleet options: at least one region")
	}
	seen := map[string]bool{}
	for _, r := range o.Regions {
		if r.Name == "" || seen[r.Name] {
			return fmt.Errorf("fleet options: region names must be set and distinct (%q)", r.Name)
		}
		seen[r.Name] = true
	}
	if o.Centrals <= 0 {
		o.Centrals = 1
	}
	if o.MCVersion == "" {
		o.MCVersion = DefaultMCVersion
	}
	var err error
	if o.RedisBin == "" {
		if o.RedisBin, err = exec.LookPath("redis-server"); err != nil {
			return fmt.Errorf("redis-server is not on PATH (make deps-apt installs it): %w", err)
		}
	}
	if o.NodeBin == "" {
		if o.NodeBin, err = exec.LookPath("node"); err != nil {
			return fmt.Errorf("node is not on PATH (make deps-apt installs it): %w", err)
		}
	}
	for _, bin := range []string{o.EdgeBin, o.CentralBin, o.ConsulBin, o.JaegerBin, o.RedisBin, o.NodeBin} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(o.ScriptsDir, "node_modules", "flying-squid")); err != nil {
		return fmt.Errorf("fleet: flying-squid is not installed in %s (make deps-npm): %w", o.ScriptsDir, err)
	}
	return nil
}

// checkFixedPorts refuses a fixed port given twice or taken already.
func (o *Options) checkFixedPorts() error {
	fixed := map[int]string{}
	add := func(what string, port int) error {
		if port == 0 {
			return nil
		}
		if other, dup := fixed[port]; dup {
			return fmt.Errorf("fleet options: port %d is both %s and %s", port, other, what)
		}
		fixed[port] = what
		return checkFree(what, port)
	}
	for _, r := range o.Regions {
		if err := errors.Join(add("edge-"+r.Name, r.Port), add("edge-"+r.Name+" admin", r.AdminPort)); err != nil {
			return err
		}
	}
	return errors.Join(add("consul", o.ConsulPort), add("jaeger query", o.JaegerQueryPort),
		add("backend", o.BackendPort), add("central", o.CentralPort))
}

func (f *Fleet) progress(format string, args ...any) {
	if f.opts.Progress != nil {
		fmt.Fprintf(f.opts.Progress, format+"\n", args...)
	}
}

func (f *Fleet) track(p *Process) {
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
}

// baseEnv is the caller's environment without the variables that configure
// RustGuard, OpenTelemetry or Consul: each child gets exactly the settings
// the fleet gives it, whatever the shell it was started from holds.
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RUSTGUARD_") || strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, "CONSUL_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// parallel runs fns at once and returns the first error (after all ended).
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startWithRetry starts a child on ports (zeros chosen free), waits until
// ready says it is, and, when the child exited because a port chosen here
// was taken in the meantime, tries again with fresh ones.
func (f *Fleet) startWithRetry(ctx context.Context, name string, want []int, spec func(ports []int) procSpec,
	ready func(ctx context.Context, p *Process, ports []int) error) (*Process, []int, error) {
	for attempt := 1; ; attempt++ {
		ports, auto, err := resolvePorts(want...)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		if attempt == 1 {
			for i, p := range ports {
				if !auto[i] {
					if err := checkFree(name, p); err != nil {
						return nil, nil, err
					}
				}
			}
		}
		p, err := startProcess(spec(ports))
		if err != nil {
			return nil, nil, err
		}
		f.progress("started %s (pid %d), log %s", name, p.Pid(), p.LogPath)
		err = ready(ctx, p, ports)
		if err == nil {
			return p, ports, nil
		}
		p.Stop(otherStopGrace)
		if attempt < startAttempts && anyAuto(auto) && p.portTaken() {
			f.progress("%s lost a port race; trying other ports", name)
			continue
		}
		return nil, nil, err
	}
}

// waitReady calls cond every pollInterval until it returns nil, the child
// exits, or startTimeout passes.
func waitReady(ctx context.Context, p *Process, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %v (last: %v); the end of %s:\n%s", p.Name, startTimeout, err, p.LogPath, p.LogTail())
		case <-tick.C:
		}
	}
}
