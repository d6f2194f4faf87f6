// Package server assembles rustguard-central: the Redis client, the OTLP
// receivers (ingest), the forwarder to the tracing backend (forward), the
// aggregate and the correlator, and the operator API with /metrics,
// /healthz and /readyz.
//
// Data path of one OTLP request: ingest decodes it and hands the batch to
// the pipeline below; the aggregate stores the detections (once per span),
// the correlator judges the batch (bans, waves); once both succeeded the
// request goes to the forwarder. A pipeline failure is retryable for the
// edge, a forwarding failure never is (the forwarder only queues).
//
// The fleet configuration service plugs in through Options.Policy (the
// correlation policy it stores) and Options.API (its /v1/config* and
// /v1/fleet handlers): see docs/CENTRAL.md.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/api"
	"github.com/rustguard/rustguard/central/internal/configsvc"
	"github.com/rustguard/rustguard/central/internal/correlate"
	"github.com/rustguard/rustguard/central/internal/forward"
	"github.com/rustguard/rustguard/central/internal/ingest"
	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
)

const (
	// healthEvery is how often central pings Redis for /readyz and the
	// redis_up gauge: a load balancer checks every few seconds.
	healthEvery = time.Second
	// pingTimeout bounds one health ping.
	pingTimeout = 500 * time.Millisecond
	// readHeaderTimeout bounds a client's request headers on the HTTP
	// listeners (slowloris); bodies are bounded by their handlers.
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes kept-alive HTTP connections nobody uses.
	idleTimeout = 2 * time.Minute
	// ShutdownTimeout is what Shutdown is given by the command: in-flight
	// requests finish and the forwarder drains.
	ShutdownTimeout = 15 * time.Second
)

// redisDefaults are central's Redis client settings where the URL sets
// none. A batch's script runs in about a millisecond, but on a busy Redis
// it may wait; a read timeout shorter than the per-call deadlines (3 s)
// would only make the client resend a script Redis is still running, and
// a shorter pool wait would turn a burst of requests into "retry later"
// answers while they could have queued.
func redisDefaults() bans.ClientDefaults {
	return bans.ClientDefaults{DialTimeout: time.Second, IOTimeout: 3 * time.Second, PoolTimeout: 3 * time.Second, MaxRetries: 1, DialAttempts: 1}
}

// Options are central's inputs.
type Options struct {
	Config  config.Central
	Version string
	Log     *slog.Logger
	// Env reads the OTEL_EXPORTER_OTLP_* forward target (nil:
	// os.LookupEnv).
	Env func(string) (string, bool)
	// Policy is the correlation policy; nil: config.DefaultCorrelation().
	// The fleet configuration service (its Correlation method) goes here.
	Policy correlate.Policy
	// API adds handlers to the API's options before it is built: the
	// fleet configuration's Config and Fleet fields go in here.
	API func(*api.Options)
}

// Central is one running central.
type Central struct {
	cfg     config.Central
	log     *slog.Logger
	Metrics *prometheus.Registry

	redis redis.UniversalClient
	agg   *aggregate.Aggregator
	corr  *correlate.Correlator
	fwd   *forward.Forwarder // nil: no forwarding
	// fleet is the fleet configuration service (nil without Consul):
	// /v1/config*, /v1/fleet and the correlation policy.
	fleet   *configsvc.Service
	receive *ingest.Receiver

	apiSrv, otlpHTTP *http.Server
	grpcSrv          *grpc.Server
	apiLn, httpLn    net.Listener
	grpcLn           net.Listener

	redisUp  atomic.Bool
	redisErr atomic.Pointer[string]
	bg       context.Context
	stopBg   context.CancelFunc
	wg       sync.WaitGroup
	failed   chan error
}

