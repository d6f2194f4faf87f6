package bans

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// ErrUsage marks a command line that does not parse; main prints the error
// to stderr and exits with status 2.
var ErrUsage = errors.New("usage error")

// ErrHelp is returned by ParseCLI when the command line asks for help
// (-h, --help, or "help"); the caller prints CLIUsage to stdout and exits 0.
var ErrHelp = errors.New("help requested")

// ErrNotFound is returned by "bans remove" when there was no such ban, so a
// script sees a non-zero exit status.
var ErrNotFound = errors.New("no such ban")

// CLIUsage is the help text of the bans subcommand.
const CLIUsage = `usage:
  rustguard-edge bans add    (--name N | --uuid U | --ip A | --cidr C) [--duration D] [--reason R] [--source S]
  rustguard-edge bans remove (--name N | --uuid U | --ip A | --cidr C)
  rustguard-edge bans list   [--kind name|uuid|ip|cidr]

--ip with an IPv6 address bans its /64 (listed as a cidr ban).
--duration takes Go durations (90s, 10m, 12h) or days (7d); default permanent.
--source defaults to operator:<your user name>.
The edge reads the Redis address from RUSTGUARD_REDIS_URL.
`

// Command is a parsed "bans" command line. Parsing needs no Redis, so a
// mistyped flag or a request for help is answered before anything is
// dialled.
type Command struct {
	run func(ctx context.Context, stdout io.Writer, store *Store, hooks CLIHooks) error
}

// CLIHooks are told what a command changed, once the change is stored
// (the edge traces them as rustguard.ban spans). Nil hooks are skipped.
type CLIHooks struct {
	// Added gets the ban as stored.
	Added func(Ban)
	// Removed gets the kind and value of the ban lifted, with who lifted
	// it as Source.
	Removed func(Ban)
}

// Run executes the command against store (Store.Run need not be running).
func (c *Command) Run(ctx context.Context, stdout io.Writer, store *Store) error {
	return c.run(ctx, stdout, store, CLIHooks{})
}

// RunWith is Run with hooks.
func (c *Command) RunWith(ctx context.Context, stdout io.Writer, store *Store, hooks CLIHooks) error {
	return c.run(ctx, stdout, store, hooks)
}

// ParseCLI parses "rustguard-edge bans <args>"; args starts with the
// subcommand. Errors wrap ErrUsage, or are ErrHelp.
func ParseCLI(args []string) (*Command, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: missing subcommand (add, remove or list)", ErrUsage)
	}
	switch args[0] {
	case "add":
		return parseAdd(args[1:])
	case "remove", "rm", "del":
		return parseRemove(args[1:])
	case "list", "ls":
		return parseList(args[1:])
	case "help", "-h", "-help", "--help":
		return nil, ErrHelp
	}
	return nil, fmt.Errorf("%w: unknown subcommand %q (want add, remove or list)", ErrUsage, args[0])
}

// RunCLI parses args and runs them against store. A request for help
// writes CLIUsage to stdout and returns nil.
func RunCLI(ctx context.Context, args []string, stdout io.Writer, store *Store) error {
	return RunCLIWith(ctx, args, stdout, store, CLIHooks{})
}

// RunCLIWith is RunCLI with hooks.
func RunCLIWith(ctx context.Context, args []string, stdout io.Writer, store *Store, hooks CLIHooks) error {
	cmd, err := ParseCLI(args)
	if errors.Is(err, ErrHelp) {
		_, err = io.WriteString(stdout, CLIUsage)
		return err
	}
	if err != nil {
		return err
	}
	return cmd.RunWith(ctx, stdout, store, hooks)
}

// subject holds the four mutually exclusive selector flags.
type subject struct{ name, uuid, ip, cidr string }

func (s *subject) register(fs *flag.FlagSet) {
	fs.StringVar(&s.name, "name", "", "player name")
	fs.StringVar(&s.uuid, "uuid", "", "player UUID")
	fs.StringVar(&s.ip, "ip", "", "IP address (an IPv6 address bans its /64)")
	fs.StringVar(&s.cidr, "cidr", "", "address range, e.g. 203.0.113.0/24")
}

// pick returns the one selector given, or a usage error naming the flags.
func (s *subject) pick(fs *flag.FlagSet) (Kind, string, error) {
	var kinds []Kind
	var vals []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			kinds, vals = append(kinds, KindName), append(vals, s.name)
		case "uuid":
			kinds, vals = append(kinds, KindUUID), append(vals, s.uuid)
		case "ip":
			kinds, vals = append(kinds, KindIP), append(vals, s.ip)
		case "cidr":
			kinds, vals = append(kinds, KindCIDR), append(vals, s.cidr)
		}
	})
	switch len(kinds) {
	case 0:
		return 0, "", fmt.Errorf("%w: exactly one of --name, --uuid, --ip or --cidr is required", ErrUsage)
	case 1:
	default:
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = "--" + k.String()
		}
		return 0, "", fmt.Errorf("%w: %s given together; give exactly one of --name, --uuid, --ip or --cidr", ErrUsage, strings.Join(names, " and "))
	}
	k, v, err := NormalizeSubject(kinds[0], vals[0])
	if err != nil {
		return 0, "", fmt.Errorf("%w: --%s: %w", ErrUsage, kinds[0], err)
	}
	return k, v, nil
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("bans "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, not printed twice
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ErrHelp
		}
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (values go after a flag, e.g. --name %s)", ErrUsage, fs.Arg(0), fs.Arg(0))
	}
	return nil
}

