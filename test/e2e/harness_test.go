package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds on time. Node peers load ~500 MB of minecraft-data lazily and these
// tests share 2 cores with whatever else runs, so the bounds are generous;
// they exist so that a hang becomes a failure with logs, not a stuck suite.
const (
	// stopGrace is how long a child gets between SIGTERM and SIGKILL.
	// backend.js drains within 1.5 s (SHUTDOWN_GRACE_MS), the edge within
	// its shutdown timeout (a few seconds by default).
	stopGrace = 8 * time.Second

	// backendReadyTimeout bounds flying-squid's start: ~0.5 s idle, several
	// seconds on a loaded machine.
	backendReadyTimeout = 60 * time.Second

	// edgeReadyTimeout bounds the edge from exec to a 200 on its probe.
	edgeReadyTimeout = 20 * time.Second

	// readyPollInterval is how often the admin probe is asked; there is no
	// push notification for readiness, so this is the one place we poll.
	readyPollInterval = 50 * time.Millisecond

	// adminRequestTimeout bounds one admin HTTP request on loopback.
	adminRequestTimeout = 2 * time.Second

	// botTimeout is bot.js's own deadline (its --timeout-ms); a normal run
	// takes 3–10 s. scriptKillSlack is added on the Go side before the
	// process is killed, so bot.js normally reports its own timeout first.
	botTimeout      = 45 * time.Second
	pingTimeout     = 15 * time.Second
	scriptKillSlack = 15 * time.Second

	// backendEventTimeout bounds waiting for an event the backend must
	// print once the bot is done (its leave line, a chat line).
	backendEventTimeout = 15 * time.Second
)

// Bounds on memory.
const (
	// stderrTailBytes is how much of a child's stderr is kept for the test
	// log: enough for the last few hundred edge log lines.
	stderrTailBytes = 64 << 10

	// maxEventLine caps one JSON line from a peer script. The biggest is a
	// status response with a favicon (a base64 PNG of a few KiB).
	maxEventLine = 1 << 20
)