// New builds central and binds its listeners (so a port 0 in the
// configuration is known through Addrs before Start).
func New(o Options) (*Central, error) {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	c := &Central{cfg: cfg, log: log, Metrics: prometheus.NewRegistry(), failed: make(chan error, 4)}
	c.bg, c.stopBg = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			c.closeAll()
		}
	}()
	c.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_central_build_info", Help: "Always 1; the version label says what runs.", ConstLabels: prometheus.Labels{"version": o.Version}},
		func() float64 { return 1 }))
	c.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_central_redis_up", Help: "1 while Redis answers central's health ping."}, func() float64 {
		if c.redisUp.Load() {
			return 1
		}
		return 0
	}))

	var err error
	if c.redis, err = bans.NewClientWith(cfg.RedisURL, redisDefaults()); err != nil {
		return nil, fmt.Errorf("RUSTGUARD_REDIS_URL: %w", err)
	}
	if c.agg, err = aggregate.New(aggregate.Config{KeyPrefix: cfg.RedisKeyPrefix, MaxLen: cfg.DetectionsMaxLen, MaxAge: cfg.DetectionsMaxAge.D()},
		aggregate.Options{Client: c.redis, Log: log.With("component", "aggregate"), Registerer: c.Metrics}); err != nil {
		return nil, err
	}
	bc := bans.Defaults()
	bc.KeyPrefix = cfg.RedisKeyPrefix
	// Central writes and lists the ban list; it does not follow it (no
	// Run), and the store's metrics are the edges'.
	store, err := bans.NewStore(bc, bans.Options{Client: c.redis, Log: log.With("component", "bans")})
	if err != nil {
		return nil, err
	}

	target, forwarding, err := forward.FromEnv(o.Env)
	if err != nil {
		return nil, fmt.Errorf("forward target: %w", err)
	}
	if forwarding {
		if c.fwd, err = forward.New(target, forward.Options{Log: log.With("component", "forward"), Registerer: c.Metrics}); err != nil {
			return nil, err
		}
		log.Info("forwarding traces", "target", target.String())
	} else {
		log.Info("no OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT: traces are not forwarded")
	}

	policy := o.Policy
	var apiFleet func(*api.Options)
	if os.Getenv("CONSUL_HTTP_ADDR") != "" {
		client, err := consulapi.NewClient(consulapi.DefaultConfig())
		if err != nil {
			return nil, fmt.Errorf("consul client: %w", err)
		}
		if c.fleet, err = configsvc.New(client, configsvc.Options{Datacenters: cfg.ConfigDatacenters,
			Registerer: c.Metrics, Log: log.With("component", "configsvc")}); err != nil {
			return nil, err
		}
		if policy == nil {
			policy = c.fleet
		}
		apiFleet = func(a *api.Options) { a.Config, a.Fleet = c.fleet, c.fleet }
	} else {
		log.Info("no CONSUL_HTTP_ADDR: no fleet configuration service (/v1/config, /v1/fleet); correlation runs on its default policy")
	}

	copts := correlate.Options{Client: c.redis, KeyPrefix: cfg.RedisKeyPrefix, History: c.agg, Bans: store, Policy: policy,
		Instance: instanceID(), Version: o.Version, Log: log.With("component", "correlate"), Registerer: c.Metrics}
	if c.fwd != nil {
		copts.Spans = c.fwd
	}
	if c.corr, err = correlate.New(copts); err != nil {
		return nil, err
	}

	iopts := ingest.Options{Sink: pipeline{c.agg, c.corr}, Token: cfg.IngestToken, Log: log.With("component", "ingest"), Registerer: c.Metrics}
	if c.fwd != nil {
		iopts.Forward = c.fwd
	}
	if c.receive, err = ingest.New(iopts); err != nil {
		return nil, err
	}

	aopts := api.Options{Token: cfg.AdminToken, Ready: c.ready, Gatherer: c.Metrics, Log: log.With("component", "api"),
		Detections: c.agg, Attacks: c.corr, Bans: store, JaegerUIURL: cfg.JaegerUIURL}
	if apiFleet != nil {
		apiFleet(&aopts)
	}
	if o.API != nil {
		o.API(&aopts)
	}
	handler, err := api.New(aopts)
	if err != nil {
		return nil, err
	}

	if c.apiLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("RUSTGUARD_CENTRAL_HTTP_ADDR: %w", err)
	}
	c.apiSrv = &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout}
	if cfg.OTLPGRPCAddr != config.ListenerOff {
		if c.grpcLn, err = net.Listen("tcp", cfg.OTLPGRPCAddr); err != nil {
			return nil, fmt.Errorf("RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR: %w", err)
		}
		c.grpcSrv = c.receive.GRPCServer()
	}
	if cfg.OTLPHTTPAddr != config.ListenerOff {
		if c.httpLn, err = net.Listen("tcp", cfg.OTLPHTTPAddr); err != nil {
			return nil, fmt.Errorf("RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR: %w", err)
		}
		c.otlpHTTP = &http.Server{Handler: c.receive.HTTPHandler(), ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout}
	}
	ok = true
	return c, nil
}

// pipeline is the ingest sink: aggregate, then correlate.
type pipeline struct {
	agg  *aggregate.Aggregator
	corr *correlate.Correlator
}

func (p pipeline) Accept(ctx context.Context, b *report.Batch) error {
	if _, err := p.agg.Record(ctx, b.Detections, p.corr.Window()); err != nil {
		return err
	}
	return p.corr.Accept(ctx, b)
}

// instanceID names this central in its own spans: the host name and a
// random suffix, so replicas on one host differ.
func instanceID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// Addrs are the bound addresses: API, OTLP/gRPC and OTLP/HTTP ("" when a
// listener is off).
func (c *Central) Addrs() (apiAddr, grpcAddr, httpAddr string) {
	apiAddr = c.apiLn.Addr().String()
	if c.grpcLn != nil {
		grpcAddr = c.grpcLn.Addr().String()
	}
	if c.httpLn != nil {
		httpAddr = c.httpLn.Addr().String()
	}
	return
}

