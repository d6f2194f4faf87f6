package bans

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/shared/netscope"
)

// Redis layout. Every key carries the hash tag {bans}, so the write scripts
// (hash + expiry set + sequence + stream) and the position read stay in one
// Redis Cluster slot (docs/FLEET.md, Redis Cluster and hash tags). The list is small and
// written rarely, so one hot slot is not a concern.
//
//	<prefix>:{bans}:all     hash   ban ID → JSON
//	<prefix>:{bans}:expiry  zset   ban ID by expiry (unix ms); permanent bans absent
//	<prefix>:{bans}:seq     string sequence number of the last change
//	<prefix>:{bans}:events  stream op=add|del, id, ban (JSON, add only), seq
//
// Each change increments seq and appends an event carrying it, atomically
// with the hash write. A follower that sees an event whose seq is not its
// last seq + 1 has missed something (trimmed stream, Redis restarted empty)
// and resynchronises.
const (
	keyAll    = ":{bans}:all"
	keyExpiry = ":{bans}:expiry"
	keySeq    = ":{bans}:seq"
	keyEvents = ":{bans}:events"
)

const (
	// maxBanJSON caps one stored ban: reason (256) and source (128) at up
	// to six bytes each once JSON-escaped, plus the value and timestamps.
	maxBanJSON = 4 << 10
	// maxIDLen caps a ban ID read from a stream event: "cidr:" plus the
	// longest IPv6 prefix text is under 50 bytes; names and UUIDs are shorter.
	maxIDLen = 128
	// maxTableBans bounds the list an edge holds in memory: about 0.5 GB at
	// roughly 250 bytes a ban with its index entries. A bigger list means a
	// design change (client-side caching for UUID bans, docs/FLEET.md
	// §2.4), not a bigger cap.
	maxTableBans = 2_000_000
	// scanCount is the HSCAN batch: big enough that a million bans load in
	// a thousand round trips, small enough that no single reply is large.
	scanCount = 1000
	// readCount is the most events one XREAD returns; the table is
	// published once per batch.
	readCount = 1000
	// pruneBatch is how many expired bans one prune call removes, keeping
	// each script run short (Redis runs scripts one at a time).
	pruneBatch = 500
	// backoffMin and backoffMax bound the wait between reconnect attempts:
	// quick enough to be back within a second of a Redis restart, slow
	// enough that a fleet of edges does not hammer a recovering Redis.
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// blockSlack is added to the XREAD BLOCK time to form the call's
	// deadline, so a silently dead connection is noticed within a second
	// after the block ends rather than go-redis's block + 10 s.
	blockSlack = time.Second
)

// Config holds the store's tunables; the edge maps them to config keys.
type Config struct {
	// KeyPrefix starts every Redis key ("rustguard" → "rustguard:{bans}:all").
	KeyPrefix string
	// OpTimeout bounds one Redis call of the sync loop, a write or a list.
	OpTimeout time.Duration
	// Block is the XREAD BLOCK time. New events wake the read at once, so
	// it bounds only how long a shutdown or a periodic task waits.
	Block time.Duration
	// ResyncEvery is the anti-entropy period: a full reload even when the
	// stream looked continuous (docs/FLEET.md, The ban list).
	ResyncEvery time.Duration
	// PruneEvery is how often this edge removes expired bans from Redis.
	// Any edge may do it; the script is idempotent.
	PruneEvery time.Duration
	// StreamMaxLen trims the event stream (XADD MAXLEN ~). A follower that
	// falls further behind than this resynchronises.
	StreamMaxLen int64
	// WriteQueue is how many detection bans may wait for Redis before
	// further ones are held on this edge only (Options.Local).
	WriteQueue int
}

// Defaults returns the recommended configuration.
func Defaults() Config {
	return Config{
		KeyPrefix: "rustguard",
		// 2 s: generous for a background call inside a region, short
		// enough that an outage is reported within seconds.
		OpTimeout: 2 * time.Second,
		Block:     time.Second,
		// 10 min: repairs a missed change within minutes at the cost of
		// one HSCAN pass; resyncs also follow every reconnect and gap.
		ResyncEvery: 10 * time.Minute,
		// 1 min: Match already ignores expired bans, pruning only keeps
		// Redis and the tables small.
		PruneEvery: time.Minute,
		// 100,000 events ≈ 30 MB of stream (docs/FLEET.md, The ban list).
		StreamMaxLen: 100_000,
		WriteQueue:   1024,
	}
}

