// Package correlate turns evidence from several regions into fleet-wide
// action, under the correlation policy of the fleet configuration
// (config.Correlation):
//
//   - players: the same identity flagged in at least BanMinRegions regions
//     by at least BanMinChecks distinct checks within Window, counting only
//     flags whose action was at least BanMinAction, is banned fleet-wide
//     for BanDuration through the shared ban list (bans.Store.Add: every
//     edge enforces it within a second and kicks matching players), with
//     the detections it rests on recorded on the ban as evidence;
//   - attack waves: attack reports from at least AttackMinRegions regions
//     within Window, or the same login-name shape flooding that many
//     regions, are recorded as a wave (GET /v1/attacks) and, with
//     AttackFleetMode, turn the fleet attack flag on for AttackHold.
//
// Identity follows what the edge could prove: the account UUID when the
// login was authenticated; otherwise the lower-cased name together with
// the client's address prefix (netscope.Prefix), because an offline name
// is only a claim. Such an identity is banned by address (netscope.Address
// of each address seen), never by name: banning a claimed name would ban
// whoever the cheater chose to impersonate.
//
// Decisions are deterministic and taken once across replicas: a ban is
// written only by the replica that wins SET NX on a marker named after the
// ban's own id, and waves are created and extended by a Lua script that
// reads Redis's clock, so two centrals on one Redis ban once and see one
// wave.
package correlate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/lru"
	"github.com/rustguard/rustguard/shared/netscope"
)

// Policy supplies the correlation policy; it is read for every batch, so
// a new fleet document applies at once.
type Policy interface {
	Correlation() config.Correlation
}

// StaticPolicy is a fixed policy: config.DefaultCorrelation until the
// fleet configuration store is wired in.
type StaticPolicy config.Correlation

// Correlation implements Policy.
func (p StaticPolicy) Correlation() config.Correlation { return config.Correlation(p) }

// History reads identities' recent flags (the aggregate).
type History interface {
	Flags(ctx context.Context, identities []string, since time.Time) ([][]aggregate.Flag, error)
	FlagSpans(ctx context.Context, ids []report.Identity, flags [][]aggregate.Flag) error
}

// BanWriter writes the fleet's ban list (bans.Store).
type BanWriter interface {
	Add(ctx context.Context, b bans.Ban) (bans.Ban, error)
}

// Bounds.
const (
	// maxBanAddresses caps the addresses one unauthenticated identity is
	// banned by: one name inside one /24 or /48 rarely shows more; a
	// cheater cycling through more is also stopped by the edges' own
	// per-prefix limits.
	maxBanAddresses = 8
	// BanSource is the source of every correlation ban.
	BanSource = "central:correlation"
	// opTimeout bounds one Redis round trip.
	opTimeout = 3 * time.Second
	// maxConcurrentAdds bounds the ban writes one batch runs at once.
	maxConcurrentAdds = 8
	// maxDecided bounds the identities a replica remembers as judged: a
	// cheater flagged again and again from an address already banned is
	// not judged again (a few hundred bytes an entry).
	maxDecided = 1 << 16
)

