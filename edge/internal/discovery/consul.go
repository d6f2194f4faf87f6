package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/shared/consulwatch"
)

// DefaultBackendService is the Consul service that serves players when the
// configuration names none (RUSTGUARD_BACKEND_SERVICE).
const DefaultBackendService = "minecraft"

// MetaHostsKey is the service meta key through which backend instances
// declare the handshake hosts they serve, comma-separated. Only services
// the configuration allows (ConsulOptions.ClaimPrefix, ClaimTag) may claim
// hosts this way; see the package doc for the order of precedence.
const MetaHostsKey = "rustguard_hosts"

// ConsulConfigured reports whether the environment points at a Consul agent.
// The client library reads the rest of its variables itself
// (CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE, CONSUL_CACERT, ...), so the edge
// never parses them twice.
func ConsulConfigured() bool { return os.Getenv("CONSUL_HTTP_ADDR") != "" }

// NewConsulClient builds one API client for the process from the CONSUL_*
// variables. Its HTTP client has no overall timeout on purpose: blocking
// queries hold a request open for minutes, and every call here bounds itself
// with a context instead.
func NewConsulClient() (*api.Client, error) {
	c, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	return c, nil
}

// ConsulOptions configure a Consul backend set.
type ConsulOptions struct {
	// Client talks to the local Consul agent (required).
	Client *api.Client
	// Routes maps a handshake host to a service; hosts are matched
	// lower-cased without a trailing dot. Routes win over MetaHostsKey.
	Routes map[string]string
	// DefaultService serves hosts nothing else routes; empty refuses them
	// with ErrUnknownHost. Hosts its own instances declare in MetaHostsKey
	// stay with it: no claim can take them.
	DefaultService string
	// ClaimPrefix and ClaimTag name the services whose instances may claim
	// hosts through MetaHostsKey: the service name must start with
	// ClaimPrefix (when set) and the claiming instance must carry ClaimTag
	// (when set). With both empty no claim is accepted: routing is Routes
	// and DefaultService alone. Anyone who can register a service could
	// otherwise take players' hosts.
	ClaimPrefix string
	ClaimTag    string
	// DialTimeout bounds one backend dial (default 5 s).
	DialTimeout time.Duration
	// WaitTime is how long a blocking query may wait for a change
	// (default 5 min, at most 10 min).
	WaitTime time.Duration
	// FailoverNearestN is how many remote datacenters, nearest first, the
	// prepared query tries when the local one has no passing instance
	// (default 3).
	FailoverNearestN int
	// FailoverDatacenters are tried after the nearest ones, in order.
	FailoverDatacenters []string
	// NoFailover turns cross-datacenter failover off.
	NoFailover bool
	// Metrics, when set, receives backend dial latencies.
	Metrics *telemetry.Metrics
	Log     *slog.Logger
}

const (
	// defaultFailoverNearestN: three remote datacenters cover a region's
	// neighbours without sending players across the world first.
	defaultFailoverNearestN = 3
	// maxDiscoveredServices caps the services watched because their
	// instances claim hosts through MetaHostsKey: each costs a goroutine
	// and a long-poll connection. Only services allowed to claim count
	// towards it (filtered first), so others cannot crowd them out.
	maxDiscoveredServices = 64
	// maxLoggedServices is how many service names one warning lists; the
	// count says how many there are in all.
	maxLoggedServices = 8
	// maxInstancesPerService caps the instances kept per service, bounding
	// the routing table whatever the catalog holds.
	maxInstancesPerService = 1024
	// maxHostsPerInstance and maxHostLen bound what one instance may claim
	// through MetaHostsKey; 253 is the longest DNS name.
	maxHostsPerInstance = 64
	maxHostLen          = 253
)

// Consul is a Backends whose pools are Consul services.
type Consul struct {
	o        ConsulOptions // o.Routes and o.DefaultService: guarded by mu (SetRoutes)
	log      *slog.Logger
	dialer   net.Dialer
	wait     time.Duration
	static   []string // services watched whatever the catalog says; guarded by mu (SetRoutes replaces it whole)
	failover bool
	claims   bool // ClaimPrefix or ClaimTag set: MetaHostsKey is read

	table atomic.Pointer[table]

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once

	mu         sync.Mutex
	services   map[string]*serviceSnapshot // last published data per service
	watchers   map[string]*serviceWatch    // running watchers by service
	stats      map[string]*backendStats    // by address; shared with tables
	failing    map[string]bool             // watcher name → its last request failed
	unsynced   int                         // static services without a first answer yet
	everOK     bool
	lastUpdate time.Time
	// contested: host → the allowed services that all claim it (none of
	// them serves it); refused: host → services whose claim a route or the
	// default service overrides. Kept to warn once per change.
	contested map[string][]string
	refused   map[string][]string
	// Services the catalog watch left out: not allowed to claim hosts, or
	// allowed but over maxDiscoveredServices. Kept to warn once per change.
	notAllowed []string
	overCap    []string
	notify     chan struct{} // closed and replaced on every state change

	// outages counts failed requests of any watcher. Every blocking loop
	// re-reads with index 1 when it moved: a watcher that was between two
	// requests while the agent restarted sees no error itself, and its old,
	// higher index would park it on the fresh agent for the whole WaitTime.
	outages atomic.Uint64
}

