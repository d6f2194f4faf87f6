// Package server assembles one edge process from its configuration: the
// listener, the connection handler, backend discovery, the status cache and
// the admin endpoints, and runs them until shutdown. cmd/rustguard-edge
// loads the configuration and calls it; tests call it with loopback
// addresses.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/edge/internal/admin"
	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/conn"
	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/discovery"
	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/edge/internal/limbo"
	"github.com/rustguard/rustguard/edge/internal/limits"
	"github.com/rustguard/rustguard/edge/internal/listener"
	"github.com/rustguard/rustguard/edge/internal/proxyproto"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/edge/internal/record"
	"github.com/rustguard/rustguard/edge/internal/status"
	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/edge/internal/tracing"
	"github.com/rustguard/rustguard/edge/internal/world"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// Edge is one running edge.
type Edge struct {
	cfg     config.Edge
	log     *slog.Logger
	Metrics *telemetry.Metrics
	Engine  *detect.Engine // nil when detection is off
	Gate    *gate.Gate
	// Tracing is the edge's tracer provider (off unless an OTLP exporter
	// is configured); its ConfigApplied records live configuration
	// changes.
	Tracing       *tracing.Tracing
	attackReports *tracing.AttackReporter // nil when tracing is off
	backends      backendSet
	static        *discovery.Static     // nil with Consul
	consul        *discovery.Consul     // nil without Consul
	redis         redis.UniversalClient // nil without Redis
	bans          *bans.Store           // the fleet's ban list; nil without Redis
	localBans     *bans.Local           // detection bans this edge holds alone
	recs          *record.Recorders     // nil when recording is off
	fleet         *limits.Fleet
	attack        *limits.AttackSignal
	banFailClosed bool
	handler       *conn.Handler
	ln            *listener.Listener
	adm           *admin.Server
	bg            context.Context
	cancelBg      context.CancelFunc
	served        chan error
	version       string
	instance      string
	fleetState    // the fleet configuration (fleetconfig.go)
	// world is the world replica (nil when world.budget_bytes is 0 or
	// play is not inspected).
	world *world.Store
}

// backendSet is what the edge needs from discovery beyond the handler's view.
type backendSet interface {
	conn.Backends
	Reachable() bool
}

// knownHost tells the status cache which hosts the operator named, so
// that only those get status entries of their own: the exact entries of
// gate.allowed_hosts (a wildcard matches hosts without end) and, with
// Consul, the hosts routes and accepted claims name.
func (e *Edge) knownHost() func(host string) bool {
	consul := e.consul
	return func(host string) bool {
		return (*e.knownHosts.Load())[host] || consul != nil && consul.Routed(host)
	}
}

// setKnownHosts records the exact entries of gate.allowed_hosts for
// knownHost (the fleet document may change them).
func (e *Edge) setKnownHosts(allowed []string) {
	exact := make(map[string]bool)
	for _, h := range allowed {
		h = strings.ToLower(strings.TrimRight(strings.TrimSpace(h), "."))
		if h != "" && !strings.HasPrefix(h, "*") {
			exact[h] = true
		}
	}
	e.knownHosts.Store(&exact)
}

