package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/target"
	"github.com/rustguard/rustguard/bench/internal/workload"
)

// fakeEdgeEnv makes the test binary act as rustguard-edge (see TestMain).
const fakeEdgeEnv = "RGLOAD_TEST_FAKE_EDGE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEdgeEnv) == "1" {
		fmt.Fprintln(os.Stderr, fakeEdge())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// fakeEdge stands in for rustguard-edge, configured the same way: it
// relays TCP from RUSTGUARD_LISTEN_ADDR to RUSTGUARD_BACKEND_ADDR and
// serves /readyz and /metrics on RUSTGUARD_ADMIN_ADDR. Each scrape costs
// 300 allocations; between the first and the second the counters grow by
// 1000 allocations and 500 packets, so a window (which takes one scrape's
// cost out) reads 2 allocations per packet. It runs until killed.
func fakeEdge() error {
	ln, err := net.Listen("tcp", os.Getenv("RUSTGUARD_LISTEN_ADDR"))
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go relay(c, os.Getenv("RUSTGUARD_BACKEND_ADDR"))
		}
	}()
	var scrapes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		mallocs, grown := 300*n, int64(0)
		if n >= 2 {
			mallocs, grown = mallocs+1000, 1
		}
		fmt.Fprintf(w, "go_memstats_mallocs_total %g\n", float64(mallocs))
		for dir, step := range map[string]int64{"clientbound": 300, "serverbound": 200} {
			fmt.Fprintf(w, "rustguard_edge_packets_processed_total{direction=%q,region=\"test\"} %d\n", dir, step*grown)
		}
		// Traced, when given an endpoint a receiver listens on: one span
		// exported per scrape.
		if ep := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); ep != "" {
			if c, err := net.Dial("tcp", strings.TrimPrefix(ep, "http://")); err == nil {
				c.Close()
				fmt.Fprintf(w, "rustguard_edge_trace_spans_exported_total %d\n", n)
				fmt.Fprintf(w, "rustguard_edge_trace_spans_dropped_total{reason=\"queue_full\"} 0\n")
			}
		}
	})
	return http.ListenAndServe(os.Getenv("RUSTGUARD_ADMIN_ADDR"), mux)
}

// relay copies c to and from a new connection to addr until both ends close.
func relay(c net.Conn, addr string) {
	defer c.Close()
	b, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer b.Close()
	go func() {
		_, _ = io.Copy(b, c)
		_ = b.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(c, b)
}

func TestRunReadsEdgeAllocations(t *testing.T) {
	t.Setenv(fakeEdgeEnv, "1") // inherited by the edge child, not by the run's own code
	cfg := tiny(target.Direct, target.Edge)
	cfg.Workloads = []string{Bulk, RTT}
	cfg.Proxy.EdgeBin = os.Args[0]
	cfg.Proxy.EdgeMaxConns = 100
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\n%v", err, res.Failures)
	}
	want := workload.Allocs{Mallocs: 1000, Packets: 500, Scrape: 300}
	if got := res.Bulk[target.Edge].Allocs; got != want {
		t.Errorf("edge bulk allocations %+v, want %+v", got, want)
	}
	if got := res.RTT[target.Edge].Allocs; got != want {
		t.Errorf("edge rtt allocations %+v, want %+v", got, want)
	}
	if res.Bulk[target.Direct].Allocs != (workload.Allocs{}) || res.RTT[target.Direct].Allocs != (workload.Allocs{}) {
		t.Errorf("direct has allocations: bulk %+v, rtt %+v", res.Bulk[target.Direct].Allocs, res.RTT[target.Direct].Allocs)
	}
}

func TestMaxIdleConns(t *testing.T) {
	tests := []struct {
		soft uint64
		want int
	}{
		{20000, (20000 - fdReserve - 2*target.HAProxyMaxPipes) / 2},
		{1024, (1024 - fdReserve - 2*target.HAProxyMaxPipes) / 2},
		{100, 0},
	}
	for _, tt := range tests {
		if got := MaxIdleConns(NoFile{Soft: tt.soft, Hard: tt.soft}); got != tt.want {
			t.Errorf("MaxIdleConns(%d) = %d, want %d", tt.soft, got, tt.want)
		}
	}
}

