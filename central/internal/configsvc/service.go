// Package configsvc keeps the fleet's configuration document in Consul KV:
// one validated document with a version (shared/config's Fleet), written
// with check-and-set so concurrent edits cannot overwrite each other, with
// the last versions kept for rollback, and copied to every datacenter the
// fleet spans (Consul does not replicate KV across datacenters). Edges
// watch the key and apply the document themselves (edge/internal/
// fleetconfig); this package also reads, from Consul's catalogue, which
// version each edge runs.
//
// Data enters through Put and Rollback (the API) and through the watch of
// the key, which keeps Correlation current whichever central replica
// wrote; it leaves as FleetEnvelopes, the correlation policy and the fleet
// view. docs/CONFIG.md ("Fleet configuration") describes the layout.
package configsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/consulwatch"
)

const (
	// HistoryKeep is how many versions the history keeps for rollback.
	HistoryKeep = 100
	// requestTimeout bounds every non-blocking Consul call; an agent that
	// takes longer is down for the API's purposes.
	requestTimeout = 10 * time.Second
	// maxUpdatedBy caps who an edit says made it (an operator name, a
	// tool): it is stored with every version.
	maxUpdatedBy = 64
)

// Errors the API maps to status codes.
var (
	// ErrConflict: the document changed since the version an edit was
	// based on (HTTP 409).
	ErrConflict = errors.New("the configuration changed since the version the edit was based on")
	// ErrNoVersion: a rollback names a version the history does not hold
	// (HTTP 404).
	ErrNoVersion = errors.New("no such version in the history")
)

// ConflictError is an ErrConflict with the version that is current now.
type ConflictError struct {
	BasedOn, Current uint64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: based on version %d, the current version is %d", ErrConflict, e.BasedOn, e.Current)
}

// Unwrap lets callers test for ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// InvalidError is a document that fails validation (HTTP 422).
type InvalidError struct {
	Problems []config.Problem
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 0 {
		return "invalid configuration"
	}
	p := e.Problems[0]
	msg := fmt.Sprintf("invalid configuration: %s: %s", p.Field, p.Reason)
	if len(e.Problems) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(e.Problems)-1)
	}
	return msg
}

// Options configure a Service.
type Options struct {
	// Datacenters lists the other datacenters whose KV gets every version
	// too: edges read the key of their own datacenter. The local one
	// (the agent's) holds the history and is where edits are decided.
	Datacenters []string
	// WaitTime of the blocking watch on the key (consulwatch.DefaultWait
	// when 0).
	WaitTime time.Duration
	// Registerer receives the service's metrics; nil: none.
	Registerer prometheus.Registerer
	Log        *slog.Logger
	Now        func() time.Time // time.Now when nil
}

// Service is the fleet configuration service.
type Service struct {
	client *api.Client
	o      Options
	log    *slog.Logger

	current atomic.Pointer[state] // last seen by the watch; nil before

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once

	watchErr  atomic.Pointer[string] // the watch's last error; nil when fine
	replicate chan struct{}          // a 1-slot wake-up for the replicator
	repl      replication

	m metrics
}

// state is one version as the watch saw it.
type state struct {
	env         config.FleetEnvelope
	fleet       *config.Fleet // nil when the stored document is invalid
	err         error         // why fleet is nil
	modifyIndex uint64
}

// New returns a Service; Start runs it.
func New(client *api.Client, o Options) (*Service, error) {
	if client == nil {
		return nil, errors.New("configsvc: no consul client")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{client: client, o: o, log: o.Log.With("component", "configsvc"), replicate: make(chan struct{}, 1)}
	s.repl.status = make(map[string]DatacenterStatus)
	for _, dc := range o.Datacenters {
		if dc == "" {
			return nil, errors.New("configsvc: an empty datacenter name")
		}
		s.repl.status[dc] = DatacenterStatus{Name: dc}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.m.register(o.Registerer); err != nil {
		return nil, err
	}
	return s, nil
}

// Start creates the key layout when it is missing, reads the current
// version and starts watching it (and copying it to the other
// datacenters). It fails when Consul cannot be reached at all: central
// would otherwise serve an API whose every call fails.
func (s *Service) Start(ctx context.Context) error {
	if err := s.ensureLayout(ctx); err != nil {
		return err
	}
	st, last, err := s.read(ctx, 0, 0)
	if err != nil {
		return err
	}
	s.publish(st, true)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watch(s.ctx, last)
	}()
	if len(s.o.Datacenters) > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.replicateLoop(s.ctx)
		}()
	}
	return nil
}

// Close stops the watch and the replicator.
func (s *Service) Close() error {
	s.closed.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
	return nil
}

// Correlation is the correlation policy of the current document, or the
// defaults while there is none (or it is invalid). The correlation engine
// reads it through its own small interface.
func (s *Service) Correlation() config.Correlation {
	if st := s.current.Load(); st != nil && st.fleet != nil {
		return st.fleet.Correlation
	}
	return config.DefaultCorrelation()
}