// New binds the player and admin listeners and prepares everything else.
// When it fails, whatever it had started is stopped again (abandon).
func New(cfg config.Edge, version string, log *slog.Logger) (_ *Edge, err error) {
	p := cfg.Proxy
	e := &Edge{cfg: cfg, log: log, Metrics: telemetry.New(cfg.Region, version), served: make(chan error, 1),
		version: version, instance: cfg.Discovery.InstanceID}
	if e.instance == "" {
		e.instance = instanceID()
	}
	e.bg, e.cancelBg = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			e.abandon()
		}
	}()
	tr, err := tracing.New(e.bg, tracing.Options{Region: cfg.Region, Instance: e.instance, Version: version,
		Registry: e.Metrics.Registry, Log: log})
	if err != nil {
		return nil, err
	}
	e.Tracing = tr

	e.setKnownHosts(cfg.Gate.AllowedHosts)
	tune := func(c net.Conn) { conn.TuneTCP(c, p.EnableTCPNoDelay, p.EnableKeepalive, p.KeepaliveInterval.D()) }
	if discovery.ConsulConfigured() {
		client, err := discovery.NewConsulClient()
		if err != nil {
			return nil, fmt.Errorf("consul client: %w", err)
		}
		// One client for discovery, registration and the fleet
		// configuration: it pools connections to the agent.
		e.client = client
		e.consul, err = discovery.NewConsul(discovery.ConsulOptions{
			Client: client, Routes: cfg.Discovery.Routes, DefaultService: cfg.Discovery.BackendService,
			ClaimPrefix: cfg.Discovery.HostClaimPrefix, ClaimTag: cfg.Discovery.HostClaimTag,
			DialTimeout: p.DialTimeout.D(), FailoverNearestN: cfg.Discovery.FailoverNearest,
			NoFailover: cfg.Discovery.FailoverNearest == 0, Metrics: e.Metrics, Log: log,
		})
		if err != nil {
			return nil, fmt.Errorf("consul discovery: %w", err)
		}
		e.backends = e.consul
		consul := e.consul
		e.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustguard_edge_consul_up", Help: "1 while the Consul agent answers the edge's discovery queries (0: serving the last known backends).",
			ConstLabels: prometheus.Labels{"region": cfg.Region}}, func() float64 {
			if consul.State().ConsulReachable {
				return 1
			}
			return 0
		}))
	} else {
		e.static = discovery.NewStatic(p.ServerAddress, p.DialTimeout.D(), e.Metrics, log)
		e.backends = e.static
	}

	var proxyHeader func(client, backend netip.AddrPort) []byte
	var preamble func() []byte
	if p.SendProxyProtocol {
		proxyHeader = func(client, backend netip.AddrPort) []byte { return proxyproto.AppendV2(nil, client, backend) }
		// A LOCAL header: the edge asks on its own behalf.
		preamble = func() []byte { return proxyproto.AppendV2(nil, netip.AddrPort{}, netip.AddrPort{}) }
	}
	statusCache := status.New(status.Options{
		TTL:          cfg.Status.CacheTTL.D(),
		FetchTimeout: cfg.Status.FetchTimeout.D(),
		Fallback:     status.Fallback{MOTD: cfg.Status.FallbackMOTD, MaxPlayers: cfg.Status.FallbackMaxPlayers},
		Dial:         e.backends.Dial,
		Preamble:     preamble,
		KnownHost:    e.knownHost(),
		Metrics:      e.Metrics,
		Log:          log,
	})
	var gdeps gate.Deps
	local, err := bans.NewLocal(bans.LocalOptions{Log: log, Registerer: e.Metrics.Registry,
		// On the banning connection's goroutine: kick the others it
		// covers in the background.
		OnAdd: func(b bans.Ban) { go e.kickBanned(e.localBans.Table(), b) }})
	if err != nil {
		return nil, err
	}
	e.localBans = local
	if cfg.Redis.URL != "" {
		if err := e.startRedis(cfg, log); err != nil {
			return nil, err
		}
		gdeps.Fleet = fleetLimiter{e.fleet}
		gdeps.Attack = e.attack
	}
	gdeps.Bans = gate.BanFunc(e.banned)
	gdeps.AddrBans = gate.AddrBanFunc(e.addrBanned)
	banner := detectionBans{d: bans.NewDetections(e.bans, e.localBans, cfg.Redis.DetectBansAddress),
		banAddress: cfg.Redis.DetectBansAddress, tracing: tr}
	var engine *detect.Engine
	if cfg.Detection.Enabled && cfg.Detection.RecordDir != "" {
		recs, err := record.New(record.Policy{Dir: cfg.Detection.RecordDir, Players: cfg.Detection.RecordPlayers,
			OnDetection: cfg.Detection.RecordOnDetection, MaxBytes: cfg.Detection.RecordMaxBytes,
			TotalMaxBytes: cfg.Detection.RecordTotalMaxBytes},
			record.Options{EdgeVersion: version, Instance: e.instance, Region: cfg.Region, Log: log, Registry: e.Metrics.Registry})
		if err != nil {
			return nil, fmt.Errorf("detection.record_dir: %w", err)
		}
		e.recs = recs
	}
	if cfg.Detection.Enabled {
		dcfg, err := detect.ConfigFrom(cfg.Detection)
		if err != nil {
			return nil, err
		}
		sinks := []detect.Sink{detect.NewLogSink(log)}
		if ds := tr.Detections(); ds != nil {
			sinks = append(sinks, ds)
		}
		engine, err = detect.New(dcfg, detect.Options{
			Region: cfg.Region, Instance: e.instance, Log: log,
			Sinks:     sinks,
			Registry:  e.Metrics.Registry,
			Banner:    banner,
			Recorders: e.recs.Factory(),
		})
		if err != nil {
			return nil, err
		}
	}
	e.Engine = engine
	if b := cfg.World.BudgetBytes; b > 0 && p.InspectPlay {
		// One replica per edge: players of one backend and world share
		// its columns (docs/WORLD.md, "Memory").
		ws := world.NewStore(b, nil)
		e.world = ws
		e.Metrics.WatchWorld(func() (int64, int) { st := ws.Stats(); return st.Bytes, st.Columns })
	}
	gdeps.Metrics, gdeps.Log = e.Metrics.Registry, log
	g, err := gate.New(gateConfig(cfg.Gate), gdeps)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	e.Gate = g
	var connGate conn.Gate = g
	if e.attackReports = tr.NewAttackReporter(g.AttackMode); e.attackReports != nil {
		connGate = reportingGate{g, e.attackReports}
	}
	pool := mcproto.NewBufferPool(p.BufferSize)
	lim, err := limbo.New(limbo.Options{Pool: pool})
	if err != nil {
		return nil, fmt.Errorf("verification limbo: %w", err)
	}
	var transferHost string
	var transferPort int
	if a := cfg.Gate.PublicAddress; a != "" {
		h, pstr, err := net.SplitHostPort(a)
		port, perr := strconv.Atoi(pstr)
		if err != nil || perr != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("gate.public_address %q: want host:port", a)
		}
		transferHost, transferPort = h, port
	}
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: "+w.Reason, "field", w.Field, "value", w.Value)
	}
	om, err := newOnlineMode(cfg.Auth, e.Metrics.Registry, log)
	if err != nil {
		return nil, err
	}
	e.handler = conn.NewHandler(conn.Options{
		AuthRoute:        om.Route,
		AuthKey:          om.Key,
		Authenticator:    authenticator(om.Authenticator),
		Limbo:            lim,
		TransferHost:     transferHost,
		TransferPort:     transferPort,
		Detect:           engine,
		World:            e.world,
		Gate:             connGate,
		Tracer:           tr.Tracer(),
		OnJoin:           e.onJoin,
		Log:              log,
		Metrics:          e.Metrics,
		Pool:             pool,
		Backends:         e.backends,
		Status:           statusCache,
		Messages:         messages(cfg.Messages),
		HandshakeTimeout: p.HandshakeTimeout.D(),
		// A backend that accepted must answer Login Start as fast as it
		// would have to accept; otherwise the next candidate is tried.
		FirstAnswerTimeout: p.DialTimeout.D(),
		LoginTimeout:       p.LoginTimeout.D(),
		IdleTimeout:        p.Timeout.D(),
		InspectPlay:        p.InspectPlay,
		ProxyHeader:        proxyHeader,
		TuneBackend:        tune,
		TuneClient:         tune,
	})
	ln, err := listener.Listen(listener.Options{
		Addr:               p.ListenAddress,
		MaxConnections:     p.MaxConnections,
		Trust:              proxyproto.NewTrust(p.TrustedProxies),
		ProxyHeaderTimeout: p.ProxyProtocolTimeout.D(),
		Handler:            e.handler,
		Admit:              func(a netip.Addr) reason.Reason { return admitReason(g.Accept(a)) },
		Metrics:            e.Metrics,
		Log:                log,
	})
	if err != nil {
		return nil, err
	}
	e.ln = ln
	e.statusCache = statusCache
	if e.client != nil && cfg.Discovery.FleetConfig {
		if err := e.newFleetConfig(); err != nil {
			return nil, err
		}
	}
	e.adm, err = admin.New(cfg.Admin.ListenAddress, e.Metrics.Registry, e.Health, e.Metrics.Ready, log)
	if err != nil {
		return nil, err
	}
	if e.world != nil {
		e.adm.Handle("GET /debug/world", worldDebug(e.world))
	}
	return e, nil
}

