package tracing

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestReadSettingsExportDecision(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{"exporter otlp without endpoint (the exporter's default)", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{"exporter none wins over an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, false},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false},
		{"blank endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, false},
	} {
		s, err := ReadSettings(env(tc.env))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if s.Export != tc.want || s.Why == "" {
			t.Errorf("%s: export %v (%s), want %v", tc.name, s.Export, s.Why, tc.want)
		}
	}
}

func TestReadSettingsProtocolAndQueue(t *testing.T) {
	s, err := ReadSettings(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Protocol != ProtocolHTTPProtobuf || s.Queue != DefaultQueueConfig() {
		t.Errorf("defaults: %+v", s)
	}
	if s.Sampler.Description() != "ParentBased{root:TraceIDRatioBased{0.01},remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}" {
		t.Errorf("default sampler %s", s.Sampler.Description())
	}
	s, err = ReadSettings(env(map[string]string{
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", // the signal's own wins
		"OTEL_BSP_SCHEDULE_DELAY":            "1000",
		"OTEL_BSP_EXPORT_TIMEOUT":            "2500",
		"OTEL_BSP_MAX_QUEUE_SIZE":            "100",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE":     "512", // larger than the queue: clamped
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := QueueConfig{ScheduleDelay: time.Second, ExportTimeout: 2500 * time.Millisecond, MaxQueueSize: 100, MaxExportBatchSize: 100}
	if s.Protocol != ProtocolGRPC || s.Queue != want {
		t.Errorf("got %s %+v, want grpc %+v", s.Protocol, s.Queue, want)
	}
	if s, _ := ReadSettings(env(map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "0"})); s.Queue.ScheduleDelay != 0 {
		t.Errorf("delay 0: %v", s.Queue.ScheduleDelay)
	}
}

func TestReadSettingsRefusesWhatItCannotUse(t *testing.T) {
	for k, v := range map[string]string{
		"OTEL_TRACES_EXPORTER":           "zipkin",
		"OTEL_EXPORTER_OTLP_PROTOCOL":    "thrift",
		"OTEL_TRACES_SAMPLER":            "jaeger_remote",
		"OTEL_BSP_SCHEDULE_DELAY":        "soon",
		"OTEL_BSP_EXPORT_TIMEOUT":        "0",
		"OTEL_BSP_MAX_QUEUE_SIZE":        "10000000",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "-1",
	} {
		_, err := ReadSettings(env(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming the variable", k, v, err)
		}
	}
	_, err := ReadSettings(env(map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}))
	if err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER_ARG") {
		t.Errorf("ratio 1.5: %v", err)
	}
}

func TestParseSampler(t *testing.T) {
	for name, want := range map[string]string{
		"":                         "ParentBased{root:TraceIDRatioBased{0.25}",
		"parentbased_always_on":    "ParentBased{root:AlwaysOnSampler",
		"always_on":                "AlwaysOnSampler",
		"always_off":               "AlwaysOffSampler",
		"traceidratio":             "TraceIDRatioBased{0.25}",
		"parentbased_always_off":   "ParentBased{root:AlwaysOffSampler",
		"parentbased_traceidratio": "ParentBased{root:TraceIDRatioBased{0.25}",
	} {
		s, err := ParseSampler(name, "0.25")
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if !strings.HasPrefix(s.Description(), want) {
			t.Errorf("%q: %s, want %s…", name, s.Description(), want)
		}
	}
	// The argument only matters to the ratio samplers, and defaults to 1.
	if s, err := ParseSampler("traceidratio", ""); err != nil || s.Description() != "AlwaysOnSampler" && s.Description() != "TraceIDRatioBased{1}" {
		t.Errorf("ratio without argument: %v %v", s, err)
	}
	if _, err := ParseSampler("always_on", "junk"); err != nil {
		t.Errorf("argument of a sampler that takes none: %v", err)
	}
	// Unset, the edge traces one connection setup in a hundred.
	if s, err := ParseSampler("", ""); err != nil || s.Description() != sdktraceParentRatio(DefaultConnectionRatio) {
		t.Errorf("default sampler %v %v", s.Description(), err)
	}
}

func sdktraceParentRatio(r float64) string {
	return fmt.Sprintf("ParentBased{root:TraceIDRatioBased{%g},remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}", r)
}
