// Package aggregate keeps what the fleet's edges detected, in Redis, so
// that several central replicas can run side by side and a restart loses
// nothing.
//
// Data enters as batches of decoded detections (Record) and leaves as
// answers to the API's queries (Detections, Player, Counts) and to the
// correlator (Flags). Per detection, Record writes, in one Lua script per
// chunk of a batch (atomic, one round trip for the whole batch):
//
//   - a dedup mark: the span's ids in a set per minute of event time. An
//     edge that retries a batch (its export timed out after central had
//     stored it) finds its detections marked and nothing is counted twice;
//   - the detection log: a stream entry holding the whole event, trimmed
//     by length and by age;
//   - counters per region, check and action, in minute and hour buckets;
//   - the cross-region history of the player, by lower-cased name and by
//     UUID: a list entry per detection (region, check, action, time, trace
//     and span id, edge, whether authenticated, the client's address and
//     prefix), the newest MaxPlayerEntries kept;
//   - the flags of the detection's identity (report.Identity) for the
//     correlator (Flags): one hash field per region, check, action and
//     address (or name), holding the latest time it was seen. Correlation
//     reads a few dozen short fields per identity instead of a player's
//     whole history.
//
// Lists and small hashes rather than sorted sets: a sorted-set insert cost
// Redis five times a list push, and Redis's one thread is what bounds
// central's ingest rate.
//
// Every key carries the hash tag {central}, so the script's keys share one
// Redis Cluster slot (like the ban list's {bans}; central's write rate is
// a few hundred thousand commands a second at most, which one slot holds).
// docs/CENTRAL.md lists the keys.
package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/netscope"
)

// Bounds and retention.
const (
	// DedupWindow is how long a detection's span is remembered: an edge
	// retries a failed export for about a minute (the SDK's default), so
	// ten minutes cover any retry with room to spare. Memory: about 50
	// bytes per detection in the window.
	DedupWindow = 10 * time.Minute
	// minuteTTL and hourTTL keep the counter buckets: two days of
	// minutes for "what happened last night", five weeks of hours for
	// trends.
	minuteTTL = 48 * time.Hour
	hourTTL   = 35 * 24 * time.Hour
	// MaxPlayerEntries bounds one player's history: a cheater flagged
	// every second keeps the last few minutes, an honest player all of it.
	// About 250 bytes an entry, so at most 125 KB a player.
	MaxPlayerEntries = 500
	// FlagRetention is how long an identity's flags are kept for
	// correlation: the longest correlation window (config.Correlation).
	FlagRetention = 24 * time.Hour
	// MaxFlags bounds one identity's flags. A flag is one region, check,
	// action and address (or name) with the latest time it was seen, so
	// an identity has a few dozen; the cap stops one cycling through a
	// whole /24 of addresses from growing its set.
	MaxFlags = 256
	// chunk is how many detections one script run writes: Redis runs one
	// script at a time, so a run stays around a millisecond.
	chunk = 256
	// opTimeout bounds one pipelined write or query round trip.
	opTimeout = 3 * time.Second
)

// Config holds the aggregator's tunables.
type Config struct {
	// KeyPrefix starts every key (the edges' redis.key_prefix).
	KeyPrefix string
	// MaxLen and MaxAge bound the detection log; MaxAge also bounds the
	// per-player history.
	MaxLen int
	MaxAge time.Duration
}

// Options are the aggregator's dependencies.
type Options struct {
	Client     redis.UniversalClient // required
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time
}

// Aggregator writes detections to Redis and answers queries about them.
type Aggregator struct {
	cfg    Config
	client redis.UniversalClient
	log    *slog.Logger
	now    func() time.Time
	base   string // "<prefix>:{central}:"
	m      metrics
}

// New validates cfg and returns an aggregator.
func New(cfg Config, o Options) (*Aggregator, error) {
	if o.Client == nil {
		return nil, errors.New("aggregate: Options.Client is required")
	}
	if cfg.KeyPrefix == "" || strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, fmt.Errorf("aggregate: key prefix %q must be non-empty and free of braces", cfg.KeyPrefix)
	}
	if cfg.MaxLen < 1 || cfg.MaxAge < time.Minute {
		return nil, fmt.Errorf("aggregate: MaxLen %d and MaxAge %v are too small", cfg.MaxLen, cfg.MaxAge)
	}
	a := &Aggregator{cfg: cfg, client: o.Client, log: o.Log, now: o.Now, base: cfg.KeyPrefix + ":{central}:"}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	var err error
	if a.m, err = newMetrics(o.Registerer); err != nil {
		return nil, err
	}
	return a, nil
}

