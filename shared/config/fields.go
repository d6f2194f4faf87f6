package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
)

// field describes one leaf setting of Edge, found by walking the struct
// tags. The loader, the provenance record, the log renderer and the docs
// test all use this one list, so a new field needs only its tags.
type field struct {
	path   string // dotted YAML path, e.g. "proxy.timeout"
	env    string // exact environment variable
	index  []int  // reflect index path from Edge
	secret bool   // tagged secret:"true": masked in logs
	fleet  string // tag fleet: fleetLive, fleetLocal or "" (restart)
}

// Values of the fleet tag: how the fleet document (fleet.go) may set a
// field. Untagged fields may be set but need a restart to take effect.
const (
	// fleetLive: an edge applies a new value while it runs.
	fleetLive = "live"
	// fleetLocal: the field describes one edge (its region, its instance
	// id) or is a secret, so only its own file or environment sets it.
	fleetLocal = "local"
)

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// isSection reports whether a struct-typed field is a YAML section rather
// than a leaf value. Struct types that parse themselves from text (such as
// netip.Prefix) are leaves.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// edgeFields lists every leaf of Edge in declaration order.
func edgeFields() []field {
	return walkFields(reflect.TypeFor[Edge](), "", nil)
}

func walkFields(t reflect.Type, prefix string, index []int) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		if isSection(sf.Type) {
			out = append(out, walkFields(sf.Type, prefix+name+".", idx)...)
			continue
		}
		out = append(out, field{
			path:   prefix + name,
			env:    sf.Tag.Get("env"),
			index:  idx,
			secret: sf.Tag.Get("secret") == "true",
			fleet:  sf.Tag.Get("fleet"),
		})
	}
	return out
}

// sections lists the dotted paths of every section ("proxy", "status", …).
func sections(fields []field) map[string]bool {
	out := make(map[string]bool)
	for _, f := range fields {
		p := f.path
		for {
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
			out[p] = true
		}
	}
	return out
}

// fieldValue returns the addressable value of f inside *e.
func fieldValue(e *Edge, f field) reflect.Value {
	return reflect.ValueOf(e).Elem().FieldByIndex(f.index)
}

// LiveFields lists the dotted paths of the settings an edge applies from
// the fleet document while it runs; the fleet document may set every other
// setting too, except the per-edge ones (LocalFields), but those take
// effect only at the next start.
func LiveFields() []string { return fieldsTagged(fleetLive) }

// LocalFields lists the settings the fleet document may not set: they
// describe one edge (its region, its instance id) or hold a secret.
func LocalFields() []string { return fieldsTagged(fleetLocal) }

func fieldsTagged(tag string) []string {
	var out []string
	for _, f := range edgeFields() {
		if f.fleet == tag {
			out = append(out, f.path)
		}
	}
	return out
}

// formatValue renders a leaf value the way an operator would write it.
func formatValue(v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = formatValue(v.Index(i))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}