// abandon stops what a failed New had started, in the reverse order of
// Shutdown's dependencies: nothing here has served a player yet.
func (e *Edge) abandon() {
	if e.ln != nil {
		_ = e.ln.Close()
	}
	if e.consul != nil {
		_ = e.consul.Close() // its watchers run from NewConsul on
	}
	if e.Tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
		_ = e.Tracing.Shutdown(ctx)
		cancel()
	}
	e.cancelBg()
	if e.redis != nil {
		_ = e.redis.Close()
	}
}

// Health is the readiness report served on /readyz.
func (e *Edge) Health() admin.Health {
	deps := map[string]string{"redis": "off", "consul": "off"}
	if e.bans != nil {
		deps["redis"] = "up"
		if !e.bans.Healthy() {
			deps["redis"] = "down: serving from the ban list synced at " + e.bans.LastSync().UTC().Format(time.RFC3339) + ", local limits only"
		}
	}
	if e.consul != nil {
		deps["consul"] = "up"
		if !e.consul.State().ConsulReachable {
			deps["consul"] = "down: serving the last known backends"
		}
	}
	return admin.Health{
		Listening:       e.ln.Listening(),
		Connections:     e.ln.Active(),
		ServerReachable: e.backends.Reachable(),
		Draining:        !e.ln.Listening(),
		Region:          e.cfg.Region,
		Dependencies:    deps,
		AttackMode:      e.Gate != nil && e.Gate.AttackMode(),
		Config:          e.fleetHealth(),
	}
}

