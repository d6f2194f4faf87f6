package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/config"
)

// EdgeServiceName is the Consul service every edge registers as (central's
// fleet view reads it).
const EdgeServiceName = config.EdgeService

const (
	// defaultHeartbeatTTL: the TTL check goes critical when the edge has not
	// passed it for this long (fabio's register.go uses the same 15 s).
	defaultHeartbeatTTL = 15 * time.Second
	// defaultReadyzInterval is how often the agent GETs /readyz.
	defaultReadyzInterval = 5 * time.Second
	// readyzTimeout bounds one /readyz request by the agent; the handler
	// answers from memory, so anything slower means the edge is stuck.
	readyzTimeout = 2 * time.Second
	// deregisterCriticalAfter removes a dead edge from the catalog. One
	// minute is Consul's minimum; its reaper runs every 30 s, so a dead
	// edge disappears within about 90 s.
	deregisterCriticalAfter = time.Minute
	// heartbeatsPerTTL: passing the TTL three times per period survives one
	// lost update without going critical.
	heartbeatsPerTTL = 3
)

// RegistrationOptions describe this edge in Consul.
type RegistrationOptions struct {
	Client     *api.Client // required
	Region     string
	InstanceID string // service ID; unique per agent (required)
	ListenAddr string // player listener, host:port
	AdminAddr  string // admin listener serving /readyz, host:port (required)
	Version    string
	// Meta holds further service meta keys (the fleet configuration
	// version, config.MetaConfigVersion); the keys above win.
	Meta map[string]string
	// TTL of the heartbeat check (default 15 s); passed every TTL/3.
	TTL time.Duration
	// CheckInterval of the agent's /readyz check (default 5 s).
	CheckInterval time.Duration
	Log           *slog.Logger
}

// Registration is this edge's entry in Consul. Close removes it.
type Registration struct {
	client   *api.Client
	id       string     // the service ID
	mu       sync.Mutex // guards def: SetMeta replaces its Meta
	def      *api.AgentServiceRegistration
	ttlCheck string
	ttl      time.Duration
	log      *slog.Logger
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
	err      error
}

// Register registers the edge as EdgeServiceName with its region, instance,
// listen address and version in service meta, an HTTP check on the admin
// /readyz and a TTL check kept passing by a goroutine. Both checks let the
// agent remove the service if the edge dies. Close deregisters it.
func Register(ctx context.Context, o RegistrationOptions) (*Registration, error) {
	if o.Client == nil || o.InstanceID == "" || o.AdminAddr == "" {
		return nil, errors.New("register edge: client, instance id and admin address are required")
	}
	if o.TTL <= 0 {
		o.TTL = defaultHeartbeatTTL
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = defaultReadyzInterval
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	readyz, err := readyzURL(o.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("register edge: %w", err)
	}
	addr, port, err := serviceAddress(o.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("register edge: %w", err)
	}
	r := &Registration{
		client:   o.Client,
		id:       o.InstanceID,
		ttlCheck: o.InstanceID + ":heartbeat",
		ttl:      o.TTL,
		log:      o.Log.With("component", "registration", "service_id", o.InstanceID),
		done:     make(chan struct{}),
	}
	meta := map[string]string{
		"region":   o.Region,
		"instance": o.InstanceID,
		"listen":   o.ListenAddr,
		"version":  o.Version,
	}
	for k, v := range o.Meta {
		if _, own := meta[k]; !own {
			meta[k] = v
		}
	}
	r.def = &api.AgentServiceRegistration{
		ID:      o.InstanceID,
		Name:    EdgeServiceName,
		Tags:    []string{"edge"},
		Address: addr,
		Port:    port,
		Meta:    meta,
		Checks: api.AgentServiceChecks{
			{
				CheckID:                        o.InstanceID + ":readyz",
				Name:                           "edge ready (/readyz)",
				HTTP:                           readyz,
				Method:                         "GET",
				Interval:                       o.CheckInterval.String(),
				Timeout:                        readyzTimeout.String(),
				DeregisterCriticalServiceAfter: deregisterCriticalAfter.String(),
			},
			{
				CheckID:                        r.ttlCheck,
				Name:                           "edge heartbeat",
				TTL:                            o.TTL.String(),
				Status:                         api.HealthPassing,
				DeregisterCriticalServiceAfter: deregisterCriticalAfter.String(),
			},
		},
	}
	if err := r.register(ctx); err != nil {
		return nil, err
	}
	r.log.Info("registered in consul", "service", EdgeServiceName)
	hctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.heartbeat(hctx)
	return r, nil
}

func (r *Registration) register(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	r.mu.Lock()
	def := *r.def
	r.mu.Unlock()
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := r.client.Agent().ServiceRegisterOpts(&def, opts); err != nil {
		return fmt.Errorf("register %s as %q: %w", EdgeServiceName, def.ID, err)
	}
	return nil
}

// SetMeta sets service meta keys (the fleet configuration version the
// edge runs, config.MetaConfigVersion) and registers again at once, so
// the catalogue shows them. Other keys keep their values. When the agent
// cannot be reached the new values stay with the registration and go out
// with the heartbeat's next re-registration.
func (r *Registration) SetMeta(ctx context.Context, kv map[string]string) error {
	r.mu.Lock()
	def := *r.def
	meta := make(map[string]string, len(def.Meta)+len(kv))
	for k, v := range def.Meta {
		meta[k] = v
	}
	for k, v := range kv {
		meta[k] = v
	}
	def.Meta = meta
	r.def = &def
	r.mu.Unlock()
	return r.register(ctx)
}

// heartbeat passes the TTL check every TTL/3. When an update fails (the
// agent restarted and forgot us, or is unreachable), it registers again and
// passes at once, so an agent restart does not leave the edge unlisted.
func (r *Registration) heartbeat(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.ttl / heartbeatsPerTTL)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.pass(ctx)
		if err != nil && ctx.Err() == nil {
			if rerr := r.register(ctx); rerr == nil {
				err = r.pass(ctx)
			}
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && !failing:
			failing = true
			r.log.Warn("cannot pass the heartbeat check; consul will mark this edge critical", "err", err)
		case err == nil && failing:
			failing = false
			r.log.Info("heartbeat check passing again")
		}
	}
}