func TestSourceIPs(t *testing.T) {
	if got := sourceIPs(1); got != nil {
		t.Errorf("one source = %v, want the kernel's choice", got)
	}
	got := sourceIPs(3)
	want := []string{"127.0.0.1", "127.0.1.1", "127.0.2.1"}
	for i, ip := range got {
		if ip.String() != want[i] || !ip.IsLoopback() {
			t.Errorf("source %d = %v, want %s", i, ip, want[i])
		}
	}
}

func TestApplies(t *testing.T) {
	if Applies(target.Direct, Idle) || !Applies(target.Edge, Idle) || !Applies(target.Direct, Bulk) || !Applies(target.HAProxy, Logins) {
		t.Error("idle memory needs a proxy, everything else applies to every target")
	}
	if !Applies(target.Direct, Players) || !Applies(target.Edge, Players) || !Applies(target.HAProxySplice, Players) {
		t.Error("moving players run through every target but edge-traced; direct is the latency baseline")
	}
	if Applies(target.EdgeTraced, Bulk) || Applies(target.EdgeTraced, Idle) || Applies(target.EdgeTraced, Players) || !Applies(target.EdgeTraced, Logins) || !Applies(target.EdgeTraced, Status) {
		t.Error("edge-traced compares connection setup only")
	}
	if Applies(target.EdgeOnline, Status) || !Applies(target.EdgeOnline, Bulk) || !Applies(target.EdgeOnline, Logins) || !Applies(target.EdgeOnline, Idle) {
		t.Error("edge-online runs everything but status (answered before authentication, as edge does)")
	}
}

// TestRunEdgeTraced: edge-traced gets an OTLP endpoint (rgload's own
// receiver) and its span counters are read; plain edge gets none.
func TestRunEdgeTraced(t *testing.T) {
	t.Setenv(fakeEdgeEnv, "1")
	cfg := tiny(target.Edge, target.EdgeTraced)
	cfg.Workloads = []string{Logins, Status}
	cfg.Proxy.EdgeBin = os.Args[0]
	cfg.Proxy.EdgeMaxConns = 100
	cfg.Logins.Warmup, cfg.Logins.Duration = 20*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\n%v", err, res.Failures)
	}
	if l := res.Logins[target.EdgeTraced]; l.Logins == 0 || l.Trace.Exported != 1 {
		t.Errorf("edge-traced logins %+v, want logins and the span counter read", l)
	}
	if l := res.Logins[target.Edge]; l.Logins == 0 || l.Trace.Exported != 0 {
		t.Errorf("edge logins %+v, want no tracing", l)
	}
	if !res.Has(target.EdgeTraced, Status) || len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "receiver") {
		t.Errorf("status %v, notes %q", res.Has(target.EdgeTraced, Status), res.Notes)
	}
}

// tiny is a run small enough for a unit test.
func tiny(targets ...target.Name) Config {
	cfg := Preset(true)
	cfg.Targets = targets
	cfg.Workloads = Workloads()
	cfg.Bulk.Warmup, cfg.Bulk.Duration = 50*time.Millisecond, 200*time.Millisecond
	cfg.RTT.Conns, cfg.RTT.LoginPar, cfg.RTT.Warmup, cfg.RTT.Duration = 5, 5, 20*time.Millisecond, 200*time.Millisecond
	cfg.Status.Warmup, cfg.Status.Duration = 20*time.Millisecond, 200*time.Millisecond
	cfg.Logins.Warmup, cfg.Logins.Duration = 20*time.Millisecond, 200*time.Millisecond
	cfg.Idle.Conns, cfg.Idle.Settle, cfg.Idle.Probe = 20, 10*time.Millisecond, 2
	cfg.Players.Players, cfg.Players.LoginPar, cfg.Players.Warmup, cfg.Players.Duration = 5, 5, 100*time.Millisecond, 400*time.Millisecond
	// A chunk and a chat line every tick: each kind surely arrives in a
	// window this short.
	cfg.Players.Mix.Chunks, cfg.Players.Mix.Chat = 20, 20
	cfg.Proxy.HAProxyMaxConn = 200
	cfg.Proxy.HAProxySplice = "force"
	return cfg
}

