package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/rustguard/rustguard/edge/internal/discovery"
	"github.com/rustguard/rustguard/shared/config"
)

const configUsage = `usage: rustguard-edge config check

Loads the configuration exactly as a start would (defaults, the YAML file
RUSTGUARD_CONFIG names, RUSTGUARD_* variables; with CONSUL_HTTP_ADDR set,
the Consul client's own CONSUL_* variables and token file) without opening
a port or dialling anything. Valid: a summary on stdout, exit status 0.
Invalid: every problem on stderr, each naming the setting and the reason,
exit status 1.

Check an environment file before deploying it:
  env -i sh -c 'set -a; . ./edge.env; exec rustguard-edge config check'
`

// errConfigUsage marks a wrong "config" command line.
var errConfigUsage = errors.New("usage error")

// configMain is "rustguard-edge config".
func configMain(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		return fail(stderr, "config", fmt.Errorf("%w: missing subcommand (check)", errConfigUsage), errConfigUsage)
	case isHelp(args[0]):
		fmt.Fprint(stdout, configUsage)
		return exitOK
	case args[0] != "check":
		return fail(stderr, "config", fmt.Errorf("%w: unknown subcommand %q (want check)", errConfigUsage, args[0]), errConfigUsage)
	case len(args) > 1 && isHelp(args[1]):
		fmt.Fprint(stdout, configUsage)
		return exitOK
	case len(args) > 1:
		return fail(stderr, "config check", fmt.Errorf("%w: unexpected argument %q (the configuration comes from the environment)", errConfigUsage, args[1]), errConfigUsage)
	}

	cfg, prov, err := config.LoadEdge(nil)
	var problems []error
	if err != nil {
		problems = leafErrors(err)
	}
	consul := "none: CONSUL_HTTP_ADDR is unset, proxy.server_address serves every host"
	if discovery.ConsulConfigured() {
		// The client reads CONSUL_HTTP_TOKEN_FILE, CA and client
		// certificates when it is built, exactly as a start does.
		if _, cerr := discovery.NewConsulClient(); cerr != nil {
			problems = append(problems, fmt.Errorf("environment CONSUL_*: %w", cerr))
		} else {
			consul = fmt.Sprintf("%s, backend service %q", os.Getenv("CONSUL_HTTP_ADDR"), cfg.Discovery.BackendService)
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "rustguard-edge config check: the configuration is invalid (%d problem(s)):\n", len(problems))
		for _, p := range problems {
			fmt.Fprintf(stderr, "  %s\n", strings.ReplaceAll(p.Error(), "\n", "\n    "))
		}
		return exitFail
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	file := prov.File
	if file == "" {
		file = "none (RUSTGUARD_CONFIG is unset)"
	}
	rows := [][2]string{
		{"file", file},
		{"set by the file", listOrNone(prov.Fields(config.SourceFile))},
		{"set by variables", listOrNone(prov.Fields(config.SourceEnv))},
		{"region", cfg.Region},
		{"players", cfg.Proxy.ListenAddress},
		{"admin", cfg.Admin.ListenAddress},
		{"trusted proxies", listOrNone(cfg.Proxy.TrustedProxies)},
		{"consul", consul},
		{"backend (without consul)", cfg.Proxy.ServerAddress},
		{"redis", redisSummary(cfg.Redis.URL)},
		{"authentication", authSummary(cfg.Auth)},
	}
	fmt.Fprintln(tw, "configuration valid")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(tw, "warning:\t%s = %q: %s\n", w.Field, w.Value, w.Reason)
	}
	if err := tw.Flush(); err != nil {
		return fail(stderr, "config check", err)
	}
	return exitOK
}

// authSummary says who authenticates players, without the secret: where
// it comes from at most.
func authSummary(a config.Auth) string {
	p := a.Default()
	s := p.Mode
	if p.Online() {
		s += ", " + p.Forwarding + " forwarding, session server " + a.SessionServer
		switch {
		case p.Inline:
			s += ", secret from the variable (not shown)"
		case p.SecretFile != "":
			s += ", secret from " + p.SecretFile
		}
	}
	if n := len(a.Routes); n > 0 {
		s += fmt.Sprintf("; %d host(s) with their own setting", n)
	}
	return s
}

// leafErrors flattens the joined errors LoadEdge returns into one problem
// each (a *config.FieldError says field, value and reason; file and
// variable errors say their line or variable).
func leafErrors(err error) []error {
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		// LoadEdge wraps the joined list once ("invalid configuration:");
		// look through that wrapper, keep any other error whole.
		if inner := u.Unwrap(); inner != nil {
			if _, joined := inner.(interface{ Unwrap() []error }); joined {
				return leafErrors(inner)
			}
		}
	}
	return []error{err}
}

func listOrNone[T any](items []T) string {
	if len(items) == 0 {
		return "none"
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprint(it)
	}
	return strings.Join(parts, ", ")
}

// redisSummary shows where Redis is without its password.
func redisSummary(raw string) string {
	if raw == "" {
		return "none: the edge runs on its local limits and bans"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "set (not shown)"
	}
	return u.Redacted()
}