// Ready reports whether the service can serve and, if not, why: for
// central's /readyz dependencies ("consul").
func (s *Service) Ready() (bool, string) {
	st := s.current.Load()
	switch {
	case st == nil:
		return false, "down: the fleet document has not been read yet"
	case s.watchErr.Load() != nil:
		return true, "down: " + *s.watchErr.Load() + "; serving version " + fmt.Sprint(st.env.Version)
	case st.fleet == nil:
		return true, fmt.Sprintf("up; the stored version %d is invalid: %v", st.env.Version, st.err)
	}
	return true, "up"
}

// watch follows the key with blocking queries and publishes each version.
func (s *Service) watch(ctx context.Context, index uint64) {
	start := index
	consulwatch.Loop{
		Wait: s.o.WaitTime,
		Fetch: func(ctx context.Context, index uint64, wait time.Duration) (uint64, error) {
			if start > 0 {
				// The first request continues from Start's read.
				index, start = start, 0
			}
			st, last, err := s.read(ctx, index, wait)
			if errors.Is(err, errMissing) {
				s.log.Warn("the fleet document was deleted from Consul; writing an empty one with the next version", "key", config.FleetKey)
				if err := s.ensureLayout(ctx); err != nil {
					return 0, err
				}
				return last, nil
			}
			if err != nil {
				return 0, err
			}
			s.publish(st, true)
			return last, nil
		},
		Report: func(err error) {
			if err == nil {
				if s.watchErr.Swap(nil) != nil {
					s.log.Info("consul reachable again")
				}
				return
			}
			msg := err.Error()
			if s.watchErr.Swap(&msg) == nil {
				s.log.Warn("cannot watch the fleet document; serving the last version read", "err", err)
			}
		},
	}.Run(ctx)
}

// publish makes st current. The watch sees every change in order and
// always wins (force); a read made elsewhere (after a write, for the API)
// only replaces an older version, so it cannot undo what the watch
// published meanwhile.
func (s *Service) publish(st *state, force bool) {
	for {
		old := s.current.Load()
		if old != nil && old.modifyIndex == st.modifyIndex && old.env.Version == st.env.Version {
			return
		}
		if !force && old != nil && (st.env.Version < old.env.Version || st.env.Version == old.env.Version && st.modifyIndex < old.modifyIndex) {
			return
		}
		if s.current.CompareAndSwap(old, st) {
			break
		}
	}
	s.m.version.Set(float64(st.env.Version))
	if st.err != nil {
		s.log.Warn("the stored fleet document is invalid; edges refuse it", "version", st.env.Version, "err", st.err)
	}
	select {
	case s.replicate <- struct{}{}:
	default:
	}
}

// errMissing: the key does not exist.
var errMissing = errors.New("the fleet document is missing")

// read fetches the current envelope, blocking after index when index > 0.
// It returns the answer's index as well (for the watch) even when the key
// is missing.
func (s *Service) read(ctx context.Context, index uint64, wait time.Duration) (*state, uint64, error) {
	q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
	if index == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		q.RequireConsistent = true
	}
	pair, meta, err := s.client.KV().Get(config.FleetKey, q.WithContext(ctx))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", config.FleetKey, err)
	}
	if pair == nil {
		return nil, meta.LastIndex, errMissing
	}
	st, err := decodeState(pair)
	if err != nil {
		return nil, 0, err
	}
	return st, meta.LastIndex, nil
}

// decodeState reads a stored envelope. An envelope that does not parse is
// an error (nobody can tell its version); a document that parses but is
// invalid is kept with its error, so the API can show it and edits can
// replace it.
func decodeState(pair *api.KVPair) (*state, error) {
	var env config.FleetEnvelope
	if err := json.Unmarshal(pair.Value, &env); err != nil {
		return nil, fmt.Errorf("the value of %s is not a fleet envelope: %w", pair.Key, err)
	}
	st := &state{env: env, modifyIndex: pair.ModifyIndex}
	st.fleet, st.err = config.ParseFleet(env.Config)
	return st, nil
}

// metrics are the service's instruments.
type metrics struct {
	version     prometheus.Gauge
	writes      *prometheus.CounterVec
	replication *prometheus.CounterVec
}

func (m *metrics) register(r prometheus.Registerer) error {
	m.version = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_central_config_version",
		Help: "Version of the fleet configuration document in Consul, as central last read it.",
	})
	m.writes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_central_config_writes_total",
		Help: "Edits of the fleet configuration by outcome: written, conflict (based on a stale version), invalid, error.",
	}, []string{"outcome"})
	m.replication = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_central_config_replication_errors_total",
		Help: "Failed copies of the fleet document to another datacenter, by datacenter (Options.Datacenters).",
	}, []string{"datacenter"})
	if r == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m.version, m.writes, m.replication} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("configsvc: register metrics: %w", err)
		}
	}
	return nil
}
