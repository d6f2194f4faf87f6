package config

import (
	"log/slog"
	"reflect"
	"strings"
)

// redactedMark replaces the value of a field tagged secret:"true".
const redactedMark = "REDACTED"

// Redacted returns a copy with every field tagged secret:"true" masked.
// There are no secrets yet; the hook exists so the first one (a Redis
// password, a token) cannot reach a log by accident.
func (e Edge) Redacted() Edge {
	out := e
	redactStruct(reflect.ValueOf(&out).Elem())
	return out
}

// redactStruct masks non-empty string fields tagged secret:"true", in
// place, at any depth.
func redactStruct(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if !t.Field(i).IsExported() {
			continue
		}
		switch {
		case t.Field(i).Tag.Get("secret") == "true" && f.Kind() == reflect.String:
			if f.String() != "" {
				f.SetString(redactedMark)
			}
		case f.Kind() == reflect.Struct && isSection(f.Type()):
			redactStruct(f)
		}
	}
}

// LogValue implements slog.LogValuer: the redacted configuration as nested
// groups (region, proxy.*, status.*, …), so logging an Edge is safe.
func (e Edge) LogValue() slog.Value {
	r := e.Redacted()
	root := make(map[string][]slog.Attr)
	var order []string
	for _, f := range edgeFields() {
		section, key := "", f.path
		if i := strings.LastIndexByte(f.path, '.'); i >= 0 {
			section, key = f.path[:i], f.path[i+1:]
		}
		if _, seen := root[section]; !seen {
			order = append(order, section)
		}
		root[section] = append(root[section], slog.String(key, formatValue(fieldValue(&r, f))))
	}
	var attrs []slog.Attr
	for _, section := range order {
		if section == "" {
			attrs = append(attrs, root[section]...)
			continue
		}
		attrs = append(attrs, slog.Attr{Key: section, Value: slog.GroupValue(root[section]...)})
	}
	return slog.GroupValue(attrs...)
}
