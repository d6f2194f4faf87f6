package limits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/shared/lru"
	"github.com/rustguard/rustguard/shared/netscope"
)

// ErrUnavailable means Redis did not answer in time (or the breaker is
// open); the Decision returned with it follows the fail-open/closed policy.
var ErrUnavailable = errors.New("limits: shared limits unavailable")

// FleetConfig sets the login limits shared by every edge.
type FleetConfig struct {
	// KeyPrefix starts every Redis key ("rustguard" → "rustguard:login:a:…").
	KeyPrefix string
	// Address limits logins from one IPv4 address or IPv6 /64.
	Address Rate
	// Prefix limits logins from one IPv4 /24 or IPv6 /48.
	Prefix Rate
	// Name limits logins with one player name from one source prefix
	// (IPv4 /24, IPv6 /48). Not from anywhere: before authentication a
	// name is only a claim, and a budget per name alone would let anyone
	// spend the real player's logins by claiming the name from elsewhere.
	Name Rate
	// Timeout bounds the Redis round trip of one login check.
	Timeout time.Duration
	// FailOpen lets logins through when Redis does not answer (the local
	// limits still apply); false refuses them.
	FailOpen bool
	// Cooldown is how long the edge stops asking Redis after a failure, so
	// an outage costs each login nothing rather than a timeout each.
	Cooldown time.Duration
}

// FleetDefaults suit a public network:
//
//   - Address 1 per 3 s, burst 3: Velocity's login-ratelimit (3000 ms per
//     address), with BungeeCord's allowance of three quick attempts
//     (connection_throttle_limit 3) for a household joining together or a
//     client reconnecting after a crash.
//   - Prefix 0.4/s, burst 6: gate's login quota per /24 (0.4/s, burst 3),
//     with a larger burst because the fleet shares one budget that gate
//     keeps per proxy.
//   - Name 1 per 5 s, burst 3, per source prefix: a player who retries is
//     never stopped; a bot herd cycling one name from the addresses of one
//     network is, whatever each address's own budget.
//   - Timeout 50 ms: a Redis in the same region answers in about 1 ms, so
//     50 ms covers a slow moment without making a login wait noticeably.
//   - FailOpen: players keep joining during a Redis outage; the local
//     limits still blunt floods (docs/FLEET.md, Redis timeouts and failing open).
//   - Cooldown 1 s: an outage is retried once a second per edge.
func FleetDefaults() FleetConfig {
	return FleetConfig{
		KeyPrefix: "rustguard",
		Address:   Rate{PerSecond: 1.0 / 3, Burst: 3},
		Prefix:    Rate{PerSecond: 0.4, Burst: 6},
		Name:      Rate{PerSecond: 0.2, Burst: 3},
		Timeout:   50 * time.Millisecond,
		FailOpen:  true,
		Cooldown:  time.Second,
	}
}

// maxNameKey caps the name part of a Redis key: Login Start carries at
// most 16 characters (String(16)), 64 bytes in UTF-8. The conn layer
// enforces that already; this keeps the key bounded regardless.
const maxNameKey = 64

// maxCachedRefusals caps the refusal cache. An entry only saves a Redis
// round trip while its retry-after lasts (seconds to a minute at the
// default rates); evicting one early costs one more round trip for that
// key, never a login Redis would refuse. 32,768 entries hold every key a
// flood of 500 refused sources a second keeps busy for a minute; about
// 200 bytes each with the map, 6.5 MB full.
const maxCachedRefusals = 1 << 15

// FleetOptions are the fleet limiter's dependencies.
type FleetOptions struct {
	Client     redis.UniversalClient // required
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	// Now is the clock for the refusal cache and the breaker; time.Now
	// when nil. Redis's own clock decides the limits.
	Now func() time.Time
}

// Decision is the outcome of a fleet login check.
type Decision struct {
	Allowed bool
	// Tier is the first limit that refused (TierUnavailable when Redis did
	// not answer and the policy is fail-closed), TierNone when allowed.
	Tier Tier
	// RetryAfter is when the login would be allowed, for the player's
	// message; zero when allowed or unknown.
	RetryAfter time.Duration
	// Backed reports whether Redis made the decision. Counting decisions
	// against backed ones shows how often shared protection was in force.
	Backed bool
}

