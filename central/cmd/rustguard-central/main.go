// Command rustguard-central is RustGuard's central service: it receives
// the edges' traces over OTLP, aggregates and correlates their detections
// in Redis, forwards the traces to the tracing backend and serves the
// operator API. `rustguard-central ctl …` is the operator's command line
// for that API. Configuration: RUSTGUARD_* and OTEL_EXPORTER_OTLP_*
// variables (docs/CENTRAL.md). This file only wires.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/ctl"
	"github.com/rustguard/rustguard/central/internal/server"
	"github.com/rustguard/rustguard/shared/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage:
  rustguard-central              serve (configured by RUSTGUARD_* and OTEL_EXPORTER_OTLP_* variables, docs/CENTRAL.md)
  rustguard-central ctl …        the operator command line for central's API (rustguard-central ctl -h)
  rustguard-central version
`

func main() {
	args := os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version":
			fmt.Println("rustguard-central", version)
			return
		case "-h", "--help", "help":
			fmt.Print(usage)
			return
		case "ctl":
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			err := ctl.Run(ctx, args[1:], os.Stdout, os.Stderr, nil)
			stop()
			switch {
			case errors.Is(err, ctl.ErrUsage):
				fmt.Fprintln(os.Stderr, "rustguard-central ctl:", err)
				os.Exit(2)
			case err != nil:
				fmt.Fprintln(os.Stderr, "rustguard-central ctl:", err)
				os.Exit(1)
			}
			return
		default:
			fmt.Fprintf(os.Stderr, "rustguard-central: unknown command %q\n\n%s", args[0], usage)
			os.Exit(2)
		}
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rustguard-central:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadCentral(nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log)
	log.Info("configuration loaded", "config", cfg, "version", version)
	// go-redis prints its dial errors once per attempt through a
	// process-wide logger; central reports Redis health itself (readyz, a
	// metric, a warning per state change), so those lines go to debug.
	redis.SetLogger(redisLog{log.With("component", "redis")})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// With CONSUL_HTTP_ADDR set, the server also runs the fleet
	// configuration service (/v1/config*, /v1/fleet, the correlation
	// policy); without it, correlation runs on config.DefaultCorrelation().
	c, err := server.New(server.Options{Config: cfg, Version: version, Log: log})
	if err != nil {
		return err
	}
	c.Start()
	err = c.Wait(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), server.ShutdownTimeout)
	defer cancel()
	c.Shutdown(sctx)
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

// redisLog hands go-redis's printf-style messages to slog at debug.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.DebugContext(ctx, fmt.Sprintf(format, v...))
	}
}