// TestRunEdgeOnline runs every workload through the real edge in online
// mode: the double starts and stops with the run, players authenticate
// (the note counts joins and hasJoined), status is skipped, and every edge
// stops cleanly (a failed stop is a failure of its workload).
func TestRunEdgeOnline(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rustguard-edge")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rustguard/rustguard/edge/cmd/rustguard-edge").CombinedOutput(); err != nil {
		t.Fatalf("go build rustguard-edge: %v\n%s", err, out)
	}
	cfg := tiny(target.EdgeOnline)
	cfg.Proxy.EdgeBin = bin
	cfg.Proxy.EdgeMaxConns = 100
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\n%v", err, res.Failures)
	}
	for _, w := range []string{Bulk, RTT, Logins, Idle, Players} {
		if !res.Has(target.EdgeOnline, w) {
			t.Errorf("no %s result for edge-online", w)
		}
	}
	// Moving players through the detection engine: honest, so never
	// flagged, and answering the edge's probes.
	if p := res.Players[target.EdgeOnline]; p.Detections != 0 || p.Received.Probes == 0 || p.Moves == 0 {
		t.Errorf("players through edge-online: %d movements timed, %v detection flags, %d probes answered",
			p.Moves, p.Detections, p.Received.Probes)
	}
	if res.Has(target.EdgeOnline, Status) {
		t.Error("edge-online ran status pings")
	}
	var note string
	for _, n := range res.Notes {
		if strings.HasPrefix(n, "edge-online:") {
			note = n
		}
	}
	var joins, hasJoined, accts int
	if _, err := fmt.Sscanf(note, "edge-online: the session-server double (in rgload) accepted %d joins and answered %d hasJoined requests, for %d accounts.", &joins, &hasJoined, &accts); err != nil {
		t.Fatalf("note %q: %v", note, err)
	}
	// Bulk's and rtt's players, idle's, and at least one login. Logins cut
	// off when the window closes may have joined without the edge asking
	// yet, so hasJoined may trail joins.
	if min := cfg.Bulk.Conns + cfg.RTT.Conns + cfg.Idle.Conns + cfg.Players.Players + 1; hasJoined < min || hasJoined > joins {
		t.Errorf("%d joins and %d hasJoined, want at least %d hasJoined and no more than joins", joins, hasJoined, min)
	}
}

func TestRunDirectAndHAProxy(t *testing.T) {
	targets := []target.Name{target.Direct}
	bin, err := exec.LookPath("haproxy")
	if err == nil {
		targets = append(targets, target.HAProxy, target.HAProxySplice)
	} else {
		t.Log("haproxy not installed; running direct only (make test installs it)")
	}
	cfg := tiny(targets...)
	cfg.Proxy.HAProxyBin = bin
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\n%v", err, res.Failures)
	}
	for _, tn := range targets {
		for _, w := range Workloads() {
			if Applies(tn, w) != res.Has(tn, w) {
				t.Errorf("%s/%s: applies %v, has result %v", tn, w, Applies(tn, w), res.Has(tn, w))
			}
		}
	}
}

func TestRunRecordsFailures(t *testing.T) {
	cfg := tiny(target.Direct, target.Edge)
	cfg.Workloads = []string{Status}
	cfg.Proxy.EdgeBin = "/bin/false" // an edge that dies at start-up
	res, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if !res.Has(target.Direct, Status) {
		t.Error("direct result lost because another target failed")
	}
	msg, bad := res.Failed(target.Edge, Status)
	if !bad || !strings.Contains(msg, "exited") {
		t.Errorf("edge failure = %q, %v", msg, bad)
	}
}

