package run

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/target"
	"github.com/rustguard/rustguard/bench/internal/workload"
)

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
	if Applies(target.Direct, Idle) || !Applies(target.Edge, Idle) || !Applies(target.Direct, Bulk) {
		t.Error("idle memory needs a proxy, everything else applies to every target")
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
	cfg.Idle.Conns, cfg.Idle.Settle, cfg.Idle.Probe = 20, 10*time.Millisecond, 2
	cfg.Proxy.HAProxyMaxConn = 200
	cfg.Proxy.HAProxySplice = "force"
	return cfg
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
	bulk := func(mb int64) workload.BulkResult {
		return workload.BulkResult{Bytes: mb * 1e6, Elapsed: time.Second}
	}
	for _, mb := range []int64{300, 100, 200} {
		add(&rs.bulk, target.Edge, bulk(mb))
		add(&rs.bulk, target.HAProxy, bulk(mb))
	}
	out := &Results{Bulk: map[target.Name]workload.BulkResult{}, Failures: map[string]string{"haproxy/bulk": "round 3 failed"}}
	rs.fill(out)
	if got := out.Bulk[target.Edge].MBps(); got != 200 {
		t.Errorf("edge median %v MB/s, want 200", got)
	}
	if out.Has(target.HAProxy, Bulk) {
		t.Error("a pair that failed in one round still has a result")
	}
}
