package detect

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/detection"
)

// Mode is how a check's flags are acted on.
type Mode uint8

const (
	ModeDefault Mode = iota // enforce, unless the check is experimental (then off)
	ModeOff                 // the check does not run
	ModeAlert               // flags are reported, nothing is dropped or kicked
	ModeEnforce             // flags take the check's action
)

// ParseMode reads a mode name from configuration.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "default":
		return ModeDefault, nil
	case "off":
		return ModeOff, nil
	case "alert":
		return ModeAlert, nil
	case "enforce":
		return ModeEnforce, nil
	}
	return 0, fmt.Errorf("unknown mode %q (want off, alert or enforce)", s)
}

// CheckConfig overrides one check's defaults. Zero values keep the default.
type CheckConfig struct {
	Mode   Mode
	Action *detection.Action
	KickVL *float64
	Decay  *float64
	Params map[string]float64
}

// Config configures the engine.
type Config struct {
	// Checks overrides by stable key.
	Checks map[string]CheckConfig
	// BanDuration is how long an ActionBan bans for.
	BanDuration time.Duration
}

// Sink receives detection events. Sinks are called on the connection's
// goroutine, so they must be quick: count, log, or hand off to a queue.
type Sink interface {
	Detect(e *detection.Event)
}

// LinkedSink is a Sink that also wants the span context of the player's
// connection (PlayerInfo.Trace), to link each detection to it (the edge's
// tracing). The engine calls DetectLinked instead of Detect on such a sink;
// the context is invalid when the connection is not traced.
type LinkedSink interface {
	Sink
	DetectLinked(e *detection.Event, conn trace.SpanContext)
}

// BanTarget is whom a ban action is aimed at, as the engine knows the
// player (PlayerInfo).
type BanTarget struct {
	Name string
	UUID string // the offline UUID of Name unless Authenticated
	Addr netip.Addr
	// Authenticated reports whether the edge verified that the player owns
	// Name and UUID. When false they are claims anyone can make, so a
	// Banner must not ban them: that would let anyone get any name banned.
	Authenticated bool
}

// Banner carries out the ban action beyond the kick the engine does itself
// (shared/bans decides what to ban: the address, and the name and
// UUID only when authenticated). It runs on the connection's goroutine, so
// it must not block.
type Banner interface {
	BanPlayer(t BanTarget, reason, source string, d time.Duration)
}

// Options are the engine's dependencies.
type Options struct {
	Region   string
	Instance string
	Sinks    []Sink
	Banner   Banner // nil: ban actions only kick (the session ends, nothing is banned)
	// Recorders, when set, is asked for a Recorder for every new player.
	Recorders RecorderFactory
	Log       *slog.Logger
	Registry  prometheus.Registerer // nil: no metrics
}

// check is one check as configured.
type check struct {
	Spec
	enabled bool
	mode    Mode
	params  map[string]float64
	// rate and window are params "rate" and "window_seconds" (0 where the
	// check has none), resolved once here: rate checks read them on every
	// packet, where a string-keyed map lookup would be wasted work.
	rate, window float64
}

// Policy is one complete check configuration, compiled from a Config
// against the registry. It is immutable: Use swaps the engine's policy
// whole, so a player's packet is judged entirely by the old policy or
// entirely by the new one, never by a mix.
type Policy struct {
	checks      [maxChecks]check
	banDuration time.Duration
}

// Engine holds the registered checks, the current Policy and the sinks.
// One Engine serves every player on an edge. Everything but the policy is
// read-only after New; the policy is swapped atomically by Use, and each
// player picks the current one up with its next packet.
type Engine struct {
	registry   [maxChecks]check // the checks with their defaults
	policy     atomic.Pointer[Policy]
	byKey      map[string]CheckID
	sinks      []Sink
	banner     Banner
	region     string
	instance   string
	log        *slog.Logger
	detections *prometheus.CounterVec
	recorders  RecorderFactory
	sessions   atomic.Uint64
	prediction predictionShared // movement_predict.go
}

// defaultBanDuration applies when the configuration gives none: the
// configuration's own default (detection.ban_duration).
const defaultBanDuration = 30 * time.Minute

// New validates cfg against the registry and returns an engine. An unknown
// check key, a mode on an unknown key or an unknown parameter is refused with
// the key and the reason.
func New(cfg Config, o Options) (*Engine, error) {
	e := &Engine{byKey: make(map[string]CheckID), sinks: o.Sinks, banner: o.Banner,
		region: o.Region, instance: o.Instance, log: o.Log, recorders: o.Recorders}
	if e.log == nil {
		e.log = slog.Default()
	}
	for _, s := range allSpecs() {
		if s.ID >= maxChecks || e.registry[s.ID].Key != "" {
			return nil, fmt.Errorf("detect: check id %d of %s out of range or used twice", s.ID, s.Key)
		}
		if _, dup := e.byKey[s.Key]; dup || !detection.ValidKey(s.Key) {
			return nil, fmt.Errorf("detect: check key %q invalid or used twice", s.Key)
		}
		e.byKey[s.Key] = s.ID
		e.registry[s.ID] = check{Spec: s, enabled: !s.Experimental, params: s.Params}
	}
	pol, err := e.Compile(cfg)
	if err != nil {
		return nil, err
	}
	e.Use(pol)
	if o.Registry != nil {
		e.detections = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustguard_edge_detections_total",
			Help: "Flags raised by the detection engine, by stable check key and the action taken.",
		}, []string{"check", "action"})
		if err := o.Registry.Register(e.detections); err != nil {
			return nil, fmt.Errorf("detect: register metrics: %w", err)
		}
	}
	return e, nil
}

