package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/otlprecv"
	"github.com/rustguard/rustguard/shared/telemetry"
	"github.com/rustguard/rustguard/shared/testservers"
)

// cli runs the command line in-process and returns the exit status and
// both streams.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// cleanEnv clears the variables the commands read, so the machine's own
// environment cannot change the outcome.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RUSTGUARD_") || strings.HasPrefix(name, "CONSUL_") {
			t.Setenv(name, "")
		}
	}
}

func TestHelpGoesToStdoutAndExitsZero(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		args []string
		want string // a line only this help has
	}{
		{[]string{"-h"}, "config check"},
		{[]string{"--help"}, "config check"},
		{[]string{"-help"}, "config check"},
		{[]string{"help"}, "config check"},
		{[]string{"help", "bans"}, "bans add"},
		{[]string{"help", "config"}, "exit status 1"},
		{[]string{"help", "replay"}, "--records"},
		{[]string{"config", "--help"}, "exit status 1"},
		{[]string{"config", "check", "-h"}, "exit status 1"},
		{[]string{"config", "check", "--help"}, "exit status 1"},
		// bans answers help without Redis (none is configured here).
		{[]string{"bans", "--help"}, "bans add"},
		{[]string{"bans", "help"}, "bans add"},
		{[]string{"bans", "add", "--help"}, "bans add"},
		{[]string{"bans", "list", "-h"}, "bans list"},
		{[]string{"replay", "--help"}, "--records"},
		{[]string{"replay", "-h"}, "--records"},
		{[]string{"version", "--help"}, "usage: rustguard-edge version"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := cli(t, tc.args...)
			if code != exitOK || !strings.Contains(out, "usage") || !strings.Contains(out, tc.want) || errs != "" {
				t.Fatalf("exit %d\nstdout: %q\nstderr: %q\nwant exit 0, usage mentioning %q on stdout, nothing on stderr", code, out, errs, tc.want)
			}
		})
	}
}

func TestUsageErrorsGoToStderrAndExitTwo(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, `unknown command "--bogus"`},
		{[]string{"serve-please"}, `unknown command "serve-please"`},
		{[]string{"help", "nope"}, `unknown command "nope"`},
		{[]string{"config"}, "missing subcommand"},
		{[]string{"config", "lint"}, `unknown subcommand "lint"`},
		{[]string{"config", "check", "edge.env"}, `unexpected argument "edge.env"`},
		{[]string{"bans"}, "missing subcommand"},
		{[]string{"bans", "add"}, "exactly one of --name"},
		{[]string{"bans", "add", "--nmae", "x"}, "-nmae"},
		{[]string{"replay"}, "no recording given"},
		{[]string{"replay", "--loud", "x.rgrec"}, "-loud"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := cli(t, tc.args...)
			if code != exitUsage || out != "" || !strings.HasPrefix(errs, "rustguard-edge") || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d\nstdout: %q\nstderr: %q\nwant exit 2, nothing on stdout, an error mentioning %q on stderr", code, out, errs, tc.want)
			}
		})
	}
}

