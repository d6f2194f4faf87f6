package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/otlprecv"
)

// BenchmarkLoginsTracing: logins per second through one edge with tracing
// off; on with the edge's default sampler (one connection in a hundred);
// on with every span exported to a real OTLP receiver (in this process,
// decoding every request); and on with connections unsampled (detections
// would still be kept). One operation is a whole login as in
// BenchmarkLoginsWithRedisLimits. The load tool (rgload, edge vs
// edge-traced) measures the same with the edge in its own process.
func BenchmarkLoginsTracing(b *testing.B) {
	b.Setenv("CONSUL_HTTP_ADDR", "")
	backend := startLoginSuccessBackend(b)
	r, err := otlprecv.Listen(otlprecv.Options{CountOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"off", nil},
		{"default", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + r.GRPCAddr(), "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"}},
		{"always_on", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + r.GRPCAddr(), "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_TRACES_SAMPLER=always_on"}},
		{"unsampled", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + r.GRPCAddr(), "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_TRACES_SAMPLER=always_off"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for _, kv := range os.Environ() {
				if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
					b.Setenv(k, "")
					os.Unsetenv(k)
				}
			}
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				b.Setenv(k, v)
			}
			before := r.Count("")
			e, err := New(testConfig(backend), "bench", slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			e.Start()
			addr := e.Addr().String()
			hello := append(handshake(fleetProtocol, "localhost", 25565, 2), loginStart(fleetProtocol, "Bench")...)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := benchLogin(addr, hello); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = e.Tracing.ForceFlush(ctx)
			cancel()
			e.Shutdown()
			b.ReportMetric(float64(r.Count("")-before)/float64(b.N), "spans/login")
		})
	}
}
