package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/rustguard/rustguard/edge/internal/record"
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
	return cmd.Run(ctx, stdout, store)
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