func TestFailuresExitOne(t *testing.T) {
	cleanEnv(t)
	// A valid command line that cannot be carried out: no Redis configured.
	code, out, errs := cli(t, "bans", "list")
	if code != exitFail || out != "" || !strings.Contains(errs, "RUSTGUARD_REDIS_URL") {
		t.Fatalf("bans list without redis: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = cli(t, "replay", filepath.Join(t.TempDir(), "missing.rgrec"))
	if code != exitFail || out != "" || !strings.Contains(errs, "missing.rgrec") || strings.Contains(errs, "replay: replay:") {
		t.Fatalf("replay of a missing file: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, out, errs := cli(t, arg)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != exitOK || errs != "" || len(lines) != 3 ||
			lines[0] != "rustguard-edge "+version ||
			!strings.HasPrefix(lines[1], "commit: ") ||
			lines[2] != "go: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
			t.Fatalf("%s: exit %d, stderr %q, stdout:\n%s", arg, code, errs, out)
		}
	}
	// The commit the Makefile passes wins over the build info.
	old := commit
	commit = "0123456789abcdef"
	t.Cleanup(func() { commit = old })
	if _, out, _ := cli(t, "version"); !strings.Contains(out, "\ncommit: 0123456789abcdef") {
		t.Fatalf("commit not printed:\n%s", out)
	}
}

func TestConfigCheckValid(t *testing.T) {
	cleanEnv(t)
	t.Setenv("RUSTGUARD_REGION", "eu-west")
	t.Setenv("RUSTGUARD_TRUSTED_PROXIES", "10.20.0.0/16")
	t.Setenv("RUSTGUARD_ADMIN_ADDR", "0.0.0.0:9565")
	t.Setenv("RUSTGUARD_REDIS_URL", "redis://:hunter2@10.20.0.5:6379/0")
	code, out, errs := cli(t, "config", "check")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"configuration valid", "eu-west", "10.20.0.0/16", "0.0.0.0:9565", "10.20.0.5:6379",
		"admin.listen_address, proxy.trusted_proxies, redis.url, region"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("summary shows the Redis password:\n%s", out)
	}
}

// TestConfigCheckOnlineMode: the summary says who authenticates, never the
// forwarding secret, and warns about forwarding a backend cannot verify.
func TestConfigCheckOnlineMode(t *testing.T) {
	cleanEnv(t)
	t.Setenv("RUSTGUARD_AUTH_MODE", "online")
	t.Setenv("RUSTGUARD_FORWARDING", "velocity")
	t.Setenv("RUSTGUARD_FORWARDING_SECRET", "correct-horse-battery")
	code, out, errs := cli(t, "config", "check")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "online, velocity forwarding") || strings.Contains(out, "correct-horse-battery") {
		t.Errorf("summary:\n%s", out)
	}
	t.Setenv("RUSTGUARD_FORWARDING", "none")
	if _, out, _ := cli(t, "config", "check"); !strings.Contains(out, `warning:`) || !strings.Contains(out, "auth.forwarding") {
		t.Errorf("no warning for online mode without forwarding:\n%s", out)
	}
	t.Setenv("RUSTGUARD_FORWARDING", "velocity")
	t.Setenv("RUSTGUARD_FORWARDING_SECRET", "")
	if code, _, errs := cli(t, "config", "check"); code != exitFail || !strings.Contains(errs, "needs a secret") {
		t.Errorf("velocity without a secret: exit %d, stderr %q", code, errs)
	}
}

