package report

import (
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/run"
	"github.com/rustguard/rustguard/bench/internal/target"
	"github.com/rustguard/rustguard/bench/internal/workload"
)

func sampleInput(quick bool) Input {
	cfg := run.Preset(false)
	cfg.Targets = target.All()
	cfg.Proxy.HAProxySplice = "force"
	sec := time.Second
	bulk := func(mb float64, cpu time.Duration) workload.BulkResult {
		return workload.BulkResult{Bytes: int64(mb * 1e6 * 10), Elapsed: 10 * sec, ProxyCPU: cpu}
	}
	rtt := func(p99 time.Duration) workload.RTTResult {
		return workload.RTTResult{Samples: 100, P50: p99 / 2, P99: p99, Max: p99}
	}
	// The edge allocates three objects per bulk frame and none per echo
	// packet but for a hundredth left by the scrapes and timers.
	edgeBulk := bulk(700, 12*sec)
	edgeBulk.Allocs = workload.Allocs{Mallocs: 30000, Packets: 10000}
	spliceBulk := bulk(1100, 3*sec)
	spliceBulk.Allocs = workload.Allocs{Mallocs: 5000} // play traffic spliced: no frames counted
	edgeRTT := rtt(500 * time.Microsecond)
	edgeRTT.Allocs = workload.Allocs{Mallocs: 200, Packets: 20000}
	// 500 moving players over 10 s; RSS grows by 40 KiB each.
	players := func(cpu, p99 time.Duration, flags float64) workload.PlayersResult {
		return workload.PlayersResult{Players: 500, Elapsed: 10 * sec, ProxyCPU: cpu, RSSBefore: 10 << 20, RSSAfter: 10<<20 + 500*40<<10,
			Moves: 100000, MoveP50: p99 / 2, MoveP99: p99, MoveMax: p99, ChatP50: p99, ChatP99: 2 * p99,
			Received:   workload.Stream{Probes: 50000},
			Allocs:     workload.Allocs{Mallocs: 1000, Packets: 200000},
			Detections: flags}
	}
	res := &run.Results{
		Bulk: map[target.Name]workload.BulkResult{
			target.Direct:        bulk(2000, 0),
			target.Edge:          edgeBulk,   // 0.7× haproxy-splice, 1.71 CPU-s/GB
			target.EdgeSplice:    spliceBulk, // 1.1×
			target.HAProxy:       bulk(900, 9*sec),
			target.HAProxySplice: bulk(1000, 4*sec),
			target.EdgeOnline:    bulk(250, 10*sec), // 0.25×, 4.00 CPU-s/GB
		},
		RTT: map[target.Name]workload.RTTResult{
			target.Direct:        rtt(100 * time.Microsecond),
			target.Edge:          edgeRTT,                     // adds 400
			target.HAProxy:       rtt(400 * time.Microsecond), // adds 300
			target.HAProxySplice: rtt(420 * time.Microsecond), // adds 320
			target.EdgeOnline:    rtt(740 * time.Microsecond), // adds 640
		},
		Status: map[target.Name]workload.StatusResult{
			target.Direct:     {Pings: 5000, Elapsed: sec},
			target.Edge:       {Pings: 9000, Elapsed: sec, ProxyCPU: 450 * time.Millisecond},
			target.EdgeTraced: {Pings: 8910, Elapsed: sec, ProxyCPU: 450 * time.Millisecond}, // 0.99×
		},
		Logins: map[target.Name]workload.LoginsResult{
			target.Direct:     {Logins: 3000, Elapsed: sec},
			target.Edge:       {Logins: 2000, Elapsed: sec, ProxyCPU: 400 * time.Millisecond},
			target.EdgeTraced: {Logins: 1880, Elapsed: sec, ProxyCPU: 470 * time.Millisecond, Trace: workload.Trace{Exported: 9400, Dropped: 3}}, // 0.94×
			target.EdgeOnline: {Logins: 500, Elapsed: sec, ProxyCPU: 500 * time.Millisecond},
		},
		Idle: map[target.Name]workload.IdleResult{
			target.Edge: {Conns: 1000, RSSBefore: 10 << 20, RSSAfter: 10<<20 + 8000<<10},
		},
		Players: map[target.Name]workload.PlayersResult{
			target.Direct: players(0, 300*time.Microsecond, 0),
			// 0.240 cores per 1,000 players, 1.60× haproxy-splice's 0.150.
			target.Edge:          players(1200*time.Millisecond, 800*time.Microsecond, 3),
			target.HAProxy:       players(1000*time.Millisecond, 600*time.Microsecond, 0),
			target.HAProxySplice: players(750*time.Millisecond, 500*time.Microsecond, 0),
		},
		Failures: map[string]string{"edge-splice/rtt": "login rtt00001: disconnected by server",
			"edge-splice/players": "players: mixed stream of players00003: disconnected by server"},
		Notes: []string{"Idle players capped at 9700."},
	}
	return Input{
		Command: "rgload -out docs/BENCHMARKS.md",
		Date:    time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC),
		Quick:   quick,
		Machine: Machine{CPUs: 2, CPUModel: "AMD EPYC", Kernel: "6.1", GoVersion: "go1.26", MemTotal: "23.5 GiB", HAProxy: "HAProxy version 2.6.12", NoFileSoft: 20000, NoFileHard: 20000,
			LoadAtStart: "0.02 0.10 0.20"},
		Config:  cfg,
		Results: res,
	}
}

