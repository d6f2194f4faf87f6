package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The fleet document is one configuration for every edge, kept by central
// in Consul KV (docs/CONFIG.md, "Fleet configuration"). It uses the keys of
// the edge's own file for the sections it shares with it, so an operator
// writes one vocabulary, plus two sections of its own:
//
//	detection: {checks: {…}, ban_duration: 1h}   # any edge section, any subset
//	gate: {…}
//	correlation: {…}                             # central's policy (Correlation)
//	regions:                                     # per-region overrides,
//	  eu-west: {gate: {attack_mode: "on"}}       # the same shape again
//
// An edge lays the document over its own configuration (defaults, file,
// environment): the document wins for the keys it sets, and the override of
// the edge's region wins over the rest of the document. Maps
// (detection.checks, discovery.routes) merge key by key: an entry replaces
// that key's whole value and a null entry removes the key. Lists are
// replaced whole. Keys that describe one edge (region,
// discovery.instance_id) or hold a secret (redis.url) are refused. Of the
// rest, LiveFields take effect while the edge runs; the others are
// reported as needing a restart and not applied.

// Consul KV layout of the fleet configuration. KV is per datacenter:
// central writes it in every datacenter it is told about.
const (
	// FleetKVPrefix holds everything the configuration service keeps.
	FleetKVPrefix = "rustguard/config/"
	// FleetKey holds the current FleetEnvelope; edges watch it.
	FleetKey = FleetKVPrefix + "fleet"
	// FleetHistoryPrefix holds one FleetEnvelope per version, under its
	// decimal version number.
	FleetHistoryPrefix = FleetKVPrefix + "history/"
)

// How edges show the fleet which version they run: the Consul service
// they register as, and the service meta keys they keep current
// (edge/internal/discovery registers, central's fleet view reads).
const (
	EdgeService = "rustguard-edge"
	// MetaConfigVersion is the fleet document version the edge runs ("0":
	// none, its own configuration only).
	MetaConfigVersion = "config_version"
	// MetaConfigStatus is ConfigApplied, ConfigRefused (the newest
	// document was refused; it runs MetaConfigVersion) or
	// ConfigRestartRequired (it runs MetaConfigVersion, but settings in
	// it wait for a restart).
	MetaConfigStatus      = "config_status"
	ConfigApplied         = "applied"
	ConfigRefused         = "refused"
	ConfigRestartRequired = "restart_required"
)

// MaxFleetDocument caps a fleet document in bytes. A real one is a few
// kilobytes; Consul caps a value at 512 KiB and a transaction at 512 KiB in
// all, and one write stores the document twice (current and history) plus
// base64 encoding, so 128 KiB keeps a write inside one transaction.
const MaxFleetDocument = 128 << 10

