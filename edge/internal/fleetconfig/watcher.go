// Package fleetconfig follows the fleet configuration document that
// central keeps in Consul KV (shared/config's Fleet, key config.FleetKey)
// and applies it to the running edge. It watches the key with blocking
// queries (shared/consulwatch), lays each version over the edge's own
// configuration (defaults, file, environment; the document wins for the
// keys it sets, the override of the edge's region wins over the rest),
// validates the result and hands it to an Apply function that changes the
// live settings without dropping anyone.
//
// A version that does not parse, does not validate or that Apply refuses
// is refused whole: the edge keeps running the last good version and says
// why in its log (warn), its metrics and the Status its /readyz shows.
// Settings that only take effect at start (listen addresses, Redis, ...)
// are reported as waiting for a restart and not applied. A Consul outage
// keeps the last good version too.
package fleetconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/consulwatch"
)

// applyTimeout bounds one Apply: it may wait for Consul to answer about a
// newly routed service (discovery.Consul.SetRoutes), which takes
// milliseconds when Consul is well; past this the routes switch anyway.
const applyTimeout = 10 * time.Second

// maxLoggedProblems is how many problems of a refused version one log line
// and the /readyz report list; the count says how many there are.
const maxLoggedProblems = 8

// Outcomes of one attempt, for Attempt.Outcome and the log.
const (
	OutcomeApplied = "applied"
	OutcomeRefused = "refused"
)

// Attempt describes one attempt to apply a version, for OnApply (a trace
// span per apply).
type Attempt struct {
	Version  uint64
	Start    time.Time
	Duration time.Duration
	Outcome  string // OutcomeApplied or OutcomeRefused
	Err      error  // why it was refused
	// Set lists the settings the document sets for this edge;
	// RestartRequired those of them that wait for a restart.
	Set             []string
	RestartRequired []string
}