// rowOf returns the table line whose label starts with prefix.
func rowOf(t *testing.T, table, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, "| "+prefix) {
			return l
		}
	}
	t.Fatalf("no row %q in\n%s", prefix, table)
	return ""
}

func TestTable(t *testing.T) {
	table := Table(sampleInput(false))
	tests := []struct {
		row  string
		want string
	}{
		{"| Workload |", "| direct | edge | edge-splice | haproxy | haproxy-splice | edge-traced | edge-online | edge ÷ haproxy-splice | edge-splice ÷ haproxy-splice | edge-online ÷ haproxy-splice | edge-traced ÷ edge |"},
		{"Bulk throughput", "| 2000 | 700 | 1100 | 900 | 1000 | — | 250 | 0.70× | 1.10× | 0.25× | — |"},
		{"Bulk: proxy CPU per GB", "| — | 1.71 | 0.27 | 1.00 | 0.40 | — | 4.00 | 4.29× | 0.68× | 10.00× | — |"},
		{"Echo RTT p99", "| 100 | 500 | FAIL | 400 | 420 | — | 740 |"},
		{"Echo RTT: p99 added", "| — | 400 | FAIL | 300 | 320 | — | 640 | 1.25× | — | 2.00× | — |"},
		{"Bulk: edge allocations per forwarded packet", "| — | 3.00 | — | — | — | — | — | — | — | — | — |"},
		{"Echo: edge allocations per forwarded packet", "| — | 0.01 | FAIL | — | — | — | — | — | — | — | — |"},
		{"Status pings", "| 5000 | 9000 | — | — | — | 8910 | — | — | — | — | 0.990× |"},
		{"Status: proxy CPU per ping", "| — | 50.0 | — | — | — | 50.5 | — | — | — | — | 1.010× |"},
		{"Logins, 16 workers", "| 3000 | 2000 | — | — | — | 1880 | 500 | — | — | — | 0.940× |"},
		{"Logins: proxy CPU per login", "| — | 200.0 | — | — | — | 250.0 | 1000.0 | — | — | — | 1.250× |"},
		{"Logins: spans exported per login", "| — | — | — | — | — | 5.00 | — | — | — | — | — |"},
		{"Spans dropped", "| — | — | — | — | — | 3 | — | — | — | — | — |"},
		{"RSS per idle", "| — | 8.0 | — | — | — | — | — | — | — | — | — |"},
		{"Players, 500 moving: proxy CPU", "| — | 0.240 | FAIL | 0.200 | 0.150 | — | — | 1.60× | — | — | — |"},
		{"Players: movement p99, player", "| 300 | 800 | FAIL | 600 | 500 | — | — |"},
		{"Players: movement p99 added", "| — | 500 | FAIL | 300 | 200 | — | — | 2.50× |"},
		{"Players: chat p99 added", "| — | 1000 | FAIL | 600 | 400 | — | — | 2.50× |"},
		{"Players: RSS per moving player", "| — | 40.0 | FAIL | 40.0 | 40.0 | — | — | 1.00× |"},
		{"Players: edge probes answered", "| 10.0 | 10.0 | FAIL | 10.0 | 10.0 | — | — |"},
		{"Players: edge allocations", "| — | 0.01 | FAIL | — | — | — | — |"},
		{"Players: edge detection flags", "| — | 3 | FAIL | — | — | — | — |"},
	}
	for _, tt := range tests {
		var line string
		if strings.HasPrefix(tt.row, "|") {
			line = strings.Split(table, "\n")[0]
		} else {
			line = rowOf(t, table, tt.row)
		}
		if !strings.Contains(line, tt.want) {
			t.Errorf("row %q = %q, want it to contain %q", tt.row, line, tt.want)
		}
	}
}

