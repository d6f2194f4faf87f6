// Package ctl is the operator's command line, `rustguard-central ctl`: it
// talks to a running central's API (RUSTGUARD_CENTRAL_URL, with the
// bearer token RUSTGUARD_ADMIN_TOKEN) and prints its JSON answers, so
// everything it does can also be done with curl (docs/CENTRAL.md).
package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables.
const (
	EnvURL   = "RUSTGUARD_CENTRAL_URL"
	EnvToken = "RUSTGUARD_ADMIN_TOKEN"
	// defaultURL is central's default API address.
	defaultURL = "http://127.0.0.1:8080"
	// requestTimeout bounds one API call.
	requestTimeout = 30 * time.Second
	// maxAnswer caps how much of an answer is read (a full history of
	// configuration documents is the largest).
	maxAnswer = 64 << 20
	// maxDocument caps a configuration document read from a file (Consul
	// caps a value at 512 KiB).
	maxDocument = 512 << 10
)

// ErrUsage is a command line that does not parse; the caller exits 2.
var ErrUsage = errors.New("usage")

// errHelp is -h: usage was printed, the caller exits 0.
var errHelp = flag.ErrHelp

// Usage is the ctl's help text.
const Usage = `usage: rustguard-central ctl <command> [flags] [arguments]

Talks to central's API at $RUSTGUARD_CENTRAL_URL (default http://127.0.0.1:8080)
with the token in $RUSTGUARD_ADMIN_TOKEN, and prints the JSON answers.

commands:
  bans list
  bans add -type name|uuid|ip|cidr -value V [-duration 10m|12h|7d|permanent] [-reason TEXT]
  bans remove -type T -value V
  detections [-region R] [-check C] [-player NAME|UUID] [-since 1h|RFC3339] [-until T] [-limit N] [-before ID]
  counts [-bucket minute|hour] [-region R] [-check C] [-since T] [-until T]
  players NAME|UUID [-since T] [-limit N]
  attacks [-limit N]
  fleet
  config get
  config validate FILE            (FILE: the fleet document as JSON, - for stdin)
  config set -version N [-by NAME] FILE
  config history [-limit N]
  config show VERSION
  config rollback -version N [-based-on CURRENT] [-by NAME]

Every command takes -h.
`

// Run executes one ctl command line (the arguments after "ctl"). getenv
// reads the environment (nil: os.Getenv).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	if len(args) == 0 {
		// A missing command is a usage error: the usage goes to stderr
		// with it, stdout stays empty for scripts.
		fmt.Fprint(stderr, Usage)
		return fmt.Errorf("%w: missing command", ErrUsage)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, Usage)
		return nil
	}
	base := getenv(EnvURL)
	if base == "" {
		base = defaultURL
	}
	c := &client{base: strings.TrimSuffix(base, "/"), token: getenv(EnvToken), out: stdout, http: &http.Client{Timeout: requestTimeout}}
	err := c.run(ctx, args, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

type client struct {
	base, token string
	out         io.Writer
	http        *http.Client
}

func (c *client) run(ctx context.Context, args []string, stderr io.Writer) error {
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub = rest[0]
	}
	name := strings.TrimSpace(cmd + " " + sub)
	fs := flag.NewFlagSet("ctl "+name, flag.ContinueOnError)
	// The flag package writes its complaint and the usage to one output:
	// kept aside, it goes to stdout for -h (help is an answer); for a bad
	// flag the returned error says it once, on stderr.
	var flagOut bytes.Buffer
	fs.SetOutput(&flagOut)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rustguard-central ctl %s\n", synopsis(name))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	parse := func(args []string) error {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				_, _ = c.out.Write(flagOut.Bytes())
				return errHelp
			}
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return nil
	}
	switch cmd {
	case "bans":
		return c.bans(ctx, fs, parse, rest)
	case "detections":
		q := url.Values{}
		for _, name := range []string{"region", "check", "player", "since", "until", "limit", "before"} {
			queryFlag(fs, q, name)
		}
		if err := parse(rest); err != nil {
			return err
		}
		return c.call(ctx, http.MethodGet, "/v1/detections", q, nil)
	case "counts":
		q := url.Values{}
		for _, name := range []string{"bucket", "region", "check", "since", "until"} {
			queryFlag(fs, q, name)
		}
		if err := parse(rest); err != nil {
			return err
		}
		return c.call(ctx, http.MethodGet, "/v1/detections/counts", q, nil)
	case "players":
		q := url.Values{}
		queryFlag(fs, q, "since")
		queryFlag(fs, q, "limit")
		if err := parse(interspersed(rest)); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: players wants one name or UUID", ErrUsage)
		}
		return c.call(ctx, http.MethodGet, "/v1/players/"+url.PathEscape(fs.Arg(0)), q, nil)
	case "attacks":
		q := url.Values{}
		queryFlag(fs, q, "limit")
		if err := parse(rest); err != nil {
			return err
		}
		return c.call(ctx, http.MethodGet, "/v1/attacks", q, nil)
	case "fleet":
		if err := parse(rest); err != nil {
			return err
		}
		return c.call(ctx, http.MethodGet, "/v1/fleet", nil, nil)
	case "config":
		return c.config(ctx, fs, parse, rest)
	}
	return fmt.Errorf("%w: unknown command %q (see rustguard-central ctl -h)", ErrUsage, cmd)
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// synopses are each command's usage line (the lines of Usage).
var synopses = map[string]string{
	"bans list":       "bans list",
	"bans add":        "bans add -type name|uuid|ip|cidr -value V [-duration 10m|12h|7d|permanent] [-reason TEXT]",
	"bans remove":     "bans remove -type T -value V",
	"detections":      "detections [-region R] [-check C] [-player NAME|UUID] [-since 1h|RFC3339] [-until T] [-limit N] [-before ID]",
	"counts":          "counts [-bucket minute|hour] [-region R] [-check C] [-since T] [-until T]",
	"players":         "players NAME|UUID [-since T] [-limit N]",
	"attacks":         "attacks [-limit N]",
	"fleet":           "fleet",
	"config get":      "config get",
	"config validate": "config validate FILE   (FILE: the fleet document as JSON, - for stdin)",
	"config set":      "config set -version N [-by NAME] FILE",
	"config history":  "config history [-limit N]",
	"config show":     "config show VERSION",
	"config rollback": "config rollback -version N [-based-on CURRENT] [-by NAME]",
}