// Fleet is the second tier: GCRA login limits in Redis, shared by the
// fleet. Each limit is one key and one script call, so nothing is
// cross-slot in Redis Cluster; the calls of one login go out in one
// pipeline.
type Fleet struct {
	cfg    FleetConfig
	client redis.UniversalClient
	log    *slog.Logger
	rates  [numTiers]Rate

	now       func() time.Time
	openUntil atomic.Int64 // unix nanoseconds until which Redis is skipped
	healthy   atomic.Bool
	m         fleetMetrics

	// refusals caches what Redis refused, by tier and key, until the
	// retry-after it gave: until then Redis would refuse again (a refused
	// attempt does not move a GCRA key, only allowed ones push it later),
	// so the edge answers itself and a refused flood costs Redis nothing.
	refusedMu sync.Mutex
	refusals  *lru.Table[refusalKey, int64] // value: unix nanoseconds until which the key is refused
}

// refusalKey names one limit key without allocating: the tier, the source's
// network key (addrKey or prefixKey) and, for the name tier, the folded
// name.
type refusalKey struct {
	tier Tier
	net  uint64
	n    uint8
	name [maxNameKey]byte
}

// NewFleet validates cfg and returns the limiter.
func NewFleet(cfg FleetConfig, o FleetOptions) (*Fleet, error) {
	if o.Client == nil {
		return nil, errors.New("limits: FleetOptions.Client is required")
	}
	for _, r := range []struct {
		what string
		r    Rate
	}{{"fleet address", cfg.Address}, {"fleet prefix", cfg.Prefix}, {"fleet name", cfg.Name}} {
		if err := r.r.validate(r.what); err != nil {
			return nil, err
		}
	}
	if cfg.Timeout <= 0 || cfg.Cooldown < 0 {
		return nil, fmt.Errorf("limits: fleet timeout %v must be positive and cooldown %v not negative", cfg.Timeout, cfg.Cooldown)
	}
	if cfg.KeyPrefix == "" {
		return nil, errors.New("limits: fleet key prefix must not be empty")
	}
	f := &Fleet{cfg: cfg, client: o.Client, log: o.Log, now: o.Now,
		refusals: lru.New[refusalKey, int64](maxCachedRefusals)}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.rates[TierAddress], f.rates[TierPrefix], f.rates[TierName] = cfg.Address, cfg.Prefix, cfg.Name
	f.healthy.Store(true)
	var err error
	if f.m, err = newFleetMetrics(f, o.Registerer); err != nil {
		return nil, err
	}
	return f, nil
}

// gcraScript is the generic cell rate algorithm on one key holding the
// theoretical arrival time (TAT) in milliseconds. A request is allowed if
// the TAT it would push forward stays within burst × interval of now. Time
// comes from Redis, so edges with skewed clocks share one timeline; the key
// expires when the TAT passes, so idle keys cost nothing.
//
// KEYS[1] key. ARGV[1] interval ms (may be fractional), ARGV[2] burst.
// Returns {1, 0} when allowed, {0, retry-after ms} when not.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat < now then
  tat = now