func TestParseLists(t *testing.T) {
	ts, err := ParseTargets("direct, haproxy-splice")
	if err != nil || len(ts) != 2 || ts[1] != target.HAProxySplice {
		t.Errorf("ParseTargets = %v, %v", ts, err)
	}
	if _, err := ParseTargets("direct,nginx"); !errors.Is(err, target.ErrUnknown) {
		t.Errorf("unknown target: %v", err)
	}
	ws, err := ParseWorkloads("idle,bulk")
	if err != nil || len(ws) != 2 || ws[0] != Idle {
		t.Errorf("ParseWorkloads = %v, %v", ws, err)
	}
	if _, err := ParseWorkloads("bulk,soak"); err == nil {
		t.Error("unknown workload accepted")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		ok     bool
	}{
		{"preset", func(c *Config) {}, true},
		{"no targets", func(c *Config) { c.Targets = nil }, false},
		{"threshold below -1", func(c *Config) { c.Threshold = -2 }, false},
		{"compression off", func(c *Config) { c.Threshold = -1 }, true},
		{"zero bulk streams", func(c *Config) { c.Bulk.Conns = 0 }, false},
		{"zero rtt interval", func(c *Config) { c.RTT.Interval = 0 }, false},
		{"too many sources", func(c *Config) { c.Sources = 300 }, false},
		{"zero rounds", func(c *Config) { c.Rounds = 0 }, false},
		{"bad splice mode", func(c *Config) { c.Proxy.HAProxySplice = "sometimes" }, false},
		{"zero players", func(c *Config) { c.Players.Players = 0 }, false},
		{"zero players window", func(c *Config) { c.Players.Duration = 0 }, false},
		{"negative chunk rate", func(c *Config) { c.Players.Mix.Chunks = -1 }, false},
		{"no chat", func(c *Config) { c.Players.Mix.Chat = 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tiny(target.Direct, target.HAProxySplice)
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	id := func(x float64) float64 { return x }
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2}, // lower middle: always a real round
		{[]float64{9, 1, 9}, 9},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := median(tt.in, id); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("median reordered its input: %v", tt.in)
		}
	}
}

func TestRoundsKeepMedianAndSkipFailedPairs(t *testing.T) {
	cfg := tiny(target.Direct)
	cfg.Workloads = []string{Status, Idle}
	cfg.Rounds = 3
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Has(target.Direct, Status) || res.Has(target.Direct, Idle) {
		t.Errorf("results: status %v, idle %v", res.Has(target.Direct, Status), res.Has(target.Direct, Idle))
	}
	var rs rounds
	// Each round's allocations travel with it: the median round's are the
	// ones reported, never a mix of rounds.
	bulk := func(mb int64) workload.BulkResult {
		return workload.BulkResult{Bytes: mb * 1e6, Elapsed: time.Second, Allocs: workload.Allocs{Mallocs: float64(mb), Packets: 100}}
	}
	for _, mb := range []int64{300, 100, 200} {
		add(&rs.bulk, target.Edge, bulk(mb))
		add(&rs.bulk, target.HAProxy, bulk(mb))
	}
	out := &Results{Bulk: map[target.Name]workload.BulkResult{}, Failures: map[string]string{"haproxy/bulk": "round 3 failed"}}
	rs.fill(out)
	if got := out.Bulk[target.Edge]; got.MBps() != 200 || got.Allocs.Mallocs != 200 {
		t.Errorf("edge median %v MB/s with %+v, want 200 and the same round's allocations", got.MBps(), got.Allocs)
	}
	if out.Has(target.HAProxy, Bulk) {
		t.Error("a pair that failed in one round still has a result")
	}
}

func TestDefaultTargets(t *testing.T) {
	if !slices.Contains(DefaultTargets(false), target.EdgeOnline) {
		t.Error("a full run leaves edge-online out")
	}
	quick := DefaultTargets(true)
	if slices.Contains(quick, target.EdgeOnline) || len(quick) != len(target.All())-1 {
		t.Errorf("quick targets %v: want all but edge-online", quick)
	}
}