// Options are the store's dependencies.
type Options struct {
	Client redis.UniversalClient // required
	// OnAdd is called for every ban that appears or changes after the
	// first load, once the table already answers with it, so the edge can
	// kick matching players who are online. It runs on the sync loop:
	// hand off anything slow. Bans present at the first load are not
	// reported; sweep online players once Synced is closed if the edge
	// accepted players before.
	OnAdd func(Ban)
	Log   *slog.Logger
	// Registerer receives the store's metrics; nil means none.
	Registerer prometheus.Registerer
	// Now is the clock for expiry and health; time.Now when nil.
	Now func() time.Time
	// Local receives the detection bans Redis did not take (write failed,
	// queue full), so this edge enforces them at least; nil drops them.
	Local *Local
}

// Store connects the in-memory Table with the fleet's ban list in Redis.
// Run keeps the table in sync; Add, Remove and List write and read Redis
// directly (the operator CLI uses them without Run).
type Store struct {
	cfg    Config
	client redis.UniversalClient
	onAdd  func(Ban)
	log    *slog.Logger
	now    func() time.Time
	table  *Table
	local  *Local

	kAll, kExpiry, kSeq, kEvents string

	healthy    atomic.Bool
	lastSync   atomic.Int64 // unix nanoseconds of the last moment the table was known current
	errMu      sync.Mutex
	err        error
	synced     chan struct{}
	loaded     bool // sync loop only: the first load is done
	downLogged bool // sync loop only: the current outage was logged

	writes    chan Ban
	writeWarn logGate
	m         storeMetrics
}

// warnEvery spaces out warnings that a ban storm could repeat thousands of
// times a second: one line per period says how many were left out.
const warnEvery = 10 * time.Second

// logGate lets one log line through per warnEvery and counts the rest.
type logGate struct {
	last       atomic.Int64 // unix nanoseconds of the last line let through
	suppressed atomic.Int64
}

func (g *logGate) allow(now time.Time) (suppressed int64, ok bool) {
	last := g.last.Load()
	if now.UnixNano()-last < int64(warnEvery) || !g.last.CompareAndSwap(last, now.UnixNano()) {
		g.suppressed.Add(1)
		return 0, false
	}
	return g.suppressed.Swap(0), true
}

// errGap means the event stream skipped a change; the follower resyncs.
var errGap = errors.New("ban event stream has a gap")

// NewStore validates cfg and returns a store with an empty table.
func NewStore(cfg Config, o Options) (*Store, error) {
	if o.Client == nil {
		return nil, errors.New("bans: Options.Client is required")
	}
	if cfg.OpTimeout <= 0 || cfg.Block <= 0 || cfg.ResyncEvery <= 0 || cfg.PruneEvery <= 0 || cfg.StreamMaxLen <= 0 || cfg.WriteQueue <= 0 {
		return nil, fmt.Errorf("bans: every duration and size in Config must be positive: %+v", cfg)
	}
	if cfg.KeyPrefix == "" || strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, fmt.Errorf("bans: key prefix %q must be non-empty and free of braces (they would move the hash tag)", cfg.KeyPrefix)
	}
	s := &Store{
		cfg: cfg, client: o.Client, onAdd: o.OnAdd, log: o.Log, now: o.Now, table: NewTable(), local: o.Local,
		kAll: cfg.KeyPrefix + keyAll, kExpiry: cfg.KeyPrefix + keyExpiry, kSeq: cfg.KeyPrefix + keySeq, kEvents: cfg.KeyPrefix + keyEvents,
		synced: make(chan struct{}),
		writes: make(chan Ban, cfg.WriteQueue),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.onAdd == nil {
		s.onAdd = func(Ban) {}
	}
	s.err = errors.New("not synchronised yet")
	var err error
	if s.m, err = newStoreMetrics(s, o.Registerer); err != nil {
		return nil, err
	}
	return s, nil
}

// Table is the in-memory ban list; Match on it answers without Redis.
func (s *Store) Table() *Table { return s.table }

// Healthy reports whether Redis answered the sync loop's last call.
func (s *Store) Healthy() bool { return s.healthy.Load() }