// Options are the correlator's dependencies.
type Options struct {
	Client    redis.UniversalClient // required
	KeyPrefix string                // the edges' redis.key_prefix
	History   History               // required
	Bans      BanWriter             // required
	Policy    Policy                // nil: StaticPolicy(config.DefaultCorrelation())
	// Spans receives a player.correlation span per ban, linked to the
	// detection spans it rests on (the tracing backend); nil: none.
	Spans      SpanSink
	Instance   string // service.instance.id of the spans
	Version    string // service.version of the spans
	Log        *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Correlator judges batches.
type Correlator struct {
	o      Options
	client redis.UniversalClient
	base   string // "<prefix>:{central}:"
	fleet  string // "<prefix>:attack:fleet"
	log    *slog.Logger
	now    func() time.Time
	m      metrics

	mu      sync.Mutex
	decided *lru.Table[string, decided] // identity key → what was judged
}

// decided is an identity whose bans were all claimed (by this replica or
// another): until the ban lapses, flags from the same subjects cannot
// change anything.
type decided struct {
	until    time.Time
	subjects []string
}

// New returns a correlator.
func New(o Options) (*Correlator, error) {
	if o.Client == nil || o.History == nil || o.Bans == nil {
		return nil, errors.New("correlate: Client, History and Bans are required")
	}
	if o.KeyPrefix == "" || strings.ContainsAny(o.KeyPrefix, "{}") {
		return nil, fmt.Errorf("correlate: key prefix %q must be non-empty and free of braces", o.KeyPrefix)
	}
	if o.Policy == nil {
		o.Policy = StaticPolicy(config.DefaultCorrelation())
	}
	c := &Correlator{o: o, client: o.Client, base: o.KeyPrefix + ":{central}:", fleet: FleetKey(o.KeyPrefix), log: o.Log, now: o.Now,
		decided: lru.New[string, decided](maxDecided)}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	var err error
	if c.m, err = newMetrics(o.Registerer); err != nil {
		return nil, err
	}
	return c, nil
}

// Window is the current policy's correlation window (the aggregate marks
// which detections may change a verdict within it).
func (c *Correlator) Window() time.Duration { return c.o.Policy.Correlation().Window.D() }

// Policy is the policy in force now.
func (c *Correlator) Policy() config.Correlation { return c.o.Policy.Correlation() }

// FleetKey is the Redis key of the fleet attack flag, which every edge
// with Redis reads (edge/internal/limits).
func FleetKey(prefix string) string { return prefix + ":attack:fleet" }

// Accept judges a batch: players first, then attack reports. It is safe
// to call again with the same batch (a retry): every decision is taken
// once.
func (c *Correlator) Accept(ctx context.Context, b *report.Batch) error {
	pol := c.o.Policy.Correlation()
	if err := c.players(ctx, pol, b.Detections); err != nil {
		c.m.errors.Inc()
		return err
	}
	for _, a := range b.Attacks {
		if err := c.attack(ctx, pol, a); err != nil {
			c.m.errors.Inc()
			return err
		}
	}
	return nil
}

// condemned is an identity the policy bans, with what it rests on.
type condemned struct {
	id              report.Identity
	flags           []aggregate.Flag // the qualifying flags, oldest first
	regions, checks []string
	// subjects are the flags' subjects the bans cover: every name of an
	// account (its UUID is banned), the addresses banned of an offline
	// identity.
	subjects []string
}

// players looks at the flags of every identity the batch flagged with a
// strong enough action and bans those the policy condemns.
func (c *Correlator) players(ctx context.Context, pol config.Correlation, ds []report.Detection) error {
	if !pol.Ban {
		return nil
	}
	minAction, err := detection.ParseAction(pol.BanMinAction)
	if err != nil {
		return fmt.Errorf("correlation policy: %w", err)
	}
	seen := map[string]bool{}
	var ids []report.Identity
	var keys []string
	now := c.now()
	for _, d := range ds {
		if d.Action < minAction || !d.Correlate {
			continue // nothing a verdict could change on
		}
		id, ok := d.Identity()
		if !ok || seen[id.Key] || c.isDecided(id.Key, d.Subject(), now) {
			continue
		}
		seen[id.Key] = true
		ids = append(ids, id)
		keys = append(keys, id.Key)
	}
	if len(ids) == 0 {
		return nil
	}
	since := now.Add(-pol.Window.D())
	all, err := c.o.History.Flags(ctx, keys, since)
	if err != nil {
		return fmt.Errorf("correlate players: %w", err)
	}
	var verdicts []condemned
	for i, id := range ids {
		v := condemned{id: id}
		regions, checks := map[string]bool{}, map[string]bool{}
		for _, f := range all[i] {
			if f.Time.Before(since) || f.Action < minAction || f.Subject == "" {
				continue
			}
			v.flags = append(v.flags, f)
			regions[f.Region], checks[f.Check] = true, true
		}
		if len(regions) >= pol.BanMinRegions && len(checks) >= pol.BanMinChecks {
			v.regions, v.checks = sortedKeys(regions), sortedKeys(checks)
			verdicts = append(verdicts, v)
		}
	}
	if len(verdicts) == 0 {
		return nil
	}
	return c.ban(ctx, pol, verdicts, now)
}

// decision is one ban to write, once.
type decision struct {
	ban    bans.Ban
	marker string
	v      *condemned
}

// ban bans what each condemned identity allows, each ban once across
// replicas: the markers of all of them are claimed in one round trip, and
// only the bans whose marker this replica won are written.
func (c *Correlator) ban(ctx context.Context, pol config.Correlation, verdicts []condemned, now time.Time) error {
	var ds []decision
	for i := range verdicts {
		v := &verdicts[i]
		// Evidence comes later, for the bans this replica writes.
		base := bans.Ban{
			Reason:  fmt.Sprintf("Banned for cheating: flagged by %d checks in %d regions.", len(v.checks), len(v.regions)),
			Source:  BanSource,
			Created: now,
			Expires: now.Add(pol.BanDuration.D()),
		}
		var subjects []bans.Ban
		if v.id.Auth {
			latest := v.flags[0]
			for _, f := range v.flags {
				if !f.Time.Before(latest.Time) {
					latest = f
				}
				if !slices.Contains(v.subjects, f.Subject) {
					v.subjects = append(v.subjects, f.Subject)
				}
			}
			subjects = bans.DetectionBans(bans.Subject{UUID: v.id.UUID, Name: latest.Subject, Authenticated: true}, false, base)
		} else {
			for _, addr := range addressesOf(v.flags) {
				subjects = append(subjects, bans.DetectionBans(bans.Subject{Addr: addr}, false, base)...)
				v.subjects = append(v.subjects, netscope.Address(addr).String())
			}
		}
		for _, b := range subjects {
			n, err := bans.Normalize(b)
			if err != nil {
				c.log.Warn("correlation ban not valid; skipped", "identity", v.id.Key, "err", err)
				continue
			}
			ds = append(ds, decision{ban: n, marker: c.base + "corr:ban:" + n.ID, v: v})
		}
	}
	if len(ds) == 0 {
		return nil
	}
	mctx, cancel := context.WithTimeout(ctx, opTimeout)
	pipe := c.client.Pipeline()
	claims := make([]*redis.BoolCmd, len(ds))
	for i, d := range ds {
		claims[i] = pipe.SetNX(mctx, d.marker, strings.Join(d.v.regions, ",")+" "+strings.Join(d.v.checks, ","), pol.BanDuration.D())
	}
	_, err := pipe.Exec(mctx)
	cancel()
	if err != nil {
		return fmt.Errorf("correlation ban markers: %w", err)
	}
	var won []*decision
	var winners []*condemned
	for i := range ds {
		if !claims[i].Val() {
			continue // decided before, here or by another replica
		}
		won = append(won, &ds[i])
		if !slices.Contains(winners, ds[i].v) {
			winners = append(winners, ds[i].v)
		}
	}
	if err := c.write(ctx, won, winners, now); err != nil {
		return err
	}
	// Every ban is claimed now: remember what was judged.
	for i := range verdicts {
		v := &verdicts[i]
		c.decide(v.id.Key, v.subjects, now.Add(pol.BanDuration.D()))
	}
	return nil
}

// write writes the bans this replica claimed, with their evidence: the
// evidence of every winner is read in one round trip, the bans are added
// a few at a time (a wave of cheaters makes a burst of bans, and the
// batch has a deadline). A ban that could not be written gives its marker
// back, so the edge's retry of the batch takes the decision again.
func (c *Correlator) write(ctx context.Context, won []*decision, winners []*condemned, now time.Time) error {
	if len(won) == 0 {
		return nil
	}
	ids := make([]report.Identity, len(winners))
	flags := make([][]aggregate.Flag, len(winners))
	for i, v := range winners {
		ids[i], flags[i] = v.id, v.flags
	}
	spansErr := c.o.History.FlagSpans(ctx, ids, flags)
	errs := make([]error, len(won))
	sem := make(chan struct{}, maxConcurrentAdds)
	var wg sync.WaitGroup
	for i, d := range won {
		if spansErr != nil {
			errs[i] = spansErr
			continue
		}
		d.ban.Evidence = evidenceOf(d.v.flags)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			stored, err := c.o.Bans.Add(ctx, d.ban)
			if err != nil {
				errs[i] = err
				return
			}
			c.m.bans.Inc()
			c.log.Warn("fleet-wide ban from detections correlated across regions", "ban", stored.ID, "identity", d.v.id.Key,
				"regions", strings.Join(d.v.regions, ","), "checks", strings.Join(d.v.checks, ","), "expires", stored.Expires)
			c.emitCorrelation(stored, d.v.id, d.v.flags, d.v.regions, d.v.checks, now)
		})
	}
	wg.Wait()
	var first error
	failed := 0
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	for i, err := range errs {
		if err != nil {
			_ = c.client.Del(dctx, won[i].marker).Err()
			if failed++; first == nil {
				first = fmt.Errorf("write correlation ban %s: %w", won[i].ban.ID, err)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d correlation bans not written; first: %w", failed, len(won), first)
	}
	return nil
}

// isDecided reports whether identity was judged with subject among its
// subjects and that judgement still holds.
func (c *Correlator) isDecided(identity, subject string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.decided.Get(identity)
	return d != nil && now.Before(d.until) && slices.Contains(d.subjects, subject)
}

func (c *Correlator) decide(identity string, subjects []string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, _ := c.decided.Put(identity)
	*d = decided{until: until, subjects: subjects}
}

// evidenceOf picks the detections a ban records: the latest of each
// region and check pair, oldest first, at most bans.MaxEvidence.
func evidenceOf(flags []aggregate.Flag) []bans.Evidence {
	latest := map[string]aggregate.Flag{}
	for _, f := range flags {
		k := f.Region + "|" + f.Check
		if old, ok := latest[k]; !ok || !f.Time.Before(old.Time) {
			latest[k] = f
		}
	}
	picked := make([]aggregate.Flag, 0, len(latest))
	for _, f := range latest {
		picked = append(picked, f)
	}
	slices.SortFunc(picked, func(a, b aggregate.Flag) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Region+a.Check, b.Region+b.Check)
	})
	if len(picked) > bans.MaxEvidence {
		picked = picked[len(picked)-bans.MaxEvidence:]
	}
	out := make([]bans.Evidence, len(picked))
	for i, f := range picked {
		out[i] = bans.Evidence{Region: clip(f.Region), Check: clip(f.Check), Time: f.Time, TraceID: f.TraceID}
	}
	return out
}

