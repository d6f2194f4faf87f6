package telemetry

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/rustguard/rustguard/shared/detection"
)

// Bounds on what DecodeDetection accepts from a span: an edge is trusted to
// report, not to make central hold whatever it sends.
const (
	// MaxVerbose is how many detection.verbose.* attributes one event
	// keeps; the engine's checks attach a handful.
	MaxVerbose = 16
	// MaxValueLen caps each string taken from a span (names are 16
	// characters, keys and details short): longer values are cut.
	MaxValueLen = 256
)

// DetectionAttributes returns the span attributes of a detection event.
// Region and the edge instance travel on the resource, the event's time as
// the span's start; everything else is here.
func DetectionAttributes(e *detection.Event) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 14+len(e.Details))
	attrs = append(attrs,
		attribute.String(AttrDetectionKey, e.Check),
		attribute.Int(AttrDetectionSchema, e.Schema),
		attribute.Int(AttrDetectionLayer, int(e.Layer)),
		attribute.String(AttrDetectionSeverity, e.Severity.String()),
		attribute.String(AttrDetectionAction, e.Action.String()),
		attribute.Float64(AttrDetectionVL, e.VL),
		attribute.Bool(AttrDetectionExperimental, e.Experimental),
		attribute.Int(AttrProtocol, int(e.Protocol)),
		attribute.Bool(AttrAuthenticated, e.Authenticated),
	)
	for _, kv := range []struct{ k, v string }{
		{AttrPlayerName, e.Player}, {AttrPlayerUUID, e.UUID}, {AttrClientAddress, e.ClientAddr},
		{AttrBrand, e.Brand}, {AttrSession, e.Session},
	} {
		if kv.v != "" {
			attrs = append(attrs, attribute.String(kv.k, kv.v))
		}
	}
	for k, v := range e.Details {
		attrs = append(attrs, attribute.String(AttrDetectionVerbose+k, v))
	}
	return attrs
}

// Attributes is read access to one attribute set (a span's or a resource's),
// whatever holds it: central adapts the collector's pcommon.Map, tests a map.
type Attributes interface {
	// Get returns the value of key: a string, int64, float64 or bool.
	Get(key string) (any, bool)
	// Range calls f for every attribute, in no particular order, until f
	// returns false.
	Range(f func(key string, value any) bool)
}

// ErrNotDetection is returned for a span that is not an mc.detection span.
var ErrNotDetection = errors.New("not a detection span")

// DecodeDetection rebuilds a detection event from an mc.detection span:
// its name, resource and span attributes and start time. The result is
// validated (detection.Event.Validate); strings are cut to MaxValueLen and
// evidence to MaxVerbose entries.
func DecodeDetection(name string, resource, span Attributes, start time.Time) (detection.Event, error) {
	if name != SpanDetection {
		return detection.Event{}, ErrNotDetection
	}
	var errs []error
	e := detection.Event{Time: start.UTC()}
	e.Check = str(span, AttrDetectionKey)
	e.Schema = int(integer(span, AttrDetectionSchema, &errs))
	e.Layer = detection.Layer(integer(span, AttrDetectionLayer, &errs))
	if err := e.Severity.UnmarshalText([]byte(str(span, AttrDetectionSeverity))); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", AttrDetectionSeverity, err))
	}
	if err := e.Action.UnmarshalText([]byte(str(span, AttrDetectionAction))); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", AttrDetectionAction, err))
	}
	e.VL = double(span, AttrDetectionVL, &errs)
	e.Experimental = boolean(span, AttrDetectionExperimental)
	e.Protocol = int32(integer(span, AttrProtocol, &errs))
	e.Authenticated = boolean(span, AttrAuthenticated)
	e.Player = str(span, AttrPlayerName)
	e.UUID = str(span, AttrPlayerUUID)
	e.ClientAddr = str(span, AttrClientAddress)
	e.Brand = str(span, AttrBrand)
	e.Session = str(span, AttrSession)
	e.Region = str(resource, AttrRegion)
	e.Edge = str(resource, AttrServiceInstance)
	var verbose []string
	span.Range(func(k string, _ any) bool {
		if strings.HasPrefix(k, AttrDetectionVerbose) {
			verbose = append(verbose, k)
		}
		return true
	})
	if len(verbose) > 0 {
		sort.Strings(verbose) // a deterministic MaxVerbose when an edge sends more
		if len(verbose) > MaxVerbose {
			verbose = verbose[:MaxVerbose]
		}
		e.Details = make(map[string]string, len(verbose))
		for _, k := range verbose {
			e.Details[cut(strings.TrimPrefix(k, AttrDetectionVerbose))] = str(span, k)
		}
	}
	if err := e.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return detection.Event{}, fmt.Errorf("decode detection span: %w", errors.Join(errs...))
	}
	return e, nil
}

func str(a Attributes, key string) string {
	v, ok := a.Get(key)
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case string:
		return cut(v)
	case int64, float64, bool:
		return cut(fmt.Sprint(v))
	}
	return ""
}

func integer(a Attributes, key string, errs *[]error) int64 {
	v, ok := a.Get(key)
	if !ok {
		*errs = append(*errs, fmt.Errorf("%s: missing", key))
		return 0
	}
	switch v := v.(type) {
	case int64:
		return v
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	}
	*errs = append(*errs, fmt.Errorf("%s: %v is not an integer", key, v))
	return 0
}

func double(a Attributes, key string, errs *[]error) float64 {
	v, ok := a.Get(key)
	if !ok {
		*errs = append(*errs, fmt.Errorf("%s: missing", key))
		return 0
	}
	switch v := v.(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	*errs = append(*errs, fmt.Errorf("%s: %v is not a number", key, v))
	return 0
}

func boolean(a Attributes, key string) bool {
	v, _ := a.Get(key)
	b, _ := v.(bool)
	return b
}

// cut shortens s to at most MaxValueLen bytes without splitting a UTF-8
// sequence.
func cut(s string) string {
	if len(s) <= MaxValueLen {
		return s
	}
	i := MaxValueLen
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

// MapAttributes adapts a plain map (tests, and callers that already hold
// decoded values) to Attributes.
type MapAttributes map[string]any

// Get implements Attributes.
func (m MapAttributes) Get(key string) (any, bool) { v, ok := m[key]; return v, ok }

// Range implements Attributes.
func (m MapAttributes) Range(f func(string, any) bool) {
	for k, v := range m {
		if !f(k, v) {
			return
		}
	}
}

// FromKeyValues collects OpenTelemetry attributes into MapAttributes with
// the value types DecodeDetection reads.
func FromKeyValues(kvs []attribute.KeyValue) MapAttributes {
	m := make(MapAttributes, len(kvs))
	for _, kv := range kvs {
		switch kv.Value.Type() {
		case attribute.STRING:
			m[string(kv.Key)] = kv.Value.AsString()
		case attribute.INT64:
			m[string(kv.Key)] = kv.Value.AsInt64()
		case attribute.FLOAT64:
			m[string(kv.Key)] = kv.Value.AsFloat64()
		case attribute.BOOL:
			m[string(kv.Key)] = kv.Value.AsBool()
		}
	}
	return m
}
