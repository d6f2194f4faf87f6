package telemetry

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/rustguard/rustguard/shared/detection"
)

func sample() detection.Event {
	return detection.Event{
		Schema: detection.SchemaVersion, Check: "badpackets.invalid_pitch", Layer: 2,
		Severity: detection.SeverityHigh, Action: detection.ActionKick, VL: 3.5,
		Player: "Cheater", UUID: "4566e69f-c907-38ee-8d71-d7e8b1c5a5d8", Authenticated: false,
		ClientAddr: "203.0.113.7", Protocol: 769, Brand: "vanilla", Region: "eu", Edge: "edge-eu-1",
		Session: "k3", Details: map[string]string{"pitch": "-300"},
		Time: time.Date(2026, 12, 7, 1, 2, 3, 4000, time.UTC),
	}
}

// TestDetectionRoundTrip: what the edge encodes is what central decodes,
// every field included, for every action.
func TestDetectionRoundTrip(t *testing.T) {
	for _, a := range detection.Actions() {
		want := sample()
		want.Action = a
		res := MapAttributes{AttrRegion: want.Region, AttrServiceInstance: want.Edge}
		got, err := DecodeDetection(SpanDetection, res, FromKeyValues(DetectionAttributes(&want)), want.Time)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", a, got, want)
		}
	}
}

func TestDecodeDetectionRefusesWhatItCannotTrust(t *testing.T) {
	good := FromKeyValues(DetectionAttributes(ptr(sample())))
	res := MapAttributes{}
	with := func(k string, v any) MapAttributes {
		m := MapAttributes{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		span MapAttributes
	}{
		{"unknown action", with(AttrDetectionAction, "nuke")},
		{"bad key", with(AttrDetectionKey, "Bad Key!")},
		{"no key", with(AttrDetectionKey, nil)},
		{"layer out of range", with(AttrDetectionLayer, int64(9))},
		{"vl not a number", with(AttrDetectionVL, "lots")},
		{"future schema", with(AttrDetectionSchema, int64(detection.SchemaVersion+1))},
		{"no protocol", with(AttrProtocol, nil)},
	} {
		if _, err := DecodeDetection(SpanDetection, res, tc.span, time.Now()); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := DecodeDetection("mc.connect", res, good, time.Now()); !errors.Is(err, ErrNotDetection) {
		t.Errorf("another span: %v, want ErrNotDetection", err)
	}
	if _, err := DecodeDetection(SpanDetection, res, good, time.Time{}); err == nil {
		t.Error("zero time accepted")
	}
}

func TestDecodeDetectionBoundsWhatItKeeps(t *testing.T) {
	span := FromKeyValues(DetectionAttributes(ptr(sample())))
	span[AttrPlayerName] = strings.Repeat("é", 1000)
	for i := range 100 {
		span[AttrDetectionVerbose+string(rune('a'+i%26))+strings.Repeat("x", i)] = "v"
	}
	got, err := DecodeDetection(SpanDetection, MapAttributes{}, span, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Player) > MaxValueLen || !strings.HasPrefix(strings.Repeat("é", 1000), got.Player) {
		t.Errorf("player name %d bytes, want at most %d and whole characters", len(got.Player), MaxValueLen)
	}
	if len(got.Details) != MaxVerbose {
		t.Errorf("%d details kept, want %d", len(got.Details), MaxVerbose)
	}
}

func TestFromKeyValuesTypes(t *testing.T) {
	m := FromKeyValues([]attribute.KeyValue{attribute.String("s", "x"), attribute.Int("i", 3), attribute.Float64("f", 1.5), attribute.Bool("b", true)})
	if m["s"] != "x" || m["i"] != int64(3) || m["f"] != 1.5 || m["b"] != true {
		t.Errorf("%#v", m)
	}
}

func ptr[T any](v T) *T { return &v }