func (r *Registration) pass(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	q := (&api.QueryOptions{}).WithContext(ctx)
	if err := r.client.Agent().UpdateTTLOpts(r.ttlCheck, "edge alive", api.HealthPassing, q); err != nil {
		return fmt.Errorf("pass check %q: %w", r.ttlCheck, err)
	}
	return nil
}

// stopHeartbeat ends the TTL loop without deregistering: what a crash looks
// like to Consul.
func (r *Registration) stopHeartbeat() {
	r.cancel()
	<-r.done
}

// SetMaintenance puts the edge in (or takes it out of) maintenance mode,
// which makes it critical for everyone who reads health: the first step of a
// drain before Close.
func (r *Registration) SetMaintenance(ctx context.Context, on bool, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	q := (&api.QueryOptions{}).WithContext(ctx)
	var err error
	if on {
		err = r.client.Agent().EnableServiceMaintenanceOpts(r.id, reason, q)
	} else {
		err = r.client.Agent().DisableServiceMaintenanceOpts(r.id, q)
	}
	if err != nil {
		return fmt.Errorf("maintenance=%t for %q: %w", on, r.id, err)
	}
	return nil
}

// Close stops the heartbeat and deregisters the edge. It is safe to call
// more than once; later calls return the first result.
func (r *Registration) Close() error {
	r.once.Do(func() {
		r.stopHeartbeat()
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		if err := r.client.Agent().ServiceDeregisterOpts(r.id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			r.err = fmt.Errorf("deregister %q: %w", r.id, err)
			return
		}
		r.log.Info("deregistered from consul")
	})
	return r.err
}

// Deregister is Close.
func (r *Registration) Deregister() error { return r.Close() }

// readyzURL is the URL the agent polls. The agent runs on the same host, so
// an unspecified admin host (":9565", "0.0.0.0:9565") means loopback.
func readyzURL(admin string) (string, error) {
	host, port, err := net.SplitHostPort(admin)
	if err != nil {
		return "", fmt.Errorf("admin address %q: %w", admin, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// serviceAddress splits the player listen address for the catalog. An
// unspecified host is left empty so the agent advertises its node address.
func serviceAddress(listen string) (string, int, error) {
	if listen == "" {
		return "", 0, nil
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("listen address %q: bad port", listen)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = ""
	}
	return host, port, nil
}