// Addr is the player-facing address; AdminAddr the admin one.
func (e *Edge) Addr() net.Addr      { return e.ln.Addr() }
func (e *Edge) AdminAddr() net.Addr { return e.adm.Addr() }

// Start runs the listener, the admin server and the backend probe in the
// background.
func (e *Edge) Start() {
	if e.static != nil {
		go e.static.Probe(e.bg)
	}
	if e.bans != nil {
		go func() {
			if err := e.bans.Run(e.bg); err != nil && e.bg.Err() == nil {
				e.log.Error("ban list sync stopped", "err", err)
			}
		}()
		go e.attack.Run(e.bg)
	}
	if e.watcher != nil {
		e.watcher.Start()
	}
	go e.attackReports.Run(e.bg) // returns at once when tracing is off
	if e.consul != nil && e.cfg.Discovery.Register {
		e.register()
	}
	go func() {
		if err := e.adm.Serve(); err != nil {
			e.log.Error("admin server stopped", "err", err)
		}
	}()
	go func() { e.served <- e.ln.Serve(e.bg) }()
	e.log.Info("edge listening", "addr", e.ln.Addr().String(), "admin", e.adm.Addr().String(),
		"backend", e.cfg.Proxy.ServerAddress, "region", e.cfg.Region)
}

// Wait blocks until ctx ends or the listener fails.
func (e *Edge) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-e.served:
		if err != nil {
			return fmt.Errorf("listener: %w", err)
		}
		return nil
	}
}

// Shutdown stops accepting, tells players in login or play why, lets the
// rest finish until the shutdown timeout and then closes what is left.
func (e *Edge) Shutdown() {
	e.log.Info("shutting down", "deadline", e.cfg.Proxy.ShutdownTimeout.String(), "connections", e.ln.Active())
	_ = e.ln.Close()
	e.handler.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Proxy.ShutdownTimeout.D())
	defer cancel()
	e.ln.Drain(ctx)
	if e.recs != nil {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := e.recs.Close(rctx); err != nil {
			e.log.Warn("recordings not all written", "err", err)
		}
		rcancel()
	}
	if e.watcher != nil {
		e.watcher.Close()
	}
	if reg := e.registration(); reg != nil {
		if err := reg.Close(); err != nil {
			e.log.Warn("consul deregistration failed", "err", err)
		}
	}
	if e.consul != nil {
		_ = e.consul.Close()
	}
	// After the drain, so the spans of the last connections are queued.
	tctx, tcancel := context.WithTimeout(context.Background(), traceFlushTimeout)
	if err := e.Tracing.Shutdown(tctx); err != nil {
		e.log.Warn("spans not all exported at shutdown", "err", err)
	}
	tcancel()
	e.cancelBg()
	if e.redis != nil {
		_ = e.redis.Close()
	}
	actx, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	_ = e.adm.Shutdown(actx)
	e.log.Info("stopped")
}