// Key names, under base.
func (a *Aggregator) keyStream() string        { return a.base + "detections" }
func (a *Aggregator) keySeen(min int64) string { return a.base + "seen:" + strconv.FormatInt(min, 10) }
func (a *Aggregator) keyMinute(min int64) string {
	return a.base + "count:m:" + strconv.FormatInt(min, 10)
}
func (a *Aggregator) keyHour(hour int64) string {
	return a.base + "count:h:" + strconv.FormatInt(hour, 10)
}

// KeyPlayerName is the history key of a player name (lower-cased).
func (a *Aggregator) KeyPlayerName(name string) string {
	return a.base + "player:name:" + strings.ToLower(name)
}

// keyFlags holds an identity's flags for correlation.
func (a *Aggregator) keyFlags(identity string) string { return a.base + "flags:" + identity }

// KeyPlayerUUID is the history key of a player UUID (dashed lower case).
func (a *Aggregator) KeyPlayerUUID(uuid string) string { return a.base + "player:uuid:" + uuid }

// Per-detection argument group of recordScript (see its comment).
const recordArgs = 12

// recordScript writes one chunk. KEYS[1] is the stream; the other keys
// are referenced by index from ARGV. ARGV: max length, minimum stream id
// (ms) to keep, seen TTL, minute TTL, hour TTL, history TTL, minimum
// history score, maximum history entries, detection count n, flag TTL,
// minimum flag score, maximum flags, the correlation window's start (ms);
// then per detection (recordArgs):
// seen key, dedup member, minute key, hour key, counter field, name key
// (0: none), uuid key (0: none), score, history member, stream record,
// flags key (0: none), flag member.
// It returns, per detection, 0 if it was recorded before, 1 if it is new,
// 2 if it is new and gave its identity a flag it did not have since the
// window's start.
var recordScript = redis.NewScript(`
local n = tonumber(ARGV[9])
local out = {}
local seen, counts, hist, flags = {}, {}, {}, {}
local function count(k, field, ttl)
  local c = counts[k]
  if not c then c = {ttl = ttl, fields = {}}; counts[k] = c end
  c.fields[field] = (c.fields[field] or 0) + 1
end
for i = 0, n - 1 do
  local b = 14 + i * 12
  local sk = KEYS[tonumber(ARGV[b])]
  if redis.call('SADD', sk, ARGV[b + 1]) == 1 then
    seen[sk] = true
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[b + 9])
    count(KEYS[tonumber(ARGV[b + 2])], ARGV[b + 4], ARGV[4])
    count(KEYS[tonumber(ARGV[b + 3])], ARGV[b + 4], ARGV[5])
    for _, ki in ipairs({tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])}) do
      if ki > 0 then
        redis.call('LPUSH', KEYS[ki], ARGV[b + 8])
        hist[KEYS[ki]] = true
      end
    end
    local state = 1
    local fi = tonumber(ARGV[b + 10])
    if fi > 0 then
      local at = tonumber(ARGV[b + 7])
      local old = tonumber(redis.call('HGET', KEYS[fi], ARGV[b + 11]))
      if not old or old < tonumber(ARGV[13]) then state = 2 end
      if not old or at > old then redis.call('HSET', KEYS[fi], ARGV[b + 11], at) end
      flags[KEYS[fi]] = true
    end
    out[#out + 1] = state
  else
    out[#out + 1] = 0
  end
end
for k in pairs(seen) do redis.call('EXPIRE', k, ARGV[3]) end
for k, c in pairs(counts) do
  for field, v in pairs(c.fields) do redis.call('HINCRBY', k, field, v) end
  redis.call('EXPIRE', k, c.ttl)
end
-- A history keeps its newest entries (by arrival); entries past their age
-- stay until pushed out or until the key expires (queries filter by time).
for k in pairs(hist) do
  redis.call('LTRIM', k, 0, tonumber(ARGV[8]) - 1)
  redis.call('EXPIRE', k, ARGV[6])
end
-- Flags over the cap lose the oldest (rare: a cap of a few hundred
-- regions, checks, actions and addresses).
for k in pairs(flags) do
  local over = redis.call('HLEN', k) - tonumber(ARGV[12])
  if over > 0 then
    local all = redis.call('HGETALL', k)
    local byAge = {}
    for j = 1, #all, 2 do byAge[#byAge + 1] = {all[j], tonumber(all[j + 1])} end
    table.sort(byAge, function(x, y) return x[2] < y[2] end)
    local gone = {}
    for j = 1, over do gone[j] = byAge[j][1] end
    redis.call('HDEL', k, unpack(gone))
  end
  redis.call('EXPIRE', k, ARGV[10])
end
if next(seen) ~= nil then
  redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
end
return out
`)

