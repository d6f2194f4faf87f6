package limits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// AttackConfig sets the fleet join-rate signal.
type AttackConfig struct {
	// KeyPrefix starts every Redis key ("rustguard" → "rustguard:{joins}:<unix second>").
	KeyPrefix string
	// Window is the span the fleet rate is averaged over.
	Window time.Duration
	// Flush is how often an edge adds its joins and reads the fleet's.
	Flush time.Duration
	// Timeout bounds one flush round trip.
	Timeout time.Duration
}

// AttackDefaults: Window 5 s smooths a single busy second without hiding
// a wave that lasts; Flush 1 s is the sync interval for shared counters
// (0.5–1 s, docs/FLEET.md, "Rate limits in three tiers"), so the signal
// lags an attack by about a second; Timeout 500 ms keeps a slow Redis from
// delaying the next flush.
func AttackDefaults() AttackConfig {
	return AttackConfig{KeyPrefix: "rustguard", Window: 5 * time.Second, Flush: time.Second, Timeout: 500 * time.Millisecond}
}

// maxWindowSeconds caps Window: the flush reads one key per second of it.
const maxWindowSeconds = 60

// The fleet attack flag: rustguard-central sets "<prefix>:attack:fleet"
// (a JSON value saying why, with a TTL: the policy's hold time) when
// several regions are under attack at once. Its presence is attack mode
// for every edge with Redis (docs/CENTRAL.md).
const (
	// fleetFlagKey follows KeyPrefix.
	fleetFlagKey = ":attack:fleet"
	// flagNoTTLHold is how long a flag without a TTL (central always sets
	// one; an operator's redis-cli SET may not) counts after the last
	// flush that saw it, should Redis become unreachable: a few flushes.
	flagNoTTLHold = 10 * time.Second
	// maxFlagReason caps how much of the flag's value reaches a log line.
	maxFlagReason = 256
)

// joinKeyTTL keeps a per-second key this long past the window, so a late
// reader still finds it and Redis forgets it soon after.
const joinKeyTTL = 10 * time.Second

// AttackOptions are the signal's dependencies.
type AttackOptions struct {
	Client     redis.UniversalClient // required
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time      // for tests; time.Now when nil
}

// AttackSignal is the third tier: the fleet's joins per second, aggregated
// off the login path, and central's fleet attack flag. Join only bumps an atomic counter; once a second Run
// adds the count to the Redis key of the current second and reads the sum
// of the last Window's complete seconds. All keys share the hash tag
// {joins}, so the read is one MGET on one Cluster slot; the edges write one
// small command a second each.
type AttackSignal struct {
	cfg     AttackConfig
	client  redis.UniversalClient
	log     *slog.Logger
	now     func() time.Time
	seconds int64

	pending atomic.Int64
	fleet   atomic.Uint64 // float64 bits: fleet joins/s at the last flush
	local   atomic.Uint64 // float64 bits: this edge's joins/s over the window
	healthy atomic.Bool
	// flagUntil is when the fleet attack flag, as last read, lapses
	// (unix nanoseconds; 0: not set). While Redis is unreachable the
	// flag holds until its own expiry: fail static, bounded by the TTL
	// central gave it.
	flagUntil atomic.Int64
	flagOn    bool // Flush only: the flag's state at the last flush, for logs

	mu     sync.Mutex // Flush is serialised; it owns history
	recent []secCount // this edge's flushed counts inside the window
}

type secCount struct{ sec, n int64 }

// NewAttackSignal validates cfg and returns the signal; call Run to start
// flushing.
func NewAttackSignal(cfg AttackConfig, o AttackOptions) (*AttackSignal, error) {
	if o.Client == nil {
		return nil, errors.New("limits: AttackOptions.Client is required")
	}
	secs := int64(cfg.Window / time.Second)
	if secs < 1 || secs > maxWindowSeconds || cfg.Window%time.Second != 0 {
		return nil, fmt.Errorf("limits: attack window %v must be whole seconds between 1 s and %d s", cfg.Window, maxWindowSeconds)
	}
	if cfg.Flush <= 0 || cfg.Timeout <= 0 || cfg.KeyPrefix == "" {
		return nil, fmt.Errorf("limits: attack flush %v and timeout %v must be positive, key prefix non-empty", cfg.Flush, cfg.Timeout)
	}
	a := &AttackSignal{cfg: cfg, client: o.Client, log: o.Log, now: o.Now, seconds: secs}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "rustguard_edge_fleet_joins_per_second", Help: "Logins per second across the fleet over the attack window (this edge's own rate while Redis is unavailable)."},
				a.measuredRate),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "rustguard_edge_fleet_attack_flag", Help: "1 while central's fleet attack flag is set (attack mode for the whole fleet), 0 otherwise."},
				func() float64 {
					if a.FleetAttack() {
						return 1
					}
					return 0
				}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "rustguard_edge_attack_signal_redis_up", Help: "1 while the fleet join counter in Redis is reachable."},
				func() float64 {
					if a.Healthy() {
						return 1
					}
					return 0
				}),
		} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("limits: register attack metrics: %w", err)
			}
		}
	}
	return a, nil
}

