package discovery

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/consul/api"
)

// QueryName is the prepared query that fails service over to other
// datacenters. Operators may create it themselves (for example with a token
// that may read remote services); the edge only rewrites the fields it owns.
func QueryName(service string) string { return "rustguard-" + service }

// queryDefinition is the failover query for service: passing instances only,
// the local datacenter first, then the NearestN datacenters by WAN round-trip
// time (network coordinates), then FailoverDatacenters (api-docs/query).
func (c *Consul) queryDefinition(service string) *api.PreparedQueryDefinition {
	return &api.PreparedQueryDefinition{
		Name: QueryName(service),
		Service: api.ServiceQuery{
			Service:     service,
			OnlyPassing: true,
			Failover: api.QueryFailoverOptions{
				NearestN:    c.o.FailoverNearestN,
				Datacenters: c.o.FailoverDatacenters,
			},
		},
	}
}

// ensureQuery creates the failover query for service, or updates it when the
// fields the edge owns differ. Many edges run this at once; a lost creation
// race shows up as an error here and is settled at the next attempt.
func (c *Consul) ensureQuery(ctx context.Context, service string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	want := c.queryDefinition(service)
	defs, _, err := c.o.Client.PreparedQuery().List((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("list prepared queries: %w", err)
	}
	w := (&api.WriteOptions{}).WithContext(ctx)
	for _, d := range defs {
		if d.Name != want.Name {
			continue
		}
		if sameQuery(d, want) {
			return nil
		}
		want.ID = d.ID
		if _, err := c.o.Client.PreparedQuery().Update(want, w); err != nil {
			return fmt.Errorf("update prepared query %q: %w", want.Name, err)
		}
		c.log.Info("updated failover query", "query", want.Name)
		return nil
	}
	if _, _, err := c.o.Client.PreparedQuery().Create(want, w); err != nil {
		return fmt.Errorf("create prepared query %q: %w", want.Name, err)
	}
	c.log.Info("created failover query", "query", want.Name)
	return nil
}

// sameQuery reports whether have is the query the edge wants. Fields the
// edge does not set must be empty too: anyone who may write prepared
// queries could otherwise pre-create the query with, say, IgnoreCheckIDs
// (failing instances count as passing), Tags or meta filters, a Near node
// or a session that deletes it, and so decide where players fail over to.
// An update rewrites them all. The token is not compared: operators may give
// the query one that may read remote datacenters, and reads hide it.
func sameQuery(have, want *api.PreparedQueryDefinition) bool {
	h, w := have.Service, want.Service
	return h.Service == w.Service && h.OnlyPassing == w.OnlyPassing &&
		h.Failover.NearestN == w.Failover.NearestN &&
		slices.Equal(h.Failover.Datacenters, w.Failover.Datacenters) &&
		len(h.Failover.Targets) == 0 &&
		h.SamenessGroup == "" && h.Near == "" && len(h.IgnoreCheckIDs) == 0 &&
		len(h.Tags) == 0 && len(h.NodeMeta) == 0 && len(h.ServiceMeta) == 0 && !h.Connect &&
		have.Session == "" && have.Template.Type == ""
}

// executeFailover runs the failover query. Consul answers from the local
// datacenter when it has passing instances and otherwise from the first
// datacenter in the failover order that has some; Failovers > 0 says the
// answer is remote. Executing does not block, so callers poll.
func (c *Consul) executeFailover(ctx context.Context, service string) ([]instance, string, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, _, err := c.o.Client.PreparedQuery().Execute(QueryName(service), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, "", fmt.Errorf("execute prepared query %q: %w", QueryName(service), err)
	}
	entries := make([]*api.ServiceEntry, len(resp.Nodes))
	for i := range resp.Nodes {
		entries[i] = &resp.Nodes[i]
	}
	insts := instancesFrom(entries, resp.Failovers > 0, c.o.ClaimTag)
	if len(insts) == 0 || resp.Failovers == 0 {
		// Local instances appeared meanwhile: the local watch reports them.
		return insts, "", nil
	}
	return insts, resp.Datacenter, nil
}
