package discovery

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/consulwatch"
)

const (
	// requestTimeout bounds every non-blocking call (prepared queries,
	// registration, heartbeats).
	requestTimeout = 10 * time.Second
	// failoverPollInterval is how often the failover query runs while the
	// local pool is empty. Executing a prepared query does not block, so
	// remote changes are only seen by asking again; 5 s matches the usual
	// health-check interval, which is as fast as remote health can change.
	failoverPollInterval = 5 * time.Second
)

// blockingLoop runs fetch under Consul's blocking-query discipline
// (shared/consulwatch) until ctx ends. fetch receives the index to send and
// returns the index of its answer; it publishes what it learnt itself, so
// an error keeps the last good pool: a Consul hiccup must not empty the
// routing table. An error of any watcher resets the index of all of them
// (Consul.outages).
func (c *Consul) blockingLoop(ctx context.Context, name string, fetch func(ctx context.Context, index uint64, wait time.Duration) (uint64, error)) {
	consulwatch.Loop{
		Wait:   c.wait,
		Fetch:  fetch,
		Report: func(err error) { c.setFailing(ctx, name, err) },
		Epoch:  c.outages.Load,
	}.Run(ctx)
}

// serviceWatch follows the passing instances of one service.
type serviceWatch struct {
	c       *Consul
	service string
	dynamic bool // started because the catalog showed an allowed claimant
	cancel  context.CancelFunc
	synced  bool // guarded by c.mu

	// Owned by the watcher goroutine.
	answered        bool
	local           []instance
	remote          []instance
	remoteDC        string
	lastFailover    time.Time
	queryReady      bool
	failoverFailing bool
}

// startWatchLocked starts a watcher for svc; c.mu must be held.
func (c *Consul) startWatchLocked(svc string, dynamic bool) {
	ctx, cancel := context.WithCancel(c.ctx)
	w := &serviceWatch{c: c, service: svc, dynamic: dynamic, cancel: cancel}
	c.watchers[svc] = w
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		w.run(ctx)
	}()
}

// stopWatchLocked stops a discovered service's watcher and forgets its pool.
func (c *Consul) stopWatchLocked(svc string) {
	w := c.watchers[svc]
	w.cancel()
	delete(c.watchers, svc)
	delete(c.services, svc)
	delete(c.failing, watchName(svc))
	c.rebuildLocked()
	c.broadcastLocked()
	c.log.Info("stopped watching service: it no longer claims hosts, or may not", "service", svc)
}

func watchName(svc string) string { return "service " + svc }

func (w *serviceWatch) run(ctx context.Context) {
	if w.c.failover {
		w.ensureQuery(ctx)
	}
	w.c.blockingLoop(ctx, watchName(w.service), w.fetch)
}

func (w *serviceWatch) ensureQuery(ctx context.Context) {
	if err := w.c.ensureQuery(ctx, w.service); err != nil {
		w.c.log.Warn("cannot create the failover query; will execute it if it exists", "service", w.service, "err", err)
		return
	}
	w.queryReady = true
}

// fetch asks for the passing instances, waiting for a change after index,
// then consults the failover query if none is local.
func (w *serviceWatch) fetch(ctx context.Context, index uint64, wait time.Duration) (uint64, error) {
	c := w.c
	if c.failover && w.answered && len(w.local) == 0 {
		// Remote datacenters change without moving the local index: wake
		// up to ask the failover query again.
		wait = failoverPollInterval
	}
	q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
	entries, meta, err := c.o.Client.Health().Service(w.service, "", true, q.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("passing instances of %q: %w", w.service, err)
	}
	local := instancesFrom(entries, false, c.o.ClaimTag)
	changed := !sameInstances(local, w.local)
	becameEmpty := len(local) == 0 && (len(w.local) > 0 || !w.answered)
	w.local = local

	switch {
	case len(local) > 0 || !c.failover:
		if w.remote != nil {
			changed = true
			w.remote, w.remoteDC = nil, ""
		}
	case becameEmpty || time.Since(w.lastFailover) >= failoverPollInterval:
		w.lastFailover = time.Now()
		if w.runFailover(ctx) {
			changed = true
		}
	}
	w.answered = true
	if changed {
		insts, dc := (&serviceSnapshot{local: w.local, remote: w.remote, remoteDC: w.remoteDC}).active()
		c.log.Info("backends changed", "service", w.service, "instances", len(insts), "datacenter", dc, "failover", len(w.local) == 0 && len(insts) > 0)
	}
	c.publish(w, &serviceSnapshot{local: w.local, remote: w.remote, remoteDC: w.remoteDC}, changed)
	return meta.LastIndex, nil
}

// runFailover executes the failover query and reports whether the remote set
// changed. On error the last remote set is kept.
func (w *serviceWatch) runFailover(ctx context.Context) bool {
	if !w.queryReady {
		w.ensureQuery(ctx)
	}
	remote, dc, err := w.c.executeFailover(ctx, w.service)
	if err != nil {
		// The query may have been deleted (or its session invalidated):
		// ensure it again before the next attempt.
		w.queryReady = false
		if !w.failoverFailing {
			w.failoverFailing = true
			w.c.log.Warn("failover query failed, keeping the last remote backends", "service", w.service, "err", err)
		}
		return false
	}
	if w.failoverFailing {
		w.failoverFailing = false
		w.c.log.Info("failover query works again", "service", w.service)
	}
	if sameInstances(remote, w.remote) && dc == w.remoteDC {
		return false
	}
	w.remote, w.remoteDC = remote, dc
	return true
}

