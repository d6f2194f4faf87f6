package bans_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/testservers"
)

func runCLI(t *testing.T, s *bans.Store, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := bans.RunCLI(context.Background(), args, &out, s)
	return out.String(), err
}

func TestCLIRoundTrip(t *testing.T) {
	srv := testservers.StartRedis(t)
	e := newStore(t, srv.URL(), false)
	s := e.store

	out, err := runCLI(t, s, "add", "--name", "Griefer", "--duration", "10m", "--reason", "griefing spawn")
	if err != nil || !strings.HasPrefix(out, "banned name Griefer (") || !strings.Contains(out, "(in 10m0s)") {
		t.Fatalf("add name: %q, %v", out, err)
	}
	if out, err = runCLI(t, s, "add", "--cidr", "203.0.113.9/24", "--source", "operator:ann"); err != nil || !strings.Contains(out, "203.0.113.0/24 (permanent)") {
		t.Fatalf("add cidr: %q, %v", out, err)
	}
	if out, err = runCLI(t, s, "add", "--uuid", "069a79f444e94726a5befca90e38aaf5", "--duration", "7d"); err != nil || !strings.Contains(out, "(in 168h0m0s)") {
		t.Fatalf("add uuid: %q, %v", out, err)
	}

	out, err = runCLI(t, s, "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "KIND") || lines[4] != "3 ban(s)" {
		t.Fatalf("list output:\n%s", out)
	}
	for _, want := range []string{"griefing spawn", "operator:ann", "permanent", "203.0.113.0/24", "069a79f4-44e9-4726-a5be-fca90e38aaf5"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "operator:") {
		t.Errorf("default source missing:\n%s", out)
	}
	if out, err = runCLI(t, s, "list", "--kind", "cidr"); err != nil || !strings.HasSuffix(out, "1 ban(s)\n") {
		t.Fatalf("list --kind cidr: %q, %v", out, err)
	}

	if out, err = runCLI(t, s, "remove", "--name", "griefer"); err != nil || out != "removed ban on name griefer\n" {
		t.Fatalf("remove: %q, %v", out, err)
	}
	if _, err = runCLI(t, s, "remove", "--name", "griefer"); !errors.Is(err, bans.ErrNotFound) {
		t.Fatalf("second remove: %v, want ErrNotFound", err)
	}
	list, err := s.List(context.Background())
	if err != nil || len(list) != 2 {
		t.Fatalf("List after remove = %d bans, %v", len(list), err)
	}
}

