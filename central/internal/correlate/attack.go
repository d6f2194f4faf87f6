package correlate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/config"
)

// Attack bounds.
const (
	// minShapeCount is how many logins of one name shape an interval needs
	// for the shape to count as flooding: an honest region's most common
	// shape among a handful of logins says nothing.
	minShapeCount = 10
	// maxTrackedEdges bounds the per-edge attack state (one entry per
	// edge reporting attack mode within the window).
	maxTrackedEdges = 1024
	// MaxWaves is how many waves are kept for GET /v1/attacks.
	MaxWaves = 1000
	// reportsSeenTTL is how long attack reports' span ids are remembered,
	// so a retried batch counts nothing twice (aggregate.DedupWindow for
	// detections; an edge sends one report every 10 s, so the set stays
	// small).
	reportsSeenTTL = 10 * time.Minute
)

// Wave kinds.
const (
	KindAttack    = "attack"     // attack reports from several regions
	KindNameShape = "name_shape" // one login-name shape flooding several regions
)

// waveScript records one attack report and decides, with Redis's clock,
// whether several regions are under attack. KEYS: per-edge attack state
// (zset), the report's name-shape state (zset; the first key again when
// the report has no shape), the current wave id, the wave index (zset),
// the wave data (hash). ARGV: window ms, hold ms, minimum regions, member
// "<region>|<edge>", active (1/0), shape ("" none), shape count, joins per
// second, failed verifications, minimum shape count, maximum tracked
// edges, maximum waves, the report's span ids, the seen set's TTL (s); a
// sixth key is the set of reports seen (a retried batch changes nothing).
// Returns {0} when no wave is on or extended, else {1, id, wave JSON, 1 if
// created}.
var waveScript = redis.NewScript(`
if redis.call('SADD', KEYS[6], ARGV[13]) == 0 then return {0} end
redis.call('EXPIRE', KEYS[6], ARGV[14])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, hold, minRegions = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local member, active, shape = ARGV[4], ARGV[5] == '1', ARGV[6]
local function track(key, on)
  if on then redis.call('ZADD', key, now, member) else redis.call('ZREM', key, member) end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(ARGV[11]) + 1))
  redis.call('PEXPIRE', key, window)
end
local function regionsOf(key)
  local seen, list = {}, {}
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local r = string.match(m, '^([^|]*)|')
    if r and not seen[r] then seen[r] = true; list[#list + 1] = r end
  end
  table.sort(list)
  return list
end
track(KEYS[1], active)
local regions = regionsOf(KEYS[1])
local shapeRegions = {}
if shape ~= '' then
  track(KEYS[2], active and tonumber(ARGV[7]) >= tonumber(ARGV[10]))
  shapeRegions = regionsOf(KEYS[2])
end
local kinds = {}
if #regions >= minRegions then kinds[#kinds + 1] = 'attack' end
if #shapeRegions >= minRegions then kinds[#kinds + 1] = 'name_shape' end
if not active or #kinds == 0 then return {0} end

local id = redis.call('GET', KEYS[3])
local wave, created = nil, 0
if id then
  local raw = redis.call('HGET', KEYS[5], id)
  if raw then wave = cjson.decode(raw) end
end
if not wave then
  id = 'w' .. now
  created = 1
  wave = {id = id, started_ms = now, reports = 0, peak_joins_per_second = 0, verifications_failed = 0}
  redis.call('ZADD', KEYS[4], now, id)
end
redis.call('SET', KEYS[3], id, 'PX', hold)
local function union(list, more)
  local seen, out = {}, {}
  for _, v in ipairs(list or {}) do if not seen[v] then seen[v] = true; out[#out + 1] = v end end
  for _, v in ipairs(more) do if not seen[v] then seen[v] = true; out[#out + 1] = v end end
  table.sort(out)
  if #out == 0 then return nil end
  return out
end
wave.last_ms = now
wave.reports = wave.reports + 1
wave.kinds = union(wave.kinds, kinds)
wave.regions = union(wave.regions, regions)
if #shapeRegions >= minRegions then wave.shapes = union(wave.shapes, {shape}) end
wave.peak_joins_per_second = math.max(wave.peak_joins_per_second, tonumber(ARGV[8]))
wave.verifications_failed = wave.verifications_failed + tonumber(ARGV[9])
local encoded = cjson.encode(wave)
redis.call('HSET', KEYS[5], id, encoded)
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[12])
if excess > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do redis.call('HDEL', KEYS[5], old) end
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1)
end
return {1, id, encoded, created}
`)