// traceFlushTimeout bounds how long a stopping edge keeps trying to export
// the spans still queued: long enough for a healthy central to take them
// (one export round trip, or a few retries over a restart), short enough
// that a central that is down costs a deploy only this much.
const traceFlushTimeout = 5 * time.Second

// instanceID names this edge process in events: host name and PID.
func instanceID() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

// gateConfig maps the configuration's gate section to the gate's Config.
func gateConfig(c config.Gate) gate.Config {
	return gate.Config{
		ConnAddr:                  gate.Rate{PerSecond: c.ConnAddrRate, Burst: c.ConnAddrBurst},
		ConnPrefix:                gate.Rate{PerSecond: c.ConnPrefixRate, Burst: c.ConnPrefixBurst},
		LoginAddr:                 gate.Rate{PerSecond: c.LoginAddrRate, Burst: c.LoginAddrBurst},
		LoginPrefix:               gate.Rate{PerSecond: c.LoginPrefixRate, Burst: c.LoginPrefixBurst},
		NamePattern:               c.NamePattern,
		AllowedHosts:              c.AllowedHosts,
		AllowedProtocols:          c.AllowedProtocols,
		DeniedProtocols:           c.DeniedProtocols,
		MaxLoginsInFlight:         c.MaxLoginsInFlight,
		MaxAccountsPerAddr:        c.MaxAccountsPerAddr,
		AttackMode:                c.AttackMode,
		AttackJoinsPerSecond:      c.AttackJoinsPerSecond,
		AttackFleetJoinsPerSecond: c.AttackFleetJoinsPerSecond,
		AttackQuiet:               c.AttackQuiet.D(),
		VerifyAlways:              c.VerifyAlways,
		VerifiedTTL:               c.VerifiedTTL.D(),
		VerifyMaxFailures:         c.VerifyMaxFailures,
		VerifyBlock:               c.VerifyBlock.D(),
	}
}

