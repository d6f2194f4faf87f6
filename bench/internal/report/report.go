// Package report turns a benchmark run into markdown: the results table
// printed at the end of a run and the whole of docs/BENCHMARKS.md (command,
// date, machine, results, the targets with verdicts, method).
package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/rustguard/rustguard/bench/internal/run"
	"github.com/rustguard/rustguard/bench/internal/target"
	"github.com/rustguard/rustguard/bench/internal/workload"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// Targets from the issue (RustGuard's performance goals for the edge).
const (
	goalBulkVsSplice       = 0.8 // edge bulk ≥ 0.8 × haproxy-splice
	goalCPUPerGB           = 1.0 // edge ≤ 1.0 CPU-s per GB
	goalSpliceBulkVsSplice = 1.0 // edge-splice bulk ≥ 1.0 × haproxy-splice
	goalAddedP99VsHAProxy  = 1.5 // edge added p99 ≤ 1.5 × HAProxy's added p99
	goalKiBPerIdleConn     = 12  // edge RSS per idle connection ≤ 12 KiB
	// goalAllocsPerPacket is where "zero allocations per forwarded packet"
	// is judged met. The reading is a whole-process counter with one
	// measured scrape taken out, so what remains that is not per packet
	// is the edge's timers and background loops (status refresh, health
	// probes) and the variation between scrapes. One allocation on the
	// forwarding path shows as 1 or more, so the tolerance still tells the
	// two apart.
	goalAllocsPerPacket = 0.05 // edge allocations per forwarded packet < 0.05
	// goalTracingOverhead: logins and status pings per second with tracing
	// on (every span exported) within 5 % of tracing off.
	goalTracingOverhead = 0.05
	// goalPlayersCPUVsHAProxy: the edge's CPU per moving player, detection
	// on, within 1.5× HAProxy's (which parses nothing).
	goalPlayersCPUVsHAProxy = 1.5
)

// Input is what a report is made of.
type Input struct {
	Command string
	Date    time.Time
	Quick   bool
	Machine Machine
	Config  run.Config
	Results *run.Results
}

const (
	na      = "—"
	failed  = "FAIL"
	refName = target.HAProxySplice
)

// cell is one value of the results table: a number or why there is none.
type cell struct {
	v    float64
	ok   bool
	text string // shown when !ok
}

func value(v float64) cell { return cell{v: v, ok: true} }

func (c cell) format(f string) string {
	if !c.ok {
		if c.text == "" {
			return na
		}
		return c.text
	}
	return fmt.Sprintf(f, c.v)
}

// row is one line of the results table.
type row struct {
	label  string
	format string
	// get returns the metric for a target.
	get func(target.Name) cell
	// ratio says whether an "x ÷ haproxy-splice" column makes sense.
	ratio bool
	// traced says whether an "edge-traced ÷ edge" column makes sense.
	traced bool
}

// metrics extracts the table's numbers from the results.
type metrics struct{ in Input }

func (m metrics) missing(t target.Name, w string) cell {
	if _, bad := m.in.Results.Failed(t, w); bad {
		return cell{text: failed}
	}
	return cell{}
}

func (m metrics) bulkMBps(t target.Name) cell {
	if r, ok := m.in.Results.Bulk[t]; ok {
		return value(r.MBps())
	}
	return m.missing(t, run.Bulk)
}

func (m metrics) bulkCPU(t target.Name) cell {
	if r, ok := m.in.Results.Bulk[t]; ok && t != target.Direct {
		return value(r.CPUPerGB())
	}
	if t == target.Direct {
		return cell{}
	}
	return m.missing(t, run.Bulk)
}