// Compile checks cfg against the registry and builds its Policy without
// touching the engine, so a caller changing several components can refuse
// a configuration before any of them changed.
func (e *Engine) Compile(cfg Config) (*Policy, error) {
	pol := &Policy{checks: e.registry, banDuration: cfg.BanDuration}
	if pol.banDuration <= 0 {
		pol.banDuration = defaultBanDuration
	}
	keys := make([]string, 0, len(cfg.Checks))
	for k := range cfg.Checks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cc := cfg.Checks[k]
		id, ok := e.byKey[k]
		if !ok {
			return nil, fmt.Errorf("detection.checks.%s: no such check", k)
		}
		c := &pol.checks[id]
		c.mode = cc.Mode
		switch cc.Mode {
		case ModeOff:
			c.enabled = false
		case ModeAlert, ModeEnforce:
			c.enabled = true
		}
		if cc.Action != nil {
			if *cc.Action == detection.ActionRewrite && !c.Rewrites {
				return nil, fmt.Errorf("detection.checks.%s.action: rewrite: this check cannot correct its packet (use drop, kick, ban or alert)", k)
			}
			if *cc.Action == detection.ActionSetback && !c.Setbacks {
				return nil, fmt.Errorf("detection.checks.%s.action: setback: this check does not judge the player's position (use drop, kick, ban or alert)", k)
			}
			c.Action = *cc.Action
		}
		if cc.KickVL != nil {
			if *cc.KickVL < 0 {
				return nil, fmt.Errorf("detection.checks.%s.kick_vl: must not be negative", k)
			}
			c.KickVL = *cc.KickVL
		}
		if cc.Decay != nil {
			if *cc.Decay < 0 {
				return nil, fmt.Errorf("detection.checks.%s.decay: must not be negative", k)
			}
			c.Decay = *cc.Decay
		}
		if len(cc.Params) > 0 {
			merged := make(map[string]float64, len(c.params))
			for pk, pv := range c.params {
				merged[pk] = pv
			}
			for pk, pv := range cc.Params {
				if _, ok := c.params[pk]; !ok {
					return nil, fmt.Errorf("detection.checks.%s.params.%s: no such parameter (known: %v)", k, pk, paramNames(c.params))
				}
				merged[pk] = pv
			}
			c.params = merged
		}
	}
	for i := range pol.checks {
		c := &pol.checks[i]
		c.rate, c.window = c.params["rate"], c.params["window_seconds"]
	}
	return pol, nil
}

// Use makes pol the engine's policy. Connected players follow it from
// their next packet: violation levels they built up are kept, parameters
// they resolved once are resolved again.
func (e *Engine) Use(pol *Policy) { e.policy.Store(pol) }

// Reconfigure compiles cfg and uses it; on error nothing changes.
func (e *Engine) Reconfigure(cfg Config) error {
	pol, err := e.Compile(cfg)
	if err != nil {
		return err
	}
	e.Use(pol)
	return nil
}

func paramNames(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Specs returns every registered check with its effective configuration,
// for documentation and the operator API.
func (e *Engine) Specs() []Spec {
	var out []Spec
	for _, c := range e.policy.Load().checks {
		if c.Key != "" {
			s := c.Spec
			s.Params = c.params
			out = append(out, s)
		}
	}
	return out
}

// Enabled reports whether the check with key runs.
func (e *Engine) Enabled(key string) bool {
	id, ok := e.byKey[key]
	return ok && e.policy.Load().checks[id].enabled
}

// emit sends an event to the sinks and counts it; conn is the span
// context of the player's connection, for linked sinks.
func (e *Engine) emit(ev *detection.Event, conn trace.SpanContext) {
	if e.detections != nil {
		e.detections.WithLabelValues(ev.Check, ev.Action.String()).Inc()
	}
	for _, s := range e.sinks {
		if ls, ok := s.(LinkedSink); ok {
			ls.DetectLinked(ev, conn)
			continue
		}
		s.Detect(ev)
	}
}

// ConfigFrom maps the configuration file's detection section to the
// engine's Config (the edge and the replay command both use it).
func ConfigFrom(d config.Detection) (Config, error) {
	out := Config{BanDuration: d.BanDuration.D(), Checks: make(map[string]CheckConfig, len(d.Checks))}
	for key, c := range d.Checks {
		mode, err := ParseMode(c.Mode)
		if err != nil {
			return out, fmt.Errorf("detection.checks.%s.mode: %w", key, err)
		}
		cc := CheckConfig{Mode: mode, KickVL: c.KickVL, Decay: c.Decay, Params: c.Params}
		if c.Action != "" {
			a, err := detection.ParseAction(c.Action)
			if err != nil {
				return out, fmt.Errorf("detection.checks.%s.action: %w", key, err)
			}
			cc.Action = &a
		}
		out.Checks[key] = cc
	}
	return out, nil
}
