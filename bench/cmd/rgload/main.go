// Command rgload is RustGuard's benchmark: in one run, against one
// synthetic Minecraft 1.8 backend, it measures bulk throughput, echo
// latency under load, status pings and logins per second, memory per
// idle connection and the cost of moving players (movement every tick, a
// mixed stream back) directly and through rustguard-edge (inspecting,
// splicing, with tracing on, and as the players' online-mode server) and
// HAProxy (plain and splicing), prints a markdown table and, with -out,
// writes docs/BENCHMARKS.md.
//
// edge-traced exports its spans to -otlp-endpoint (central, a collector,
// Jaeger), or, without one, to an OTLP receiver rgload runs itself.
// edge-online authenticates every player with the repository's
// session-server double, which rgload runs in its own process; its players
// encrypt like vanilla clients.
//
// -quick shrinks every workload to a smoke test of about half a minute that
// asserts nothing about speed but fails (exit 1) when a workload fails
// functionally. Exit 2 means the run could not start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rustguard/rustguard/bench/internal/player"
	"github.com/rustguard/rustguard/bench/internal/report"
	"github.com/rustguard/rustguard/bench/internal/run"
	"github.com/rustguard/rustguard/bench/internal/target"
)

// edgeMaxConns is RUSTGUARD_MAX_CONNECTIONS for the edge: above the idle
// workload's 10,000 players (the edge's default, 1000, is not).
const edgeMaxConns = 20000

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	fs := flag.NewFlagSet("rgload", flag.ContinueOnError)
	full := run.Preset(false)
	var (
		targets     = fs.String("targets", joinTargets(run.DefaultTargets(false)), "comma-separated targets: direct, edge, edge-splice, haproxy, haproxy-splice, edge-traced, edge-online (-quick leaves edge-online out unless named)")
		workloads   = fs.String("workloads", strings.Join(run.Workloads(), ","), "comma-separated workloads: "+strings.Join(run.Workloads(), ", "))
		quick       = fs.Bool("quick", false, "smoke-test sizes (~30 s); asserts function, not speed")
		out         = fs.String("out", "", "write the full report (docs/BENCHMARKS.md) to this file")
		edgeBin     = fs.String("edge-bin", "bin/rustguard-edge", "rustguard-edge binary")
		edgeDebug   = fs.Bool("edge-debug", false, "run the edge with RUSTGUARD_LOG_LEVEL=debug")
		haproxyBin  = fs.String("haproxy-bin", "haproxy", "haproxy binary")
		spliceMode  = fs.String("haproxy-splice", "force", "haproxy-splice mode: auto (option splice-auto) or force (splice-request + splice-response)")
		threshold   = fs.Int("compression", full.Threshold, "backend compression threshold; -1 for none")
		bulkPacket  = fs.Int("bulk-packet", full.BulkPacket, "uncompressed size of one bulk chunk packet, bytes")
		bulkConns   = fs.Int("bulk-conns", full.Bulk.Conns, "parallel bulk streams")
		bulkDur     = fs.Duration("bulk-duration", full.Bulk.Duration, "bulk measurement window")
		rttConns    = fs.Int("rtt-conns", full.RTT.Conns, "players in the latency workload")
		rttInterval = fs.Duration("rtt-interval", full.RTT.Interval, "pause between one player's echoes")
		rttDur      = fs.Duration("rtt-duration", full.RTT.Duration, "latency measurement window")
		rttPacket   = fs.String("rtt-packet", full.RTT.Kind.String(), "echo packet: keepalive or plugin")
		statWorkers = fs.Int("status-workers", full.Status.Workers, "concurrent status pingers")
		statDur     = fs.Duration("status-duration", full.Status.Duration, "status measurement window")
		loginWork   = fs.Int("logins-workers", full.Logins.Workers, "concurrent logins in the logins workload")
		loginDur    = fs.Duration("logins-duration", full.Logins.Duration, "logins measurement window")
		otlpEP      = fs.String("otlp-endpoint", "", "OTLP endpoint edge-traced exports to (OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4317 for central); empty: a receiver in rgload")
		otlpProto   = fs.String("otlp-protocol", "grpc", "OTLP protocol for -otlp-endpoint: grpc, http/protobuf or http/json")
		idleConns   = fs.Int("idle-conns", full.Idle.Conns, "idle players (capped by RLIMIT_NOFILE)")
		idleSettle  = fs.Duration("idle-settle", full.Idle.Settle, "pause before reading RSS with all idle players in")
		players     = fs.Int("players", full.Players.Players, "moving players in the players workload (capped by RLIMIT_NOFILE)")
		playersDur  = fs.Duration("players-duration", full.Players.Duration, "players measurement window")
		playersWarm = fs.Duration("players-warmup", full.Players.Warmup, "players moving before the window opens")
		entityMoves = fs.Int("players-entity-moves", full.Players.Mix.EntityMoves, "entity moves per second each moving player receives")
		chunks      = fs.Int("players-chunks", full.Players.Mix.Chunks, "chunk frames (-bulk-packet bytes) per second each moving player receives")
		chat        = fs.Int("players-chat", full.Players.Mix.Chat, "chat lines per second each moving player receives")
		rounds      = fs.Int("rounds", full.Rounds, "rounds of the timed workloads; each cell is the median round (quick: 1)")
		sources     = fs.Int("sources", 1, "loopback source addresses to spread players over (127.0.k.1)")
		verbose     = fs.Bool("v", false, "debug logging of the tool itself")
		edgeEnv     listFlag
		otlpEnv     listFlag
	)
	fs.Var(&edgeEnv, "edge-env", "extra KEY=VALUE for the edge (repeatable)")
	fs.Var(&otlpEnv, "otlp-env", "extra OTEL_* KEY=VALUE for edge-traced only, e.g. OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20TOKEN (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg := run.Preset(*quick)
	var err error
	if cfg.Targets, err = run.ParseTargets(*targets); err != nil {
		return usage(err)
	}
	if *quick && !flagSet(fs, "targets") {
		cfg.Targets = run.DefaultTargets(true)
	}
	if cfg.Workloads, err = run.ParseWorkloads(*workloads); err != nil {
		return usage(err)
	}
	// Flags given explicitly override the preset, quick or not.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "compression":
			cfg.Threshold = *threshold
		case "bulk-packet":
			cfg.BulkPacket = *bulkPacket
		case "bulk-conns":
			cfg.Bulk.Conns = *bulkConns
		case "bulk-duration":
			cfg.Bulk.Duration = *bulkDur
		case "rtt-conns":
			cfg.RTT.Conns = *rttConns
			cfg.RTT.LoginPar = max(min(cfg.RTT.LoginPar, *rttConns), 1)
		case "rtt-interval":
			cfg.RTT.Interval = *rttInterval
		case "rtt-duration":
			cfg.RTT.Duration = *rttDur
		case "status-workers":
			cfg.Status.Workers = *statWorkers
		case "status-duration":
			cfg.Status.Duration = *statDur
		case "logins-workers":
			cfg.Logins.Workers = *loginWork
		case "logins-duration":
			cfg.Logins.Duration = *loginDur
		case "idle-conns":
			cfg.Idle.Conns = *idleConns
		case "idle-settle":
			cfg.Idle.Settle = *idleSettle
		case "players":
			cfg.Players.Players = *players
			cfg.Players.LoginPar = max(min(cfg.Players.LoginPar, *players), 1)
		case "players-duration":
			cfg.Players.Duration = *playersDur
		case "players-warmup":
			cfg.Players.Warmup = *playersWarm
		case "players-entity-moves":
			cfg.Players.Mix.EntityMoves = *entityMoves
		case "players-chunks":
			cfg.Players.Mix.Chunks = *chunks
		case "players-chat":
			cfg.Players.Mix.Chat = *chat
		case "rounds":
			cfg.Rounds = *rounds
		}
	})
	kind, err := player.ParseEchoKind(*rttPacket)
	if err != nil {
		return usage(err)
	}
	cfg.RTT.Kind, cfg.Idle.Kind = kind, kind
	cfg.Sources = *sources
	cfg.Log = log

	nofile, err := run.RaiseNoFile()
	if err != nil {
		return usage(err)
	}
	var notes []string
	if limit := run.MaxIdleConns(nofile); cfg.Idle.Conns > limit {
		notes = append(notes, fmt.Sprintf("Idle players capped at %d (asked for %d): RLIMIT_NOFILE is %d here and a proxy needs two descriptors per player.",
			limit, cfg.Idle.Conns, nofile.Soft))
		cfg.Idle.Conns = limit
	}
	if limit := run.MaxIdleConns(nofile); cfg.Players.Players > limit {
		notes = append(notes, fmt.Sprintf("Moving players capped at %d (asked for %d): RLIMIT_NOFILE is %d here and a proxy needs two descriptors per player.",
			limit, cfg.Players.Players, nofile.Soft))
		cfg.Players.Players = limit
	}
	cfg.Proxy = target.Options{
		EdgeBin:        *edgeBin,
		EdgeEnv:        edgeEnv,
		EdgeDebug:      *edgeDebug,
		HAProxyBin:     *haproxyBin,
		HAProxySplice:  *spliceMode,
		EdgeMaxConns:   edgeMaxConns,
		HAProxyMaxConn: run.MaxIdleConns(nofile),
		OTLPEndpoint:   *otlpEP,
		OTLPProtocol:   *otlpProto,
		OTLPEnv:        otlpEnv,
	}
	if err := cfg.Validate(); err != nil {
		return usage(err)
	}

	machine := report.DetectMachine()
	machine.NoFileSoft, machine.NoFileHard = nofile.Soft, nofile.Hard
	machine.HAProxy = "not used"
	for _, t := range cfg.Targets {
		switch {
		case t.IsEdge():
			if _, err := os.Stat(*edgeBin); err != nil {
				return usage(fmt.Errorf("edge binary: %w (build it with `go build -o bin/rustguard-edge ./edge/cmd/rustguard-edge`, or leave the edge out with -targets)", err))
			}
			abs, err := filepath.Abs(*edgeBin)
			if err != nil {
				return usage(err)
			}
			cfg.Proxy.EdgeBin = abs
		case t.IsHAProxy():
			path, err := exec.LookPath(*haproxyBin)
			if err != nil {
				return usage(fmt.Errorf("haproxy: %w (install the haproxy package, or leave HAProxy out with -targets)", err))
			}
			cfg.Proxy.HAProxyBin = path
			if machine.HAProxy, err = target.HAProxyVersion(path); err != nil {
				return usage(err)
			}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	res, runErr := run.Run(ctx, cfg)
	if res == nil {
		fmt.Fprintln(os.Stderr, "rgload:", runErr)
		return 2
	}
	res.Notes = append(notes, res.Notes...)
	in := report.Input{
		Command: commandLine(args),
		Date:    started,
		Quick:   *quick,
		Machine: machine,
		Config:  cfg,
		Results: res,
	}
	fmt.Println(report.Table(in))
	fmt.Println(report.GoalsTable(in))
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report.Document(in)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "rgload:", err)
			return 2
		}
		log.Info("report written", "path", *out)
	}
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "rgload:", runErr)
		for k, v := range res.Failures {
			fmt.Fprintf(os.Stderr, "--- %s ---\n%s\n", k, v)
		}
		if errors.Is(runErr, run.ErrFailed) {
			return 1
		}
		return 2
	}
	log.Info("run complete", "took", time.Since(started).Round(time.Second))
	return 0
}

// flagSet reports whether name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func usage(err error) int {
	fmt.Fprintln(os.Stderr, "rgload:", err)
	return 2
}

func joinTargets(ts []target.Name) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

// commandLine is how the report quotes the invocation.
func commandLine(args []string) string {
	parts := []string{"rgload"}
	for _, a := range args {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