// startRedis connects the fleet's shared state: the ban list (followed in
// the background), fleet login limits and the attack signal.
func (e *Edge) startRedis(cfg config.Edge, log *slog.Logger) error {
	client, err := bans.NewClient(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	e.redis = client
	bc := bans.Defaults()
	bc.KeyPrefix = cfg.Redis.KeyPrefix
	e.banFailClosed = cfg.Redis.BansFailClosed
	e.bans, err = bans.NewStore(bc, bans.Options{Client: client, Local: e.localBans, Log: log, Registerer: e.Metrics.Registry,
		OnAdd: func(b bans.Ban) { e.kickBanned(e.bans.Table(), b) }})
	if err != nil {
		return err
	}
	fc := limits.FleetDefaults()
	fc.KeyPrefix = cfg.Redis.KeyPrefix
	fc.FailOpen = cfg.Redis.LimitsFailOpen
	fc.Timeout = cfg.Redis.LimitsTimeout.D()
	fc.Address = limits.Rate{PerSecond: cfg.Redis.LoginAddrRate, Burst: cfg.Redis.LoginAddrBurst}
	fc.Prefix = limits.Rate{PerSecond: cfg.Redis.LoginPrefixRate, Burst: cfg.Redis.LoginPrefixBurst}
	fc.Name = limits.Rate{PerSecond: cfg.Redis.LoginNameRate, Burst: cfg.Redis.LoginNameBurst}
	if e.fleet, err = limits.NewFleet(fc, limits.FleetOptions{Client: client, Log: log, Registerer: e.Metrics.Registry}); err != nil {
		return err
	}
	ac := limits.AttackDefaults()
	ac.KeyPrefix = cfg.Redis.KeyPrefix
	e.attack, err = limits.NewAttackSignal(ac, limits.AttackOptions{Client: client, Log: log, Registerer: e.Metrics.Registry})
	return err
}

// banned answers the gate from the in-memory ban lists, the fleet's and
// this edge's own: no network round trip. uuid is the login's identity
// (gate.LoginRequest.Identity).
func (e *Edge) banned(addr netip.Addr, name string, uuid mcproto.UUID, now time.Time) (string, bool) {
	if e.bans != nil {
		if b, ok := e.bans.Table().Match(addr, name, uuid, now); ok {
			return b.Message(now), true
		}
	}
	if b, ok := e.localBans.Table().Match(addr, name, uuid, now); ok {
		return b.Message(now), true
	}
	if e.bans != nil && e.banFailClosed && !e.bans.Healthy() {
		return "The ban list is unavailable right now. Please try again in a minute.", true
	}
	return "", false
}

// addrBanned answers the gate at accept: is the address in an IP or CIDR
// ban of either list? From memory, allocation-free; never fail-closed, so
// pings keep working while the ban list cannot be synced.
func (e *Edge) addrBanned(addr netip.Addr, now time.Time) bool {
	if e.bans != nil {
		if _, ok := e.bans.Table().MatchAddr(addr, now); ok {
			return true
		}
	}
	_, ok := e.localBans.Table().MatchAddr(addr, now)
	return ok
}

// admitReason is the listener's view of an accept decision.
func admitReason(d gate.Decision) reason.Reason {
	switch {
	case d.Allowed():
		return reason.None
	case d.Reason == gate.Banned:
		return reason.Banned
	}
	return reason.RateLimited
}

// kickBanned kicks online players a new ban b in tab covers, wherever it
// was issued.
func (e *Edge) kickBanned(tab *bans.Table, b bans.Ban) {
	now := time.Now()
	n := e.handler.KickWhere(func(addr netip.Addr, name string, id mcproto.UUID) (string, bool) {
		// id is the player's identity as conn knows it: the account's
		// UUID when authenticated, else the offline UUID of the name
		// (never a UUID a client merely claimed), as at login.
		if hit, ok := tab.Match(addr, name, id, now); ok && hit.ID == b.ID {
			return hit.Message(now), true
		}
		return "", false
	})
	if n > 0 {
		e.log.Info("ban kicked online players", "kind", b.Kind.String(), "source", b.Source, "players", n)
	}
}

// onJoin counts an admitted login toward the fleet's joins per second.
func (e *Edge) onJoin() {
	if e.attack != nil {
		e.attack.Join()
	}
}

// detectionBans adapts bans.Detections to the detection engine's Banner
// and traces each ban it writes (rustguard.ban).
type detectionBans struct {
	d          *bans.Detections
	banAddress bool
	tracing    *tracing.Tracing
}

func (b detectionBans) BanPlayer(t detect.BanTarget, reason, source string, d time.Duration) {
	subject := bans.Subject{Name: t.Name, UUID: t.UUID, Addr: t.Addr, Authenticated: t.Authenticated}
	b.d.Ban(subject, reason, source, d)
	if !b.tracing.Enabled() {
		return
	}
	// What Detections just wrote: DetectionBans is the rule it applies.
	now := time.Now()
	base := bans.Ban{Reason: reason, Source: source, Created: now}
	if d > 0 {
		base.Expires = now.Add(d)
	}
	for _, ban := range bans.DetectionBans(subject, b.banAddress, base) {
		b.tracing.Ban(tracing.BanAdd, ban)
	}
}

// reportingGate is the gate as the connections see it, telling the attack
// reporter about every login decision and failed verification.
type reportingGate struct {
	*gate.Gate
	reports *tracing.AttackReporter
}

func (g reportingGate) Login(ctx context.Context, r gate.LoginRequest) (*gate.Ticket, gate.Decision) {
	t, d := g.Gate.Login(ctx, r)
	g.reports.Login(r.Name, d.Allowed())
	return t, d
}

func (g reportingGate) Failed(addr netip.Addr) bool {
	g.reports.Failed()
	return g.Gate.Failed(addr)
}

// fleetLimiter adapts limits.Fleet to the gate.
type fleetLimiter struct{ f *limits.Fleet }

func (l fleetLimiter) AllowLogin(ctx context.Context, addr netip.Addr, name string) (bool, time.Duration, error) {
	d, err := l.f.AllowLogin(ctx, addr, name)
	return d.Allowed, d.RetryAfter, err
}

// authenticator is a (possibly nil) Authenticator as conn's interface:
// nil stays nil, so conn can tell that no route is online.
func authenticator(a *auth.Authenticator) conn.Authenticator {
	if a == nil {
		return nil
	}
	return a
}

// Bans is the fleet ban list (nil without Redis), for the CLI and tests.
func (e *Edge) Bans() *bans.Store { return e.bans }