// event is one JSON line a peer script printed on stdout. The union of the
// fields of all scripts; see the header comment of each script.
type event struct {
	Event    string  `json:"event"`
	Username string  `json:"username"`
	Message  string  `json:"message"`
	Port     int     `json:"port"`
	Version  string  `json:"version"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	Z        float64 `json:"z"`
	Stage    string  `json:"stage"`
	Error    string  `json:"error"`
	// forwarded (backend.js --forwarding): the identity a proxy forwarded.
	Mode              string `json:"mode"`
	UUID              string `json:"uuid"`
	Address           string `json:"address"`
	ForwardingVersion int    `json:"forwarding_version"`
	Properties        []struct {
		Name   string `json:"name"`
		Signed bool   `json:"signed"`
	} `json:"properties"`
	// blocks (backend.js --sample-blocks): x, y, z and the state
	// flying-squid holds there.
	Samples [][4]int32 `json:"samples"`
}

// tailBuffer keeps the last stderrTailBytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - stderrTailBytes; over > 0 {
		b.dropped += over
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("[... %d earlier bytes dropped ...]\n%s", b.dropped, b.buf)
	}
	return string(b.buf)
}

// process is a long-running child (backend.js or the edge) owned by one test.
type process struct {
	name   string
	cmd    *exec.Cmd
	stderr *tailBuffer

	mu      sync.Mutex
	events  []event
	wake    chan struct{} // closed and replaced when events grows or the process exits
	exited  bool
	waitErr error
	done    chan struct{} // closed after Wait returned
}

// startProcess starts a child, parses its stdout as JSON event lines, keeps
// its stderr, and registers a cleanup that stops it (SIGTERM, then SIGKILL
// after stopGrace) and, if the test failed, logs its stderr.
func startProcess(t *testing.T, name string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{
		name:   name,
		cmd:    cmd,
		stderr: &tailBuffer{},
		wake:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: stdout pipe: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s (%s): %v", name, cmd.Path, err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s (pid %d) exit: %v; stderr tail:\n%s", name, cmd.Process.Pid, p.exitErr(), p.stderr)
		}
	})
	return p
}

// read consumes stdout until EOF, then reaps the process. Lines that are not
// JSON objects are kept with stderr so nothing a child prints is lost.
func (p *process) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 4096), maxEventLine)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(p.stderr, "[stdout] %s\n", line)
			continue
		}
		p.mu.Lock()
		p.events = append(p.events, ev)
		close(p.wake)
		p.wake = make(chan struct{})
		p.mu.Unlock()
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(p.stderr, "[harness] reading stdout: %v\n", err)
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exited = true
	p.waitErr = err
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
	close(p.done)
}

func (p *process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.exited {
		return errors.New("still running")
	}
	return p.waitErr
}

// waitEvent returns the first event (in arrival order) that matches, waiting
// up to timeout. It fails fast when the process exits without one.
func (p *process) waitEvent(timeout time.Duration, what string, match func(event) bool) (event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := 0
	for {
		p.mu.Lock()
		for ; next < len(p.events); next++ {
			if match(p.events[next]) {
				ev := p.events[next]
				p.mu.Unlock()
				return ev, nil
			}
		}
		exited, waitErr, wake := p.exited, p.waitErr, p.wake
		p.mu.Unlock()
		if exited {
			return event{}, fmt.Errorf("%s exited (%v) before %s", p.name, waitErr, what)
		}
		select {
		case <-wake:
		case <-deadline.C:
			return event{}, fmt.Errorf("%s: no %s within %v", p.name, what, timeout)
		}
	}
}

// eventsOf returns a copy of the events received so far that match.
func (p *process) eventsOf(match func(event) bool) []event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []event
	for _, ev := range p.events {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// stop sends SIGTERM, waits up to stopGrace, then SIGKILLs. Only this
// process is signalled, by its own PID.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Logf("%s: SIGTERM pid %d: %v", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return
	case <-time.After(stopGrace):
	}
	t.Logf("%s: pid %d still running %v after SIGTERM; sending SIGKILL", p.name, p.cmd.Process.Pid, stopGrace)
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Logf("%s: SIGKILL pid %d: %v", p.name, p.cmd.Process.Pid, err)
	}
	<-p.done
}

// env is the suite-wide context TestMain establishes.
type env struct {
	root    string // repository root (holds go.work)
	e2eDir  string // test/e2e: the scripts and node_modules
	node    string // node binary
	edgeBin string // the edge binary under test
	tmp     string // removed when the suite ends

	// central is rustguard-central, built on first use (only the fleet
	// tests need it).
	centralOnce sync.Once
	centralBin  string
	centralErr  error
	// scriptEnv (KEY=value) is added to the environment of the peer
	// scripts started through this env (withEnv), e.g. the accounts of a
	// session-server double.
	scriptEnv []string
}

// withEnv is an env for peer scripts with extra variables. It shares the
// suite's binaries and directories, not its lazily built central (the
// copy builds its own if asked).
func (e *env) withEnv(kv ...string) *env {
	return &env{root: e.root, e2eDir: e.e2eDir, node: e.node, edgeBin: e.edgeBin, tmp: e.tmp,
		scriptEnv: append(append([]string(nil), e.scriptEnv...), kv...)}
}

// scriptCmd is a node command for script in test/e2e with e's variables.
func (e *env) scriptCmd(ctx context.Context, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.node, append([]string{script}, args...)...)
	cmd.Dir = e.e2eDir
	if len(e.scriptEnv) > 0 {
		cmd.Env = append(os.Environ(), e.scriptEnv...)
	}
	return cmd
}

// findRoot walks up from dir to the directory holding go.work.
func findRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.work above %s", dir)
		}
		d = parent
	}
}

// npmPackages must be installed in test/e2e/node_modules.
var npmPackages = []string{"flying-squid", "mineflayer", "minecraft-protocol", "minecraft-data"}

// checkNode reports, with the fix, what is missing for the Node peers.
func checkNode(e2eDir string) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node is not on PATH: the e2e tests need Node.js 20+ and the npm packages of test/e2e; run `make test` (or install Node and `npm ci` in test/e2e)")
	}
	for _, pkg := range npmPackages {
		if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", pkg, "package.json")); err != nil {
			return "", fmt.Errorf("npm package %s is missing from %s: run `make test` (or `npm ci` in test/e2e)", pkg, filepath.Join(e2eDir, "node_modules"))
		}
	}
	return node, nil
}

// buildEdge builds the edge binary into dir, unless RUSTGUARD_EDGE_BIN names
// one already built.
func buildEdge(root, dir string) (string, error) {
	return buildBinary(root, dir, "RUSTGUARD_EDGE_BIN", "rustguard-edge", "github.com/rustguard/rustguard/edge/cmd/rustguard-edge")
}

// buildBinary builds pkg into dir/name, unless the variable envVar names a
// binary already built. A relative path there is taken from the repository
// root: `go test` runs the test binary in the package directory, so the
// caller's own working directory is not known here.
func buildBinary(root, dir, envVar, name, pkg string) (string, error) {
	if bin := os.Getenv(envVar); bin != "" {
		if !filepath.IsAbs(bin) {
			bin = filepath.Join(root, bin)
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s: %w", envVar, err)
		}
		return bin, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", name, err, msg)
	}
	return out, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. Used
// only for the edge, whose configuration needs fixed addresses; backend.js
// binds port 0 itself and reports what it got.
func freePort(t *testing.T) int { return freePorts(t, 1)[0] }

// freePorts returns n distinct free loopback ports. The listeners are held
// until all are chosen: closed one by one, the kernel may hand the same port
// out twice (CI once got the edge's admin port equal to its player port).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// backend is a running backend.js.
type backend struct {
	*process
	version string
	addr    string
}

func (e *env) startBackend(t *testing.T, version string, args ...string) *backend {
	t.Helper()
	cmd := e.scriptCmd(context.Background(), "backend.js", append([]string{"--host", "127.0.0.1", "--port", "0", "--version", version}, args...)...)
	p := startProcess(t, "backend "+version, cmd)
	ready, err := p.waitEvent(backendReadyTimeout, "ready line", func(ev event) bool {
		return ev.Event == "ready" || ev.Event == "error"
	})
	if err == nil && ready.Event == "error" {
		err = fmt.Errorf("backend.js %s: %s", ready.Stage, ready.Error)
	}
	if err != nil {
		t.Fatalf("start backend %s: %v", version, err)
	}
	return &backend{process: p, version: version, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ready.Port))}
}

// movedBlocks is the largest horizontal distance of username from the first
// position the backend reported for it (its join or first move line).
func (b *backend) movedBlocks(username string) (float64, int) {
	evs := b.eventsOf(func(ev event) bool {
		return ev.Username == username && (ev.Event == "join" || ev.Event == "move")
	})
	if len(evs) == 0 {
		return 0, 0
	}
	start, best := evs[0], 0.0
	for _, ev := range evs[1:] {
		dx, dz := ev.X-start.X, ev.Z-start.Z
		if d := dx*dx + dz*dz; d > best {
			best = d
		}
	}
	return math.Sqrt(best), len(evs)
}

// edge is a running rustguard-edge.
type edge struct {
	*process
	addr  string // player listener
	admin string // admin HTTP listener
}

// startEdge starts the edge in front of backendAddr and waits until probe
// ("/readyz" when the backend is up, "/healthz" when it is deliberately down)
// answers 200. extraEnv (KEY=value) is applied last. RUSTGUARD_* variables of
// the test's own environment are passed through underneath, so the suite can
// be run against another edge configuration (e.g. RUSTGUARD_INSPECT_PLAY=false).
func (e *env) startEdge(t *testing.T, backendAddr, probe string, extraEnv ...string) *edge {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ed, err := e.tryStartEdge(t, backendAddr, probe, extraEnv)
		if err == nil {
			return ed
		}
		// Another process may bind a port between our probe and the
		// edge's listen; only that is worth another try.
		exited := false
		select {
		case <-ed.done:
			exited = true
		default:
		}
		if attempt == edgeStartAttempts || !exited || !strings.Contains(ed.stderr.String(), "address already in use") {
			t.Fatalf("edge not ready: %v", err)
		}
		t.Logf("edge start %d lost a port race, trying fresh ports: %v", attempt, err)
	}
}

// edgeStartAttempts bounds startEdge's retries after a port race.
const edgeStartAttempts = 3

func (e *env) tryStartEdge(t *testing.T, backendAddr, probe string, extraEnv []string) (*edge, error) {
	t.Helper()
	ports := freePorts(t, 2)
	ed := &edge{
		addr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		admin: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
	}
	cmd := exec.Command(e.edgeBin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"RUSTGUARD_CONFIG=",
		"RUSTGUARD_LISTEN_ADDR="+ed.addr,
		"RUSTGUARD_BACKEND_ADDR="+backendAddr,
		"RUSTGUARD_ADMIN_ADDR="+ed.admin,
		"RUSTGUARD_LOG_LEVEL=debug",
	)
	// Every bot connects from 127.0.0.1; the gate's per-address limits
	// (made for the internet) would refuse the suites' many logins from
	// one address. Tests that exercise the gate pass their own values in
	// extraEnv, which come later and win.
	cmd.Env = append(cmd.Env, openGateEnv...)
	// E2E_EDGE_CONFIG runs the suites with a configuration file (say,
	// experimental checks turned on) where the test sets none of its own.
	if c := os.Getenv("E2E_EDGE_CONFIG"); c != "" {
		if !filepath.IsAbs(c) {
			c = filepath.Join(e.root, c)
		}
		cmd.Env = append(cmd.Env, "RUSTGUARD_CONFIG="+c)
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	ed.process = startProcess(t, "edge", cmd)
	return ed, ed.waitHTTP(probe, edgeReadyTimeout, http.StatusOK)
}

// openGateEnv lifts the gate's per-address limits and attack mode.
var openGateEnv = []string{
	"RUSTGUARD_GATE_CONN_ADDR_RATE=0", "RUSTGUARD_GATE_CONN_PREFIX_RATE=0",
	"RUSTGUARD_GATE_LOGIN_ADDR_RATE=0", "RUSTGUARD_GATE_LOGIN_PREFIX_RATE=0",
	"RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT=0", "RUSTGUARD_GATE_MAX_ACCOUNTS_PER_ADDR=0",
	"RUSTGUARD_ATTACK_MODE=off",
}

// waitHTTP polls path on the admin listener until it answers with status.
func (ed *edge) waitHTTP(path string, timeout time.Duration, status int) error {
	client := &http.Client{Timeout: adminRequestTimeout}
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for {
		resp, err := client.Get("http://" + ed.admin + path)
		if err == nil {
			body, _ := readSome(resp)
			if resp.StatusCode == status {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body)
		} else {
			last = err.Error()
		}
		select {
		case <-ed.done:
			return fmt.Errorf("edge exited (%v) before %s answered %d (last: %s)", ed.exitErr(), path, status, last)
		case <-time.After(readyPollInterval):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %d within %v (last: %s)", path, status, timeout, last)
		}
	}
}

// readSome reads and closes a small admin response body.
func readSome(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err := b.ReadFrom(io.LimitReader(resp.Body, stderrTailBytes))
	return strings.TrimSpace(b.String()), err
}

// scriptRun is the outcome of one run of bot.js or ping.js.
type scriptRun struct {
	last     []byte // the last JSON line on stdout
	exitCode int
	elapsed  time.Duration
	stderr   string
}

// runScript runs a one-shot peer script to completion. ctx bounds it: on
// expiry the script gets SIGTERM, then SIGKILL after stopGrace.
func (e *env) runScript(ctx context.Context, script string, args ...string) (scriptRun, error) {
	cmd := e.scriptCmd(ctx, script, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	var stdout bytes.Buffer
	stderr := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err := cmd.Run()
	run := scriptRun{elapsed: time.Since(start), stderr: stderr.String(), exitCode: cmd.ProcessState.ExitCode()}
	for _, line := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 && line[0] == '{' {
			run.last = line
		}
	}
	if ctx.Err() != nil {
		return run, fmt.Errorf("%s killed after %v: %w", script, run.elapsed, ctx.Err())
	}
	if run.last == nil {
		return run, fmt.Errorf("%s printed no JSON line (exit %v); stdout %q", script, err, stdout.String())
	}
	return run, nil
}

// botResult is bot.js's final line.
type botResult struct {
	Event       string  `json:"event"`
	Spawned     bool    `json:"spawned"`
	Echo        bool    `json:"echo"`
	MovedBlocks float64 `json:"moved_blocks"`
	Token       string  `json:"token"`
	Stage       string  `json:"stage"`
	Error       string  `json:"error"`
	KickReason  string  `json:"kick_reason"`
}

// runBot runs bot.js to completion; timeout is the bot's own deadline (it
// reports a timeout error line when it passes).
func (e *env) runBot(t *testing.T, addr, version, username string, timeout time.Duration) (botResult, scriptRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+scriptKillSlack)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	run, err := e.runScript(ctx, "bot.js", "--host", host, "--port", port, "--version", version,
		"--username", username, "--timeout-ms", strconv.Itoa(int(timeout.Milliseconds())))
	if err != nil {
		t.Fatalf("bot %s: %v\nstderr:\n%s", username, err, run.stderr)
	}
	var res botResult
	if err := json.Unmarshal(run.last, &res); err != nil {
		t.Fatalf("bot %s: bad result line %q: %v", username, run.last, err)
	}
	return res, run
}

// statusResponse is the server-list ping answer ping.js prints, or its
// error line.
type statusResponse struct {
	Version struct {
		Name     string `json:"name"`
		Protocol int    `json:"protocol"`
	} `json:"version"`
	Players *struct {
		Max    int `json:"max"`
		Online int `json:"online"`
	} `json:"players"`
	Description json.RawMessage `json:"description"`
	Latency     *int            `json:"latency"`

	Event string `json:"event"`
	Error string `json:"error"`
}

func (e *env) runPing(t *testing.T, addr, version string) (statusResponse, scriptRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout+scriptKillSlack)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"--host", host, "--port", port, "--timeout-ms", strconv.Itoa(int(pingTimeout.Milliseconds()))}
	if version != "" {
		args = append(args, "--version", version)
	}
	run, err := e.runScript(ctx, "ping.js", args...)
	if err != nil {
		t.Fatalf("ping %s: %v\nstderr:\n%s", addr, err, run.stderr)
	}
	var res statusResponse
	if err := json.Unmarshal(run.last, &res); err != nil {
		t.Fatalf("ping %s: bad line %q: %v", addr, run.last, err)
	}
	return res, run
}

// descriptionText flattens a status description (a plain string or a chat
// component with text/extra) into its visible text.
func descriptionText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var c struct {
		Text  string            `json:"text"`
		Extra []json.RawMessage `json:"extra"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	out := c.Text
	for _, x := range c.Extra {
		out += descriptionText(x)
	}
	return out
}