// serviceSnapshot is what one watcher last learnt about its service.
type serviceSnapshot struct {
	local    []instance
	remote   []instance // from the failover query, used only while local is empty
	remoteDC string
}

func (s *serviceSnapshot) active() ([]instance, string) {
	if len(s.local) > 0 {
		return s.local, ""
	}
	return s.remote, s.remoteDC
}

// instance is one passing service instance.
type instance struct {
	addr  string
	hosts []string // from MetaHostsKey, normalized
	// tagged: the instance carries ConsulOptions.ClaimTag (always true
	// when no tag is required), so its hosts count as claims.
	tagged bool
}

// table is an immutable routing table: readers load it without locking.
type table struct {
	byHost  map[string]*pool
	def     *pool
	healthy bool
}

type pool struct {
	service    string
	datacenter string // "" when the instances are local
	backends   []backend
}

// NewConsul starts watching the services Routes and DefaultService name, and,
// when claims are allowed, the catalog for allowed services that declare
// hosts. Close stops it.
func NewConsul(o ConsulOptions) (*Consul, error) {
	if o.Client == nil {
		return nil, errors.New("consul discovery: no client")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = dialDefaultTimeout
	}
	wait := o.WaitTime
	if wait <= 0 {
		wait = consulwatch.DefaultWait
	}
	wait = min(wait, consulwatch.MaxWait)
	if o.FailoverNearestN <= 0 {
		o.FailoverNearestN = defaultFailoverNearestN
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	routes := make(map[string]string, len(o.Routes))
	for h, svc := range o.Routes {
		h = normalizeHost(h)
		if h == "" || svc == "" {
			return nil, fmt.Errorf("consul discovery: route %q → %q: host and service must not be empty", h, svc)
		}
		routes[h] = svc
	}
	o.Routes = routes
	static := slices.Sorted(maps.Values(routes))
	if o.DefaultService != "" {
		static = append(static, o.DefaultService)
		slices.Sort(static)
	}
	static = slices.Compact(static)

	c := &Consul{
		o:        o,
		log:      o.Log.With("component", "discovery"),
		wait:     wait,
		static:   static,
		failover: !o.NoFailover,
		claims:   o.ClaimPrefix != "" || o.ClaimTag != "",
		services: make(map[string]*serviceSnapshot),
		watchers: make(map[string]*serviceWatch),
		stats:    make(map[string]*backendStats),
		failing:  make(map[string]bool),
		unsynced: len(static),
		notify:   make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.Lock()
	for _, svc := range static {
		c.services[svc] = &serviceSnapshot{}
		c.startWatchLocked(svc, false)
	}
	c.rebuildLocked()
	c.mu.Unlock()
	if c.claims {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.watchCatalog(c.ctx)
		}()
	}
	return c, nil
}

// mayClaim reports whether service is allowed to claim hosts through
// MetaHostsKey (its instances must also carry ClaimTag, see instance.tagged).
func (c *Consul) mayClaim(service string) bool {
	return c.claims && strings.HasPrefix(service, c.o.ClaimPrefix)
}

// Close stops every watcher and waits for them.
func (c *Consul) Close() error {
	c.closed.Do(func() {
		c.cancel()
		c.wg.Wait()
	})
	return nil
}

// Candidates implements Backends. It takes no lock and allocates only the
// returned slice for pools up to rankStackEntries instances.
func (c *Consul) Candidates(host, playerKey string) ([]string, error) {
	t := c.table.Load()
	p, ok := t.byHost[normalizeHost(host)]
	if !ok {
		if t.def == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownHost, host)
		}
		p = t.def
	}
	if len(p.backends) == 0 {
		return nil, fmt.Errorf("%w: service %q has no passing instance", ErrBackendUnavailable, p.service)
	}
	return rank(p.backends, playerKey, time.Now().UnixNano()), nil
}