// LastSync is the last moment the table was known to match Redis (zero
// before the first load). While Redis is down it stops moving; the table
// keeps answering with what it had.
func (s *Store) LastSync() time.Time {
	n := s.lastSync.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Err is why the store is unhealthy, or nil.
func (s *Store) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.healthy.Load() {
		return nil
	}
	return s.err
}

// Synced is closed after the first successful load.
func (s *Store) Synced() <-chan struct{} { return s.synced }

// --- writes -----------------------------------------------------------------

// Scripts keep each change atomic: the hash, the expiry index, the sequence
// and the stream event are written together, so a follower never sees one
// without the others. KEYS: all, expiry, seq, events.
var (
	// ARGV: id, ban JSON, expiry in unix ms (0 = permanent), stream max length.
	addScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '0' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'op', 'add', 'id', ARGV[1], 'ban', ARGV[2], 'seq', seq)
return seq
`)
	// ARGV: id, stream max length. Returns 1 if the ban existed.
	removeScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], '*', 'op', 'del', 'id', ARGV[1], 'seq', seq)
return 1
`)
	// ARGV: batch size, stream max length. Expiry is judged by Redis's
	// clock so edges with skewed clocks agree. The expiry set's score is
	// always the stored ban's own expiry (add rewrites or removes it), so a
	// due entry is an expired ban. Returns how many were removed.
	pruneScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  if redis.call('HDEL', KEYS[1], id) == 1 then
    local seq = redis.call('INCR', KEYS[3])
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], '*', 'op', 'del', 'id', id, 'seq', seq)
  end
end
return #due
`)
	// ARGV: legacy id, new id, new ban JSON, new expiry in unix ms (0 =
	// permanent), stream max length. Replaces a ban stored under an ID an
	// earlier version derived (legacyID) with the same ban under its
	// current ID; when a ban already holds the new ID, the one that lasts
	// longer stays. Returns 1 if the legacy entry existed.
	migrateScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'op', 'del', 'id', ARGV[1], 'seq', seq)
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then
  local held = redis.call('ZSCORE', KEYS[2], ARGV[2])
  if not held or (ARGV[4] ~= '0' and tonumber(ARGV[4]) <= tonumber(held)) then
    return 1
  end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
if ARGV[4] ~= '0' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
else
  redis.call('ZREM', KEYS[2], ARGV[2])
end
seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'op', 'add', 'id', ARGV[2], 'ban', ARGV[3], 'seq', seq)
return 1
`)
)

func (s *Store) keys() []string { return []string{s.kAll, s.kExpiry, s.kSeq, s.kEvents} }