func (c *Correlator) keyEdges() string             { return c.base + "attack:edges" }
func (c *Correlator) keyShape(shape string) string { return c.base + "attack:shape:" + shape }
func (c *Correlator) keyActive() string            { return c.base + "wave:active" }
func (c *Correlator) keyWaves() string             { return c.base + "waves" }
func (c *Correlator) keyWaveData() string          { return c.base + "waves:data" }
func (c *Correlator) keyReportsSeen() string       { return c.base + "attack:seen" }

// Wave is one period during which several regions reported attacks.
type Wave struct {
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
	Last    time.Time `json:"last"`
	// Active: the wave is still held (a report within AttackHold).
	Active  bool     `json:"active"`
	Kinds   []string `json:"kinds"`
	Regions []string `json:"regions"`
	Shapes  []string `json:"shapes,omitempty"`
	// PeakJoinsPerSecond is the highest rate one edge reported;
	// VerificationsFailed the sum over the wave's reports.
	PeakJoinsPerSecond  float64 `json:"peak_joins_per_second"`
	VerificationsFailed int64   `json:"verifications_failed"`
	Reports             int64   `json:"reports"`
}

type wireWave struct {
	ID      string   `json:"id"`
	Started int64    `json:"started_ms"`
	Last    int64    `json:"last_ms"`
	Kinds   []string `json:"kinds"`
	Regions []string `json:"regions"`
	Shapes  []string `json:"shapes"`
	Peak    float64  `json:"peak_joins_per_second"`
	Failed  int64    `json:"verifications_failed"`
	Reports int64    `json:"reports"`
}

func decodeWave(s string) (Wave, error) {
	var w wireWave
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return Wave{}, err
	}
	return Wave{ID: w.ID, Started: time.UnixMilli(w.Started).UTC(), Last: time.UnixMilli(w.Last).UTC(), Kinds: w.Kinds,
		Regions: w.Regions, Shapes: w.Shapes, PeakJoinsPerSecond: w.Peak, VerificationsFailed: w.Failed, Reports: w.Reports}, nil
}

// FleetFlag is the value of the fleet attack flag the edges read.
type FleetFlag struct {
	Reason  string    `json:"reason"`
	Regions []string  `json:"regions"`
	Since   time.Time `json:"since"`
	Wave    string    `json:"wave,omitempty"`
}

