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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/detection"
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

// History reads players' recent detections (the aggregate).
type History interface {
	Recent(ctx context.Context, keys []aggregate.PlayerKey, since time.Time) ([][]aggregate.Entry, error)
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
	c := &Correlator{o: o, client: o.Client, base: o.KeyPrefix + ":{central}:", fleet: FleetKey(o.KeyPrefix), log: o.Log, now: o.Now}
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

// identity is who a detection is about, as far as the edge could prove.
type identity struct {
	key    aggregate.PlayerKey
	auth   bool
	uuid   string // auth
	name   string // lower-cased; unauthenticated
	prefix string // client prefix; unauthenticated
}

func (id identity) String() string {
	if id.auth {
		return "uuid " + id.uuid
	}
	return "name " + id.name + " from " + id.prefix
}

// identityOf returns the detection's identity, or false when it has none
// that could ever be banned (unauthenticated without an address).
func identityOf(d report.Detection) (identity, bool) {
	if d.Authenticated && d.UUID != "" {
		return identity{key: aggregate.PlayerKey{UUID: d.UUID}, auth: true, uuid: d.UUID}, true
	}
	a, err := netip.ParseAddr(d.ClientAddr)
	if err != nil || d.Player == "" {
		return identity{}, false
	}
	name := strings.ToLower(d.Player)
	return identity{key: aggregate.PlayerKey{Name: name}, name: name, prefix: netscope.Prefix(a).String()}, true
}

// matches reports whether a history entry is about the identity.
func (id identity) matches(e aggregate.Entry) bool {
	if id.auth {
		return e.Authenticated && e.UUID == id.uuid
	}
	return !e.Authenticated && e.Prefix == id.prefix && strings.ToLower(e.Player) == id.name
}

// players looks at the history of every identity the batch flagged with a
// strong enough action and bans those the policy condemns.
func (c *Correlator) players(ctx context.Context, pol config.Correlation, ds []report.Detection) error {
	if !pol.Ban {
		return nil
	}
	minAction, err := detection.ParseAction(pol.BanMinAction)
	if err != nil {
		return fmt.Errorf("correlation policy: %w", err)
	}
	seen := map[identity]bool{}
	var ids []identity
	for _, d := range ds {
		if d.Action < minAction {
			continue
		}
		if id, ok := identityOf(d); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	now := c.now()
	since := now.Add(-pol.Window.D())
	keys := make([]aggregate.PlayerKey, len(ids))
	for i, id := range ids {
		keys[i] = id.key
	}
	histories, err := c.o.History.Recent(ctx, keys, since)
	if err != nil {
		return fmt.Errorf("correlate players: %w", err)
	}
	for i, id := range ids {
		var evidence []aggregate.Entry
		regions, checks := map[string]bool{}, map[string]bool{}
		for _, e := range histories[i] {
			if e.Time.Before(since) || e.ActionOf() < minAction || !id.matches(e) {
				continue
			}
			evidence = append(evidence, e)
			regions[e.Region], checks[e.Check] = true, true
		}
		if len(regions) < pol.BanMinRegions || len(checks) < pol.BanMinChecks {
			continue
		}
		if err := c.ban(ctx, pol, id, evidence, sortedKeys(regions), sortedKeys(checks), now); err != nil {
			return err
		}
	}
	return nil
}

// ban bans what the identity allows, each ban once across replicas.
func (c *Correlator) ban(ctx context.Context, pol config.Correlation, id identity, entries []aggregate.Entry, regions, checks []string, now time.Time) error {
	base := bans.Ban{
		Reason:   fmt.Sprintf("Banned for cheating: flagged by %d checks in %d regions.", len(checks), len(regions)),
		Source:   BanSource,
		Created:  now,
		Expires:  now.Add(pol.BanDuration.D()),
		Evidence: evidenceOf(entries),
	}
	var subjects []bans.Ban
	if id.auth {
		name := ""
		for _, e := range entries { // the latest name the account used
			name = e.Player
		}
		subjects = bans.DetectionBans(bans.Subject{UUID: id.uuid, Name: name, Authenticated: true}, false, base)
	} else {
		for _, addr := range addressesOf(entries) {
			subjects = append(subjects, bans.DetectionBans(bans.Subject{Addr: addr}, false, base)...)
		}
	}
	for _, b := range subjects {
		n, err := bans.Normalize(b)
		if err != nil {
			c.log.Warn("correlation ban not valid; skipped", "identity", id.String(), "err", err)
			continue
		}
		marker := c.base + "corr:ban:" + n.ID
		mctx, cancel := context.WithTimeout(ctx, opTimeout)
		won, err := c.client.SetNX(mctx, marker, strings.Join(regions, ",")+" "+strings.Join(checks, ","), pol.BanDuration.D()).Result()
		cancel()
		if err != nil {
			return fmt.Errorf("correlation ban marker: %w", err)
		}
		if !won {
			continue // decided before, here or by another replica
		}
		stored, err := c.o.Bans.Add(ctx, n)
		if err != nil {
			// Let a retry of the batch take the decision again.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
			_ = c.client.Del(dctx, marker).Err()
			cancel()
			return fmt.Errorf("write correlation ban %s: %w", n.ID, err)
		}
		c.m.bans.Inc()
		c.log.Warn("fleet-wide ban from detections correlated across regions", "ban", stored.ID, "identity", id.String(),
			"regions", strings.Join(regions, ","), "checks", strings.Join(checks, ","), "expires", stored.Expires)
		c.emitCorrelation(stored, id, entries, regions, checks, now)
	}
	return nil
}

// evidenceOf picks the detections a ban records: the latest of each
// region and check pair, oldest first, at most bans.MaxEvidence.
func evidenceOf(entries []aggregate.Entry) []bans.Evidence {
	latest := map[string]aggregate.Entry{}
	for _, e := range entries {
		k := e.Region + "|" + e.Check
		if old, ok := latest[k]; !ok || !e.Time.Before(old.Time) {
			latest[k] = e
		}
	}
	picked := make([]aggregate.Entry, 0, len(latest))
	for _, e := range latest {
		picked = append(picked, e)
	}
	slices.SortFunc(picked, func(a, b aggregate.Entry) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.SpanID, b.SpanID)
	})
	if len(picked) > bans.MaxEvidence {
		picked = picked[len(picked)-bans.MaxEvidence:]
	}
	out := make([]bans.Evidence, len(picked))
	for i, e := range picked {
		out[i] = bans.Evidence{Region: clip(e.Region), Check: clip(e.Check), Time: e.Time, TraceID: e.TraceID}
	}
	return out
}

func clip(s string) string {
	if len(s) > bans.MaxEvidenceField {
		return s[:bans.MaxEvidenceField]
	}
	return s
}

// addressesOf returns the distinct client addresses of the entries, most
// recent first, at most maxBanAddresses.
func addressesOf(entries []aggregate.Entry) []netip.Addr {
	var out []netip.Addr
	seen := map[string]bool{}
	for i := len(entries) - 1; i >= 0 && len(out) < maxBanAddresses; i-- {
		p, err := netip.ParsePrefix(entries[i].Address)
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