// Add stores b fleet-wide, replacing any ban on the same subject. Created
// defaults to now. It returns the ban as stored (normalised, with ID).
func (s *Store) Add(ctx context.Context, b Ban) (Ban, error) {
	if b.Created.IsZero() {
		b.Created = s.now()
	}
	b, err := Normalize(b)
	if err != nil {
		return Ban{}, err
	}
	data, err := encodeBan(b)
	if err != nil {
		return Ban{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	var exp int64
	if !b.Permanent() {
		exp = b.Expires.UnixMilli()
	}
	if err := addScript.Run(ctx, s.client, s.keys(), b.ID, data, exp, s.cfg.StreamMaxLen).Err(); err != nil {
		return Ban{}, fmt.Errorf("add ban %s: %w", b.ID, err)
	}
	return b, nil
}

// Remove lifts the ban on value of kind k (an IPv6 address: the ban on its
// /64). It reports whether there was one.
func (s *Store) Remove(ctx context.Context, k Kind, value string) (bool, error) {
	k, v, err := NormalizeSubject(k, value)
	if err != nil {
		return false, err
	}
	id := banID(k, v)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	n, err := removeScript.Run(ctx, s.client, s.keys(), id, s.cfg.StreamMaxLen).Int()
	if err != nil {
		return false, fmt.Errorf("remove ban %s: %w", id, err)
	}
	return n == 1, nil
}

// List reads the bans in force from Redis, oldest first. Expired bans that
// are still stored (pruning is lazy) are left out.
func (s *Store) List(ctx context.Context) ([]Ban, error) {
	all, _, _, err := s.scan(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := all[:0]
	for _, b := range all {
		if b.Active(now) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Ban) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Prune removes expired bans from Redis now (Run does it periodically) and
// returns how many it removed.
func (s *Store) Prune(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	n, err := pruneScript.Run(ctx, s.client, s.keys(), pruneBatch, s.cfg.StreamMaxLen).Int()
	if err != nil {
		return 0, fmt.Errorf("prune expired bans: %w", err)
	}
	return n, nil
}

// enqueue queues a detection ban for Run to write (Detections.Ban). It
// must not block a connection goroutine: when the queue is full it reports
// false, with a warning and a metric, and the caller holds the ban locally.
func (s *Store) enqueue(b Ban) bool {
	select {
	case s.writes <- b:
		return true
	default:
		s.m.writes.WithLabelValues("dropped").Inc()
		if n, ok := s.writeWarn.allow(s.now()); ok {
			s.log.Warn("ban write queue full; detection ban held on this edge only", "kind", b.Kind.String(), "source", b.Source, "suppressed", n)
		}
		return false
	}
}

// writeLoop stores queued detection bans. One attempt each: a ban Redis
// does not take holds on this edge only (Options.Local), and the edge logs
// it.
func (s *Store) writeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-s.writes:
			if _, err := s.Add(ctx, b); err != nil {
				s.m.writes.WithLabelValues("error").Inc()
				if n, ok := s.writeWarn.allow(s.now()); ok {
					s.log.Warn("detection ban not stored in Redis; held on this edge only", "kind", b.Kind.String(), "source", b.Source, "err", err, "suppressed", n)
				}
				if s.local != nil {
					s.local.Add(b)
				}
				continue
			}
			s.m.writes.WithLabelValues("ok").Inc()
		}
	}
}

// --- sync -------------------------------------------------------------------

// Resync causes, for the resyncs metric and logs.
const (
	causeStart     = "start"
	causeReconnect = "reconnect"
	causeGap       = "gap"
	causePeriodic  = "periodic"
)

// Run keeps the table in sync with Redis until ctx ends: it loads a
// snapshot, follows the event stream, and reloads after every reconnect,
// every gap and every ResyncEvery. While Redis is unreachable the table
// keeps its last content, Healthy is false and the loop retries with
// backoff. Run also stores queued detection bans and prunes expired ones.
// It returns nil when ctx ends.
func (s *Store) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.writeLoop(ctx) })
	defer wg.Wait()

	cause := causeStart
	backoff := backoffMin
	for {
		synced, err := s.follow(ctx, cause)
		if ctx.Err() != nil {
			return nil
		}
		if synced {
			backoff = backoffMin
		}
		if errors.Is(err, errGap) {
			s.log.Info("ban event stream has a gap, resynchronising", "err", err)
			cause = causeGap
			if synced {
				continue
			}
		} else {
			s.setDown(err)
			cause = causeReconnect
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, backoffMax)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// follow loads a snapshot and then applies stream events until an error.
// synced reports whether the snapshot load succeeded.
func (s *Store) follow(ctx context.Context, cause string) (synced bool, err error) {
	lastID, seq, err := s.resync(ctx, cause)
	if err != nil {
		return false, err
	}
	s.setUp()
	nextResync := s.now().Add(s.cfg.ResyncEvery)
	nextPrune := s.now().Add(jitter(s.cfg.PruneEvery))
	for {
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		now := s.now()
		if !now.Before(nextResync) {
			if lastID, seq, err = s.resync(ctx, causePeriodic); err != nil {
				return true, err
			}
			nextResync = now.Add(s.cfg.ResyncEvery)
		}
		if !now.Before(nextPrune) {
			if n, err := s.Prune(ctx); err != nil {
				return true, err
			} else if n > 0 {
				s.log.Debug("pruned expired bans", "count", n)
			}
			nextPrune = now.Add(jitter(s.cfg.PruneEvery))
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.Block+blockSlack)
		res, err := s.client.XRead(rctx, &redis.XReadArgs{Streams: []string{s.kEvents, lastID}, Count: readCount, Block: s.cfg.Block}).Result()
		cancel()
		if errors.Is(err, redis.Nil) {
			s.markSynced()
			continue
		}
		if err != nil {
			return true, fmt.Errorf("read ban events after %s: %w", lastID, err)
		}
		for _, st := range res {
			if len(st.Messages) == 0 {
				continue
			}
			if lastID, seq, err = s.apply(st.Messages, seq); err != nil {
				return true, err
			}
		}
		s.markSynced()
	}
}

// resync notes the stream position, loads the whole list and replaces the
// table. The position is read first and atomically with the sequence, so
// every change after the snapshot's start is replayed from the stream;
// replaying a change the snapshot already holds is harmless because events
// carry whole bans and are applied in order.
func (s *Store) resync(ctx context.Context, cause string) (lastID string, seq int64, err error) {
	s.m.resyncs.WithLabelValues(cause).Inc()
	pctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	pipe := s.client.TxPipeline()
	seqCmd := pipe.Get(pctx, s.kSeq)
	lastCmd := pipe.XRevRangeN(pctx, s.kEvents, "+", "-", 1)
	_, err = pipe.Exec(pctx)
	cancel()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, fmt.Errorf("read ban stream position: %w", err)
	}
	if v, err := seqCmd.Int64(); err == nil {
		seq = v
	} else if !errors.Is(err, redis.Nil) {
		return "", 0, fmt.Errorf("read ban sequence: %w", err)
	}
	lastID = "0-0"
	if msgs, err := lastCmd.Result(); err == nil && len(msgs) > 0 {
		lastID = msgs[0].ID
	}

	all, legacy, invalid, err := s.scan(ctx)
	if err != nil {
		return "", 0, err
	}
	if invalid > 0 {
		s.log.Warn("skipped ban entries that do not decode", "count", invalid)
	}
	s.migrate(ctx, legacy)
	changed := s.table.Replace(all)
	s.m.setCounts(s.table)
	s.log.Debug("ban list loaded", "cause", cause, "bans", s.table.Len(), "changed", len(changed))
	if s.loaded {
		s.report(changed)
	} else {
		s.loaded = true
		close(s.synced)
	}
	s.markSynced()
	return lastID, seq, nil
}