// Join counts one login. It never blocks and never touches the network.
func (a *AttackSignal) Join() { a.pending.Add(1) }

// FleetJoinsPerSecond is the fleet's login rate at the last flush. While
// Redis is unreachable it is this edge's own rate: a lower bound, so an
// attack seen locally still counts. While central's fleet attack flag is
// set it is +Inf: the gate compares the rate with its fleet threshold
// (gate.attack_fleet_joins_per_second), so the flag turns attack mode on
// exactly as a fleet rate over the threshold would, and off again after
// the gate's quiet period once the flag is gone. A gate that ignores the
// fleet (threshold 0) ignores the flag too.
func (a *AttackSignal) FleetJoinsPerSecond() float64 {
	if a.FleetAttack() {
		return math.Inf(1)
	}
	return a.measuredRate()
}

// measuredRate is the join rate without the flag (the metric's value).
func (a *AttackSignal) measuredRate() float64 {
	if a.healthy.Load() {
		return math.Float64frombits(a.fleet.Load())
	}
	return math.Float64frombits(a.local.Load())
}

// FleetAttack reports whether central's fleet attack flag is set, as of
// the last flush (until the flag's own expiry if Redis has gone away).
func (a *AttackSignal) FleetAttack() bool {
	until := a.flagUntil.Load()
	return until != 0 && a.now().UnixNano() < until
}

// Healthy reports whether the last flush reached Redis.
func (a *AttackSignal) Healthy() bool { return a.healthy.Load() }

// Run flushes every Flush until ctx ends, then returns nil.
func (a *AttackSignal) Run(ctx context.Context) error {
	tick := time.NewTicker(a.cfg.Flush)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			_ = a.Flush(ctx) // Flush logs outage transitions itself
		}
	}
}

// Flush adds the joins counted since the last flush to the current
// second's key and reads back the fleet's joins over the window's complete
// seconds (the current second is still being written by other edges).
// Counts of a failed flush are dropped: the signal is approximate by
// design, and a stale second would fall out of the window anyway.
func (a *AttackSignal) Flush(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	sec := a.now().Unix()
	n := a.pending.Swap(0)

	a.recent = append(a.recent, secCount{sec, n})
	var localSum int64
	kept := a.recent[:0]
	for _, c := range a.recent {
		if c.sec > sec-a.seconds {
			kept = append(kept, c)
			localSum += c.n
		}
	}
	a.recent = kept
	a.local.Store(math.Float64bits(float64(localSum) / float64(a.seconds)))

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	pipe := a.client.Pipeline()
	if n > 0 {
		k := a.key(sec)
		pipe.IncrBy(ctx, k, n)
		pipe.Expire(ctx, k, time.Duration(a.seconds)*time.Second+joinKeyTTL)
	}
	keys := make([]string, 0, a.seconds)
	for s := sec - a.seconds; s < sec; s++ {
		keys = append(keys, a.key(s))
	}
	mget := pipe.MGet(ctx, keys...)
	flag := pipe.Get(ctx, a.cfg.KeyPrefix+fleetFlagKey)
	flagTTL := pipe.PTTL(ctx, a.cfg.KeyPrefix+fleetFlagKey)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		if a.healthy.Swap(false) {
			a.log.Warn("fleet join counter unavailable; attack signal uses this edge's own rate", "err", err)
		}
		return fmt.Errorf("flush join counter: %w", err)
	}
	a.readFlag(flag, flagTTL)
	var total int64
	for _, v := range mget.Val() {
		if s, ok := v.(string); ok {
			if c, err := strconv.ParseInt(s, 10, 64); err == nil && c > 0 {
				total += c
			}
		}
	}
	a.fleet.Store(math.Float64bits(float64(total) / float64(a.seconds)))
	if !a.healthy.Swap(true) {
		a.log.Info("fleet join counter available")
	}
	return nil
}

// readFlag notes the fleet attack flag as read by the last flush, and
// logs when it appears or goes.
func (a *AttackSignal) readFlag(value *redis.StringCmd, ttl *redis.DurationCmd) {
	reason, err := value.Result()
	on := err == nil
	switch d := ttl.Val(); {
	case !on:
		a.flagUntil.Store(0)
	case d > 0:
		a.flagUntil.Store(a.now().Add(d).UnixNano())
	default: // no TTL (-1), or gone between the two reads
		a.flagUntil.Store(a.now().Add(flagNoTTLHold).UnixNano())
	}
	if on == a.flagOn {
		return
	}
	a.flagOn = on
	if on {
		if len(reason) > maxFlagReason {
			reason = reason[:maxFlagReason]
		}
		a.log.Warn("fleet attack flag set by central: attack mode for the whole fleet", "flag", reason, "expires_in", ttl.Val().Round(time.Second).String())
	} else {
		a.log.Info("fleet attack flag cleared")
	}
}

func (a *AttackSignal) key(sec int64) string {
	return a.cfg.KeyPrefix + ":{joins}:" + strconv.FormatInt(sec, 10)
}
