package discovery

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// SetRoutes replaces the routes and the default service while the edge
// runs (the fleet document's discovery.routes and
// discovery.backend_service). Services that become routed are watched
// first, and the new table is published once each has had a first answer
// from Consul or ctx ends, whichever comes first: a host must not be sent
// to an empty pool only because nobody asked Consul yet. Services no route
// names any more stop being watched (or, when they may claim hosts, are
// left to the catalogue watch). Players already connected keep their
// backend.
func (c *Consul) SetRoutes(ctx context.Context, routes map[string]string, defaultService string) error {
	norm := make(map[string]string, len(routes))
	for h, svc := range routes {
		h = normalizeHost(h)
		if h == "" || svc == "" {
			return fmt.Errorf("consul discovery: route %q → %q: host and service must not be empty", h, svc)
		}
		norm[h] = svc
	}
	static := slices.Sorted(maps.Values(norm))
	if defaultService != "" {
		static = append(static, defaultService)
		slices.Sort(static)
	}
	static = slices.Compact(static)

	c.mu.Lock()
	var pending []*serviceWatch
	for _, svc := range static {
		w := c.watchers[svc]
		switch {
		case w == nil:
			c.services[svc] = &serviceSnapshot{}
			c.startWatchLocked(svc, false)
			c.unsynced++
			pending = append(pending, c.watchers[svc])
		case w.dynamic:
			// Watched already as a claimant: it stays, now for its route.
			w.dynamic = false
			if !w.synced {
				c.unsynced++
				pending = append(pending, w)
			}
		}
	}
	c.mu.Unlock()

	for {
		c.mu.Lock()
		waiting := slices.ContainsFunc(pending, func(w *serviceWatch) bool { return !w.synced })
		ch := c.notify
		c.mu.Unlock()
		if !waiting {
			break
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		}
		c.log.Warn("switching routes before every newly routed service has answered; its hosts wait for backends meanwhile", "err", ctx.Err())
		break
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.static
	c.o.Routes, c.o.DefaultService, c.static = norm, defaultService, static
	for _, svc := range old {
		w := c.watchers[svc]
		if w == nil || slices.Contains(static, svc) {
			continue
		}
		if c.mayClaim(svc) {
			// The catalogue watch decides whether its claims keep it.
			w.dynamic = true
			if !w.synced {
				c.unsynced--
			}
			continue
		}
		if !w.synced {
			c.unsynced--
		}
		w.cancel()
		delete(c.watchers, svc)
		delete(c.services, svc)
		delete(c.failing, watchName(svc))
		c.log.Info("stopped watching service: no route names it any more", "service", svc)
	}
	c.rebuildLocked()
	c.broadcastLocked()
	c.log.Info("routes changed", "routes", len(norm), "default_service", defaultService)
	return nil
}
