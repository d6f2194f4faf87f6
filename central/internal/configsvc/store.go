package configsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/config"
)

// layoutAuthor is who the envelopes central writes on its own say wrote
// them.
const layoutAuthor = "rustguard-central"

// historyKey is the key of one version in the history.
func historyKey(version uint64) string {
	return config.FleetHistoryPrefix + strconv.FormatUint(version, 10)
}

// ErrMissing: the fleet document is not in Consul (deleted by hand while
// central runs; the watch writes an empty one again).
var ErrMissing = errMissing

// Current returns the current version, read consistently from Consul.
func (s *Service) Current(ctx context.Context) (config.FleetEnvelope, error) {
	st, _, err := s.read(ctx, 0, 0)
	if err != nil {
		return config.FleetEnvelope{}, err
	}
	s.publish(st, false)
	return st.env, nil
}

// Validation is what Validate found: the problems (none when valid) and
// the settings that edges apply only at their next start.
type Validation struct {
	Problems        []config.Problem
	RestartRequired []string
}

// Validate checks a document without storing it: the same checks Put and
// every edge make.
func Validate(doc []byte) Validation {
	f, err := parseDocument(doc)
	if err != nil {
		var inv *InvalidError
		if errors.As(err, &inv) {
			return Validation{Problems: inv.Problems}
		}
		return Validation{Problems: config.Problems(err)}
	}
	return Validation{RestartRequired: f.RestartFields()}
}

// parseDocument validates a document sent to the API: a JSON object that
// ParseFleet accepts. (ParseFleet also reads YAML; the stored form is
// JSON, so the API takes nothing else.)
func parseDocument(doc []byte) (*config.Fleet, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, &InvalidError{Problems: []config.Problem{{Reason: "the configuration must be a JSON object"}}}
	}
	f, err := config.ParseFleet(trimmed)
	if err != nil {
		return nil, &InvalidError{Problems: config.Problems(err)}
	}
	return f, nil
}

// checkAuthor refuses an updated_by that is too long or not printable: it
// ends up in logs and the history.
func checkAuthor(by string) error {
	if len(by) > maxUpdatedBy || strings.IndexFunc(by, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return &InvalidError{Problems: []config.Problem{{Field: "updated_by", Reason: fmt.Sprintf("must be at most %d printable characters", maxUpdatedBy)}}}
	}
	return nil
}

// Put stores doc as the next version if the current version is still
// basedOn: a *ConflictError otherwise (someone else edited meanwhile, or
// the edit was based on an old read), an *InvalidError when the document
// fails validation.
func (s *Service) Put(ctx context.Context, basedOn uint64, doc []byte, by string) (config.FleetEnvelope, error) {
	env, err := s.put(ctx, basedOn, doc, by, 0)
	s.m.writes.WithLabelValues(outcome(err)).Inc()
	return env, err
}

// Rollback stores the document of version to as a new version: the
// history stays linear and edges see a version they have not run. basedOn,
// when not 0, must be the current version (as for Put).
func (s *Service) Rollback(ctx context.Context, to, basedOn uint64, by string) (config.FleetEnvelope, error) {
	old, err := s.Version(ctx, to)
	if err != nil {
		return config.FleetEnvelope{}, err
	}
	env, err := s.put(ctx, basedOn, old.Config, by, to)
	s.m.writes.WithLabelValues(outcome(err)).Inc()
	return env, err
}

func outcome(err error) string {
	var inv *InvalidError
	switch {
	case err == nil:
		return "written"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.As(err, &inv):
		return "invalid"
	}
	return "error"
}