// scan reads the whole hash with HSCAN, batch by batch, so a large list
// never becomes one huge reply, and keeps at most maxTableBans. Bans stored
// under the ID an earlier version gave them (see legacyID) are returned in
// their current form, and their stored IDs in legacy, for migrate.
func (s *Store) scan(ctx context.Context) (bans []Ban, legacy map[string]Ban, invalid int, err error) {
	var cursor uint64
	truncated := false
	for {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
		kv, next, err := s.client.HScan(cctx, s.kAll, cursor, "", scanCount).Result()
		cancel()
		if err != nil {
			return nil, nil, 0, fmt.Errorf("scan ban list: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if len(bans) >= maxTableBans {
				truncated = true
				break
			}
			b, err := decodeBan(kv[i+1])
			switch {
			case err == nil && b.ID == kv[i]:
			case err == nil && legacyID(kv[i], b):
				if legacy == nil {
					legacy = make(map[string]Ban)
				}
				legacy[kv[i]] = b
			default:
				invalid++
				s.log.Debug("undecodable ban entry", "field", truncate(kv[i], maxIDLen), "err", err)
				continue
			}
			bans = append(bans, b)
		}
		cursor = next
		if cursor == 0 || truncated {
			break
		}
	}
	if truncated {
		s.log.Error("ban list exceeds the in-memory cap; the rest is ignored", "cap", maxTableBans)
	}
	// HSCAN may return a field twice, and a legacy entry may share its
	// current ID with another ban; the table keys by ID, and List should
	// not show duplicates either. Of two bans with one ID the one that
	// lasts longer stays, as migrate keeps it in Redis.
	slices.SortFunc(bans, func(a, b Ban) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return -compareLength(a, b)
	})
	bans = slices.CompactFunc(bans, func(a, b Ban) bool { return a.ID == b.ID })
	return bans, legacy, invalid, nil
}

// compareLength orders bans by how long they last: permanent is longest.
func compareLength(a, b Ban) int {
	switch {
	case a.Permanent() && b.Permanent():
		return 0
	case a.Permanent():
		return 1
	case b.Permanent():
		return -1
	}
	return a.Expires.Compare(b.Expires)
}

// legacyID reports whether field is the ID an earlier version stored b
// under: before IPv6 IP bans covered their /64, an IP ban on an IPv6
// address was stored as "ip:<address>"; it now reads back as a CIDR ban on
// the /64 (NormalizeSubject).
func legacyID(field string, b Ban) bool {
	v, ok := strings.CutPrefix(field, KindIP.String()+":")
	if !ok || b.Kind != KindCIDR {
		return false
	}
	a, err := netip.ParseAddr(v)
	return err == nil && a.Is6() && !a.Is4In6() && netscope.Address(a).String() == b.Value
}