// Routed reports whether a route or an accepted host claim names host
// (lower-case, without forwarding parts), as opposed to the default pool
// serving it because nothing else does. The status cache gives such hosts
// entries of their own; like Candidates it takes no lock.
func (c *Consul) Routed(host string) bool {
	_, ok := c.table.Load().byHost[host]
	return ok
}

// Dial implements Backends. A refused or timed-out dial sends the instance to
// the end of later candidate lists for dialFailurePenalty.
func (c *Consul) Dial(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.DialTimeout)
	defer cancel()
	start := time.Now()
	conn, err := c.dialer.DialContext(ctx, "tcp", addr)
	if c.o.Metrics != nil {
		c.o.Metrics.BackendDial.Observe(time.Since(start).Seconds())
	}
	c.mu.Lock()
	s := c.stats[addr]
	c.mu.Unlock()
	if err != nil {
		if s != nil {
			s.failedUntil.Store(time.Now().Add(dialFailurePenalty).UnixNano())
		}
		return nil, fmt.Errorf("%w: dial %s: %w", ErrBackendUnavailable, addr, err)
	}
	if s != nil && s.failedUntil.Load() != 0 {
		s.failedUntil.Store(0)
	}
	return conn, nil
}

// MarkFailed sends addr to the end of later candidate lists for
// dialFailurePenalty: it accepted a connection but did not answer a login
// (hung), which its health check cannot see.
func (c *Consul) MarkFailed(addr string) {
	c.mu.Lock()
	s := c.stats[addr]
	c.mu.Unlock()
	if s != nil {
		s.failedUntil.Store(time.Now().Add(dialFailurePenalty).UnixNano())
	}
}

// Acquire implements Backends. The count changes under the lock so a table
// rebuild never prunes a counter between lookup and increment.
func (c *Consul) Acquire(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats[addr]
	if s == nil {
		s = &backendStats{}
		c.stats[addr] = s
	}
	s.conns.Add(1)
}

// Release implements Backends.
func (c *Consul) Release(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.stats[addr]; s != nil && s.conns.Add(-1) < 0 {
		// An unpaired Release is a caller bug; do not let it skew balancing.
		s.conns.Store(0)
	}
}

// Reachable implements Backends: true while any routed service has a passing
// instance, local or through failover, as last heard from Consul.
func (c *Consul) Reachable() bool { return c.table.Load().healthy }

// ServiceState describes one watched service.
type ServiceState struct {
	Instances  int    // passing instances in use
	Datacenter string // where they are: "" for the local datacenter
	Failover   bool   // true when they came from the failover query
}

// State is a snapshot for health reports and metrics.
type State struct {
	ConsulReachable bool      // every watcher's last request succeeded
	LastUpdate      time.Time // last successful answer from Consul
	Services        map[string]ServiceState
	// ClaimsNotAllowed counts services that declare hosts but are not
	// allowed to claim them; ClaimsOverCap counts allowed ones left out
	// because more than maxDiscoveredServices declare hosts.
	ClaimsNotAllowed int
	ClaimsOverCap    int
}

// State returns a snapshot of what the watchers know.
func (c *Consul) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := State{
		ConsulReachable:  c.everOK && len(c.failing) == 0,
		LastUpdate:       c.lastUpdate,
		Services:         make(map[string]ServiceState, len(c.services)),
		ClaimsNotAllowed: len(c.notAllowed),
		ClaimsOverCap:    len(c.overCap),
	}
	for name, snap := range c.services {
		insts, dc := snap.active()
		s.Services[name] = ServiceState{Instances: len(insts), Datacenter: dc, Failover: len(snap.local) == 0 && len(insts) > 0}
	}
	return s
}

// Changed returns a channel closed at the next change of routing or state.
func (c *Consul) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notify
}

// WaitSynced blocks until every service named by Routes or DefaultService has
// had a first answer from Consul, so an edge can start with a known pool.
func (c *Consul) WaitSynced(ctx context.Context) error {
	for {
		c.mu.Lock()
		done, ch := c.unsynced == 0, c.notify
		c.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for first consul answer: %w", ctx.Err())
		}
	}
}

// broadcastLocked wakes everyone waiting on Changed.
func (c *Consul) broadcastLocked() {
	close(c.notify)
	c.notify = make(chan struct{})
}

// publish records a watcher's answer and rebuilds the table when the data
// changed. It ignores watchers that were stopped meanwhile.
func (c *Consul) publish(w *serviceWatch, snap *serviceSnapshot, changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watchers[w.service] != w {
		return
	}
	if !w.synced {
		w.synced = true
		if !w.dynamic {
			c.unsynced--
		}
		changed = true
	}
	c.lastUpdate = time.Now()
	if changed {
		c.services[w.service] = snap
		c.rebuildLocked()
	}
	c.broadcastLocked()
}

