// Command rustguard-edge is RustGuard's player-facing proxy. With no
// arguments and no files it runs on embedded defaults: players on
// 0.0.0.0:25565, the backend on 127.0.0.1:25566, admin on 127.0.0.1:9565.
// Configuration: a YAML file named by RUSTGUARD_CONFIG and RUSTGUARD_*
// variables (docs/CONFIG.md). This file only wires.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"

	"github.com/rustguard/rustguard/edge/internal/record"
	"github.com/rustguard/rustguard/edge/internal/server"
	"github.com/rustguard/rustguard/edge/internal/tracing"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "version" || os.Args[1] == "--version") {
		fmt.Println("rustguard-edge", version)
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "bans" {
		if err := runBans(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "rustguard-edge bans:", err)
			os.Exit(2)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "replay" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		err := record.RunReplay(ctx, os.Args[2:], os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "rustguard-edge replay:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "rustguard-edge: unknown command %q\n\nusage:\n  rustguard-edge             run the edge (configured by RUSTGUARD_CONFIG and RUSTGUARD_* variables)\n  rustguard-edge bans …      manage the fleet's ban list (add, remove, list)\n  rustguard-edge replay F…   run the detection engine over session recordings\n  rustguard-edge version\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rustguard-edge:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, prov, err := config.LoadEdge(nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log)
	log.Info("configuration loaded", "config", cfg, "sources", prov, "version", version)
	// go-redis prints its own dial and pool errors to stderr through a
	// process-wide logger, unstructured and once per attempt during an
	// outage. The edge reports Redis health itself (readyz, metrics, a
	// warning per state change), so the library's lines go to debug.
	redis.SetLogger(redisLog{log.With("component", "redis")})
	// The OpenTelemetry SDK reports what it cannot do (a partial export,
	// an exporter misconfigured) through a process-wide handler that
	// prints to stderr unstructured; send it to the log like the rest.
	// The edge's own export errors are counted and logged by its queue.
	otelLog := log.With("component", "opentelemetry")
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { otelLog.Warn("tracing", "err", err) }))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	e, err := server.New(cfg, version, log)
	if err != nil {
		return err
	}
	e.Start()
	err = e.Wait(ctx)
	e.Shutdown()
	return err
}

func newLogger(l config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if l.Format == config.FormatJSON {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h)
}

// runBans manages the fleet's ban list in the configured Redis.
func runBans(args []string) error {
	cfg, _, err := config.LoadEdge(nil)
	if err != nil {
		return err
	}
	if cfg.Redis.URL == "" {
		return fmt.Errorf("the ban list lives in Redis: set redis.url (RUSTGUARD_REDIS_URL)")
	}
	client, err := bans.NewClient(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	defer client.Close()
	bc := bans.Defaults()
	bc.KeyPrefix = cfg.Redis.KeyPrefix
	warnLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := bans.NewStore(bc, bans.Options{Client: client, Log: warnLog})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Changes are traced like the edge's own bans (rustguard.ban), when
	// the OTEL_* variables name an exporter.
	tr, err := tracing.New(ctx, tracing.Options{Region: cfg.Region, Instance: cliInstance(), Version: version, Log: warnLog})
	if err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), cliTraceFlush)
		defer cancel()
		_ = tr.Shutdown(fctx)
	}()
	return bans.RunCLIWith(ctx, args, os.Stdout, store, bans.CLIHooks{
		Added:   func(b bans.Ban) { tr.Ban(tracing.BanAdd, b) },
		Removed: func(b bans.Ban) { tr.Ban(tracing.BanRemove, b) },
	})
}

// cliTraceFlush bounds how long "bans" waits to export its span before it
// exits: the change is made either way, and a CLI must not hang on an
// unreachable collector.
const cliTraceFlush = 3 * time.Second

// cliInstance names the bans command in its spans: host name and PID, as
// the edge names itself.
func cliInstance() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

// redisLog hands go-redis's printf-style messages to slog at debug.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.DebugContext(ctx, fmt.Sprintf(format, v...))
	}
}