// Record stores a batch's detections and returns how many were new (the
// rest had been recorded before: a retried batch). It sets Correlate on
// the detections that may change a correlation verdict with the given
// window (the policy's). An error means some chunks may be stored and
// others not; recording the batch again is safe.
func (a *Aggregator) Record(ctx context.Context, ds []report.Detection, window time.Duration) (fresh int, err error) {
	if len(ds) == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	now := a.now()
	var calls []chunkCall
	for start := 0; start < len(ds); start += chunk {
		calls = append(calls, a.chunkArgs(ds[start:min(start+chunk, len(ds))], now, window))
	}
	results, err := a.runScripts(ctx, calls)
	if err != nil {
		a.m.errors.Inc()
		return 0, fmt.Errorf("record %d detections: %w", len(ds), err)
	}
	i := 0
	for _, r := range results {
		for _, v := range r {
			if v == 0 {
				a.m.duplicates.Inc()
				ds[i].Correlate = true
			} else {
				fresh++
				a.m.ingested.WithLabelValues(ds[i].Action.String()).Inc()
				ds[i].Correlate = v == 2
			}
			i++
		}
	}
	return fresh, nil
}

type chunkCall struct {
	keys []string
	args []any
}

// chunkArgs builds one script call.
func (a *Aggregator) chunkArgs(ds []report.Detection, now time.Time, window time.Duration) chunkCall {
	keys := []string{a.keyStream()}
	index := map[string]int{}
	ref := func(k string) int {
		if i, ok := index[k]; ok {
			return i
		}
		keys = append(keys, k)
		index[k] = len(keys) // Lua indexes from 1
		return len(keys)
	}
	minID := now.Add(-a.cfg.MaxAge).UnixMilli()
	args := make([]any, 0, 13+recordArgs*len(ds))
	args = append(args, a.cfg.MaxLen, minID, int64(DedupWindow/time.Second), int64(minuteTTL/time.Second), int64(hourTTL/time.Second),
		int64(a.cfg.MaxAge/time.Second), now.Add(-a.cfg.MaxAge).UnixMilli(), MaxPlayerEntries, len(ds),
		int64(FlagRetention/time.Second), now.Add(-FlagRetention).UnixMilli(), MaxFlags, now.Add(-window).UnixMilli())
	// One buffer for the chunk's encoded values; each value is a slice of
	// it (an append that moves the buffer leaves earlier slices intact).
	buf := make([]byte, 0, 1024*len(ds))
	for i := range ds {
		d := &ds[i]
		start := len(buf)
		buf = appendRecord(buf, d)
		rec := buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = appendEntry(buf, EntryOf(*d))
		member := buf[start:len(buf):len(buf)]
		minute := d.Time.Unix() / 60
		nameKey, uuidKey := 0, 0
		if d.Player != "" {
			nameKey = ref(a.KeyPlayerName(d.Player))
		}
		if d.UUID != "" {
			uuidKey = ref(a.KeyPlayerUUID(d.UUID))
		}
		flagsKey, flag := 0, ""
		if id, ok := d.Identity(); ok {
			flagsKey = ref(a.keyFlags(id.Key))
			flag = d.Region + "|" + d.Check + "|" + d.Action.String() + "|" + d.Subject()
		}
		args = append(args,
			ref(a.keySeen(minute)), d.TraceID+d.SpanID,
			ref(a.keyMinute(minute)), ref(a.keyHour(minute/60)), d.Region+"|"+d.Check+"|"+d.Action.String(),
			nameKey, uuidKey,
			d.Time.UnixMilli(), member, rec,
			flagsKey, flag)
	}
	return chunkCall{keys: keys, args: args}
}