// put validates doc and writes it with check-and-set on the current key's
// ModifyIndex, together with its history entry and the removal of the
// entry that falls out of the history, in one transaction. basedOn 0 skips
// the version check (rollback without one); the check-and-set still
// refuses a write that raced another.
func (s *Service) put(ctx context.Context, basedOn uint64, doc []byte, by string, rollbackOf uint64) (config.FleetEnvelope, error) {
	if _, err := parseDocument(doc); err != nil {
		return config.FleetEnvelope{}, err
	}
	if err := checkAuthor(by); err != nil {
		return config.FleetEnvelope{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, bytes.TrimSpace(doc)); err != nil {
		return config.FleetEnvelope{}, &InvalidError{Problems: []config.Problem{{Reason: "the configuration must be a JSON object"}}}
	}
	cur, _, err := s.read(ctx, 0, 0)
	if err != nil {
		return config.FleetEnvelope{}, err
	}
	if basedOn != 0 && cur.env.Version != basedOn {
		return config.FleetEnvelope{}, &ConflictError{BasedOn: basedOn, Current: cur.env.Version}
	}
	env := config.FleetEnvelope{
		Version:    cur.env.Version + 1,
		UpdatedAt:  s.o.Now().UTC(),
		UpdatedBy:  by,
		RollbackOf: rollbackOf,
		Config:     compact.Bytes(),
	}
	ok, err := s.writeVersion(ctx, env, cur.modifyIndex, "")
	if err != nil {
		return config.FleetEnvelope{}, err
	}
	if !ok {
		// Someone wrote between our read and the transaction.
		now, _, rerr := s.read(ctx, 0, 0)
		current := cur.env.Version + 1
		if rerr == nil {
			current = now.env.Version
		}
		return config.FleetEnvelope{}, &ConflictError{BasedOn: cur.env.Version, Current: current}
	}
	s.log.Info("fleet configuration written", "version", env.Version, "updated_by", by, "rollback_of", rollbackOf)
	if st, _, err := s.read(ctx, 0, 0); err == nil {
		s.publish(st, false)
	}
	return env, nil
}

// writeVersion writes env under the fleet key with check-and-set on
// modifyIndex (0: only if the key does not exist), its history entry, and
// the removal of the version that leaves the history, in datacenter dc
// ("" for the local one). It reports false when the check-and-set failed.
func (s *Service) writeVersion(ctx context.Context, env config.FleetEnvelope, modifyIndex uint64, dc string) (bool, error) {
	value, err := json.Marshal(env)
	if err != nil {
		return false, fmt.Errorf("encode version %d: %w", env.Version, err)
	}
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: config.FleetKey, Value: value, Index: modifyIndex}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: historyKey(env.Version), Value: value}},
	}
	if env.Version > HistoryKeep {
		ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: historyKey(env.Version - HistoryKeep)}})
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ok, resp, _, err := s.client.Txn().Txn(ops, (&api.QueryOptions{Datacenter: dc}).WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("write version %d: %w", env.Version, err)
	}
	if ok {
		return true, nil
	}
	for _, e := range resp.Errors {
		if e.OpIndex == 0 {
			return false, nil // the check-and-set
		}
	}
	var msgs []string
	for _, e := range resp.Errors {
		msgs = append(msgs, e.What)
	}
	return false, fmt.Errorf("write version %d: transaction refused: %s", env.Version, strings.Join(msgs, "; "))
}

// Version returns one version from the history: ErrNoVersion when it is
// not there (never written, or older than the last HistoryKeep).
func (s *Service) Version(ctx context.Context, version uint64) (config.FleetEnvelope, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	pair, _, err := s.client.KV().Get(historyKey(version), (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		return config.FleetEnvelope{}, fmt.Errorf("read version %d: %w", version, err)
	}
	if pair == nil {
		return config.FleetEnvelope{}, fmt.Errorf("version %d: %w", version, ErrNoVersion)
	}
	var env config.FleetEnvelope
	if err := json.Unmarshal(pair.Value, &env); err != nil {
		return config.FleetEnvelope{}, fmt.Errorf("history entry %s: %w", pair.Key, err)
	}
	return env, nil
}

// History returns up to limit versions, newest first.
func (s *Service) History(ctx context.Context, limit int) ([]config.FleetEnvelope, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	pairs, _, err := s.client.KV().List(config.FleetHistoryPrefix, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list the history: %w", err)
	}
	out := make([]config.FleetEnvelope, 0, len(pairs))
	for _, p := range pairs {
		var env config.FleetEnvelope
		if err := json.Unmarshal(p.Value, &env); err != nil {
			s.log.Warn("skipping an unreadable history entry", "key", p.Key, "err", err)
			continue
		}
		out = append(out, env)
	}
	slices.SortFunc(out, func(a, b config.FleetEnvelope) int { return -cmpUint(a.Version, b.Version) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ensureLayout creates the fleet key when it is missing: an empty document
// (every edge runs its own configuration) with the version after the
// newest in the history, so versions never repeat. Several replicas may
// race here; the create-only check-and-set lets one win. It also removes
// history entries older than the last HistoryKeep (a write whose removal
// failed, or a history written by hand).
func (s *Service) ensureLayout(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	q := (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx)
	pair, _, err := s.client.KV().Get(config.FleetKey, q)
	if err != nil {
		return fmt.Errorf("read %s: %w", config.FleetKey, err)
	}
	keys, _, err := s.client.KV().Keys(config.FleetHistoryPrefix, "", q)
	if err != nil {
		return fmt.Errorf("list %s: %w", config.FleetHistoryPrefix, err)
	}
	var newest uint64
	versions := make([]uint64, 0, len(keys))
	for _, k := range keys {
		if v, err := strconv.ParseUint(strings.TrimPrefix(k, config.FleetHistoryPrefix), 10, 64); err == nil {
			versions = append(versions, v)
			newest = max(newest, v)
		}
	}
	if pair == nil {
		env := config.FleetEnvelope{Version: newest + 1, UpdatedAt: s.o.Now().UTC(), UpdatedBy: layoutAuthor, Config: json.RawMessage("{}")}
		created, err := s.writeVersion(ctx, env, 0, "")
		if err != nil {
			return fmt.Errorf("create %s: %w", config.FleetKey, err)
		}
		if created {
			s.log.Info("created the fleet configuration key", "key", config.FleetKey, "version", env.Version)
			newest = env.Version
		}
	} else if st, err := decodeState(pair); err == nil {
		newest = max(newest, st.env.Version)
	}
	for _, v := range versions {
		if newest > HistoryKeep && v <= newest-HistoryKeep {
			if _, err := s.client.KV().Delete(historyKey(v), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
				s.log.Warn("cannot prune the history", "version", v, "err", err)
			}
		}
	}
	return nil
}