func parseAdd(args []string) (*Command, error) {
	fs := newFlagSet("add")
	var sel subject
	sel.register(fs)
	duration := fs.String("duration", "permanent", "how long: Go duration, Nd days, or permanent")
	reason := fs.String("reason", "", "reason shown to the player")
	source := fs.String("source", "operator:"+operatorName(), "who bans")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	kind, value, err := sel.pick(fs)
	if err != nil {
		return nil, err
	}
	d, err := ParseDuration(*duration)
	if err != nil {
		return nil, fmt.Errorf("%w: --duration: %w", ErrUsage, err)
	}
	if len(*reason) > MaxReasonLen {
		return nil, fmt.Errorf("%w: --reason: %d bytes, at most %d", ErrUsage, len(*reason), MaxReasonLen)
	}
	if len(*source) > MaxSourceLen {
		return nil, fmt.Errorf("%w: --source: %d bytes, at most %d", ErrUsage, len(*source), MaxSourceLen)
	}
	return &Command{run: func(ctx context.Context, stdout io.Writer, store *Store, hooks CLIHooks) error {
		now := store.now()
		b := Ban{Kind: kind, Value: value, Reason: *reason, Source: *source, Created: now}
		if d != Forever {
			b.Expires = now.Add(d)
		}
		b, err := store.Add(ctx, b)
		if err != nil {
			return err
		}
		if hooks.Added != nil {
			hooks.Added(b)
		}
		_, err = fmt.Fprintf(stdout, "banned %s %s (%s)\n", b.Kind, b.Value, expiresText(b, now))
		return err
	}}, nil
}

func parseRemove(args []string) (*Command, error) {
	fs := newFlagSet("remove")
	var sel subject
	sel.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	kind, value, err := sel.pick(fs)
	if err != nil {
		return nil, err
	}
	return &Command{run: func(ctx context.Context, stdout io.Writer, store *Store, hooks CLIHooks) error {
		ok, err := store.Remove(ctx, kind, value)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s %s", ErrNotFound, kind, value)
		}
		if hooks.Removed != nil {
			hooks.Removed(Ban{Kind: kind, Value: value, Source: "operator:" + operatorName()})
		}
		_, err = fmt.Fprintf(stdout, "removed ban on %s %s\n", kind, value)
		return err
	}}, nil
}

func parseList(args []string) (*Command, error) {
	fs := newFlagSet("list")
	kindFlag := fs.String("kind", "", "only bans of this kind: name, uuid, ip or cidr")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	var only Kind
	if *kindFlag != "" {
		k, err := ParseKind(*kindFlag)
		if err != nil {
			return nil, fmt.Errorf("%w: --kind: %w", ErrUsage, err)
		}
		only = k
	}
	return &Command{run: func(ctx context.Context, stdout io.Writer, store *Store, hooks CLIHooks) error {
		return listBans(ctx, stdout, store, only)
	}}, nil
}

func listBans(ctx context.Context, stdout io.Writer, store *Store, only Kind) error {
	list, err := store.List(ctx)
	if err != nil {
		return err
	}
	now := store.now()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tVALUE\tREASON\tSOURCE\tCREATED\tEXPIRES")
	n := 0
	for _, b := range list {
		if only != 0 && b.Kind != only {
			continue
		}
		n++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Kind, printable(b.Value), printable(b.Reason), printable(b.Source),
			b.Created.UTC().Format(time.DateTime), expiresText(b, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d ban(s)\n", n)
	return err
}

// ParseDuration reads a ban length: "permanent" (Forever), a Go duration,
// or a whole number of days such as "7d", which operators expect and Go
// durations lack.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "permanent" || s == "forever" {
		return Forever, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (try 30m, 12h, 7d or permanent)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive (use remove to lift a ban)", s)
	}
	return d, nil
}

func expiresText(b Ban, now time.Time) string {
	if b.Permanent() {
		return "permanent"
	}
	return b.Expires.UTC().Format(time.DateTime) + " (in " + FormatRemaining(b.Remaining(now)) + ")"
}

// printable keeps a stored field from moving the terminal's cursor or
// breaking the table: control characters (tabs, newlines, escapes) become
// spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return ' '
		}
		return r
	}, s)
}

func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "unknown"
}