// runScripts runs the calls in one pipeline. Scripts are sent by hash;
// the calls Redis answers NOSCRIPT (first use, after a restart) are sent
// again once the script is loaded. Only those: another connection may have
// loaded the script while this pipeline ran, and the calls after that ran.
func (a *Aggregator) runScripts(ctx context.Context, calls []chunkCall) ([][]int64, error) {
	out := make([][]int64, len(calls))
	todo := make([]int, len(calls))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		pipe := a.client.Pipeline()
		cmds := make([]*redis.Cmd, len(todo))
		for j, i := range todo {
			cmds[j] = recordScript.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		var again []int
		for j, c := range cmds {
			v, err := c.Int64Slice()
			switch {
			case err == nil:
				out[todo[j]] = v
			case redis.HasErrorPrefix(err, "NOSCRIPT") && attempt == 0:
				again = append(again, todo[j])
			default:
				return nil, err
			}
		}
		if len(again) > 0 {
			if err := recordScript.Load(ctx, a.client).Err(); err != nil {
				return nil, fmt.Errorf("load script: %w", err)
			}
		}
		todo = again
	}
	return out, nil
}

// Entry is one detection in a player's history.
type Entry struct {
	Time          time.Time `json:"time"`
	Region        string    `json:"region"`
	Check         string    `json:"check"`
	Action        string    `json:"action"`
	TraceID       string    `json:"trace_id"`
	SpanID        string    `json:"span_id"`
	Edge          string    `json:"edge,omitempty"`
	Authenticated bool      `json:"authenticated"`
	Player        string    `json:"player,omitempty"`
	UUID          string    `json:"uuid,omitempty"`
	// Address is the client's address scope (an IPv4 address or an IPv6
	// /64, netscope.Address) and Prefix its prefix (IPv4 /24, IPv6 /48).
	Address string `json:"address,omitempty"`
	Prefix  string `json:"prefix,omitempty"`
}

// EntryOf is the history entry of a detection.
func EntryOf(d report.Detection) Entry {
	e := Entry{Time: d.Time.Truncate(time.Millisecond).UTC(), Region: d.Region, Check: d.Check, Action: d.Action.String(),
		TraceID: d.TraceID, SpanID: d.SpanID, Edge: d.Edge, Authenticated: d.Authenticated, Player: d.Player, UUID: d.UUID}
	if a, err := netip.ParseAddr(d.ClientAddr); err == nil {
		e.Address = netscope.Address(a).String()
		e.Prefix = netscope.Prefix(a).String()
	}
	return e
}

// ActionOf parses the entry's action; an unknown one reads as the weakest.
func (e Entry) ActionOf() detection.Action {
	a, _ := detection.ParseAction(e.Action)
	return a
}

// wireEntry is an Entry as stored: short keys, time in milliseconds (the
// history holds up to MaxPlayerEntries of these per player).
type wireEntry struct {
	T  int64  `json:"t"`
	R  string `json:"r"`
	C  string `json:"c"`
	A  string `json:"a"`
	Tr string `json:"tr"`
	Sp string `json:"sp"`
	E  string `json:"e,omitempty"`
	Au bool   `json:"au,omitempty"`
	N  string `json:"n,omitempty"`
	U  string `json:"u,omitempty"`
	Ad string `json:"ad,omitempty"`
	P  string `json:"p,omitempty"`
}

func toWire(e Entry) wireEntry {
	return wireEntry{T: e.Time.UnixMilli(), R: e.Region, C: e.Check, A: e.Action, Tr: e.TraceID, Sp: e.SpanID, E: e.Edge,
		Au: e.Authenticated, N: e.Player, U: e.UUID, Ad: e.Address, P: e.Prefix}
}

func fromWire(s string) (Entry, error) {
	var w wireEntry
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return Entry{}, err
	}
	return Entry{Time: time.UnixMilli(w.T).UTC(), Region: w.R, Check: w.C, Action: w.A, TraceID: w.Tr, SpanID: w.Sp, Edge: w.E,
		Authenticated: w.Au, Player: w.N, UUID: w.U, Address: w.Ad, Prefix: w.P}, nil
}

// Ping checks that Redis answers.
func (a *Aggregator) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return a.client.Ping(ctx).Err()
}

type metrics struct {
	ingested   *prometheus.CounterVec
	duplicates prometheus.Counter
	errors     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_central_detections_ingested_total", Help: "Detections stored in the aggregate, each once, by action."}, []string{"action"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_detections_duplicate_total", Help: "Detections that arrived again (a retried batch) and were not counted twice."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_aggregate_errors_total", Help: "Batches the aggregate could not write to Redis (the edges retry them)."}),
	}
	for _, a := range detection.Actions() {
		m.ingested.WithLabelValues(a.String())
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.ingested, m.duplicates, m.errors} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("aggregate: register metrics: %w", err)
		}
	}
	return m, nil
}
