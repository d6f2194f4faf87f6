package fleet

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// deploymentEnvironment is the deployment.environment.name of every span
// the local fleet sends: Jaeger shows it next to cloud.region.
const deploymentEnvironment = "local"

func (f *Fleet) startCentral(ctx context.Context, i int) error {
	name := "central-" + strconv.Itoa(i+1)
	want := []int{0, 0, 0}
	if i == 0 {
		want[0] = f.opts.CentralPort
	}
	c := &Central{Name: name}
	spec := func(p []int) procSpec {
		env := append(baseEnv(),
			"RUSTGUARD_CENTRAL_HTTP_ADDR="+loopback(p[0]),
			"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR="+loopback(p[1]),
			"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR="+loopback(p[2]),
			"RUSTGUARD_REDIS_URL="+f.RedisURL,
			"CONSUL_HTTP_ADDR="+f.ConsulAddr,
			"RUSTGUARD_ADMIN_TOKEN="+f.AdminToken,
			"RUSTGUARD_INGEST_TOKEN="+f.IngestToken,
			// Forward every trace to Jaeger.
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+f.Jaeger.OTLPGRPC,
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name="+deploymentEnvironment,
		)
		env = append(env, f.opts.CentralEnv...)
		c.spec = procSpec{name: name, bin: f.opts.CentralBin, dir: f.opts.Dir, env: env, log: logPath(f.opts.Dir, name)}
		return c.spec
	}
	ready := func(ctx context.Context, p *Process, ports []int) error {
		return waitCentral(ctx, p, "http://"+loopback(ports[0]))
	}
	p, ports, err := f.startWithRetry(ctx, name, want, spec, ready)
	if err != nil {
		return err
	}
	c.API = "http://" + loopback(ports[0])
	c.OTLPGRPC = loopback(ports[1])
	c.proc = p
	f.Centrals[i] = c
	return nil
}

// waitCentral waits until central's /readyz says Redis and Consul are ok.
func waitCentral(ctx context.Context, p *Process, api string) error {
	return waitReady(ctx, p, func(ctx context.Context) error {
		var r struct {
			Ready        bool              `json:"ready"`
			Dependencies map[string]string `json:"dependencies"`
		}
		if err := getJSON(ctx, api+"/readyz", &r); err != nil {
			return err
		}
		if !r.Ready || r.Dependencies["consul"] != "ok" {
			return fmt.Errorf("%w: %v", errNotReady, r.Dependencies)
		}
		return nil
	})
}

// Proc is the central's process while it runs (nil when stopped).
func (c *Central) Proc() *Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proc
}

// procOrNil is Proc on a Central that may be nil (a failed start).
func (c *Central) procOrNil() *Process {
	if c == nil {
		return nil
	}
	return c.Proc()
}

// Stop stops this replica by PID (for an outage); Start starts it again on
// the same ports.
func (c *Central) Stop() {
	c.mu.Lock()
	p := c.proc
	c.proc = nil
	c.mu.Unlock()
	if p != nil {
		p.Stop(centralStopGrace)
	}
}

// Start starts a stopped replica again with the same settings and waits
// until it is ready.
func (c *Central) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return fmt.Errorf("%s is running", c.Name)
	}
	p, err := startProcess(c.spec)
	if err != nil {
		return err
	}
	if err := waitCentral(ctx, p, c.API); err != nil {
		p.Stop(centralStopGrace)
		return err
	}
	c.proc = p
	return nil
}

func (f *Fleet) startEdge(ctx context.Context, i int) error {
	r := f.opts.Regions[i]
	name := "edge-" + r.Name
	e := &Edge{Region: r.Name, Instance: name}
	spec := func(p []int) procSpec {
		env := append(baseEnv(),
			"RUSTGUARD_CONFIG=",
			"RUSTGUARD_REGION="+r.Name,
			"RUSTGUARD_INSTANCE_ID="+name,
			"RUSTGUARD_LISTEN_ADDR="+loopback(p[0]),
			"RUSTGUARD_ADMIN_ADDR="+loopback(p[1]),
			// Backends come from Consul; this address is the edge's own
			// default and unused with Consul.
			"RUSTGUARD_BACKEND_ADDR="+f.Backend,
			"CONSUL_HTTP_ADDR="+f.ConsulAddr,
			"RUSTGUARD_REDIS_URL="+f.RedisURL,
			"RUSTGUARD_SHUTDOWN_TIMEOUT="+edgeShutdown,
			// Traces to central, with its ingest token (docs/TELEMETRY.md);
			// every login traced, so Jaeger shows whole sessions.
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+f.Centrals[0].OTLPGRPC,
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_EXPORTER_OTLP_HEADERS=authorization="+url.PathEscape("Bearer "+f.IngestToken),
			"OTEL_TRACES_SAMPLER=always_on",
			"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name="+deploymentEnvironment,
		)
		env = append(env, oneMachineGate()...)
		env = append(env, f.opts.EdgeEnv...)
		return procSpec{name: name, bin: f.opts.EdgeBin, dir: f.opts.Dir, env: env, log: logPath(f.opts.Dir, name)}
	}
	ready := func(ctx context.Context, p *Process, ports []int) error {
		return waitReady(ctx, p, func(ctx context.Context) error {
			var r map[string]any
			return getJSON(ctx, "http://"+loopback(ports[1])+"/readyz", &r)
		})
	}
	p, ports, err := f.startWithRetry(ctx, name, []int{r.Port, r.AdminPort}, spec, ready)
	if err != nil {
		return err
	}
	e.Addr, e.Admin, e.Proc = loopback(ports[0]), loopback(ports[1]), p
	f.Edges[i] = e
	return nil
}

// oneMachineGate lifts the admission gate's per-address and per-prefix
// limits, locally and fleet-wide: on one machine every player comes from
// 127.0.0.1 (or another loopback address), and limits made for the internet
// would refuse the second bot. Everything else keeps the edge's defaults,
// attack mode included.
func oneMachineGate() []string {
	return []string{
		"RUSTGUARD_GATE_CONN_ADDR_RATE=0", "RUSTGUARD_GATE_CONN_PREFIX_RATE=0",
		"RUSTGUARD_GATE_LOGIN_ADDR_RATE=0", "RUSTGUARD_GATE_LOGIN_PREFIX_RATE=0",
		"RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT=0", "RUSTGUARD_GATE_MAX_ACCOUNTS_PER_ADDR=0",
		"RUSTGUARD_FLEET_LOGIN_ADDR_RATE=0", "RUSTGUARD_FLEET_LOGIN_PREFIX_RATE=0", "RUSTGUARD_FLEET_LOGIN_NAME_RATE=0",
	}
}