func (m metrics) bulkCores(t target.Name) cell {
	if r, ok := m.in.Results.Bulk[t]; ok && t != target.Direct {
		return value(r.Cores())
	}
	if t == target.Direct {
		return cell{}
	}
	return m.missing(t, run.Bulk)
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (m metrics) rttP50(t target.Name) cell {
	if r, ok := m.in.Results.RTT[t]; ok {
		return value(micros(r.P50))
	}
	return m.missing(t, run.RTT)
}

func (m metrics) rttP99(t target.Name) cell {
	if r, ok := m.in.Results.RTT[t]; ok {
		return value(micros(r.P99))
	}
	return m.missing(t, run.RTT)
}

func (m metrics) addedP99(t target.Name) cell {
	d, ok := m.in.Results.RTT[target.Direct]
	if !ok {
		return cell{}
	}
	if t == target.Direct {
		return cell{}
	}
	if r, ok := m.in.Results.RTT[t]; ok {
		return value(micros(r.P99 - d.P99))
	}
	return m.missing(t, run.RTT)
}

// allocs turns target t's allocation reading in workload w into a cell;
// ok says whether t has a result for w. Only the edge exposes the
// counters, and an edge result without relayed frames (edge-splice splices
// play traffic uncounted) has nothing to divide by.
func (m metrics) allocs(t target.Name, w string, a workload.Allocs, ok bool) cell {
	if !t.IsEdge() {
		return cell{}
	}
	if !ok {
		return m.missing(t, w)
	}
	if v, ok := a.PerPacket(); ok {
		return value(v)
	}
	return cell{}
}

func (m metrics) bulkAllocs(t target.Name) cell {
	r, ok := m.in.Results.Bulk[t]
	return m.allocs(t, run.Bulk, r.Allocs, ok)
}

func (m metrics) rttAllocs(t target.Name) cell {
	r, ok := m.in.Results.RTT[t]
	return m.allocs(t, run.RTT, r.Allocs, ok)
}

func (m metrics) pings(t target.Name) cell {
	if r, ok := m.in.Results.Status[t]; ok {
		return value(r.PerSecond())
	}
	return m.missing(t, run.Status)
}

func (m metrics) pingCPU(t target.Name) cell {
	if r, ok := m.in.Results.Status[t]; ok && t != target.Direct {
		return value(r.CPUPerPing())
	}
	if t == target.Direct {
		return cell{}
	}
	return m.missing(t, run.Status)
}

func (m metrics) logins(t target.Name) cell {
	if r, ok := m.in.Results.Logins[t]; ok {
		return value(r.PerSecond())
	}
	return m.missing(t, run.Logins)
}

func (m metrics) loginCPU(t target.Name) cell {
	if r, ok := m.in.Results.Logins[t]; ok && t != target.Direct {
		return value(r.CPUPerLogin())
	}
	if t == target.Direct {
		return cell{}
	}
	return m.missing(t, run.Logins)
}

// spansPerLogin is how many spans the edge exported per login in the
// window: the proof that edge-traced really traced (5 for a plain login).
func (m metrics) spansPerLogin(t target.Name) cell {
	if t != target.EdgeTraced {
		return cell{}
	}
	if r, ok := m.in.Results.Logins[t]; ok && r.Logins > 0 {
		return value(r.Trace.Exported / float64(r.Logins))
	}
	return m.missing(t, run.Logins)
}

// spansDropped is what the span queue dropped in the status and login
// windows together.
func (m metrics) spansDropped(t target.Name) cell {
	if t != target.EdgeTraced {
		return cell{}
	}
	s, sok := m.in.Results.Status[t]
	l, lok := m.in.Results.Logins[t]
	if !sok && !lok {
		return m.missing(t, run.Logins)
	}
	return value(s.Trace.Dropped + l.Trace.Dropped)
}

func (m metrics) idleKiB(t target.Name) cell {
	if r, ok := m.in.Results.Idle[t]; ok {
		return value(r.KiBPerConn())
	}
	return m.missing(t, run.Idle)
}

func (m metrics) playersCPU(t target.Name) cell {
	if t == target.Direct {
		return cell{}
	}
	if r, ok := m.in.Results.Players[t]; ok {
		return value(r.CoresPer1000())
	}
	return m.missing(t, run.Players)
}

// playersLatency returns a players latency (get) in µs, or its excess
// over direct's when added is set.
func (m metrics) playersLatency(get func(workload.PlayersResult) time.Duration, added bool) func(target.Name) cell {
	return func(t target.Name) cell {
		var base time.Duration
		if added {
			d, ok := m.in.Results.Players[target.Direct]
			if !ok || t == target.Direct {
				return cell{}
			}
			base = get(d)
		}
		if r, ok := m.in.Results.Players[t]; ok {
			return value(micros(get(r) - base))
		}
		return m.missing(t, run.Players)
	}
}

func moveP50(r workload.PlayersResult) time.Duration { return r.MoveP50 }
func moveP99(r workload.PlayersResult) time.Duration { return r.MoveP99 }
func chatP99(r workload.PlayersResult) time.Duration { return r.ChatP99 }

func (m metrics) playersKiB(t target.Name) cell {
	if t == target.Direct {
		return cell{}
	}
	if r, ok := m.in.Results.Players[t]; ok {
		return value(r.KiBPerPlayer())
	}
	return m.missing(t, run.Players)
}

func (m metrics) playersAllocs(t target.Name) cell {
	r, ok := m.in.Results.Players[t]
	return m.allocs(t, run.Players, r.Allocs, ok)
}

// playersDetections is the edge's detection flags on honest players.
func (m metrics) playersDetections(t target.Name) cell {
	if !t.IsEdge() {
		return cell{}
	}
	if r, ok := m.in.Results.Players[t]; ok {
		return value(r.Detections)
	}
	return m.missing(t, run.Players)
}

// playersProbes is how many of the edge's probes each player answered
// per second: the detection engine's own traffic.
func (m metrics) playersProbes(t target.Name) cell {
	if r, ok := m.in.Results.Players[t]; ok && r.Players > 0 && r.Elapsed > 0 {
		return value(float64(r.Received.Probes) / float64(r.Players) / r.Elapsed.Seconds())
	}
	return m.missing(t, run.Players)
}

func (m metrics) rows() []row {
	c := m.in.Config
	return []row{
		{fmt.Sprintf("Bulk throughput, %d streams (MB/s)", c.Bulk.Conns), "%.0f", m.bulkMBps, true, false},
		{"Bulk: proxy CPU per GB forwarded (CPU-s/GB)", "%.2f", m.bulkCPU, true, false},
		{"Bulk: proxy CPU in use (cores)", "%.2f", m.bulkCores, false, false},
		{"Bulk: edge allocations per forwarded packet", "%.2f", m.bulkAllocs, false, false},
		{fmt.Sprintf("Echo RTT p50, %d players (µs)", c.RTT.Conns), "%.0f", m.rttP50, false, false},
		{fmt.Sprintf("Echo RTT p99, %d players (µs)", c.RTT.Conns), "%.0f", m.rttP99, false, false},
		{"Echo RTT: p99 added vs direct (µs)", "%.0f", m.addedP99, true, false},
		{"Echo: edge allocations per forwarded packet", "%.2f", m.rttAllocs, false, false},
		{fmt.Sprintf("Status pings, %d workers (pings/s)", c.Status.Workers), "%.0f", m.pings, true, true},
		{"Status: proxy CPU per ping (µs)", "%.1f", m.pingCPU, true, true},
		{fmt.Sprintf("Logins, %d workers (logins/s)", c.Logins.Workers), "%.0f", m.logins, true, true},
		{"Logins: proxy CPU per login (µs)", "%.1f", m.loginCPU, true, true},
		{"Logins: spans exported per login", "%.2f", m.spansPerLogin, false, false},
		{"Spans dropped (status and login windows)", "%.0f", m.spansDropped, false, false},
		{"RSS per idle connection (KiB)", "%.1f", m.idleKiB, true, false},
		{fmt.Sprintf("Players, %d moving: proxy CPU per 1,000 players (cores)", c.Players.Players), "%.3f", m.playersCPU, true, false},
		{"Players: movement p50, player → backend (µs)", "%.0f", m.playersLatency(moveP50, false), false, false},
		{"Players: movement p99, player → backend (µs)", "%.0f", m.playersLatency(moveP99, false), false, false},
		{"Players: movement p99 added vs direct (µs)", "%.0f", m.playersLatency(moveP99, true), true, false},
		{"Players: chat p99, backend → player (µs)", "%.0f", m.playersLatency(chatP99, false), false, false},
		{"Players: chat p99 added vs direct (µs)", "%.0f", m.playersLatency(chatP99, true), true, false},
		{"Players: RSS per moving player (KiB)", "%.1f", m.playersKiB, true, false},
		{"Players: edge probes answered per player per second", "%.1f", m.playersProbes, false, false},
		{"Players: edge allocations per forwarded packet", "%.2f", m.playersAllocs, false, false},
		{"Players: edge detection flags (honest players)", "%.0f", m.playersDetections, false, false},
	}
}

// Table renders the results table.
func Table(in Input) string {
	m := metrics{in}
	cols := in.Config.Targets
	var ratioCols []target.Name
	hasRef := false
	for _, t := range cols {
		if t == refName {
			hasRef = true
		}
	}
	hasEdge, hasTraced := false, false
	for _, t := range cols {
		hasEdge = hasEdge || t == target.Edge
		hasTraced = hasTraced || t == target.EdgeTraced
	}
	if hasRef {
		for _, t := range cols {
			if t == target.Edge || t == target.EdgeSplice || t == target.EdgeOnline {
				ratioCols = append(ratioCols, t)
			}
		}
	}
	tracedCol := hasEdge && hasTraced
	var b strings.Builder
	b.WriteString("| Workload |")
	for _, t := range cols {
		fmt.Fprintf(&b, " %s |", t)
	}
	for _, t := range ratioCols {
		fmt.Fprintf(&b, " %s ÷ %s |", t, refName)
	}
	extra := len(ratioCols)
	if tracedCol {
		fmt.Fprintf(&b, " %s ÷ %s |", target.EdgeTraced, target.Edge)
		extra++
	}
	b.WriteString("\n|---|")
	for range len(cols) + extra {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range m.rows() {
		fmt.Fprintf(&b, "| %s |", r.label)
		for _, t := range cols {
			fmt.Fprintf(&b, " %s |", r.get(t).format(r.format))
		}
		for _, t := range ratioCols {
			x, ref := r.get(t), r.get(refName)
			if r.ratio && x.ok && ref.ok && ref.v > 0 {
				fmt.Fprintf(&b, " %.2f× |", x.v/ref.v)
			} else {
				fmt.Fprintf(&b, " %s |", na)
			}
		}
		if tracedCol {
			x, ref := r.get(target.EdgeTraced), r.get(target.Edge)
			if r.traced && x.ok && ref.ok && ref.v > 0 {
				fmt.Fprintf(&b, " %.3f× |", x.v/ref.v)
			} else {
				fmt.Fprintf(&b, " %s |", na)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// goal is one of the targets with its verdict.
type goal struct {
	text, measured, verdict string
}

func verdict(in Input, met bool) string {
	if in.Quick {
		return "not judged (quick run)"
	}
	if met {
		return "met"
	}
	return "**missed**"
}

func notMeasured(text string) goal { return goal{text, na, "not measured"} }

// Goals evaluates the targets against the results.
func goals(in Input) []goal {
	m := metrics{in}
	var gs []goal

	text := fmt.Sprintf("edge bulk throughput ≥ %.1f× haproxy-splice", goalBulkVsSplice)
	if e, ref := m.bulkMBps(target.Edge), m.bulkMBps(refName); e.ok && ref.ok && ref.v > 0 {
		r := e.v / ref.v
		gs = append(gs, goal{text, fmt.Sprintf("%.2f× (%.0f vs %.0f MB/s)", r, e.v, ref.v), verdict(in, r >= goalBulkVsSplice)})
	} else {
		gs = append(gs, notMeasured(text))
	}

	text = fmt.Sprintf("edge ≤ %.1f CPU-s per GB forwarded", goalCPUPerGB)
	if c := m.bulkCPU(target.Edge); c.ok {
		gs = append(gs, goal{text, fmt.Sprintf("%.2f CPU-s/GB", c.v), verdict(in, c.v <= goalCPUPerGB)})
	} else {
		gs = append(gs, notMeasured(text))
	}

	text = fmt.Sprintf("edge-splice bulk throughput ≥ %.1f× haproxy-splice", goalSpliceBulkVsSplice)
	if e, ref := m.bulkMBps(target.EdgeSplice), m.bulkMBps(refName); e.ok && ref.ok && ref.v > 0 {
		r := e.v / ref.v
		gs = append(gs, goal{text, fmt.Sprintf("%.2f× (%.0f vs %.0f MB/s)", r, e.v, ref.v), verdict(in, r >= goalSpliceBulkVsSplice)})
	} else {
		gs = append(gs, notMeasured(text))
	}

	text = fmt.Sprintf("edge p99 added vs direct ≤ %.1f× HAProxy's (the better HAProxy mode)", goalAddedP99VsHAProxy)
	e := m.addedP99(target.Edge)
	ref, refT := cell{}, target.Name("")
	for _, t := range []target.Name{target.HAProxy, target.HAProxySplice} {
		if c := m.addedP99(t); c.ok && (!ref.ok || c.v < ref.v) {
			ref, refT = c, t
		}
	}
	switch {
	case !e.ok || !ref.ok:
		gs = append(gs, notMeasured(text))
	case ref.v <= 0:
		gs = append(gs, goal{text, fmt.Sprintf("edge adds %.0f µs; %s added none measurable (%.0f µs)", e.v, refT, ref.v),
			verdict(in, e.v <= 0)})
	default:
		gs = append(gs, goal{text, fmt.Sprintf("%.2f× (%.0f vs %.0f µs, %s)", e.v/ref.v, e.v, ref.v, refT),
			verdict(in, e.v <= goalAddedP99VsHAProxy*ref.v)})
	}

	text = "edge status pings/s ≥ direct"
	if e, d := m.pings(target.Edge), m.pings(target.Direct); e.ok && d.ok && d.v > 0 {
		gs = append(gs, goal{text, fmt.Sprintf("%.2f× (%.0f vs %.0f /s)", e.v/d.v, e.v, d.v), verdict(in, e.v >= d.v)})
	} else {
		gs = append(gs, notMeasured(text))
	}

	// The echo workload judges it: steady small packets both ways, the
	// relay's common case; bulk frames are few and large.
	text = "edge allocations per forwarded packet (steady state) ≈ 0"
	if c := m.rttAllocs(target.Edge); c.ok {
		a := m.in.Results.RTT[target.Edge].Allocs
		gs = append(gs, goal{text, fmt.Sprintf("%.2f (%.0f allocations, %.0f packets, echo window)", c.v, a.Mallocs, a.Packets),
			verdict(in, c.v < goalAllocsPerPacket)})
	} else {
		gs = append(gs, notMeasured(text))
	}

	for _, g := range []struct {
		what string
		get  func(target.Name) cell
		cpu  func(target.Name) cell
		unit string
	}{{"logins/s", m.logins, m.loginCPU, "login"}, {"status pings/s", m.pings, m.pingCPU, "ping"}} {
		text = fmt.Sprintf("edge-traced %s within %.0f %% of edge (tracing on vs off)", g.what, goalTracingOverhead*100)
		on, off := g.get(target.EdgeTraced), g.get(target.Edge)
		if !on.ok || !off.ok || off.v <= 0 {
			gs = append(gs, notMeasured(text))
			continue
		}
		r := on.v / off.v
		measured := fmt.Sprintf("%.3f× (%.0f vs %.0f /s)", r, on.v, off.v)
		if con, coff := g.cpu(target.EdgeTraced), g.cpu(target.Edge); con.ok && coff.ok {
			measured += fmt.Sprintf("; CPU per %s %.1f vs %.1f µs", g.unit, con.v, coff.v)
		}
		gs = append(gs, goal{text, measured, verdict(in, r >= 1-goalTracingOverhead)})
	}

	text = fmt.Sprintf("edge CPU per 1,000 moving players ≤ %.1f× HAProxy's (the cheaper HAProxy mode)", goalPlayersCPUVsHAProxy)
	e = m.playersCPU(target.Edge)
	ref, refT = cell{}, target.Name("")
	for _, t := range []target.Name{target.HAProxy, target.HAProxySplice} {
		if c := m.playersCPU(t); c.ok && c.v > 0 && (!ref.ok || c.v < ref.v) {
			ref, refT = c, t
		}
	}
	if e.ok && ref.ok {
		measured := fmt.Sprintf("%.2f× (%.3f vs %.3f cores per 1,000 players, %s)", e.v/ref.v, e.v, ref.v, refT)
		added := m.playersLatency(moveP99, true)
		if a, ra := added(target.Edge), added(refT); a.ok && ra.ok {
			measured += fmt.Sprintf("; movement p99 added %.0f vs %.0f µs", a.v, ra.v)
		}
		gs = append(gs, goal{text, measured, verdict(in, e.v <= goalPlayersCPUVsHAProxy*ref.v)})
	} else {
		gs = append(gs, notMeasured(text))
	}

	text = fmt.Sprintf("edge RSS per idle connection ≤ %d KiB", goalKiBPerIdleConn)
	if c := m.idleKiB(target.Edge); c.ok {
		gs = append(gs, goal{text, fmt.Sprintf("%.1f KiB", c.v), verdict(in, c.v <= goalKiBPerIdleConn)})
	} else {
		gs = append(gs, notMeasured(text))
	}
	return gs
}

// GoalsTable renders the targets with measured values and verdicts.
func GoalsTable(in Input) string {
	var b strings.Builder
	b.WriteString("| Target (from the issue) | Measured | Verdict |\n|---|---|---|\n")
	for _, g := range goals(in) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.text, g.measured, g.verdict)
	}
	return b.String()
}

func compression(t int) string {
	if t == mcproto.CompressionOff {
		return "off"
	}
	return fmt.Sprintf("threshold %d", t)
}

// Document renders the whole of docs/BENCHMARKS.md.
func Document(in Input) string {
	c := in.Config
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Benchmarks\n\n")
	w("Generated by `rgload` (`bench/cmd/rgload`); do not edit by hand, run it again:\n")
	w("build `bin/rustguard-edge`, install HAProxy, then from the repository root\n")
	w("`go run ./bench/cmd/rgload -out docs/BENCHMARKS.md` (`make bench`). `-quick` is\n")
	w("the smoke test `make test` runs (without edge-online unless `-targets` names it);\n`-h` lists the flags that pick targets and workloads.\n")
	w("Numbers hold for this machine and this run only: all processes share the same CPUs.\n\n")
	w("## Run\n\n")
	w("- Command: `%s`\n", in.Command)
	w("- Date: %s\n", in.Date.UTC().Format("2006-01-02 15:04 MST"))
	if in.Quick {
		w("- Mode: **quick** (smoke test sizes; the numbers are not meaningful)\n")
	}
	mc := in.Machine
	w("- Machine: %d CPUs (nproc), %s, %s RAM, Linux %s\n", mc.CPUs, mc.CPUModel, mc.MemTotal, mc.Kernel)
	w("- Go: %s; HAProxy: %s\n", mc.GoVersion, mc.HAProxy)
	w("- RLIMIT_NOFILE: soft %d, hard %d\n", mc.NoFileSoft, mc.NoFileHard)
	w("- Load average (1, 5, 15 min) at start: %s\n", mc.LoadAtStart)
	w("- Backend: synthetic Minecraft 1.8 (protocol 47) in the load tool's process, compression %s\n", compression(c.Threshold))
	w("- Targets: %s\n", joinNames(c.Targets))
	if mc.Busy {
		w("\n**Other processes were busy when this run started (1-minute load above %.1f):\n"+
			"they shared the CPUs with the benchmark, so treat the numbers as rough.**\n", QuietLoad)
	}
	w("\n## Results\n\n")
	b.WriteString(Table(in))
	w("\n## Targets\n\n")
	b.WriteString(GoalsTable(in))
	if len(in.Results.Failures) > 0 {
		w("\n## Failures\n\n")
		for _, t := range c.Targets {
			for _, wl := range run.Workloads() {
				if msg, bad := in.Results.Failed(t, wl); bad {
					w("### %s / %s\n\n```\n%s\n```\n\n", t, wl, strings.TrimSpace(msg))
				}
			}
		}
	}
	if len(in.Results.Notes) > 0 {
		w("\n## Notes on this run\n\n")
		for _, n := range in.Results.Notes {
			w("- %s\n", n)
		}
	}
	w("\n## Method\n\n")
	w(method, c.Rounds, c.Bulk.Conns, c.BulkPacket>>10, compression(c.Threshold), c.Bulk.Warmup, c.Bulk.Duration,
		c.RTT.Conns, c.RTT.Kind, c.RTT.Interval, c.RTT.Warmup, c.RTT.Duration,
		c.Status.Workers, c.Status.Duration, c.Status.Warmup,
		c.Logins.Workers, c.Logins.Duration, c.Logins.Warmup,
		c.Idle.Conns, c.Idle.Settle, c.Idle.Probe,
		c.Players.Players, c.Players.Mix.EntityMoves, c.Players.Mix.Chunks, c.BulkPacket>>10, c.Players.Mix.Chat,
		c.Players.Warmup, c.Players.Duration, c.Proxy.HAProxySplice)
	return b.String()
}

func joinNames(ns []target.Name) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// method explains how each number is made; the verbs are filled from the
// run's configuration.
const method = `One synthetic backend serves every target. Each target is a fresh process
for each workload, started by rgload on free 127.0.0.1 ports and stopped by
PID: **direct** (players connect to the backend), **edge** (rustguard-edge,
play traffic parsed), **edge-splice** (rustguard-edge with
RUSTGUARD_INSPECT_PLAY=false), **haproxy** (HAProxy ` + "`mode tcp`" + `, no splicing),
**haproxy-splice** (the same with splicing) and **edge-traced** (edge with
tracing on, exporting to the endpoint named in the notes with its default
sampler unless the command line's ` + "`-otlp-env`" + ` says otherwise: every
detection and one connection setup in a hundred, the others' spans started
but not recorded; run only for status pings and logins, where spans are
made) and **edge-online** (edge as the players' online-mode server:
RUSTGUARD_AUTH_MODE=online, forwarding none to the offline backend, and the
repository's session-server double run inside rgload as its session server;
every player answers the Encryption Request (RSA PKCS#1 v1.5 with the edge's
1024-bit key), joins the double with the server id hash and then encrypts and
decrypts every byte with AES-128-CFB8, so the player's cipher runs on the
same CPUs; status pings are not run, since the edge answers them before any
authentication, exactly as edge does). The edge runs with its
defaults except for the admission gate's per-address limits and attack mode,
which are switched off: every player comes from loopback, and thousands of
logins a second from one address are exactly what the gate exists to stop. The timed workloads run
%d round(s), all targets of one workload back to back in each round, and
every cell is the median round; the idle workload runs once.

- **Bulk throughput**: %d players log in; the backend streams 1.8 Chunk Data
  packets of %d KiB (compression %s), compressed once and written again
  and again, and every player checks each frame byte for byte. After %s of
  warm-up, bytes arriving in the next %s are counted (wire bytes, MB =
  10^6). The proxy's CPU time (utime+stime from /proc/<pid>/stat, USER_HZ
  100) over the same window gives CPU-s per GB (10^9 bytes).
- **Echo RTT**: %d players in play each send a %s packet, wait for the
  backend's echo, then send the next on a %s period (phases spread evenly).
  After %s of warm-up, round trips started in the next %s are kept;
  p50/p99 are nearest-rank. "Added" is a target's p99 minus direct's.
- **Edge allocations per packet** (bulk and echo, edge targets only): the
  edge's /metrics is read when the window opens, when it closes and once
  more right after; the growth of ` + "`go_memstats_mallocs_total`" + ` (heap objects
  allocated) less one scrape's cost (the last two readings' difference:
  about one scrape's allocations fall inside the window) is divided by
  the growth of ` + "`rustguard_edge_packets_processed_total`" + ` (frames parsed and
  relayed, both directions). The counts are the whole process's, so the
  edge's timers and background loops are in them; that is why the target
  counts below 0.05 as zero. edge-splice splices play traffic without
  counting frames, so it has no figure.
- **Status pings**: %d workers each loop new TCP connection → handshake
  (intent 1) → status request → response → ping → pong → close. Pings
  finished in %s after %s of warm-up are counted. The edge answers from
  its status cache; HAProxy relays every ping to the backend. The proxy's
  CPU time over the window divided by the pings gives CPU per ping.
- **Logins**: %d workers each loop new TCP connection → handshake (intent
  2) → Login Start → Login Success → Join Game → close, with the backend
  connection the proxy opens for each. Logins finished in %s after %s of
  warm-up are counted; CPU per login as for pings. On edge-online a login
  also holds the encryption exchange, the player's join and the edge's
  hasJoined through the double, and each worker cycles through 16 accounts
  (making one costs rgload an RSA signature). For edge-traced the
  edge's ` + "`rustguard_edge_trace_spans_exported_total`" + ` and
  ` + "`…_dropped_total`" + ` over the same windows show what was really exported
  (five spans per traced login: mc.connect, mc.gate, mc.backend.choose,
  mc.backend.dial, mc.login; about 0.05 per login with the default
  sampler, 5 with ` + "`OTEL_TRACES_SAMPLER=always_on`" + `) and that none were lost.
  "edge-traced ÷ edge" is the tracing overhead; the target allows 5 %%.
- **Idle memory**: the proxy's VmRSS is read, %d players log in and stay
  idle in play, and after %s of settling VmRSS is read again; the growth is
  divided by the player count. Then %d of them echo once to prove they were
  alive. Not applicable to direct. Both proxies get a 600 s idle timeout so
  nothing is closed under the measurement.
- **Players**: %d players log in and each sends a Player Position And Look
  every 50 ms (one tick; phases spread over the tick): a slow walk on flat
  ground, on ground all along, that an honest client could send and the
  edge's movement checks accept. Per player and second the backend sends,
  batched per tick as a server flushes, %d entity moves (relative moves and
  move-and-looks of eight players it spawned around the player), %d chunk
  frames (the bulk packet, %d KiB before compression) and %d chat lines
  stamped with their send time; players answer the edge's probes (window
  confirmations) and keep-alives as vanilla clients do. After %s of
  warm-up, over %s: the proxy's CPU time per second of the window per
  1,000 players (cores); movement latency one way, from the player's write
  to the backend's read (both in rgload, one clock), for movements sent in
  the window; chat latency from the backend's stamp to the player's read,
  behind the chunks of the same tick; "added" is a target's p99 minus
  direct's. RSS per moving player is the proxy's VmRSS growth from before
  the first login to the end of the window. The backend checks every
  movement against the walk, so one a proxy dropped, reordered or altered
  fails the workload, as do a kick, a disconnect, or a movement that has
  not reached the backend 10 s after the last was sent. The edge's
  detection flags over the workload are shown (honest players raise
  none). The target compares the edge with the cheaper HAProxy mode.

Every step is checked: a login that does not complete, a corrupted bulk
frame, a lost or wrong echo, a wrong pong, a protocol error seen by the
backend or a proxy that exits fails the workload instead of slowing it.

The load generator, the backend and the proxy share the machine's CPUs, so
throughput is what the three reach together; the proxy's CPU-s/GB is its
own. It counts the proxy's user and system time only: loopback TCP receive
work that the kernel does in softirq context is often charged to whichever
task happens to run, so both proxies' figures are lower bounds taken the
same way. HAProxy splicing mode for this run: %s ("auto" = ` + "`option splice-auto`" + `,
"force" = ` + "`option splice-request`" + ` and ` + "`option splice-response`" + `).
The default is force: on this kind of loopback test HAProxy 2.6's
splice-auto heuristic barely splices (its CPU-s/GB stays at the plain
relay's), so it would not measure the splice path.
`
