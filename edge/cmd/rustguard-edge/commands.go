package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rustguard/rustguard/edge/internal/record"
	"github.com/rustguard/rustguard/edge/internal/tracing"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
)

// bansMain is "rustguard-edge bans": the command line is parsed (and help
// answered) before Redis is dialled.
func bansMain(args []string, stdout, stderr io.Writer) int {
	cmd, err := bans.ParseCLI(args)
	if errors.Is(err, bans.ErrHelp) {
		fmt.Fprint(stdout, bans.CLIUsage)
		return exitOK
	}
	if err != nil {
		return fail(stderr, "bans", err, bans.ErrUsage)
	}
	if err := runBans(cmd, stdout, stderr); err != nil {
		return fail(stderr, "bans", err)
	}
	return exitOK
}

// runBans runs a parsed bans command against the configured Redis.
func runBans(cmd *bans.Command, stdout, stderr io.Writer) error {
	cfg, _, err := config.LoadEdge(nil)
	if err != nil {
		return err
	}
	if cfg.Redis.URL == "" {
		return errors.New("the ban list lives in Redis: set redis.url (RUSTGUARD_REDIS_URL)")
	}
	client, err := bans.NewClient(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	defer client.Close()
	bc := bans.Defaults()
	bc.KeyPrefix = cfg.Redis.KeyPrefix
	store, err := bans.NewStore(bc, bans.Options{Client: client, Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Changes are traced like the edge's own bans (rustguard.ban), when
	// the OTEL_* variables name an exporter.
	warnLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tr, err := tracing.New(ctx, tracing.Options{Region: cfg.Region, Instance: cliInstance(), Version: version, Log: warnLog})
	if err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), cliTraceFlush)
		defer cancel()
		_ = tr.Shutdown(fctx)
	}()
	return cmd.RunWith(ctx, stdout, store, bans.CLIHooks{
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

// replayMain is "rustguard-edge replay".
func replayMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := record.RunReplay(ctx, args, stdout); err != nil {
		return fail(stderr, "replay", err, record.ErrUsage)
	}
	return exitOK
}
