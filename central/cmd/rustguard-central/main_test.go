package main

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
)

// run the command line in-process: the exit status and both streams.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli(args, &out, &errb)
	return code, out.String(), errb.String()
}

// cleanEnv clears what the commands read, so the machine's own
// environment cannot change the outcome (and no test talks to a real
// central).
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RUSTGUARD_") || strings.HasPrefix(name, "CONSUL_") || strings.HasPrefix(name, "OTEL_") {
			t.Setenv(name, "")
		}
	}
	t.Setenv("RUSTGUARD_CENTRAL_URL", "http://127.0.0.1:1")
}

// TestHelpGoesToStdoutAndExitsZero: -h/--help on every command and
// subcommand prints its usage to stdout and exits 0, with nothing on
// stderr.
func TestHelpGoesToStdoutAndExitsZero(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		args []string
		want string // a line only this help has
	}{
		{[]string{"-h"}, "ctl …"},
		{[]string{"--help"}, "ctl …"},
		{[]string{"-help"}, "ctl …"},
		{[]string{"help"}, "ctl …"},
		{[]string{"help", "ctl"}, "bans add -type"},
		{[]string{"help", "version"}, "usage: rustguard-central version"},
		{[]string{"version", "--help"}, "usage: rustguard-central version"},
		{[]string{"version", "-h"}, "usage: rustguard-central version"},
		{[]string{"ctl", "-h"}, "bans add -type"},
		{[]string{"ctl", "--help"}, "bans add -type"},
		{[]string{"ctl", "help"}, "bans add -type"},
		{[]string{"ctl", "bans", "-h"}, "ctl bans list |"},
		{[]string{"ctl", "bans", "--help"}, "ctl bans list |"},
		{[]string{"ctl", "bans", "help"}, "ctl bans list |"},
		{[]string{"ctl", "bans", "list", "-h"}, "ctl bans list"},
		{[]string{"ctl", "bans", "add", "--help"}, "-reason"},
		{[]string{"ctl", "bans", "remove", "-h"}, "ctl bans remove -type"},
		{[]string{"ctl", "detections", "-h"}, "-player"},
		{[]string{"ctl", "counts", "--help"}, "-bucket"},
		{[]string{"ctl", "players", "-h"}, "ctl players NAME|UUID"},
		{[]string{"ctl", "players", "Notch", "--help"}, "ctl players NAME|UUID"},
		{[]string{"ctl", "attacks", "-h"}, "-limit"},
		{[]string{"ctl", "fleet", "-h"}, "ctl fleet"},
		{[]string{"ctl", "config", "-h"}, "ctl config get |"},
		{[]string{"ctl", "config", "help"}, "ctl config get |"},
		{[]string{"ctl", "config", "get", "-h"}, "ctl config get"},
		{[]string{"ctl", "config", "validate", "-h"}, "ctl config validate FILE"},
		{[]string{"ctl", "config", "set", "--help"}, "-version"},
		{[]string{"ctl", "config", "history", "-h"}, "-limit"},
		{[]string{"ctl", "config", "show", "-h"}, "ctl config show VERSION"},
		{[]string{"ctl", "config", "rollback", "-h"}, "-based-on"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != exitOK || !strings.Contains(out, "usage") || !strings.Contains(out, tc.want) || errs != "" {
				t.Fatalf("exit %d\nstdout: %q\nstderr: %q\nwant exit 0, usage mentioning %q on stdout, nothing on stderr", code, out, errs, tc.want)
			}
		})
	}
}

// TestUsageErrorsGoToStderrAndExitTwo: a command line that does not parse
// says why on stderr, prints nothing on stdout, and exits 2.
func TestUsageErrorsGoToStderrAndExitTwo(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, `unknown command "--bogus"`},
		{[]string{"serve"}, `unknown command "serve"`},
		{[]string{"help", "nope"}, `unknown command "nope"`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"ctl"}, "missing command"},
		{[]string{"ctl", "nonsense"}, `unknown command "nonsense"`},
		{[]string{"ctl", "bans"}, "bans wants list, add or remove"},
		{[]string{"ctl", "bans", "ban"}, `bans "ban"`},
		{[]string{"ctl", "bans", "add", "-type", "ip"}, "wants -type and -value"},
		{[]string{"ctl", "detections", "-frobnicate"}, "-frobnicate"},
		{[]string{"ctl", "players"}, "players wants one name"},
		{[]string{"ctl", "config"}, "config wants get"},
		{[]string{"ctl", "config", "show", "x"}, `version "x" is not a number`},
		{[]string{"ctl", "config", "rollback"}, "wants -version"},
		// Without a token nothing is sent: a usage error too.
		{[]string{"ctl", "fleet"}, "RUSTGUARD_ADMIN_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != exitUsage || out != "" || !strings.HasPrefix(errs, "rustguard-central") && !strings.HasPrefix(errs, "usage") || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d\nstdout: %q\nstderr: %q\nwant exit 2, nothing on stdout, an error mentioning %q on stderr", code, out, errs, tc.want)
			}
		})
	}
}

// TestFailuresExitOne: a valid command line that cannot be carried out
// (central unreachable, or central refuses to start) exits 1 with the
// reason on stderr.
func TestFailuresExitOne(t *testing.T) {
	cleanEnv(t)
	t.Setenv("RUSTGUARD_ADMIN_TOKEN", "admin-token-0123456789")
	code, out, errs := runCLI(t, "ctl", "fleet")
	if code != exitFail || out != "" || !strings.Contains(errs, "127.0.0.1:1") {
		t.Fatalf("ctl against nothing: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// Serving without Redis is refused before anything listens.
	code, out, errs = runCLI(t)
	if code != exitFail || out != "" || !strings.Contains(errs, "RUSTGUARD_REDIS_URL") {
		t.Fatalf("serve without Redis: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		code, out, errs := runCLI(t, arg)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != exitOK || errs != "" || len(lines) != 3 ||
			lines[0] != "rustguard-central "+version ||
			!strings.HasPrefix(lines[1], "commit: ") ||
			lines[2] != "go: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
			t.Fatalf("%s: exit %d, stderr %q, stdout:\n%s", arg, code, errs, out)
		}
	}
	// The commit the Makefile passes (-X main.commit) wins over the build
	// info.
	old := commit
	commit = "0123456789abcdef"
	t.Cleanup(func() { commit = old })
	if _, out, _ := runCLI(t, "version"); !strings.Contains(out, "\ncommit: 0123456789abcdef") {
		t.Fatalf("commit not printed:\n%s", out)
	}
}
