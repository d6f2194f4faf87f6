package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/discovery"
	"github.com/rustguard/rustguard/edge/internal/fleetconfig"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/edge/internal/status"
	"github.com/rustguard/rustguard/edge/internal/tracing"
	"github.com/rustguard/rustguard/shared/config"
)

// metaTimeout bounds updating the edge's Consul registration after a
// version was applied; the heartbeat re-registers with the new meta later
// if the agent does not answer in time.
const metaTimeout = 5 * time.Second

// fleetState is what the edge keeps for the fleet configuration: the
// components a new version changes and the watcher that delivers it.
type fleetState struct {
	client      *api.Client // nil without Consul
	statusCache *status.Cache
	watcher     *fleetconfig.Watcher // nil without Consul or with discovery.fleet_config off
	knownHosts  atomic.Pointer[map[string]bool]
	// onApply is the hook OnConfigApply sets (a trace span per apply).
	onApply atomic.Pointer[func(fleetconfig.Attempt)]

	regMu sync.Mutex // orders registering with reporting a new version
	reg   *discovery.Registration
}

// OnConfigApply sets a function called after every attempt to apply a
// fleet configuration version, applied or refused (the tracing of config
// operations hooks in here). Safe to call at any time.
func (e *Edge) OnConfigApply(f func(fleetconfig.Attempt)) { e.onApply.Store(&f) }

// FleetConfig is what the edge runs of the fleet configuration; the zero
// Status when it does not follow one.
func (e *Edge) FleetConfig() fleetconfig.Status {
	if e.watcher == nil {
		return fleetconfig.Status{State: fleetconfig.StateLocal}
	}
	return e.watcher.Status()
}

func (e *Edge) newFleetConfig() error {
	w, err := fleetconfig.New(fleetconfig.Options{
		Client: e.client,
		Local:  e.cfg,
		Apply:  e.applyFleet,
		Report: e.reportFleet,
		OnApply: func(a fleetconfig.Attempt) {
			e.Tracing.ConfigApplied(int64(a.Version), configResult(a), a.Err)
			if f := e.onApply.Load(); f != nil {
				(*f)(a)
			}
		},
		Registerer: e.Metrics.Registry,
		Log:        e.log,
	})
	if err != nil {
		return fmt.Errorf("fleet configuration: %w", err)
	}
	e.watcher = w
	return nil
}

// applyFleet makes the live settings of cfg current (config.LiveFields):
// detection policy, gate, disconnect messages, status answers and routes.
// Everything that can refuse is checked before anything changes, so a
// refused version leaves the edge as it was. Connected players stay; their
// next packets, logins and pings follow the new settings.
func (e *Edge) applyFleet(ctx context.Context, cfg config.Edge) error {
	var pol *detect.Policy
	if e.Engine != nil {
		dcfg, err := detect.ConfigFrom(cfg.Detection)
		if err != nil {
			return err
		}
		if pol, err = e.Engine.Compile(dcfg); err != nil {
			return err
		}
	}
	gcfg := gateConfig(cfg.Gate)
	if err := gcfg.Validate(); err != nil {
		return fmt.Errorf("gate: %w", err)
	}

	if pol != nil {
		e.Engine.Use(pol)
	}
	if err := e.Gate.Reconfigure(gcfg); err != nil {
		// Validated above; only a bug gets here, after the detection
		// policy changed. Say so rather than pretend nothing did.
		return fmt.Errorf("gate (the detection policy was applied): %w", err)
	}
	e.setKnownHosts(cfg.Gate.AllowedHosts)
	e.handler.SetMessages(messages(cfg.Messages))
	e.statusCache.SetPolicy(statusPolicy(cfg.Status))
	if e.consul != nil {
		if err := e.consul.SetRoutes(ctx, cfg.Discovery.Routes, cfg.Discovery.BackendService); err != nil {
			return fmt.Errorf("routes (the rest was applied): %w", err)
		}
	}
	return nil
}

// reportFleet shows the fleet which version this edge runs: its Consul
// registration meta (central's fleet view reads it).
func (e *Edge) reportFleet(st fleetconfig.Status) {
	e.regMu.Lock()
	defer e.regMu.Unlock()
	if e.reg == nil {
		return // register() reads the status when it registers
	}
	ctx, cancel := context.WithTimeout(e.bg, metaTimeout)
	defer cancel()
	if err := e.reg.SetMeta(ctx, st.Meta()); err != nil {
		e.log.Warn("cannot update the configuration version in consul; the next heartbeat will", "err", err)
	}
}

// register lists the edge in Consul with the configuration version it
// runs at that moment.
func (e *Edge) register() {
	e.regMu.Lock()
	defer e.regMu.Unlock()
	reg, err := discovery.Register(e.bg, discovery.RegistrationOptions{
		Client: e.client, Region: e.cfg.Region, InstanceID: e.instance,
		ListenAddr: e.ln.Addr().String(), AdminAddr: e.adm.Addr().String(), Version: e.version,
		Meta: e.FleetConfig().Meta(), Log: e.log,
	})
	if err != nil {
		// Not fatal: the edge serves players without being listed, and
		// operators see the warning.
		e.log.Warn("consul registration failed", "err", err)
		return
	}
	e.reg = reg
}

func (e *Edge) registration() *discovery.Registration {
	e.regMu.Lock()
	defer e.regMu.Unlock()
	return e.reg
}

// fleetHealth is the /readyz "config" entry; nil without a watcher.
func (e *Edge) fleetHealth() any {
	if e.watcher == nil {
		return nil
	}
	return e.watcher.Status()
}

func messages(m config.Messages) reason.Messages {
	return reason.Messages{
		BackendUnavailable: m.BackendUnavailable,
		ServerFull:         m.ServerFull,
		Shutdown:           m.Shutdown,
		UnsupportedVersion: m.UnsupportedVersion,
	}
}

func statusPolicy(s config.Status) status.Policy {
	return status.Policy{TTL: s.CacheTTL.D(), FetchTimeout: s.FetchTimeout.D(),
		Fallback: status.Fallback{MOTD: s.FallbackMOTD, MaxPlayers: s.FallbackMaxPlayers}}
}

// configResult names an attempt's outcome for its rustguard.config.apply
// span: applied, refused, or applied with settings waiting for a restart.
func configResult(a fleetconfig.Attempt) string {
	switch {
	case a.Outcome == fleetconfig.OutcomeRefused:
		return tracing.ConfigResultRefused
	case len(a.RestartRequired) > 0:
		return tracing.ConfigResultRestartNeeded
	}
	return tracing.ConfigResultApplied
}