// synopsis is the usage line of a command ("players", "bans add"); a
// command given an argument first ("players Notch") is found by its first
// word.
func synopsis(name string) string {
	if s, ok := synopses[name]; ok {
		return s
	}
	first, _, _ := strings.Cut(name, " ")
	if s, ok := synopses[first]; ok {
		return s
	}
	return name
}

// interspersed moves flags ahead of positional arguments, so both
// "players Notch -limit 5" and "players -limit 5 Notch" work.
func interspersed(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && a != "-h" && a != "--help" {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flags, "--"), pos...)
}

// queryFlag defines a string flag copied into q when set.
func queryFlag(fs *flag.FlagSet, q url.Values, name string) {
	fs.Func(name, "sets the "+name+" query parameter", func(v string) error {
		q.Set(name, v)
		return nil
	})
}

func (c *client) bans(ctx context.Context, fs *flag.FlagSet, parse func([]string) error, rest []string) error {
	if len(rest) == 0 {
		return fmt.Errorf("%w: bans wants list, add or remove", ErrUsage)
	}
	if isHelp(rest[0]) {
		fmt.Fprint(c.out, "usage: rustguard-central ctl bans list | add -type T -value V [-duration D] [-reason R] | remove -type T -value V\n")
		return nil
	}
	switch rest[0] {
	case "list":
		if err := parse(rest[1:]); err != nil {
			return err
		}
		return c.call(ctx, http.MethodGet, "/v1/bans", nil, nil)
	case "add":
		var req struct {
			Type     string `json:"type"`
			Value    string `json:"value"`
			Duration string `json:"duration,omitempty"`
			Reason   string `json:"reason,omitempty"`
		}
		fs.StringVar(&req.Type, "type", "", "name, uuid, ip or cidr")
		fs.StringVar(&req.Value, "value", "", "what to ban")
		fs.StringVar(&req.Duration, "duration", "", "10m, 12h, 7d; empty or permanent: permanent")
		fs.StringVar(&req.Reason, "reason", "", "shown to the player")
		if err := parse(rest[1:]); err != nil {
			return err
		}
		if req.Type == "" || req.Value == "" {
			return fmt.Errorf("%w: bans add wants -type and -value", ErrUsage)
		}
		return c.call(ctx, http.MethodPost, "/v1/bans", nil, req)
	case "remove":
		q := url.Values{}
		queryFlag(fs, q, "type")
		queryFlag(fs, q, "value")
		if err := parse(rest[1:]); err != nil {
			return err
		}
		if q.Get("type") == "" || q.Get("value") == "" {
			return fmt.Errorf("%w: bans remove wants -type and -value", ErrUsage)
		}
		return c.call(ctx, http.MethodDelete, "/v1/bans", q, nil)
	}
	return fmt.Errorf("%w: bans %q: want list, add or remove", ErrUsage, rest[0])
}