// TestHarness checks the helpers the assertions rest on, so a broken helper
// cannot turn a proxy bug into a pass.
func TestHarness(t *testing.T) {
	t.Run("movedBlocks", func(t *testing.T) {
		tests := []struct {
			name    string
			events  []event
			want    float64
			samples int
		}{
			{"nothing", nil, 0, 0},
			{"join only", []event{{Event: "join", Username: "a", X: 1, Z: 1}}, 0, 1},
			{"walk from join", []event{
				{Event: "join", Username: "a", X: 1, Y: 5, Z: 1},
				{Event: "move", Username: "a", X: 1, Y: 5, Z: 3},
				{Event: "move", Username: "a", X: 4, Y: 9, Z: 5},
			}, 5, 3},
			{"vertical moves do not count", []event{
				{Event: "join", Username: "a", Y: 5},
				{Event: "move", Username: "a", Y: 50},
			}, 0, 2},
			{"farthest point, not the last", []event{
				{Event: "move", Username: "a"},
				{Event: "move", Username: "a", X: 6},
				{Event: "move", Username: "a", X: 1},
			}, 6, 3},
			{"other players and events ignored", []event{
				{Event: "join", Username: "a"},
				{Event: "move", Username: "b", X: 100},
				{Event: "chat", Username: "a", X: 100},
				{Event: "move", Username: "a", X: 2},
			}, 2, 2},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := &backend{process: &process{events: tc.events}}
				got, samples := b.movedBlocks("a")
				if math.Abs(got-tc.want) > 1e-9 || samples != tc.samples {
					t.Errorf("movedBlocks = %v, %d samples; want %v, %d", got, samples, tc.want, tc.samples)
				}
			})
		}
	})
	t.Run("descriptionText", func(t *testing.T) {
		tests := []struct{ raw, want string }{
			{`"plain"`, "plain"},
			{`{"text":"a"}`, "a"},
			{`{"text":"a","extra":[{"text":"b"},"c",{"text":"","extra":[{"text":"d"}]}]}`, "abcd"},
			{`42`, ""},
		}
		for _, tc := range tests {
			if got := descriptionText(json.RawMessage(tc.raw)); got != tc.want {
				t.Errorf("descriptionText(%s) = %q, want %q", tc.raw, got, tc.want)
			}
		}
	})
}