func clip(s string) string {
	if len(s) > bans.MaxEvidenceField {
		return s[:bans.MaxEvidenceField]
	}
	return s
}

// addressesOf returns the distinct client addresses of unauthenticated
// flags (their subject is netscope.Address), most recent first, at most
// maxBanAddresses.
func addressesOf(flags []aggregate.Flag) []netip.Addr {
	sorted := slices.Clone(flags)
	slices.SortStableFunc(sorted, func(a, b aggregate.Flag) int { return b.Time.Compare(a.Time) })
	var out []netip.Addr
	seen := map[string]bool{}
	for _, f := range sorted {
		if len(out) == maxBanAddresses {
			break
		}
		p, err := netip.ParsePrefix(f.Subject)
		if err != nil || seen[p.String()] {
			continue
		}
		seen[p.String()] = true
		out = append(out, p.Addr())
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type metrics struct {
	bans   prometheus.Counter
	waves  prometheus.Counter
	fleet  prometheus.Counter
	errors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		bans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_correlation_bans_total", Help: "Fleet-wide bans this central wrote from detections correlated across regions."}),
		waves: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_attack_waves_total", Help: "Attack waves (several regions under attack at once) this central recorded first."}),
		fleet: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_fleet_attack_mode_total", Help: "Times this central set or extended the fleet attack flag."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rustguard_central_correlation_errors_total", Help: "Batches whose correlation failed (Redis); the edges retry them."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.bans, m.waves, m.fleet, m.errors} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("correlate: register metrics: %w", err)
		}
	}
	return m, nil
}