func (c *client) config(ctx context.Context, fs *flag.FlagSet, parse func([]string) error, rest []string) error {
	if len(rest) == 0 {
		return fmt.Errorf("%w: config wants get, validate, set, history, show or rollback", ErrUsage)
	}
	if isHelp(rest[0]) {
		fmt.Fprint(c.out, "usage: rustguard-central ctl config get | validate FILE | set -version N [-by NAME] FILE | history [-limit N] | show VERSION | rollback -version N [-based-on CURRENT] [-by NAME]\n")
		return nil
	}
	args := rest[1:]
	switch rest[0] {
	case "get":
		if err := parse(args); err != nil {
			return err
		}
		return c.call(ctx, http.MethodGet, "/v1/config", nil, nil)
	case "history":
		q := url.Values{}
		queryFlag(fs, q, "limit")
		if err := parse(args); err != nil {
			return err
		}
		return c.call(ctx, http.MethodGet, "/v1/config/history", q, nil)
	case "show":
		if err := parse(interspersed(args)); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: config show wants a version", ErrUsage)
		}
		if _, err := strconv.ParseUint(fs.Arg(0), 10, 64); err != nil {
			return fmt.Errorf("%w: version %q is not a number", ErrUsage, fs.Arg(0))
		}
		return c.call(ctx, http.MethodGet, "/v1/config/history/"+fs.Arg(0), nil, nil)
	case "validate", "set":
		version := fs.Uint64("version", 0, "the version the document is based on (set; see config get)")
		by := fs.String("by", "", "who makes the edit (kept in the history)")
		if err := parse(interspersed(args)); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: config %s wants one FILE (- for stdin)", ErrUsage, rest[0])
		}
		doc, err := readDocument(fs.Arg(0))
		if err != nil {
			return err
		}
		body := map[string]any{"config": doc}
		if *by != "" {
			body["updated_by"] = *by
		}
		if rest[0] == "validate" {
			return c.call(ctx, http.MethodPost, "/v1/config/validate", nil, body)
		}
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "version" })
		if !set {
			return fmt.Errorf("%w: config set wants -version, the version the edit is based on (config get)", ErrUsage)
		}
		body["version"] = *version
		return c.call(ctx, http.MethodPut, "/v1/config", nil, body)
	case "rollback":
		version := fs.Uint64("version", 0, "the version whose document becomes current again")
		basedOn := fs.Uint64("based-on", 0, "the current version (refused if it is not)")
		by := fs.String("by", "", "who rolls back (kept in the history)")
		if err := parse(args); err != nil {
			return err
		}
		if *version == 0 {
			return fmt.Errorf("%w: config rollback wants -version", ErrUsage)
		}
		body := map[string]any{"version": *version}
		if *basedOn != 0 {
			body["based_on"] = *basedOn
		}
		if *by != "" {
			body["updated_by"] = *by
		}
		return c.call(ctx, http.MethodPost, "/v1/config/rollback", nil, body)
	}
	return fmt.Errorf("%w: config %q: want get, validate, set, history, show or rollback", ErrUsage, rest[0])
}

// readDocument reads a JSON document from a file or stdin ("-").
func readDocument(path string) (json.RawMessage, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDocument {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxDocument)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%s: not JSON (the fleet document is JSON; see docs/CONFIG.md)", path)
	}
	return data, nil
}

// call sends one request and prints the answer. An answer other than 2xx
// is an error carrying the API's message.
func (c *client) call(ctx context.Context, method, path string, q url.Values, body any) error {
	if c.token == "" {
		return fmt.Errorf("%w: set %s to central's admin token", ErrUsage, EnvToken)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvURL, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s %s: %s: this central does not serve it (an older version, or a service it was started without)", method, path, resp.Status)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, data, "", "  ") == nil {
		data = append(bytes.TrimSpace(pretty.Bytes()), '\n')
	}
	_, err = c.out.Write(data)
	return err
}
