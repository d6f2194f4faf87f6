package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/otlprecv"
	"github.com/rustguard/rustguard/shared/telemetry"
	"github.com/rustguard/rustguard/shared/testservers"
)

// TestBansCommandIsTraced: "rustguard-edge bans add/remove" leaves a
// rustguard.ban span each when an exporter is configured, exported before
// the command returns.
func TestBansCommandIsTraced(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") || strings.HasPrefix(k, "RUSTGUARD_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	redis := testservers.StartRedis(t)
	r, err := otlprecv.Listen(otlprecv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Setenv("RUSTGUARD_REDIS_URL", redis.URL())
	t.Setenv("RUSTGUARD_REGION", "ap-south")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.HTTPEndpoint())
	if err := runBans([]string{"add", "--name", "Griefer", "--duration", "2h", "--source", "operator:ann"}); err != nil {
		t.Fatal(err)
	}
	if err := runBans([]string{"remove", "--name", "Griefer"}); err != nil {
		t.Fatal(err)
	}
	// Both spans were flushed when the commands returned.
	spans := r.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans after two commands", len(spans))
	}
	add, remove := spans[0], spans[1]
	for k, v := range map[string]any{telemetry.AttrBanOperation: "add", telemetry.AttrBanKind: "name", telemetry.AttrBanValue: "Griefer",
		telemetry.AttrBanSource: "operator:ann", telemetry.AttrBanDuration: int64((2 * time.Hour).Seconds())} {
		if add.Name != telemetry.SpanBan || add.Attributes[k] != v {
			t.Errorf("add span %s: %s = %v, want %v", add.Name, k, add.Attributes[k], v)
		}
	}
	if remove.Attributes[telemetry.AttrBanOperation] != "remove" || remove.Resource[telemetry.AttrRegion] != "ap-south" {
		t.Errorf("remove span %+v", remove)
	}
}