// catalogFilter selects the services with an instance that declares hosts
// and, when tag is set, carries it (go-bexpr syntax; /v1/catalog/services
// filters on ServiceNode fields, one instance at a time). config checks that
// a tag holds no quote or backslash.
func catalogFilter(tag string) string {
	f := `"` + MetaHostsKey + `" in ServiceMeta`
	if tag != "" {
		f += ` and "` + tag + `" in ServiceTags`
	}
	return f
}

// watchCatalog starts and stops watchers for the services allowed to claim
// hosts whose instances declare some through MetaHostsKey.
func (c *Consul) watchCatalog(ctx context.Context) {
	filter := catalogFilter(c.o.ClaimTag)
	c.blockingLoop(ctx, "catalog", func(ctx context.Context, index uint64, wait time.Duration) (uint64, error) {
		q := &api.QueryOptions{WaitIndex: index, WaitTime: wait, Filter: filter}
		services, meta, err := c.o.Client.Catalog().Services(q.WithContext(ctx))
		if err != nil {
			return 0, fmt.Errorf("services declaring hosts: %w", err)
		}
		// Filter before capping: services that may not claim hosts must
		// not use up the places of those that may.
		c.mu.Lock()
		static := c.static // replaced whole by SetRoutes, never changed in place
		c.mu.Unlock()
		var names, notAllowed []string
		for name := range services {
			switch {
			case slices.Contains(static, name):
				// Watched anyway, and what it declares is judged when the
				// table is built (a default service's hosts stay its own).
			case !c.mayClaim(name):
				notAllowed = append(notAllowed, name)
			default:
				names = append(names, name)
			}
		}
		slices.Sort(names)
		slices.Sort(notAllowed)
		var overCap []string
		if len(names) > maxDiscoveredServices {
			names, overCap = names[:maxDiscoveredServices], names[maxDiscoveredServices:]
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if !slices.Equal(notAllowed, c.notAllowed) && len(notAllowed) > 0 {
			c.log.Warn("ignoring host claims of services the configuration does not allow (discovery.host_claim_prefix, discovery.host_claim_tag)",
				"services", len(notAllowed), "first", notAllowed[:min(len(notAllowed), maxLoggedServices)])
		}
		if !slices.Equal(overCap, c.overCap) && len(overCap) > 0 {
			c.log.Warn("too many allowed services claim hosts; watching the first by name",
				"limit", maxDiscoveredServices, "left_out", len(overCap), "first_left_out", overCap[:min(len(overCap), maxLoggedServices)])
		}
		changed := !slices.Equal(notAllowed, c.notAllowed) || !slices.Equal(overCap, c.overCap)
		c.notAllowed, c.overCap = notAllowed, overCap
		for _, name := range names {
			if _, ok := c.watchers[name]; !ok {
				c.log.Info("watching service that claims hosts", "service", name)
				c.startWatchLocked(name, true)
			}
		}
		for name, w := range c.watchers {
			if w.dynamic && !slices.Contains(names, name) {
				c.stopWatchLocked(name)
			}
		}
		if changed {
			c.broadcastLocked()
		}
		return meta.LastIndex, nil
	})
}

// instancesFrom turns health entries into instances sorted by address.
// Entries without a usable address or port are skipped. An instance's hosts
// count as claims only when it carries claimTag (any instance when empty).
func instancesFrom(entries []*api.ServiceEntry, remote bool, claimTag string) []instance {
	out := make([]instance, 0, min(len(entries), maxInstancesPerService))
	for _, e := range entries {
		if len(out) == maxInstancesPerService {
			break
		}
		addr, ok := entryAddr(e, remote)
		if !ok {
			continue
		}
		out = append(out, instance{
			addr:   addr,
			hosts:  parseHosts(e.Service.Meta[MetaHostsKey]),
			tagged: claimTag == "" || slices.Contains(e.Service.Tags, claimTag),
		})
	}
	slices.SortFunc(out, func(a, b instance) int { return strings.Compare(a.addr, b.addr) })
	return slices.CompactFunc(out, func(a, b instance) bool { return a.addr == b.addr })
}

// entryAddr picks the address to dial: the service address, falling back to
// the node's (what consul-template and traefik do). For instances in another
// datacenter the "wan" tagged addresses come first, as Consul's own
// translate_wan_addrs does for DNS.
func entryAddr(e *api.ServiceEntry, remote bool) (string, bool) {
	if e == nil || e.Service == nil {
		return "", false
	}
	host, port := e.Service.Address, e.Service.Port
	if remote {
		if ta, ok := e.Service.TaggedAddresses["wan"]; ok && ta.Address != "" {
			host = ta.Address
			if ta.Port != 0 {
				port = ta.Port
			}
		} else if host == "" && e.Node != nil && e.Node.TaggedAddresses["wan"] != "" {
			host = e.Node.TaggedAddresses["wan"]
		}
	}
	if host == "" && e.Node != nil {
		host = e.Node.Address
	}
	if host == "" || port <= 0 || port > 65535 {
		return "", false
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), true
}

// parseHosts reads a MetaHostsKey value, bounded by maxHostsPerInstance and
// maxHostLen.
func parseHosts(v string) []string {
	if v == "" {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		h := normalizeHost(strings.TrimSpace(part))
		if h == "" || len(h) > maxHostLen {
			continue
		}
		if len(out) == maxHostsPerInstance {
			break
		}
		out = append(out, h)
	}
	return out
}

func sameInstances(a, b []instance) bool {
	return slices.EqualFunc(a, b, func(x, y instance) bool {
		return x.addr == y.addr && x.tagged == y.tagged && slices.Equal(x.hosts, y.hosts)
	})
}