// setFailing records whether a watcher's last request failed, logging once
// per outage and once on recovery. A watcher stopped meanwhile (its ctx is
// cancelled under c.mu) records nothing, so it cannot leave a stale failure.
func (c *Consul) setFailing(ctx context.Context, name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		c.outages.Add(1)
	}
	was := c.failing[name]
	switch {
	case err != nil && !was:
		c.failing[name] = true
		c.log.Warn("consul unreachable, keeping the last known backends", "watch", name, "err", err)
		c.broadcastLocked()
	case err == nil && was:
		delete(c.failing, name)
		c.log.Info("consul reachable again", "watch", name)
		c.broadcastLocked()
	}
	if err == nil && !c.everOK {
		c.everOK = true
		c.broadcastLocked()
	}
}

// rebuildLocked turns the snapshots into a new immutable table.
func (c *Consul) rebuildLocked() {
	t := &table{byHost: make(map[string]*pool)}
	pools := make(map[string]*pool, len(c.services))
	inUse := make(map[string]bool)
	names := slices.Sorted(maps.Keys(c.services))
	for _, name := range names {
		insts, dc := c.services[name].active()
		p := &pool{service: name, datacenter: dc, backends: make([]backend, 0, len(insts))}
		for _, in := range insts {
			s := c.stats[in.addr]
			if s == nil {
				s = &backendStats{}
				c.stats[in.addr] = s
			}
			inUse[in.addr] = true
			p.backends = append(p.backends, backend{addr: in.addr, stats: s})
		}
		pools[name] = p
		t.healthy = t.healthy || len(p.backends) > 0
	}

	// Hosts the default service's own instances declare stay with the
	// default pool, which serves them anyway: a claim must not take them.
	reserved := make(map[string]bool)
	if snap := c.services[c.o.DefaultService]; snap != nil {
		insts, _ := snap.active()
		for _, in := range insts {
			for _, h := range in.hosts {
				reserved[h] = true
			}
		}
	}
	// Claims from allowed services, host → claimants in name order. A
	// route or a reserved host overrides any claim.
	claims := make(map[string][]string)
	refused := make(map[string][]string)
	for _, name := range names {
		if !c.mayClaim(name) || name == c.o.DefaultService {
			continue
		}
		insts, _ := c.services[name].active()
		for _, in := range insts {
			if !in.tagged {
				continue
			}
			for _, h := range in.hosts {
				route, routed := c.o.Routes[h]
				if route == name {
					continue // the claim agrees with the route
				}
				into := claims
				if routed || reserved[h] {
					into = refused
				}
				if l := into[h]; len(l) == 0 || l[len(l)-1] != name {
					into[h] = append(l, name)
				}
			}
		}
	}
	// One claimant serves the host. Two or more serve none of them: any
	// pick (first by name, first seen) would let one allowed service take
	// another's players by claiming its host, and a pick that differs
	// between edges is worse. The host falls to the default pool until a
	// claim is withdrawn or a route settles it.
	contested := make(map[string][]string)
	for h, svcs := range claims {
		if len(svcs) == 1 {
			t.byHost[h] = pools[svcs[0]]
			continue
		}
		contested[h] = svcs
	}
	fallback := c.o.DefaultService
	if fallback == "" {
		fallback = "none (unknown host)"
	}
	for h, svcs := range contested {
		if !slices.Equal(c.contested[h], svcs) {
			c.log.Warn("several services claim one host, so none of them serves it; withdraw all claims but one or pin the host in discovery.routes",
				"host", h, "claimants", svcs, "served_by", fallback)
		}
	}
	for h, svcs := range refused {
		if !slices.Equal(c.refused[h], svcs) {
			why := "the default service declares it"
			if svc, routed := c.o.Routes[h]; routed {
				why = "discovery.routes sends it to " + svc
			}
			c.log.Warn("ignoring a host claim: "+why, "host", h, "claimants", svcs)
		}
	}
	c.contested, c.refused = contested, refused
	for h, svc := range c.o.Routes {
		t.byHost[h] = pools[svc]
	}
	if c.o.DefaultService != "" {
		t.def = pools[c.o.DefaultService]
	}
	for addr, s := range c.stats {
		if !inUse[addr] && s.conns.Load() == 0 {
			delete(c.stats, addr)
		}
	}
	c.table.Store(t)
}