func TestTableWithoutReferenceHasNoRatios(t *testing.T) {
	in := sampleInput(false)
	in.Config.Targets = []target.Name{target.Direct, target.Edge}
	if table := Table(in); strings.Contains(table, "÷") {
		t.Errorf("ratio columns without haproxy-splice:\n%s", table)
	}
}

func TestGoals(t *testing.T) {
	gs := GoalsTable(sampleInput(false))
	tests := []struct{ prefix, want string }{
		{"edge bulk throughput", "| 0.70× (700 vs 1000 MB/s) | **missed** |"},
		{"edge ≤ 1.0 CPU-s", "| 1.71 CPU-s/GB | **missed** |"},
		{"edge-splice bulk", "| 1.10× (1100 vs 1000 MB/s) | met |"},
		{"edge p99 added", "| 1.33× (400 vs 300 µs, haproxy) | met |"},
		{"edge status pings", "| 1.80× (9000 vs 5000 /s) | met |"},
		{"edge RSS per idle", "| 8.0 KiB | met |"},
		{"edge allocations per forwarded packet", "| 0.01 (200 allocations, 20000 packets, echo window) | met |"},
		{"edge-traced logins/s within 5 %", "| 0.940× (1880 vs 2000 /s); CPU per login 250.0 vs 200.0 µs | **missed** |"},
		{"edge-traced status pings/s within 5 %", "| 0.990× (8910 vs 9000 /s); CPU per ping 50.5 vs 50.0 µs | met |"},
		{"edge CPU per 1,000 moving players", "| 1.60× (0.240 vs 0.150 cores per 1,000 players, haproxy-splice); movement p99 added 500 vs 200 µs | **missed** |"},
	}
	for _, tt := range tests {
		if line := rowOf(t, gs, tt.prefix); !strings.Contains(line, tt.want) {
			t.Errorf("goal %q = %q, want %q", tt.prefix, line, tt.want)
		}
	}
	quick := GoalsTable(sampleInput(true))
	if strings.Contains(quick, "met |") || strings.Contains(quick, "missed") {
		t.Errorf("a quick run judged targets:\n%s", quick)
	}
}