func TestConfigCheckInvalidNamesEveryProblem(t *testing.T) {
	cleanEnv(t)
	t.Setenv("RUSTGUARD_REGION", "eu west")
	t.Setenv("RUSTGUARD_MAX_CONNECTIONS", "0")
	t.Setenv("RUSTGUARD_TRUSTED_PROXIES", "10.20.0.1/16")
	code, out, errs := cli(t, "config", "check")
	if code != exitFail || out != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing on stdout", code, out)
	}
	for _, want := range []string{"3 problem(s)", `region = "eu west"`, `proxy.max_connections = "0"`, "proxy.trusted_proxies", "host bits"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestConfigCheckReadsTheFileAndConsul(t *testing.T) {
	cleanEnv(t)
	file := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(file, []byte("proxy:\n  listen_addr: 0.0.0.0:25565\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUSTGUARD_CONFIG", file)
	code, _, errs := cli(t, "config", "check")
	if code != exitFail || !strings.Contains(errs, `unknown key "proxy.listen_addr"`) {
		t.Fatalf("file with a typo: exit %d, stderr %q", code, errs)
	}

	if err := os.WriteFile(file, []byte("proxy:\n  listen_address: 0.0.0.0:25575\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A start builds the Consul client, which reads the token file.
	t.Setenv("CONSUL_HTTP_ADDR", "127.0.0.1:8500")
	t.Setenv("CONSUL_HTTP_TOKEN_FILE", filepath.Join(t.TempDir(), "no-such-token"))
	code, _, errs = cli(t, "config", "check")
	if code != exitFail || !strings.Contains(errs, "no-such-token") {
		t.Fatalf("missing consul token file: exit %d, stderr %q", code, errs)
	}

	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("00000000-0000-0000-0000-000000000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONSUL_HTTP_TOKEN_FILE", token)
	code, out, errs := cli(t, "config", "check")
	if code != exitOK || !strings.Contains(out, file) || !strings.Contains(out, "0.0.0.0:25575") || !strings.Contains(out, "127.0.0.1:8500") {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errs, out)
	}
}

// TestBinaryExitStatus runs the real binary: main must hand run's status
// to the process and keep the streams apart.
func TestBinaryExitStatus(t *testing.T) {
	bin := os.Getenv("RUSTGUARD_EDGE_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "rustguard-edge")
		build := exec.Command("go", "build", "-o", bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	cases := []struct {
		args       []string
		env        []string
		code       int
		outHas     string
		errHas     string
		wantNoOut  bool
		wantNoErrs bool
	}{
		{args: []string{"--help"}, code: 0, outHas: "usage: rustguard-edge", wantNoErrs: true},
		{args: []string{"bans", "add", "--help"}, code: 0, outHas: "bans add", wantNoErrs: true},
		{args: []string{"version"}, code: 0, outHas: "go: go", wantNoErrs: true},
		{args: []string{"--bogus"}, code: 2, errHas: "unknown command", wantNoOut: true},
		{args: []string{"config", "check"}, env: []string{"RUSTGUARD_MAX_CONNECTIONS=0"}, code: 1, errHas: "proxy.max_connections", wantNoOut: true},
		{args: []string{"config", "check"}, env: []string{"RUSTGUARD_REGION=ap"}, code: 0, outHas: "configuration valid", wantNoErrs: true},
	}
	for _, tc := range cases {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, tc.env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(out.String(), tc.outHas) || !strings.Contains(errb.String(), tc.errHas) ||
			tc.wantNoOut && out.Len() > 0 || tc.wantNoErrs && errb.Len() > 0 {
			t.Errorf("%v %v: exit %d (want %d)\nstdout: %q\nstderr: %q", tc.env, tc.args, code, tc.code, out.String(), errb.String())
		}
	}
}

// TestBansCommandIsTraced: "rustguard-edge bans add/remove" leaves a
// rustguard.ban span each when an exporter is configured, exported before
// the command returns.
func TestBansCommandIsTraced(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") || strings.HasPrefix(k, "RUSTGUARD_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	redis := testservers.StartRedis(t)
	r, err := otlprecv.Listen(otlprecv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Setenv("RUSTGUARD_REDIS_URL", redis.URL())
	t.Setenv("RUSTGUARD_REGION", "ap-south")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.HTTPEndpoint())
	var stdout, stderr strings.Builder
	if code := run([]string{"bans", "add", "--name", "Griefer", "--duration", "2h", "--source", "operator:ann"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("bans add: exit %d: %s", code, stderr.String())
	}
	if code := run([]string{"bans", "remove", "--name", "Griefer"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("bans remove: exit %d: %s", code, stderr.String())
	}
	// Both spans were flushed when the commands returned.
	spans := r.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans after two commands", len(spans))
	}
	add, remove := spans[0], spans[1]
	for k, v := range map[string]any{telemetry.AttrBanOperation: "add", telemetry.AttrBanKind: "name", telemetry.AttrBanValue: "Griefer",
		telemetry.AttrBanSource: "operator:ann", telemetry.AttrBanDuration: int64((2 * time.Hour).Seconds())} {
		if add.Name != telemetry.SpanBan || add.Attributes[k] != v {
			t.Errorf("add span %s: %s = %v, want %v", add.Name, k, add.Attributes[k], v)
		}
	}
	if remove.Attributes[telemetry.AttrBanOperation] != "remove" || remove.Resource[telemetry.AttrRegion] != "ap-south" {
		t.Errorf("remove span %+v", remove)
	}
}