// migrate rewrites bans found under a legacy ID in their current form
// (migrateScript), so an operator sees, lists and removes them as any
// other. Any edge may do it, once or concurrently: the script is
// idempotent. A failure is logged and retried at the next resync; the
// table holds the ban in its current form meanwhile.
func (s *Store) migrate(ctx context.Context, legacy map[string]Ban) {
	for field, b := range legacy {
		data, err := encodeBan(b)
		if err != nil {
			continue
		}
		var exp int64
		if !b.Permanent() {
			exp = b.Expires.UnixMilli()
		}
		mctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
		err = migrateScript.Run(mctx, s.client, s.keys(), field, b.ID, data, exp, s.cfg.StreamMaxLen).Err()
		cancel()
		if err != nil {
			s.log.Warn("could not rewrite a ban stored in an earlier form; retrying at the next resync", "id", truncate(field, maxIDLen), "err", err)
			continue
		}
		s.log.Info("rewrote a ban stored in an earlier form", "was", truncate(field, maxIDLen), "now", b.ID)
	}
}

// apply turns stream messages into one ordered table update. It checks the
// sequence of every event and returns errGap at the first discontinuity,
// before applying anything of the batch (the resync that follows loads the
// full list anyway).
func (s *Store) apply(msgs []redis.XMessage, seq int64) (string, int64, error) {
	changes := make([]Change, 0, len(msgs))
	now := s.now()
	var lastID string
	for _, m := range msgs {
		evSeq, _ := strconv.ParseInt(str(m.Values["seq"]), 10, 64)
		if evSeq != seq+1 {
			return "", 0, fmt.Errorf("%w: event %s has seq %d, want %d", errGap, m.ID, evSeq, seq+1)
		}
		seq = evSeq
		lastID = m.ID
		if ms, _, ok := strings.Cut(m.ID, "-"); ok {
			if v, err := strconv.ParseInt(ms, 10, 64); err == nil {
				s.m.propagation.Observe(max(0, now.Sub(time.UnixMilli(v)).Seconds()))
			}
		}
		switch str(m.Values["op"]) {
		case "add":
			b, err := decodeBan(str(m.Values["ban"]))
			if err != nil {
				s.log.Debug("undecodable ban event", "event", m.ID, "err", err)
				continue
			}
			changes = append(changes, Change{Ban: b})
		case "del":
			id := str(m.Values["id"])
			if len(id) > maxIDLen {
				continue
			}
			changes = append(changes, Change{Ban: Ban{ID: id}, Remove: true})
		}
	}
	changed := s.table.Update(changes)
	s.m.setCounts(s.table)
	s.report(changed)
	return lastID, seq, nil
}

// report calls OnAdd for bans that are in force.
func (s *Store) report(changed []Ban) {
	now := s.now()
	for _, b := range changed {
		if b.Active(now) {
			s.onAdd(b)
		}
	}
}

// setUp and setDown change health and error together under errMu, so Err
// never contradicts a Healthy read under the same lock.
func (s *Store) setUp() {
	s.errMu.Lock()
	was := s.healthy.Swap(true)
	s.err = nil
	s.errMu.Unlock()
	if !was {
		s.log.Info("ban list synchronised with Redis", "bans", s.table.Len())
	}
	s.downLogged = false
}

func (s *Store) setDown(err error) {
	s.errMu.Lock()
	s.err = err
	was := s.healthy.Swap(false)
	s.errMu.Unlock()
	if was || !s.downLogged {
		s.log.Warn("ban list cannot reach Redis; serving the last list held and retrying", "bans", s.table.Len(), "err", err)
	}
	s.downLogged = true
}

func (s *Store) markSynced() { s.lastSync.Store(s.now().UnixNano()) }

// --- encoding ---------------------------------------------------------------

// wireBan is a ban as stored in Redis. Times are unix milliseconds.
type wireBan struct {
	Kind    string `json:"kind"`
	Value   string `json:"value"`
	Reason  string `json:"reason,omitempty"`
	Source  string `json:"source,omitempty"`
	Created int64  `json:"created_ms"`
	Expires int64  `json:"expires_ms,omitempty"`
	// Evidence was added with central's correlation bans. Edges that
	// predate it ignore the field (encoding/json skips unknown fields).
	Evidence []wireEvidence `json:"evidence,omitempty"`
}