// Options configure a Watcher.
type Options struct {
	Client *api.Client // required
	// Key is the KV key to watch (config.FleetKey when empty).
	Key string
	// Local is the configuration the edge started with: every version is
	// laid over it, so a setting a version stops setting returns to it.
	Local config.Edge
	// Apply makes the live settings of an effective configuration current.
	// It must refuse, before changing anything, what it cannot apply.
	Apply func(ctx context.Context, cfg config.Edge) error
	// Report, when set, is called with the new Status after every change
	// of what the edge runs or refused (the edge puts it in its Consul
	// registration).
	Report func(Status)
	// OnApply, when set, is called after every attempt to apply a version.
	OnApply func(Attempt)
	// WaitTime of the blocking query (consulwatch.DefaultWait when 0).
	WaitTime time.Duration
	// Registerer receives the metrics; nil: none.
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// Status is what the edge runs, for /readyz and the Consul registration.
type Status struct {
	// Version is the fleet document version the edge runs; 0: none, the
	// edge runs its own configuration.
	Version uint64 `json:"version"`
	// State is config.ConfigApplied, ConfigRestartRequired, or
	// ConfigRefused while the newest version is refused; StateLocal
	// before any version was seen.
	State string `json:"state"`
	// Refused is the newest version refused (0: none since Version), with
	// its problems.
	Refused  uint64           `json:"refused_version,omitempty"`
	Problems []config.Problem `json:"problems,omitempty"`
	// RestartRequired lists the settings Version sets that wait for a
	// restart.
	RestartRequired []string `json:"restart_required,omitempty"`
	// Consul is the watch's last error, "" while Consul answers.
	Consul string `json:"consul,omitempty"`
}

// StateLocal: no version has been applied; the edge runs its own
// configuration.
const StateLocal = "local"

// Watcher follows the fleet document.
type Watcher struct {
	o   Options
	log *slog.Logger
	m   metrics

	mu          sync.Mutex
	status      Status
	applied     []byte // the document of status.Version
	modifyIndex uint64 // of the last value handled; 0: none
	missing     bool   // the key was missing at the last answer

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Watcher; Start runs it.
func New(o Options) (*Watcher, error) {
	if o.Client == nil || o.Apply == nil {
		return nil, errors.New("fleetconfig: a Consul client and an Apply function are required")
	}
	if o.Key == "" {
		o.Key = config.FleetKey
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	w := &Watcher{o: o, log: o.Log.With("component", "fleetconfig", "key", o.Key), status: Status{State: StateLocal}}
	if err := w.m.register(o.Registerer); err != nil {
		return nil, err
	}
	return w, nil
}

// Start watches the key in the background until Close.
func (w *Watcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		consulwatch.Loop{Wait: w.o.WaitTime, Fetch: w.fetch, Report: w.consulState}.Run(ctx)
	}()
}

// Close stops the watch and waits for it.
func (w *Watcher) Close() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
}

// Status returns what the edge runs now.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// fetch reads the key (blocking after index) and handles a new value.
func (w *Watcher) fetch(ctx context.Context, index uint64, wait time.Duration) (uint64, error) {
	q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
	pair, meta, err := w.o.Client.KV().Get(w.o.Key, q.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", w.o.Key, err)
	}
	if pair == nil {
		w.mu.Lock()
		first := !w.missing
		w.missing, w.modifyIndex = true, 0
		version := w.status.Version
		w.mu.Unlock()
		if first && version > 0 {
			w.log.Warn("the fleet document is gone from Consul; keeping the version applied", "version", version)
		}
		return meta.LastIndex, nil
	}
	w.mu.Lock()
	seen := pair.ModifyIndex == w.modifyIndex
	w.modifyIndex, w.missing = pair.ModifyIndex, false
	w.mu.Unlock()
	if !seen {
		w.handle(pair.Value)
	}
	return meta.LastIndex, nil
}

// consulState records whether Consul answers.
func (w *Watcher) consulState(err error) {
	w.mu.Lock()
	was := w.status.Consul
	if err == nil {
		w.status.Consul = ""
	} else {
		w.status.Consul = err.Error()
		w.m.errors.WithLabelValues("consul").Inc()
	}
	w.mu.Unlock()
	switch {
	case err != nil && was == "":
		w.log.Warn("cannot read the fleet document; keeping the version applied", "err", err)
	case err == nil && was != "":
		w.log.Info("reading the fleet document again")
	}
}

// handle applies one value of the key, or refuses it.
func (w *Watcher) handle(value []byte) {
	start := time.Now()
	var env config.FleetEnvelope
	if err := json.Unmarshal(value, &env); err != nil {
		w.refuse(Attempt{Start: start}, "", fmt.Errorf("the value is not a fleet envelope: %w", err))
		return
	}
	at := Attempt{Version: env.Version, Start: start}
	w.mu.Lock()
	unchanged := env.Version == w.status.Version && w.status.State != config.ConfigRefused && bytes.Equal(env.Config, w.applied)
	w.mu.Unlock()
	if unchanged {
		return // the same version written again (Consul restored, a copy)
	}
	f, err := config.ParseFleet(env.Config)
	if err != nil {
		w.refuse(at, "invalid", err)
		return
	}
	applied, err := f.Apply(w.o.Local)
	if err != nil {
		w.refuse(at, "invalid", err)
		return
	}
	at.Set = applied.Set
	at.RestartRequired = config.RestartNeeded(w.o.Local, applied.Config)
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	err = w.o.Apply(ctx, applied.Config)
	cancel()
	if err != nil {
		w.refuse(at, "apply", err)
		return
	}
	at.Outcome, at.Duration = OutcomeApplied, time.Since(start)
	st := Status{Version: env.Version, State: config.ConfigApplied, RestartRequired: at.RestartRequired}
	if len(st.RestartRequired) > 0 {
		st.State = config.ConfigRestartRequired
	}
	w.mu.Lock()
	st.Consul = w.status.Consul
	w.status, w.applied = st, env.Config
	w.mu.Unlock()
	w.m.version.Set(float64(env.Version))
	w.m.refused.Set(0)
	w.m.restart.Set(float64(len(st.RestartRequired)))
	w.m.applies.Inc()
	w.log.Info("fleet configuration applied", "version", env.Version, "updated_by", env.UpdatedBy,
		"set", strings.Join(at.Set, ","), "took", at.Duration.Round(time.Microsecond).String())
	if len(st.RestartRequired) > 0 {
		w.log.Warn("fleet configuration sets settings this edge applies only at its next start; they are not applied",
			"version", env.Version, "restart_required", strings.Join(st.RestartRequired, ","))
	}
	w.finish(at, st)
}

// refuse keeps what runs and records why version at.Version was refused.
// kind labels the error metric ("" for an unreadable value: "invalid").
func (w *Watcher) refuse(at Attempt, kind string, err error) {
	if kind == "" {
		kind = "invalid"
	}
	at.Outcome, at.Err, at.Duration = OutcomeRefused, err, time.Since(at.Start)
	problems := config.Problems(err)
	shown := problems
	if len(shown) > maxLoggedProblems {
		shown = shown[:maxLoggedProblems]
	}
	w.mu.Lock()
	w.status.Refused, w.status.Problems, w.status.State = at.Version, shown, config.ConfigRefused
	st := w.status
	w.mu.Unlock()
	w.m.refused.Set(1)
	w.m.errors.WithLabelValues(kind).Inc()
	var lines []string
	for _, p := range shown {
		lines = append(lines, problemText(p))
	}
	w.log.Warn("fleet configuration refused; keeping the version applied",
		"refused_version", at.Version, "running_version", st.Version, "problems", len(problems), "first", strings.Join(lines, "; "))
	w.finish(at, st)
}

func (w *Watcher) finish(at Attempt, st Status) {
	if w.o.OnApply != nil {
		w.o.OnApply(at)
	}
	if w.o.Report != nil {
		w.o.Report(st)
	}
}

// problemText renders one problem as "field: reason".
func problemText(p config.Problem) string {
	switch {
	case p.Field == "":
		return p.Reason
	case p.Value != "":
		return p.Field + " = " + strconv.Quote(p.Value) + ": " + p.Reason
	}
	return p.Field + ": " + p.Reason
}

// Meta is the Consul service meta an edge shows for st: the version it
// runs and its state.
func (st Status) Meta() map[string]string {
	return map[string]string{
		config.MetaConfigVersion: strconv.FormatUint(st.Version, 10),
		config.MetaConfigStatus:  st.State,
	}
}

type metrics struct {
	version prometheus.Gauge
	refused prometheus.Gauge
	restart prometheus.Gauge
	applies prometheus.Counter
	errors  *prometheus.CounterVec
}

func (m *metrics) register(r prometheus.Registerer) error {
	m.version = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_config_version",
		Help: "Fleet configuration document version this edge runs (0: none, its own configuration only).",
	})
	m.refused = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_config_refused",
		Help: "1 while the newest fleet configuration version was refused (the edge runs the last good one), 0 otherwise.",
	})
	m.restart = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_config_restart_required",
		Help: "Settings of the running fleet configuration version that wait for a restart of this edge.",
	})
	m.applies = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_config_applies_total",
		Help: "Fleet configuration versions applied.",
	})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_config_errors_total",
		Help: "Fleet configuration problems: invalid (a version refused by validation), apply (refused by a component), consul (the key could not be read).",
	}, []string{"reason"})
	for _, reason := range []string{"invalid", "apply", "consul"} {
		m.errors.WithLabelValues(reason)
	}
	if r == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m.version, m.refused, m.restart, m.applies, m.errors} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("fleetconfig: register metrics: %w", err)
		}
	}
	return nil
}