// Start serves. It returns at once; Wait reports a listener that fails.
func (c *Central) Start() {
	c.checkRedis()
	c.wg.Go(c.healthLoop)
	if c.fleet != nil {
		c.wg.Go(c.startFleet)
	}
	if c.fwd != nil {
		c.fwd.Start()
	}
	serve := func(name string, f func() error) {
		c.wg.Go(func() {
			if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
				c.failed <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	serve("api", func() error { return c.apiSrv.Serve(c.apiLn) })
	if c.grpcSrv != nil {
		serve("otlp grpc", func() error { return c.grpcSrv.Serve(c.grpcLn) })
	}
	if c.otlpHTTP != nil {
		serve("otlp http", func() error { return c.otlpHTTP.Serve(c.httpLn) })
	}
	apiAddr, grpcAddr, httpAddr := c.Addrs()
	c.log.Info("central serving", "api", apiAddr, "otlp_grpc", grpcAddr, "otlp_http", httpAddr,
		"ingest_token", c.cfg.IngestToken != "")
}

// Wait blocks until ctx ends (nil) or a listener fails (its error).
func (c *Central) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-c.failed:
		return err
	}
}

// Shutdown stops taking requests, lets in-flight ones finish and the
// forwarder drain until ctx ends, then closes everything.
func (c *Central) Shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	if c.grpcSrv != nil {
		wg.Go(func() {
			done := make(chan struct{})
			go func() { c.grpcSrv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				c.grpcSrv.Stop()
			}
		})
	}
	if c.otlpHTTP != nil {
		wg.Go(func() { _ = c.otlpHTTP.Shutdown(ctx) })
	}
	wg.Wait()
	// The API last: /readyz answers while ingest drains.
	_ = c.apiSrv.Shutdown(ctx)
	if c.fwd != nil {
		c.fwd.Shutdown(ctx)
	}
	c.stopBg()
	c.wg.Wait()
	if c.fleet != nil {
		_ = c.fleet.Close()
	}
	c.closeAll()
	c.log.Info("central stopped")
}

func (c *Central) closeAll() {
	c.stopBg()
	for _, ln := range []net.Listener{c.apiLn, c.grpcLn, c.httpLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if c.redis != nil {
		_ = c.redis.Close()
	}
}

func (c *Central) healthLoop() {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		select {
		case <-c.bg.Done():
			return
		case <-t.C:
			c.checkRedis()
		}
	}
}

func (c *Central) checkRedis() {
	ctx, cancel := context.WithTimeout(c.bg, pingTimeout)
	err := c.redis.Ping(ctx).Err()
	cancel()
	was := c.redisUp.Swap(err == nil)
	switch {
	case err != nil:
		msg := err.Error()
		c.redisErr.Store(&msg)
		if was {
			c.log.Warn("Redis unreachable: ingest answers 'retry later' until it is back", "err", err)
		}
	case !was:
		c.log.Info("Redis reachable")
	}
}

// ready is /readyz: Redis is what central needs to do its job; the
// forwarder's state is shown but does not make central unready (edges
// retry for aggregation, not for the tracing backend).
func (c *Central) ready() (bool, map[string]string) {
	deps := map[string]string{}
	ok := c.redisUp.Load()
	if ok {
		deps["redis"] = "ok"
	} else if p := c.redisErr.Load(); p != nil {
		deps["redis"] = "down: " + *p
	} else {
		deps["redis"] = "down"
	}
	// Consul is shown, never a reason to be unready: ingest and the ban
	// API work without it, and the configuration service catches up.
	if c.fleet == nil {
		deps["consul"] = "off"
	} else if fok, msg := c.fleet.Ready(); fok {
		deps["consul"] = "ok"
	} else {
		deps["consul"] = "down: " + msg
	}
	if c.fwd == nil {
		deps["forward"] = "disabled"
	} else {
		_, detail := c.fwd.Health()
		deps["forward"] = detail
	}
	return ok, deps
}

// fleetRetry bounds the wait between attempts to start the fleet
// configuration service while Consul does not answer: central serves
// everything else meanwhile and the service starts when Consul is back.
const (
	fleetRetryFirst = 500 * time.Millisecond
	fleetRetryMax   = 15 * time.Second
)

// startFleet starts the fleet configuration service (it creates the key
// layout in Consul), retrying with back-off until Consul answers.
func (c *Central) startFleet() {
	wait := fleetRetryFirst
	for {
		err := c.fleet.Start(c.bg)
		if err == nil {
			c.log.Info("fleet configuration service started")
			return
		}
		if c.bg.Err() != nil {
			return
		}
		c.log.Warn("fleet configuration service cannot start yet; retrying", "err", err, "in", wait.String())
		select {
		case <-c.bg.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, fleetRetryMax)
	}
}
