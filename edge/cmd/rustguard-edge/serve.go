package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"

	"github.com/rustguard/rustguard/edge/internal/server"
	"github.com/rustguard/rustguard/shared/config"
)

// serveMain runs the edge until SIGTERM or SIGINT.
func serveMain(stderr io.Writer) int {
	if err := serve(); err != nil {
		fmt.Fprintln(stderr, "rustguard-edge:", err)
		return exitFail
	}
	return exitOK
}

func serve() error {
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

// redisLog hands go-redis's printf-style messages to slog at debug.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.DebugContext(ctx, fmt.Sprintf(format, v...))
	}
}