end
local next = tat + interval
local allow_at = next - interval * burst
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', next), 'PX', math.max(1, math.ceil(next - now)))
return {1, 0}
`)

// AllowLogin checks one login against the fleet's address, prefix and name
// limits. Every enabled limit counts the attempt, allowed or not. A key
// Redis refused earlier is refused from the local cache until its
// retry-after, without a round trip. On a Redis error or timeout it returns
// the policy's decision (allowed when FailOpen) together with an error
// wrapping ErrUnavailable; the caller logs at debug and counts it, the Fleet
// itself reports outages.
func (f *Fleet) AllowLogin(ctx context.Context, addr netip.Addr, name string) (Decision, error) {
	var rk [numTiers]refusalKey
	tiers := make([]Tier, 0, 3)
	if addr.IsValid() {
		if f.rates[TierAddress].Enabled() {
			k, _ := addrKey(addr)
			rk[len(tiers)] = refusalKey{tier: TierAddress, net: k}
			tiers = append(tiers, TierAddress)
		}
		if f.rates[TierPrefix].Enabled() {
			k, _ := prefixKey(addr)
			rk[len(tiers)] = refusalKey{tier: TierPrefix, net: k}
			tiers = append(tiers, TierPrefix)
		}
	}
	if name != "" && f.rates[TierName].Enabled() {
		// The name budget is kept per source prefix: see FleetConfig.Name.
		// An invalid address (unknown peer) shares one budget per name.
		k, _ := prefixKey(addr)
		r := refusalKey{tier: TierName, net: k}
		r.n = uint8(foldName(&r.name, name))
		rk[len(tiers)] = r
		tiers = append(tiers, TierName)
	}
	if len(tiers) == 0 {
		return Decision{Allowed: true, Backed: true}, nil
	}
	start := f.now()
	if d, ok := f.cachedRefusal(rk[:len(tiers)], start); ok {
		f.m.decisions[resultRefusedCached].Inc()
		f.m.refused[d.Tier].Inc()
		return d, nil
	}
	if until := f.openUntil.Load(); until != 0 && start.UnixNano() < until {
		return f.unavailable(errors.New("circuit open after a recent failure"))
	}
	keys := make([]string, len(tiers))
	for i, t := range tiers {
		switch t {
		case TierAddress:
			keys[i] = f.cfg.KeyPrefix + ":login:a:" + netscope.Address(addr).String()
		case TierPrefix:
			keys[i] = f.cfg.KeyPrefix + ":login:p:" + netscope.Prefix(addr).String()
		case TierName:
			keys[i] = f.cfg.KeyPrefix + ":login:n:" + netscope.Prefix(addr).String() + ":" + string(rk[i].name[:rk[i].n])
		}
	}

	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	cmds, err := f.run(ctx, keys, tiers, false)
	if err != nil && isNoScript(err) {
		// Redis restarted or failed over and lost its script cache: EVAL
		// sends the body and caches it again.
		cmds, err = f.run(ctx, keys, tiers, true)
	}
	f.m.latency.Observe(f.now().Sub(start).Seconds())
	if err != nil {
		f.trip(err)
		return f.unavailable(err)
	}
	f.recover()

	d := Decision{Allowed: true, Backed: true}
	for i, c := range cmds {
		res, err := c.Int64Slice()
		if err != nil || len(res) != 2 {
			f.trip(err)
			return f.unavailable(fmt.Errorf("unexpected GCRA reply %v: %w", c.Val(), err))
		}
		if res[0] == 1 {
			continue
		}
		retry := time.Duration(res[1]) * time.Millisecond
		f.cacheRefusal(rk[i], start.Add(retry))
		if d.Allowed {
			d.Allowed, d.Tier = false, tiers[i]
		}
		d.RetryAfter = max(d.RetryAfter, retry)
	}
	if d.Allowed {
		f.m.decisions[resultAllowed].Inc()
	} else {
		f.m.decisions[resultRefused].Inc()
		f.m.refused[d.Tier].Inc()
	}
	return d, nil
}

// cachedRefusal reports the first of keys that Redis refused and whose
// retry-after has not passed at now. Expired entries are dropped on the way.
func (f *Fleet) cachedRefusal(keys []refusalKey, now time.Time) (Decision, bool) {
	t := now.UnixNano()
	f.refusedMu.Lock()
	defer f.refusedMu.Unlock()
	for i := range keys {
		until := f.refusals.Get(keys[i])
		if until == nil {
			continue
		}
		if *until <= t {
			f.refusals.Remove(keys[i])
			continue
		}
		return Decision{Tier: keys[i].tier, RetryAfter: time.Duration(*until - t), Backed: true}, true
	}
	return Decision{}, false
}

// cacheRefusal remembers that k is refused until.
func (f *Fleet) cacheRefusal(k refusalKey, until time.Time) {
	f.refusedMu.Lock()
	v, _ := f.refusals.Put(k)
	*v = until.UnixNano()
	f.refusedMu.Unlock()
}

func (f *Fleet) run(ctx context.Context, keys []string, tiers []Tier, eval bool) ([]*redis.Cmd, error) {
	pipe := f.client.Pipeline()
	cmds := make([]*redis.Cmd, len(keys))
	for i, k := range keys {
		r := f.rates[tiers[i]]
		interval := strconv.FormatFloat(float64(r.Interval())/float64(time.Millisecond), 'f', 3, 64)
		if eval {
			cmds[i] = gcraScript.Eval(ctx, pipe, []string{k}, interval, r.Burst)
		} else {
			cmds[i] = gcraScript.EvalSha(ctx, pipe, []string{k}, interval, r.Burst)
		}
	}
	_, err := pipe.Exec(ctx)
	return cmds, err
}

func isNoScript(err error) bool { return redis.HasErrorPrefix(err, "NOSCRIPT") }

// unavailable is the policy decision when Redis cannot decide.
func (f *Fleet) unavailable(cause error) (Decision, error) {
	err := fmt.Errorf("%w: %w", ErrUnavailable, cause)
	if f.cfg.FailOpen {
		f.m.decisions[resultFailedOpen].Inc()
		return Decision{Allowed: true}, err
	}
	f.m.decisions[resultFailedClosed].Inc()
	f.m.refused[TierUnavailable].Inc()
	return Decision{Allowed: false, Tier: TierUnavailable, RetryAfter: f.cfg.Cooldown}, err
}

// trip opens the breaker for Cooldown and reports the outage once.
func (f *Fleet) trip(err error) {
	f.openUntil.Store(f.now().Add(f.cfg.Cooldown).UnixNano())
	if f.healthy.Swap(false) {
		policy := "letting logins through (fail open)"
		if !f.cfg.FailOpen {
			policy = "refusing logins (fail closed)"
		}
		f.log.Warn("shared login limits unavailable; local limits only, "+policy, "err", err)
	}
}

func (f *Fleet) recover() {
	f.openUntil.Store(0)
	if !f.healthy.Swap(true) {
		f.log.Info("shared login limits available again")
	}
}

// Healthy reports whether Redis answered the last login check.
func (f *Fleet) Healthy() bool { return f.healthy.Load() }

// foldName writes name into buf with ASCII case folded (names are
// case-insensitive in vanilla), cut to maxNameKey bytes, and returns the
// length written. It allocates nothing, so the refusal cache can be checked
// on every attempt of a flood.
func foldName(buf *[maxNameKey]byte, name string) int {
	n := copy(buf[:], name)
	for i := range n {
		if c := buf[i]; 'A' <= c && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	return n
}

// Decision results, for the decisions metric.
const (
	resultAllowed = iota
	resultRefused
	resultRefusedCached
	resultFailedOpen
	resultFailedClosed
	numResults
)

var resultNames = [numResults]string{"allowed", "refused", "refused_cached", "failed_open", "failed_closed"}

type fleetMetrics struct {
	decisions [numResults]prometheus.Counter
	refused   [numTiers]prometheus.Counter
	latency   prometheus.Histogram
}

func newFleetMetrics(f *Fleet, reg prometheus.Registerer) (fleetMetrics, error) {
	var m fleetMetrics
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_login_limit_decisions_total", Help: "Fleet login limit checks, by result: allowed and refused (decided by Redis), refused_cached (refused again from this edge's cache of a Redis refusal, until its retry-after), failed_open and failed_closed (Redis unavailable, policy applied)."},
		[]string{"result"})
	for i, n := range resultNames {
		m.decisions[i] = decisions.WithLabelValues(n)
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_login_limit_refused_total", Help: "Logins refused by the fleet limits, by tier: address, prefix, name, unavailable (fail closed)."},
		[]string{"tier"})
	for _, t := range []Tier{TierAddress, TierPrefix, TierName, TierUnavailable} {
		m.refused[t] = refused.WithLabelValues(t.String())
	}
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "rustguard_edge_login_limit_seconds", Help: "Time for one fleet login limit check against Redis.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1}})
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_edge_login_limit_redis_up", Help: "1 while Redis answers fleet login checks; 0 while the edge applies its fail-open/closed policy."},
		func() float64 {
			if f.Healthy() {
				return 1
			}
			return 0
		})
	if reg != nil {
		for _, c := range []prometheus.Collector{decisions, refused, m.latency, up} {
			if err := reg.Register(c); err != nil {
				return m, fmt.Errorf("limits: register fleet metrics: %w", err)
			}
		}
	}
	return m, nil
}
