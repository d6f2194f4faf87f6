package configsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/consulwatch"
)

// Consul's KV is per datacenter and WAN federation does not copy it, while
// every edge reads the key of its own datacenter. Central decides every
// version in its local datacenter (check-and-set and history there) and
// copies each version to the others: one writer, explicit per-datacenter
// state, and an edge whose datacenter is cut off keeps serving on the last
// version it holds.

// resyncInterval is how often the replicator compares every datacenter
// with the local version even when nothing changed locally: a datacenter
// that was unreachable, or whose key was edited by hand, is repaired
// within this time.
const resyncInterval = 30 * time.Second

// DatacenterStatus is where the copy of one datacenter stands.
type DatacenterStatus struct {
	Name string `json:"name"`
	// Version is the version that datacenter's key holds, as last seen.
	Version uint64 `json:"version"`
	// Error is why the last copy failed, "" when it worked.
	Error    string    `json:"error,omitempty"`
	SyncedAt time.Time `json:"synced_at,omitzero"`
}

type replication struct {
	mu     sync.Mutex
	status map[string]DatacenterStatus
}

// Datacenters returns the state of the copy in each other datacenter,
// sorted by name.
func (s *Service) Datacenters() []DatacenterStatus {
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	out := make([]DatacenterStatus, 0, len(s.repl.status))
	for _, name := range slices.Sorted(maps.Keys(s.repl.status)) {
		out = append(out, s.repl.status[name])
	}
	return out
}

// replicateLoop copies the current version to every other datacenter
// whenever it changes and every resyncInterval, backing off per datacenter
// while one fails.
func (s *Service) replicateLoop(ctx context.Context) {
	failures := make(map[string]int)
	retryAt := make(map[string]time.Time)
	t := time.NewTicker(resyncInterval)
	defer t.Stop()
	for {
		st := s.current.Load()
		now := time.Now()
		var next time.Duration
		for _, dc := range s.o.Datacenters {
			if now.Before(retryAt[dc]) {
				wait := retryAt[dc].Sub(now)
				if next == 0 || wait < next {
					next = wait
				}
				continue
			}
			err := s.replicateTo(ctx, dc, st)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				failures[dc]++
				retryAt[dc] = now.Add(consulwatch.Backoff(failures[dc]))
				continue
			}
			failures[dc] = 0
			delete(retryAt, dc)
		}
		var retry <-chan time.Time
		var timer *time.Timer
		if next > 0 {
			timer = time.NewTimer(next)
			retry = timer.C
		}
		select {
		case <-ctx.Done():
		case <-s.replicate:
		case <-t.C:
		case <-retry:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// replicateTo makes dc's key hold st's version. A datacenter that holds a
// newer version than the local one is left alone and reported: something
// else writes there, and overwriting would move its edges backwards.
func (s *Service) replicateTo(ctx context.Context, dc string, st *state) error {
	status := DatacenterStatus{Name: dc}
	err := func() error {
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		pair, _, err := s.client.KV().Get(config.FleetKey, (&api.QueryOptions{Datacenter: dc, RequireConsistent: true}).WithContext(rctx))
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		var index uint64
		if pair != nil {
			var env config.FleetEnvelope
			if err := json.Unmarshal(pair.Value, &env); err == nil {
				status.Version = env.Version
				switch {
				case env.Version == st.env.Version:
					return nil
				case env.Version > st.env.Version:
					return fmt.Errorf("holds version %d, newer than this datacenter's %d: not overwritten", env.Version, st.env.Version)
				}
			}
			index = pair.ModifyIndex
		}
		ok, err := s.writeVersion(ctx, st.env, index, dc)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("changed while being written; retrying")
		}
		status.Version = st.env.Version
		s.log.Info("fleet configuration copied", "datacenter", dc, "version", st.env.Version)
		return nil
	}()
	if err != nil {
		status.Error = err.Error()
		s.m.replication.WithLabelValues(dc).Inc()
	} else {
		status.SyncedAt = time.Now().UTC()
	}
	s.repl.mu.Lock()
	prev := s.repl.status[dc]
	s.repl.status[dc] = status
	s.repl.mu.Unlock()
	if err != nil && prev.Error == "" {
		s.log.Warn("cannot copy the fleet configuration to a datacenter; its edges keep the version they hold", "datacenter", dc, "err", err)
	}
	if err == nil && prev.Error != "" {
		s.log.Info("copying the fleet configuration works again", "datacenter", dc)
	}
	return err
}
