package workload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/player"
)

// page is a metrics page in the shapes the edge's exposition has, plus the
// corner cases of the format: labels holding spaces, commas, braces and
// escaped quotes, exponent notation, a timestamp, and names that share a
// prefix with the wanted ones (which must not be summed in).
const page = `# HELP go_memstats_mallocs_total Total number of heap objects allocated {ever}.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.2345e+06
go_memstats_mallocs_total_extra 99
# HELP rustguard_edge_packets_processed_total Frames parsed and relayed, by direction.
# TYPE rustguard_edge_packets_processed_total counter
rustguard_edge_packets_processed_total{direction="clientbound",region="eu west, {1}"} 2.5e+04

rustguard_edge_packets_processed_total{direction="serverbound",region="say \"hi\", } there"} 5000 1700000000000
rustguard_edge_packets_processed_total_created{direction="serverbound"} 1.7e+09
rustguard_edge_bytes_forwarded_total{direction="serverbound"} 7
`

func TestSumMetrics(t *testing.T) {
	got, err := sumMetrics(strings.NewReader(page), metricMallocs, metricPackets)
	if err != nil {
		t.Fatal(err)
	}
	if got[metricMallocs] != 1234500 || got[metricPackets] != 30000 {
		t.Errorf("sums = %v, want mallocs 1234500 and packets 25000+5000", got)
	}
}

func TestSumMetricsErrors(t *testing.T) {
	tests := []struct {
		name, page string
		noMetric   bool
	}{
		{"missing metric", "go_memstats_mallocs_total 10\n# rustguard_edge_packets_processed_total 5\n", true},
		{"only a longer name", "go_memstats_mallocs_total 10\nrustguard_edge_packets_processed_total_created 5\n", true},
		{"empty page", "", true},
		{"bad value", "go_memstats_mallocs_total ten\n", false},
		{"no value", "go_memstats_mallocs_total\n", false},
		{"unterminated labels", `go_memstats_mallocs_total{a="}` + "\n", false},
		{"trailing junk", "go_memstats_mallocs_total 1 2 3\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sumMetrics(strings.NewReader(tt.page), metricMallocs, metricPackets)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNoMetric) != tt.noMetric {
				t.Errorf("err = %v, want ErrNoMetric %v", err, tt.noMetric)
			}
		})
	}
}

func TestPerPacket(t *testing.T) {
	if v, ok := (Allocs{Mallocs: 300, Packets: 600}).PerPacket(); !ok || v != 0.5 {
		t.Errorf("PerPacket = %v, %v; want 0.5", v, ok)
	}
	if _, ok := (Allocs{Mallocs: 300}).PerPacket(); ok {
		t.Error("allocations per packet without packets")
	}
}

// fakeMetrics serves an edge metrics page for one window: every scrape
// costs 300 allocations, and between the first and the second the edge
// allocates 1000 more and relays 500 packets (300 one way, 200 the
// other); the third, right after the window, adds only its own cost. A
// window that takes one scrape's cost out reads 2 allocations per packet.
func fakeMetrics(t *testing.T) *httptest.Server {
	t.Helper()
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrapes.Add(1)
		mallocs, cb, sb := 300*n, int64(0), int64(0)
		if n >= 2 {
			mallocs, cb, sb = mallocs+1000, 300, 200
		}
		fmt.Fprintf(w, "# TYPE go_memstats_mallocs_total counter\ngo_memstats_mallocs_total %g\n", float64(mallocs))
		fmt.Fprintf(w, "rustguard_edge_packets_processed_total{direction=\"clientbound\",region=\"local\"} %d\n", cb)
		fmt.Fprintf(w, "rustguard_edge_packets_processed_total{direction=\"serverbound\",region=\"local\"} %d\n", sb)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWindowTakesOneScrapeOut(t *testing.T) {
	from := counters{mallocs: 5000, packets: 100}
	to := counters{mallocs: 8500, packets: 10100}
	after := counters{mallocs: 9000, packets: 10100}
	if got, want := window(from, to, after), (Allocs{Mallocs: 3000, Packets: 10000, Scrape: 500}); got != want {
		t.Errorf("window %+v, want %+v", got, want)
	}
	// A scrape that costs more than the window held reads zero, not less.
	if got := window(from, counters{mallocs: 5100, packets: 200}, counters{mallocs: 5900, packets: 200}); got.Mallocs != 0 {
		t.Errorf("window with a dearer scrape: %+v, want 0 allocations", got)
	}
}

func TestWorkloadsReadAllocations(t *testing.T) {
	e := directEnv(t)
	e.MetricsURL = fakeMetrics(t).URL + "/metrics"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := Allocs{Mallocs: 1000, Packets: 500, Scrape: 300}

	b, err := Bulk(ctx, e, BulkConfig{Conns: 1, Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if b.Allocs != want {
		t.Errorf("bulk allocs %+v, want %+v", b.Allocs, want)
	}
	e.MetricsURL = fakeMetrics(t).URL + "/metrics" // a fresh window
	r, err := RTT(ctx, e, RTTConfig{Conns: 2, Interval: 5 * time.Millisecond, Warmup: 20 * time.Millisecond,
		Duration: 100 * time.Millisecond, Kind: player.EchoPlugin, LoginPar: 2})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := r.Allocs.PerPacket(); r.Allocs != want || !ok || v != 2 {
		t.Errorf("rtt allocs %+v (%v per packet), want %+v", r.Allocs, v, want)
	}
}

func TestWorkloadsFailWithoutCounters(t *testing.T) {
	e := directEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "go_memstats_mallocs_total 1000") // no packet counter
	}))
	t.Cleanup(srv.Close)
	e.MetricsURL = srv.URL + "/metrics"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Bulk(ctx, e, BulkConfig{Conns: 1, Duration: 50 * time.Millisecond}); !errors.Is(err, ErrNoMetric) {
		t.Errorf("bulk without a packet counter: %v", err)
	}
	_, err := RTT(ctx, e, RTTConfig{Conns: 1, Interval: 5 * time.Millisecond, Duration: 50 * time.Millisecond,
		Kind: player.EchoPlugin, LoginPar: 1})
	if !errors.Is(err, ErrNoMetric) {
		t.Errorf("rtt without a packet counter: %v", err)
	}
}