// TestCLIIPv6AddressIsItsSlash64: banning one IPv6 address bans its /64,
// and the operator sees and removes it as such.
func TestCLIIPv6AddressIsItsSlash64(t *testing.T) {
	srv := testservers.StartRedis(t)
	s := newStore(t, srv.URL(), false).store
	if out, err := runCLI(t, s, "add", "--ip", "2001:db8:5:6::1"); err != nil || !strings.HasPrefix(out, "banned cidr 2001:db8:5:6::/64 (") {
		t.Fatalf("add --ip v6: %q, %v", out, err)
	}
	if out, err := runCLI(t, s, "remove", "--ip", "2001:db8:5:6:ffff::9"); err != nil || out != "removed ban on cidr 2001:db8:5:6::/64\n" {
		t.Fatalf("remove --ip of another address of the /64: %q, %v", out, err)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	srv := testservers.StartRedis(t)
	s := newStore(t, srv.URL(), false).store
	cases := []struct {
		args []string
		want string // part of the error naming the problem
	}{
		{nil, "missing subcommand"},
		{[]string{"ban"}, `unknown subcommand "ban"`},
		{[]string{"add"}, "exactly one of --name"},
		{[]string{"add", "--name", "a", "--ip", "192.0.2.1"}, "--ip and --name"},
		{[]string{"add", "--ip", "192.0.2.300"}, "--ip:"},
		{[]string{"add", "--cidr", "0.0.0.0/0"}, "--cidr:"},
		{[]string{"add", "--uuid", "nope"}, "--uuid:"},
		{[]string{"add", "--name", "a", "--duration", "soon"}, "--duration:"},
		{[]string{"add", "--name", "a", "--duration", "-5m"}, "--duration:"},
		{[]string{"add", "--name", "a", "--duration", "0d"}, "--duration:"},
		{[]string{"add", "--name", "a", "--reason", strings.Repeat("x", bans.MaxReasonLen+1)}, "--reason:"},
		{[]string{"add", "--nmae", "a"}, "-nmae"},
		{[]string{"add", "--name", "a", "extra"}, `unexpected argument "extra"`},
		{[]string{"remove", "--uuid"}, "-uuid"},
		{[]string{"list", "--kind", "planet"}, "--kind:"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := runCLI(t, s, tc.args...)
			if !errors.Is(err, bans.ErrUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want a usage error mentioning %q", err, tc.want)
			}
		})
	}
	if out, err := runCLI(t, s, "help"); err != nil || !strings.Contains(out, "bans add") {
		t.Fatalf("help: %q, %v", out, err)
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"permanent", bans.Forever, true},
		{"", bans.Forever, true},
		{"90s", 90 * time.Second, true},
		{"12h", 12 * time.Hour, true},
		{"2d", 48 * time.Hour, true},
		{"1.5d", 0, false},
		{"0s", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"99999999d", 0, false},
	}
	for _, tc := range cases {
		got, err := bans.ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestParseCLINeedsNoRedis: help and usage errors are answered from the
// command line alone, so "bans add --help" works on a machine without
// Redis and a typo costs no connection.
func TestParseCLINeedsNoRedis(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"add", "--help"}, {"add", "--name", "a", "-h"}, {"remove", "-help"}, {"list", "--help"}} {
		if _, err := bans.ParseCLI(args); !errors.Is(err, bans.ErrHelp) {
			t.Errorf("ParseCLI(%q) = %v, want ErrHelp", args, err)
		}
	}
	for _, args := range [][]string{nil, {"add"}, {"list", "--kind", "planet"}, {"nuke"}} {
		if _, err := bans.ParseCLI(args); !errors.Is(err, bans.ErrUsage) {
			t.Errorf("ParseCLI(%q) = %v, want ErrUsage", args, err)
		}
	}
	cmd, err := bans.ParseCLI([]string{"add", "--name", "Griefer", "--duration", "7d"})
	if err != nil || cmd == nil {
		t.Fatalf("ParseCLI(add) = %v, %v", cmd, err)
	}
	// RunCLI answers help on stdout without touching the store.
	var out bytes.Buffer
	if err := bans.RunCLI(context.Background(), []string{"add", "-h"}, &out, nil); err != nil || out.String() != bans.CLIUsage {
		t.Errorf("RunCLI(add -h) = %v, %q", err, out.String())
	}
}

// TestCLIHooksSeeWhatChanged: the hooks get the ban as stored after an
// add and the subject after a remove, and nothing for a failed command.
func TestCLIHooksSeeWhatChanged(t *testing.T) {
	srv := testservers.StartRedis(t)
	s := newStore(t, srv.URL(), false).store
	var added, removed []bans.Ban
	hooks := bans.CLIHooks{Added: func(b bans.Ban) { added = append(added, b) }, Removed: func(b bans.Ban) { removed = append(removed, b) }}
	run := func(args ...string) error {
		return bans.RunCLIWith(context.Background(), args, &bytes.Buffer{}, s, hooks)
	}
	if err := run("add", "--ip", "203.0.113.9", "--duration", "1h", "--source", "operator:ann"); err != nil {
		t.Fatal(err)
	}
	if err := run("remove", "--name", "Nobody"); !errors.Is(err, bans.ErrNotFound) {
		t.Fatalf("remove of a missing ban: %v", err)
	}
	if err := run("remove", "--ip", "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if len(added) != 1 || added[0].Kind != bans.KindIP || added[0].Value != "203.0.113.9" || added[0].Source != "operator:ann" ||
		added[0].Expires.Sub(added[0].Created) != time.Hour {
		t.Errorf("added %+v", added)
	}
	if len(removed) != 1 || removed[0].Kind != bans.KindIP || removed[0].Value != "203.0.113.9" || !strings.HasPrefix(removed[0].Source, "operator:") {
		t.Errorf("removed %+v", removed)
	}
}
