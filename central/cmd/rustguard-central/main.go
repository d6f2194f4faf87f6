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
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/ctl"
	"github.com/rustguard/rustguard/central/internal/server"
	"github.com/rustguard/rustguard/shared/buildinfo"
	"github.com/rustguard/rustguard/shared/config"
)

// version is set at build time with -ldflags "-X main.version=…"; commit
// may be set the same way, otherwise it comes from the Go build info.
var (
	version = "dev"
	commit  = ""
)

// Exit statuses: 0 done (and for help), 1 the command failed, 2 the command
// line is wrong (the usual convention of flag-based tools, as the edge's).
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `usage: rustguard-central [command]

Commands:
  (none)          serve: OTLP ingest, aggregation, correlation and the API;
                  configured by RUSTGUARD_* and OTEL_EXPORTER_OTLP_* variables
                  (docs/CENTRAL.md)
  ctl …           the operator command line for central's API
  version         print the version, the commit and the Go version
  help [command]  print this help, or a command's

"rustguard-central COMMAND --help" prints a command's usage.
`

const versionUsage = `usage: rustguard-central version

Prints the version, the commit it was built from and the Go version.
`

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// cli is the command line: it returns the exit status. Results and help
// go to stdout, errors to stderr.
func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		if err := run(); err != nil {
			fmt.Fprintln(stderr, "rustguard-central:", err)
			return exitFail
		}
		return exitOK
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "help":
		if len(args) == 1 {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		switch args[1] {
		case "ctl", "version":
			return cli([]string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprintf(stderr, "rustguard-central help: unknown command %q\n\n%s", args[1], usage)
		return exitUsage
	case "version", "-version", "--version":
		if len(args) > 1 && isHelp(args[1]) {
			fmt.Fprint(stdout, versionUsage)
			return exitOK
		}
		if len(args) > 1 {
			fmt.Fprintf(stderr, "rustguard-central version: unexpected argument %q\n", args[1])
			return exitUsage
		}
		fmt.Fprint(stdout, buildinfo.Text("rustguard-central", version, commit))
		return exitOK
	case "ctl":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		err := ctl.Run(ctx, args[1:], stdout, stderr, nil)
		switch {
		case errors.Is(err, ctl.ErrUsage):
			fmt.Fprintln(stderr, "rustguard-central ctl:", err)
			fmt.Fprintln(stderr, "(rustguard-central ctl --help prints the usage)")
			return exitUsage
		case err != nil:
			fmt.Fprintln(stderr, "rustguard-central ctl:", err)
			return exitFail
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "rustguard-central: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
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