// FleetEnvelope is the value of FleetKey and of each history key.
type FleetEnvelope struct {
	// Version counts writes from 1; a rollback writes a new version.
	Version   uint64    `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	// RollbackOf names the version a rollback copied (0: not a rollback).
	RollbackOf uint64 `json:"rollback_of,omitempty"`
	// Config is the fleet document as JSON (ParseFleet reads it).
	Config json.RawMessage `json:"config"`
}

// Top-level keys of the fleet document that are not edge sections.
const (
	fleetCorrelation = "correlation"
	fleetRegions     = "regions"
)

// maxFleetRegions bounds the per-region overrides (as maxRegions bounds
// the correlation policy's region counts).
const maxFleetRegions = maxRegions

// Fleet is a parsed and validated fleet document.
type Fleet struct {
	// Correlation is central's policy: DefaultCorrelation with the
	// document's correlation section laid over it.
	Correlation Correlation
	base        *yaml.Node            // the edge sections; nil when none
	regions     map[string]*yaml.Node // region → its edge sections
}

// ParseFleet reads and validates a fleet document (JSON, or YAML: JSON is
// YAML). An empty document is valid and sets nothing. The error joins
// every problem; Problems lists them by field.
func ParseFleet(data []byte) (*Fleet, error) {
	if len(data) > MaxFleetDocument {
		return nil, &KeyError{Reason: fmt.Sprintf("the document is %d bytes, more than the %d allowed", len(data), MaxFleetDocument)}
	}
	root, err := parseYAML(data)
	if err != nil {
		var ke *KeyError
		if errors.As(err, &ke) {
			return nil, err
		}
		return nil, &KeyError{Reason: "not a JSON or YAML document: " + err.Error()}
	}
	f := &Fleet{Correlation: DefaultCorrelation(), regions: make(map[string]*yaml.Node)}
	if root == nil {
		return f, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &KeyError{Line: root.Line, Reason: "the document must be a mapping of sections, got a " + kindName(root.Kind)}
	}
	var errs []error
	base := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case fleetCorrelation:
			if v.ShortTag() == "!!null" {
				continue
			}
			w := newWalker(reflect.ValueOf(&f.Correlation).Elem(), walkFields(reflect.TypeFor[Correlation](), "", nil), nil, SourceFleet)
			w.shown = fleetCorrelation + "."
			w.mapping(v, "")
			errs = append(errs, w.errs...)
		case fleetRegions:
			errs = append(errs, f.parseRegions(v)...)
		default:
			base.Content = append(base.Content, k, v)
		}
	}
	if len(base.Content) > 0 {
		f.base = base
	}
	// Lay the sections over the defaults once: unknown keys, per-edge
	// keys and values of the wrong type show up here.
	d := DefaultEdge()
	errs = append(errs, f.lay(&d, f.base, "", nil)...)
	for _, r := range slices.Sorted(maps.Keys(f.regions)) {
		d := DefaultEdge()
		errs = append(errs, f.lay(&d, f.regions[r], fleetRegions+"."+r+".", nil)...)
	}
	// Validate even when keys were refused, so one answer lists every
	// problem; a key that failed to decode keeps its default meanwhile.
	if err := f.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// parseRegions reads the regions section: region name → edge sections.
func (f *Fleet) parseRegions(v *yaml.Node) []error {
	if v.ShortTag() == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return []error{&KeyError{Line: v.Line, Field: fleetRegions, Reason: "must be a mapping of region names to overrides, got a " + kindName(v.Kind)}}
	}
	var errs []error
	if n := len(v.Content) / 2; n > maxFleetRegions {
		return []error{&KeyError{Line: v.Line, Field: fleetRegions, Reason: fmt.Sprintf("has %d regions, at most %d are allowed", n, maxFleetRegions)}}
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, o := v.Content[i], v.Content[i+1]
		var p problems
		checkRegion(&p, fleetRegions+"."+k.Value, k.Value)
		if len(p) > 0 {
			errs = append(errs, p...)
			continue
		}
		if _, dup := f.regions[k.Value]; dup {
			errs = append(errs, &KeyError{Line: k.Line, Field: fleetRegions + "." + k.Value, Reason: "is listed twice"})
			continue
		}
		if o.ShortTag() == "!!null" {
			continue
		}
		if o.Kind == yaml.MappingNode {
			// Keep the override's edge sections; the fleet-wide ones are
			// refused here rather than as unknown keys.
			kept := &yaml.Node{Kind: yaml.MappingNode, Line: o.Line, Column: o.Column}
			for j := 0; j+1 < len(o.Content); j += 2 {
				if key := o.Content[j].Value; key == fleetCorrelation || key == fleetRegions {
					errs = append(errs, &KeyError{Line: o.Content[j].Line, Field: fleetRegions + "." + k.Value + "." + key,
						Reason: "is fleet-wide: it cannot be overridden per region"})
					continue
				}
				kept.Content = append(kept.Content, o.Content[j], o.Content[j+1])
			}
			o = kept
		}
		f.regions[k.Value] = o
	}
	return errs
}

// lay applies one set of edge sections to *e. shown prefixes the fields
// errors name; prov, when set, records the fields set.
func (f *Fleet) lay(e *Edge, n *yaml.Node, shown string, prov *Provenance) []error {
	if n == nil {
		return nil
	}
	w := newWalker(reflect.ValueOf(e).Elem(), edgeFields(), prov, SourceFleet)
	w.shown, w.fleet = shown, true
	w.mapping(n, "")
	return w.errs
}

// validate checks the document as edges will see it: the sections over the
// defaults, and over the defaults for each region with its override.
// Errors that only a region's override causes name the override's field
// (regions.<name>.<key>).
func (f *Fleet) validate() error {
	var errs []error
	base := DefaultEdge()
	f.lay(&base, f.base, "", nil)
	seen := make(map[string]bool)
	if err := base.Validate(); err != nil {
		for _, fe := range fieldErrors(err) {
			seen[fe.Field] = true
			errs = append(errs, fe)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(f.regions)) {
		e := DefaultEdge()
		e.Region = r
		var prov Provenance
		f.lay(&e, f.base, "", nil)
		f.lay(&e, f.regions[r], "", &prov)
		if err := e.Validate(); err != nil {
			for _, fe := range fieldErrors(err) {
				if seen[fe.Field] && !setsField(prov, fe.Field) {
					continue // the base's own problem, reported once
				}
				c := *fe
				c.Field = fleetRegions + "." + r + "." + fe.Field
				errs = append(errs, &c)
			}
		}
	}
	if err := f.Correlation.Validate(fleetCorrelation); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// setsField reports whether prov records a field that is, or contains, the
// dotted path of a validation error (which may name a map entry or a list
// item below the field: "detection.checks.x.mode", "gate.allowed_hosts[2]").
func setsField(prov Provenance, path string) bool {
	for p := range prov.sources {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// fieldErrors picks the *FieldErrors out of a joined error.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	for _, e := range flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	}
	return out
}

// flatten lists the leaves of a tree of joined errors.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// FleetApplied is a fleet document laid over one edge's configuration.
type FleetApplied struct {
	// Config is the effective configuration: the edge's own, then the
	// document, then the override of the edge's region.
	Config Edge
	// Set lists the dotted paths of the settings the document sets for
	// this edge, sorted.
	Set []string
}

// Apply lays the document over local, the edge's configuration from its
// defaults, file and environment, and validates the result. local is not
// modified. The region override used is the one of local.Region.
func (f *Fleet) Apply(local Edge) (FleetApplied, error) {
	e := cloneEdge(local)
	var prov Provenance
	errs := f.lay(&e, f.base, "", &prov)
	if o := f.regions[local.Region]; o != nil {
		errs = append(errs, f.lay(&e, o, fleetRegions+"."+local.Region+".", &prov)...)
	}
	if len(errs) > 0 {
		// ParseFleet laid the same nodes over the defaults without error,
		// so this is a bug rather than a bad document; still refuse it.
		return FleetApplied{}, errors.Join(errs...)
	}
	if err := e.Validate(); err != nil {
		return FleetApplied{}, err
	}
	return FleetApplied{Config: e, Set: prov.Fields(SourceFleet)}, nil
}

// Regions lists the regions the document overrides, sorted.
func (f *Fleet) Regions() []string { return slices.Sorted(maps.Keys(f.regions)) }

// RestartFields lists the settings the document sets, for any region, that
// an edge applies only at its next start, sorted.
func (f *Fleet) RestartFields() []string {
	var prov Provenance
	d := DefaultEdge()
	f.lay(&d, f.base, "", &prov)
	for _, o := range f.regions {
		d := DefaultEdge()
		f.lay(&d, o, "", &prov)
	}
	var out []string
	for _, fl := range edgeFields() {
		if prov.Source(fl.path) == SourceFleet && fl.fleet != fleetLive {
			out = append(out, fl.path)
		}
	}
	slices.Sort(out)
	return out
}

// RestartNeeded lists the settings whose value differs between the
// configuration a process started with and next but that it cannot change
// while running, sorted.
func RestartNeeded(running, next Edge) []string {
	var out []string
	for _, f := range edgeFields() {
		if f.fleet == fleetLive {
			continue
		}
		a, b := fieldValue(&running, f), fieldValue(&next, f)
		if !sameValue(a, b) {
			out = append(out, f.path)
		}
	}
	slices.Sort(out)
	return out
}

// sameValue compares two values of one field, counting an empty list or
// map as equal to a nil one.
func sameValue(a, b reflect.Value) bool {
	if (a.Kind() == reflect.Slice || a.Kind() == reflect.Map) && a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// cloneEdge copies e deeply enough that laying a document over the copy
// never changes e: maps are copied (entries are replaced whole, never
// changed in place) and lists are replaced whole by the decoder.
func cloneEdge(e Edge) Edge {
	e.Detection.Checks = maps.Clone(e.Detection.Checks)
	e.Discovery.Routes = maps.Clone(e.Discovery.Routes)
	return e
}

// Problem is one reason a document is invalid, as APIs and logs show it.
type Problem struct {
	Field  string `json:"field"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
	Line   int    `json:"line,omitempty"`
}

// Problems flattens an error from ParseFleet, Fleet.Apply or Validate into
// one Problem per field. An error that names no field becomes a Problem
// with an empty Field.
func Problems(err error) []Problem {
	var out []Problem
	for _, e := range flatten(err) {
		var fe *FieldError
		var ke *KeyError
		switch {
		case errors.As(e, &fe):
			out = append(out, Problem{Field: fe.Field, Value: fe.Value, Reason: fe.Reason})
		case errors.As(e, &ke):
			reason := ke.Reason
			if ke.kind == ErrUnknownKey {
				reason = strings.TrimSuffix("unknown key; "+reason, "; ")
			}
			out = append(out, Problem{Field: ke.Field, Reason: reason, Line: ke.Line})
		default:
			out = append(out, Problem{Reason: e.Error()})
		}
	}
	return out
}