func TestAllocsGoal(t *testing.T) {
	withAllocs := func(a workload.Allocs) func(*Input) {
		return func(in *Input) {
			r := in.Results.RTT[target.Edge]
			r.Allocs = a
			in.Results.RTT[target.Edge] = r
		}
	}
	tests := []struct {
		name   string
		quick  bool
		change func(*Input)
		want   string
	}{
		{"under the tolerance", false, withAllocs(workload.Allocs{Mallocs: 400, Packets: 10000}),
			"| 0.04 (400 allocations, 10000 packets, echo window) | met |"},
		{"at the tolerance", false, withAllocs(workload.Allocs{Mallocs: 500, Packets: 10000}),
			"| 0.05 (500 allocations, 10000 packets, echo window) | **missed** |"},
		{"one per packet", false, withAllocs(workload.Allocs{Mallocs: 20000, Packets: 20000}),
			"| 1.00 (20000 allocations, 20000 packets, echo window) | **missed** |"},
		{"quick run", true, withAllocs(workload.Allocs{Mallocs: 20000, Packets: 20000}),
			"| 1.00 (20000 allocations, 20000 packets, echo window) | not judged (quick run) |"},
		{"no frames counted", false, withAllocs(workload.Allocs{Mallocs: 300}), "| — | not measured |"},
		{"echo failed", false, func(in *Input) {
			delete(in.Results.RTT, target.Edge)
			in.Results.Failures["edge/rtt"] = "login rtt00003: disconnected by server"
		}, "| — | not measured |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleInput(tt.quick)
			tt.change(&in)
			if line := rowOf(t, GoalsTable(in), "edge allocations per forwarded packet"); !strings.HasSuffix(line, tt.want) {
				t.Errorf("goal = %q, want it to end in %q", line, tt.want)
			}
		})
	}
}

func TestGoalsNotMeasured(t *testing.T) {
	in := sampleInput(false)
	in.Results = &run.Results{Failures: map[string]string{}}
	for _, l := range strings.Split(strings.TrimSpace(GoalsTable(in)), "\n")[2:] {
		if !strings.HasSuffix(l, "| — | not measured |") {
			t.Errorf("goal without data: %q", l)
		}
	}
}

func TestDocument(t *testing.T) {
	doc := Document(sampleInput(false))
	for _, s := range []string{
		"# Benchmarks",
		"Command: `rgload -out docs/BENCHMARKS.md`",
		"Date: 2026-11-25 18:00 UTC",
		"2 CPUs (nproc), AMD EPYC, 23.5 GiB RAM, Linux 6.1",
		"RLIMIT_NOFILE: soft 20000, hard 20000",
		"Load average (1, 5, 15 min) at start: 0.02 0.10 0.20",
		"## Failures", "### edge-splice / rtt", "disconnected by server",
		"Idle players capped at 9700.",
		"## Method", "option splice-request",
		"500 players log in and each sends a Player Position And Look", "100 entity moves", "3 chunk", "1 chat lines",
	} {
		if !strings.Contains(doc, s) {
			t.Errorf("document lacks %q", s)
		}
	}
	if strings.Contains(doc, "busy") {
		t.Error("a quiet run is flagged as busy")
	}
	in := sampleInput(false)
	in.Machine.Busy = true
	if !strings.Contains(Document(in), "Other processes were busy") {
		t.Error("a busy run is not flagged")
	}
	if strings.Contains(doc, "%!") {
		t.Errorf("document has a formatting error:\n%s", doc)
	}
}

func TestParseLoadAvg(t *testing.T) {
	tests := []struct {
		in   string
		want string
		busy bool
	}{
		{"0.00 0.01 0.05 1/120 999\n", "0.00 0.01 0.05", false},
		{"7.92 7.07 3.82 5/172 1618\n", "7.92 7.07 3.82", true},
		{"", "unknown", false},
	}
	for _, tt := range tests {
		got, busy := parseLoadAvg([]byte(tt.in))
		if got != tt.want || busy != tt.busy {
			t.Errorf("parseLoadAvg(%q) = %q, %v", tt.in, got, busy)
		}
	}
}

func TestProcField(t *testing.T) {
	b := []byte("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n")
	if v, ok := procField(b, "model name"); !ok || v != "AMD EPYC 7B13" {
		t.Errorf("model name = %q, %v", v, ok)
	}
	if _, ok := procField(b, "bogomips"); ok {
		t.Error("found a field that is not there")
	}
	if got := humanKB("24684312 kB"); got != "23.5 GiB" {
		t.Errorf("humanKB = %q", got)
	}
}
