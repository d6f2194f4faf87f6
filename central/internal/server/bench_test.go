package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/testservers"
)

// Benchmark shape: what an edge's batch processor sends by default (512
// spans a request), from three regions, about a thousand players flagged
// by eight checks with every action.
const (
	benchBatch   = 512
	benchSenders = 16
	benchPlayers = 1000
)

var benchChecks = []string{"combat.reach", "combat.autoclicker", "movement.speed", "movement.fly",
	"badpackets.invalid_pitch", "badpackets.timer", "chat.spam", "inventory.fast_click"}

// benchBodies builds n OTLP/HTTP protobuf bodies of benchBatch detection
// spans each, every span with its own ids (so none is a duplicate).
func benchBodies(n int) [][]byte {
	edges := []spantest.Edge{{Region: "eu", Instance: "eu-1"}, {Region: "us", Instance: "us-1"}, {Region: "ap", Instance: "ap-1"}}
	out := make([][]byte, n)
	now := time.Now()
	for i := range out {
		edge := edges[i%len(edges)]
		spans := make([]tracetest.SpanStub, benchBatch)
		for k := range spans {
			p := rand.IntN(benchPlayers)
			ev := spantest.Event(benchChecks[rand.IntN(len(benchChecks))], detection.Actions()[rand.IntN(len(detection.Actions()))],
				fmt.Sprintf("Player%d", p), "", fmt.Sprintf("198.51.%d.%d", p/250, p%250+1), false, now)
			spans[k] = edge.Detection(ev, spantest.IDs())
		}
		out[i], _ = ptraceotlp.NewExportRequestFromTraces(spantest.Traces(spans...)).MarshalProto()
	}
	return out
}

func postOTLP(client *http.Client, url string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("export: %s", resp.Status)
	}
	return nil
}

// BenchmarkIngest measures detection spans per second one central takes
// in over OTLP/HTTP, aggregates in a real Redis, correlates, and forwards
// to a real Jaeger: the clock stops when the forwarder has handed the last
// span to Jaeger. One op is one request of 512 spans.
//
//	RUSTGUARD_JAEGER_BIN=… go test -run '^$' -bench Ingest -benchtime 200x ./central/internal/server/
func BenchmarkIngest(b *testing.B) {
	rd := testservers.StartRedis(b)
	j := testservers.StartJaeger(b)
	c := startCentral(b, rd.URL(), j)
	bodies := benchBodies(b.N)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: benchSenders}}
	target := "http://" + c.otlpURL + "/v1/traces"
	var next atomic.Int64
	var wg sync.WaitGroup
	redisCPU0 := redisCPU(b, rd.URL())
	b.ResetTimer()
	start := time.Now()
	for range benchSenders {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(bodies); i = int(next.Add(1)) - 1 {
				if err := postOTLP(client, target, bodies[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	accepted := time.Since(start)
	total := float64(b.N * benchBatch)
	reg := c.c.Metrics
	// Everything sent is forwarded, and so is a correlation span per ban
	// (the load bans its cheaters).
	for metricSum(b, reg, "rustguard_central_spans_forwarded_total")+metricSum(b, reg, "rustguard_central_spans_forward_dropped_total") <
		total+metricSum(b, reg, "rustguard_central_correlation_bans_total") {
		if time.Since(start) > time.Minute {
			b.Fatalf("forwarded %v + dropped %v of %v + %v bans", metricSum(b, reg, "rustguard_central_spans_forwarded_total"),
				metricSum(b, reg, "rustguard_central_spans_forward_dropped_total"), total, metricSum(b, reg, "rustguard_central_correlation_bans_total"))
		}
		time.Sleep(5 * time.Millisecond) // the forwarder has no event to wait on
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(total/elapsed.Seconds(), "spans/s")
	b.ReportMetric(total/accepted.Seconds(), "accepted-spans/s")
	b.ReportMetric(metricSum(b, reg, "rustguard_central_spans_forward_dropped_total"), "dropped")
	b.ReportMetric(metricSum(b, reg, "rustguard_central_correlation_bans_total"), "bans")
	b.ReportMetric(redisCPU(b, rd.URL())-redisCPU0, "redis-cpu-s")
	if got := metricSum(b, reg, "rustguard_central_detections_ingested_total"); got != total {
		b.Errorf("%v detections aggregated, want %v (duplicates %v, rejected %v, received %v)", got, total,
			metricSum(b, reg, "rustguard_central_detections_duplicate_total"), metricSum(b, reg, "rustguard_central_spans_rejected_total"), metricSum(b, reg, "rustguard_central_spans_received_total"))
	}
}

// BenchmarkDetectionToAPI measures the time from a detection span's
// arrival at central (the start of its export) to its appearance in the
// API (/v1/players), one detection per op, while a background load of
// about half the benchmark rate runs.
func BenchmarkDetectionToAPI(b *testing.B) {
	rd := testservers.StartRedis(b)
	j := testservers.StartJaeger(b)
	c := startCentral(b, rd.URL(), j)
	client := &http.Client{}
	target := "http://" + c.otlpURL + "/v1/traces"
	// Background load: about 10,000 spans/s.
	bodies := benchBodies(40)
	ctx, stop := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() {
		tick := time.NewTicker(time.Second * benchBatch / 10_000)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				go func(body []byte) { _ = postOTLP(client, target, body) }(bodies[i%len(bodies)])
			}
		}
	})
	edge := spantest.Edge{Region: "eu", Instance: "eu-probe"}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("Probe%d", i)
		ev := spantest.Event("combat.reach", detection.ActionKick, name, "", "203.0.113.7", false, time.Now())
		body, _ := ptraceotlp.NewExportRequestFromTraces(spantest.Traces(edge.Detection(ev, spantest.IDs()))).MarshalProto()
		t0 := time.Now()
		if err := postOTLP(client, target, body); err != nil {
			b.Fatal(err)
		}
		for {
			var h history
			if c.get(b, "/v1/players/"+url.PathEscape(name), &h); h.Total == 1 {
				break
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	stop()
	bg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// metricSum adds up every series of a metric in reg.
func metricSum(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// redisCPU is the CPU time Redis has used, in seconds (INFO cpu).
func redisCPU(tb testing.TB, url string) float64 {
	tb.Helper()
	c, err := bans.NewClient(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	sum := 0.0
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return sum
}
