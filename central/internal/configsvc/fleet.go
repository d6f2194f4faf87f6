package configsvc

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/config"
)

// maxDatacenters bounds how many datacenters the fleet view asks, one
// request each (as the correlation policy bounds regions).
const maxDatacenters = 64

// Edge is one edge as Consul's catalogue shows it.
type Edge struct {
	ID         string `json:"id"`
	Datacenter string `json:"datacenter"`
	Node       string `json:"node"`
	Address    string `json:"address"`
	Region     string `json:"region"`
	Version    string `json:"version"` // the edge's build
	// ConfigVersion is the fleet document version the edge runs (0: its
	// own configuration only); ConfigStatus says whether the newest was
	// applied, refused or waits for a restart (config.MetaConfigStatus).
	ConfigVersion uint64 `json:"config_version"`
	ConfigStatus  string `json:"config_status,omitempty"`
	// Health is the worst of the edge's checks: passing, warning, critical
	// or maintenance.
	Health string `json:"health"`
}

// DatacenterView is one datacenter in the fleet view.
type DatacenterView struct {
	Name string `json:"name"`
	// ConfigVersion is the version its KV holds ("" when this central does
	// not copy to it and it is not the local one).
	ConfigVersion uint64 `json:"config_version,omitempty"`
	Edges         int    `json:"edges"`
	// Error is why the datacenter could not be asked, or why the copy of
	// the document to it failed.
	Error string `json:"error,omitempty"`
}

// FleetView is every edge with the version it runs.
type FleetView struct {
	// Version is the current fleet document version.
	Version uint64 `json:"version"`
	// Converged is true when every passing edge runs Version.
	Converged   bool             `json:"converged"`
	Edges       []Edge           `json:"edges"`
	Datacenters []DatacenterView `json:"datacenters"`
}

// Fleet lists every edge registered in any datacenter Consul knows, with
// its region, health and the configuration version it reports.
func (s *Service) Fleet(ctx context.Context) (FleetView, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return FleetView{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	dcs, err := s.client.Catalog().Datacenters()
	if err != nil {
		return FleetView{}, fmt.Errorf("list datacenters: %w", err)
	}
	if len(dcs) > maxDatacenters {
		dcs = dcs[:maxDatacenters]
	}
	copies := make(map[string]DatacenterStatus)
	for _, st := range s.Datacenters() {
		copies[st.Name] = st
	}
	local := ""
	if self, err := s.client.Agent().Self(); err == nil {
		if c, ok := self["Config"]; ok {
			local, _ = c["Datacenter"].(string)
		}
	}
	view := FleetView{Version: cur.Version, Converged: true, Edges: []Edge{}}
	for _, dc := range dcs {
		dv := DatacenterView{Name: dc}
		switch c, ok := copies[dc]; {
		case dc == local:
			dv.ConfigVersion = cur.Version
		case ok:
			dv.ConfigVersion, dv.Error = c.Version, c.Error
		}
		entries, _, err := s.client.Health().Service(config.EdgeService, "", false, (&api.QueryOptions{Datacenter: dc}).WithContext(rctx))
		if err != nil {
			dv.Error = fmt.Sprintf("list edges: %v", err)
			view.Converged = false
			view.Datacenters = append(view.Datacenters, dv)
			continue
		}
		for _, e := range entries {
			edge := edgeFrom(dc, e)
			if edge.Health == api.HealthPassing && edge.ConfigVersion != cur.Version {
				view.Converged = false
			}
			view.Edges = append(view.Edges, edge)
			dv.Edges++
		}
		view.Datacenters = append(view.Datacenters, dv)
	}
	slices.SortFunc(view.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.Datacenter, b.Datacenter), cmp.Compare(a.Region, b.Region), cmp.Compare(a.ID, b.ID))
	})
	return view, nil
}

func edgeFrom(dc string, e *api.ServiceEntry) Edge {
	out := Edge{Datacenter: dc, Health: e.Checks.AggregatedStatus()}
	if e.Node != nil {
		out.Node = e.Node.Node
		out.Address = e.Node.Address
	}
	if svc := e.Service; svc != nil {
		out.ID = svc.ID
		if svc.Address != "" {
			out.Address = svc.Address
		}
		if svc.Port > 0 {
			out.Address = net.JoinHostPort(out.Address, strconv.Itoa(svc.Port))
		}
		out.Region = svc.Meta["region"]
		out.Version = svc.Meta["version"]
		out.ConfigVersion, _ = strconv.ParseUint(svc.Meta[config.MetaConfigVersion], 10, 64)
		out.ConfigStatus = svc.Meta[config.MetaConfigStatus]
	}
	return out
}