type wireEvidence struct {
	Region  string `json:"region"`
	Check   string `json:"check"`
	Time    int64  `json:"time_ms"`
	TraceID string `json:"trace_id,omitempty"`
}

func encodeBan(b Ban) (string, error) {
	w := wireBan{Kind: b.Kind.String(), Value: b.Value, Reason: b.Reason, Source: b.Source, Created: b.Created.UnixMilli()}
	if !b.Permanent() {
		w.Expires = b.Expires.UnixMilli()
	}
	for _, e := range b.Evidence {
		w.Evidence = append(w.Evidence, wireEvidence{Region: e.Region, Check: e.Check, Time: e.Time.UnixMilli(), TraceID: e.TraceID})
	}
	data, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("encode ban %s: %w", b.ID, err)
	}
	if len(data) > maxBanJSON {
		return "", fmt.Errorf("%w: ban %s encodes to %d bytes, more than the %d every edge accepts", ErrInvalid, b.ID, len(data), maxBanJSON)
	}
	return string(data), nil
}

// decodeBan parses and re-validates a stored ban: Redis is ours, but a bad
// write (an old version, a hand edit) must not reach the table unchecked.
func decodeBan(s string) (Ban, error) {
	if len(s) > maxBanJSON {
		return Ban{}, fmt.Errorf("%w: stored ban of %d bytes exceeds %d", ErrInvalid, len(s), maxBanJSON)
	}
	var w wireBan
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return Ban{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	k, err := ParseKind(w.Kind)
	if err != nil {
		return Ban{}, err
	}
	b := Ban{Kind: k, Value: w.Value, Reason: w.Reason, Source: w.Source}
	for _, e := range w.Evidence {
		b.Evidence = append(b.Evidence, Evidence{Region: e.Region, Check: e.Check, Time: time.UnixMilli(e.Time), TraceID: e.TraceID})
	}
	if w.Created != 0 {
		b.Created = time.UnixMilli(w.Created)
	}
	if w.Expires != 0 {
		b.Expires = time.UnixMilli(w.Expires)
	}
	return Normalize(b)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// jitter spreads periodic work of many edges over ±25 % of d.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}

// --- metrics ----------------------------------------------------------------

type storeMetrics struct {
	bans        *prometheus.GaugeVec
	resyncs     *prometheus.CounterVec
	writes      *prometheus.CounterVec
	propagation prometheus.Histogram
}

func newStoreMetrics(s *Store, reg prometheus.Registerer) (storeMetrics, error) {
	m := storeMetrics{
		bans: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rustguard_edge_bans", Help: "Bans held in the edge's in-memory table, by kind (expired ones not yet pruned included)."},
			[]string{"kind"}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_edge_bans_resyncs_total", Help: "Full reloads of the ban list from Redis, by cause: start, reconnect, gap, periodic."},
			[]string{"cause"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_edge_bans_detection_writes_total", Help: "Detection bans written to Redis, by result: ok, error, dropped (queue full)."},
			[]string{"result"}),
		propagation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rustguard_edge_bans_propagation_seconds", Help: "Time from a ban change in Redis (stream entry time, Redis clock) to its arrival in this edge's table.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
	}
	for _, k := range Kinds() {
		m.bans.WithLabelValues(k.String())
	}
	for _, c := range []string{causeStart, causeReconnect, causeGap, causePeriodic} {
		m.resyncs.WithLabelValues(c)
	}
	for _, r := range []string{"ok", "error", "dropped"} {
		m.writes.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_edge_bans_redis_up", Help: "1 while the ban list follows Redis; 0 while the edge serves its last list."},
		func() float64 {
			if s.Healthy() {
				return 1
			}
			return 0
		})
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_edge_bans_sync_age_seconds", Help: "Seconds since the ban table was last known to match Redis (sync lag; grows during an outage)."},
		func() float64 {
			t := s.LastSync()
			if t.IsZero() {
				return 0
			}
			return s.now().Sub(t).Seconds()
		})
	for _, c := range []prometheus.Collector{m.bans, m.resyncs, m.writes, m.propagation, up, age} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("bans: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m storeMetrics) setCounts(t *Table) {
	for _, k := range Kinds() {
		m.bans.WithLabelValues(k.String()).Set(float64(t.Count(k)))
	}
}