// attack records one report and acts on a wave.
func (c *Correlator) attack(ctx context.Context, pol config.Correlation, a report.Attack) error {
	shapeKey := c.keyEdges()
	if a.NameShape != "" {
		shapeKey = c.keyShape(a.NameShape)
	}
	active := "0"
	if a.Active {
		active = "1"
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	res, err := waveScript.Run(ctx, c.client,
		[]string{c.keyEdges(), shapeKey, c.keyActive(), c.keyWaves(), c.keyWaveData(), c.keyReportsSeen()},
		pol.Window.D().Milliseconds(), pol.AttackHold.D().Milliseconds(), pol.AttackMinRegions,
		a.Region+"|"+a.Edge, active, a.NameShape, a.NameShapeCount, a.JoinsPerSecond, a.VerificationsFailed,
		minShapeCount, maxTrackedEdges, MaxWaves, a.TraceID+a.SpanID, int64(reportsSeenTTL/time.Second)).Slice()
	if err != nil {
		return fmt.Errorf("record attack report: %w", err)
	}
	if on, _ := res[0].(int64); on != 1 || len(res) < 4 {
		return nil
	}
	raw, _ := res[2].(string)
	w, err := decodeWave(raw)
	if err != nil {
		return fmt.Errorf("decode wave: %w", err)
	}
	if created, _ := res[3].(int64); created == 1 {
		c.m.waves.Inc()
		c.log.Warn("attack wave: several regions under attack at once", "wave", w.ID, "kinds", strings.Join(w.Kinds, ","),
			"regions", strings.Join(w.Regions, ","), "shapes", strings.Join(w.Shapes, ","))
	}
	if !pol.AttackFleetMode {
		return nil
	}
	flag := FleetFlag{Reason: reasonOf(w), Regions: w.Regions, Since: w.Started, Wave: w.ID}
	data, err := json.Marshal(flag)
	if err != nil {
		return err
	}
	// Every replica may refresh the flag: the same key and value, the
	// hold counted from the latest report.
	if err := c.client.Set(ctx, c.fleet, data, pol.AttackHold.D()).Err(); err != nil {
		return fmt.Errorf("set fleet attack flag: %w", err)
	}
	c.m.fleet.Inc()
	return nil
}

func reasonOf(w Wave) string {
	parts := []string{}
	if slices.Contains(w.Kinds, KindAttack) {
		parts = append(parts, "attack mode in "+strings.Join(w.Regions, ", "))
	}
	if slices.Contains(w.Kinds, KindNameShape) {
		parts = append(parts, "login names shaped "+strings.Join(w.Shapes, ", ")+" in several regions")
	}
	return strings.Join(parts, "; ")
}

// EdgeAttack is one edge that reported attack mode within the window.
type EdgeAttack struct {
	Region string    `json:"region"`
	Edge   string    `json:"edge"`
	Last   time.Time `json:"last_report"`
}

// Attacks is the fleet's attack picture for GET /v1/attacks.
type Attacks struct {
	// Fleet is the fleet attack flag while it is set.
	Fleet *FleetFlag `json:"fleet,omitempty"`
	// FleetExpires is when the flag lapses unless renewed.
	FleetExpires time.Time `json:"fleet_expires,omitzero"`
	// Edges report attack mode now (within the correlation window).
	Edges []EdgeAttack `json:"edges"`
	// Waves, newest first.
	Waves []Wave `json:"waves"`
}

// Attacks reads the recorded waves (newest first, at most limit), the
// edges currently in attack mode and the fleet flag.
func (c *Correlator) Attacks(ctx context.Context, limit int) (Attacks, error) {
	if limit <= 0 || limit > MaxWaves {
		return Attacks{}, fmt.Errorf("limit %d not in 1..%d", limit, MaxWaves)
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	pol := c.o.Policy.Correlation()
	pipe := c.client.Pipeline()
	ids := pipe.ZRevRange(ctx, c.keyWaves(), 0, int64(limit-1))
	active := pipe.Get(ctx, c.keyActive())
	edges := pipe.ZRangeByScoreWithScores(ctx, c.keyEdges(), &redis.ZRangeBy{
		Min: fmt.Sprint(c.now().Add(-pol.Window.D()).UnixMilli()), Max: "+inf"})
	flag := pipe.Get(ctx, c.fleet)
	ttl := pipe.PTTL(ctx, c.fleet)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Attacks{}, fmt.Errorf("read attacks: %w", err)
	}
	out := Attacks{Edges: []EdgeAttack{}, Waves: []Wave{}}
	for _, z := range edges.Val() {
		m, _ := z.Member.(string)
		region, edge, _ := strings.Cut(m, "|")
		out.Edges = append(out.Edges, EdgeAttack{Region: region, Edge: edge, Last: time.UnixMilli(int64(z.Score)).UTC()})
	}
	if raw, err := flag.Result(); err == nil {
		var f FleetFlag
		if json.Unmarshal([]byte(raw), &f) == nil {
			out.Fleet = &f
			if d := ttl.Val(); d > 0 {
				out.FleetExpires = c.now().Add(d).UTC()
			}
		}
	}
	if len(ids.Val()) > 0 {
		data, err := c.client.HMGet(ctx, c.keyWaveData(), ids.Val()...).Result()
		if err != nil {
			return Attacks{}, fmt.Errorf("read waves: %w", err)
		}
		for _, v := range data {
			s, _ := v.(string)
			w, err := decodeWave(s)
			if err != nil {
				continue
			}
			w.Active = w.ID == active.Val()
			out.Waves = append(out.Waves, w)
		}
	}
	return out, nil
}
