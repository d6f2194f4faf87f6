package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustguard/rustguard/test/e2e/fleet"
)

// Issue 9's quick-start tests: the real `make run` and `make fleet`, run as
// a user runs them (make in a terminal, on ports of the test's choosing
// through the targets' variables), used through what they print, and
// stopped with the terminal's Ctrl-C: SIGINT to make's process group. Each
// checks the teardown: every process the target started has exited and its
// ports are free.

const (
	// makeReadyTimeout bounds a target from `make` to ready: up-to-date
	// builds take seconds; the fleet starts in about 10 s on a quiet
	// machine.
	makeReadyTimeout = 3 * time.Minute
	// makeStopTimeout bounds Ctrl-C to make's exit: the edges drain for
	// at most 5 s (the fleet's proxy.shutdown_timeout), central stops
	// within 15 s.
	makeStopTimeout = 45 * time.Second
)

// makeRun is a `make <target>` started by a test.
type makeRun struct {
	cmd    *exec.Cmd
	output *tailBuffer
	done   chan struct{}
	err    error

	mu    sync.Mutex
	lines []string
	wake  chan struct{}
}

// startMake runs make target vars... in the repository root, in a process
// group of its own (as a terminal runs a foreground job). The environment
// is the test's without make's own variables (an outer make's jobserver is
// not ours). A test that ends with make still running interrupts it.
func startMake(t *testing.T, target string, vars ...string) *makeRun {
	t.Helper()
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("make is not on PATH: %v", err)
	}
	cmd := exec.Command(makeBin, append([]string{"--no-print-directory", target}, vars...)...)
	cmd.Dir = suite.root
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !slices.Contains([]string{"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	m := &makeRun{cmd: cmd, output: &tailBuffer{}, done: make(chan struct{}), wake: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("make %s: %v", target, err)
	}
	go m.read(pr)
	go func() {
		m.err = cmd.Wait()
		_ = pw.Close()
		close(m.done)
	}()
	t.Cleanup(func() {
		select {
		case <-m.done:
		default:
			t.Errorf("make %s still running at the end of the test: interrupting it", target)
			m.interrupt(t)
		}
		if t.Failed() {
			t.Logf("make %s output (tail):\n%s", target, m.output)
		}
	})
	return m
}

func (m *makeRun) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxEventLine)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(m.output, line)
		m.mu.Lock()
		m.lines = append(m.lines, line)
		close(m.wake)
		m.wake = make(chan struct{})
		m.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// waitLine waits for a line of make's output that contains s.
func (m *makeRun) waitLine(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := 0
	for {
		m.mu.Lock()
		for ; next < len(m.lines); next++ {
			if strings.Contains(m.lines[next], s) {
				m.mu.Unlock()
				return
			}
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-m.done:
			t.Fatalf("make exited (%v) before printing %q", m.err, s)
		case <-deadline.C:
			t.Fatalf("make printed no %q within %v", s, timeout)
		}
	}
}

// waitReady waits until the edge's /readyz at admin answers 200.
func (m *makeRun) waitReady(t *testing.T, admin string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: adminRequestTimeout}
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for {
		resp, err := client.Get("http://" + admin + "/readyz")
		if err == nil {
			body, _ := readSome(resp)
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status + ": " + body
		} else {
			last = err.Error()
		}
		select {
		case <-m.done:
			t.Fatalf("make exited (%v) before the edge was ready (last: %s)", m.err, last)
		case <-time.After(readyPollInterval):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge's /readyz did not answer 200 within %v (last: %s)", timeout, last)
		}
	}
}

// interrupt is the terminal's Ctrl-C: SIGINT to make's process group (the
// group this test created for it), then waits for make to exit.
func (m *makeRun) interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-m.cmd.Process.Pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("SIGINT to make's process group %d: %v", m.cmd.Process.Pid, err)
	}
	select {
	case <-m.done:
	case <-time.After(makeStopTimeout):
		t.Errorf("make did not exit within %v of Ctrl-C; killing what is left of its group", makeStopTimeout)
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
}

// osProcess is a process as /proc shows it; start (clock ticks after boot)
// tells it from a later process that reuses its PID.
type osProcess struct {
	pid, ppid int
	start     uint64
	comm      string
}

// readProc reads /proc/<pid>/stat.
func readProc(pid int) (osProcess, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return osProcess{}, err
	}
	s := string(raw)
	// comm is in parentheses and may hold spaces or parentheses itself.
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return osProcess{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	fields := strings.Fields(s[closing+1:])
	// Fields after comm: state(0) ppid(1) … starttime(19).
	if len(fields) < 20 {
		return osProcess{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	ppid, _ := strconv.Atoi(fields[1])
	start, _ := strconv.ParseUint(fields[19], 10, 64)
	return osProcess{pid: pid, ppid: ppid, start: start, comm: s[open+1 : closing]}, nil
}

// descendants lists every process below root now.
func descendants(t *testing.T, root int) []osProcess {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("list processes: %v", err)
	}
	children := map[int][]osProcess{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readProc(pid); err == nil {
			children[p.ppid] = append(children[p.ppid], p)
		}
	}
	var out []osProcess
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// alive reports whether p still runs (and is the same process).
func (p osProcess) alive() bool {
	now, err := readProc(p.pid)
	return err == nil && now.start == p.start
}

// checkTornDown fails the test for every process of procs still running
// and every address still accepting connections.
func checkTornDown(t *testing.T, procs []osProcess, addrs []string) {
	t.Helper()
	for _, p := range procs {
		if p.alive() {
			t.Errorf("%s (pid %d) still runs after make exited", p.comm, p.pid)
		}
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("%s still accepts connections after make exited", a)
		}
	}
}

// commsOf names the processes, for the log.
func commsOf(procs []osProcess) string {
	var names []string
	for _, p := range procs {
		names = append(names, fmt.Sprintf("%s(%d)", p.comm, p.pid))
	}
	return strings.Join(names, " ")
}

// TestMakeRun: `make run` serves a player through the edge in front of
// flying-squid, and Ctrl-C stops both.
func TestMakeRun(t *testing.T) {
	start := time.Now()
	p := freePorts(t, 3)
	addr, admin, backendAddr := loopbackPort(p[0]), loopbackPort(p[1]), loopbackPort(p[2])
	m := startMake(t, "run", "RUN_ADDR="+addr, "RUN_ADMIN_ADDR="+admin, "RUN_BACKEND_PORT="+strconv.Itoa(p[2]))
	m.waitReady(t, admin, makeReadyTimeout)
	t.Logf("make run ready in %v", time.Since(start).Round(time.Millisecond))

	res, run := suite.runBot(t, addr, versions[len(versions)-1].name, "quickstart", botTimeout)
	if res.Event != "result" || !res.Spawned || !res.Echo {
		t.Errorf("a bot through make run's edge: %s (kick reason %q)\n%s", run.last, res.KickReason, run.stderr)
	}

	procs := descendants(t, m.cmd.Process.Pid)
	t.Logf("make run's processes: %s", commsOf(procs))
	m.interrupt(t)
	checkTornDown(t, procs, []string{addr, admin, backendAddr})
	t.Logf("make run: %v in all", time.Since(start).Round(time.Millisecond))
}

// TestMakeFleet: `make fleet` brings up three regions; a bot logs in through
// each edge, a cheater caught in two regions is one player in central, and
// /v1/fleet lists the three edges with their regions; Ctrl-C stops
// everything it started.
func TestMakeFleet(t *testing.T) {
	const (
		cheater     = "FleetCheater"
		cheaterAddr = "127.0.0.2"
	)
	start := time.Now()
	dir := t.TempDir()
	p := freePorts(t, 10)
	regions := []struct {
		name        string
		port, admin int
	}{{"eu", p[0], p[1]}, {"us", p[2], p[3]}, {"ap", p[4], p[5]}}
	var spec []string
	for _, r := range regions {
		spec = append(spec, fmt.Sprintf("%s:%d:%d", r.name, r.port, r.admin))
	}
	m := startMake(t, "fleet", "FLEET_DIR="+dir, "FLEET_REGIONS="+strings.Join(spec, ","),
		"FLEET_BACKEND_PORT="+strconv.Itoa(p[6]), "FLEET_CENTRAL_PORT="+strconv.Itoa(p[7]),
		"FLEET_JAEGER_PORT="+strconv.Itoa(p[8]), "FLEET_CONSUL_PORT="+strconv.Itoa(p[9]))
	m.waitLine(t, "RustGuard fleet is up", makeReadyTimeout)
	m.waitLine(t, "make demo", adminRequestTimeout) // the banner's last line
	t.Logf("make fleet ready in %v", time.Since(start).Round(time.Millisecond))
	st, err := fleet.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	// What it printed is where things are.
	out := m.output.String()
	for _, want := range []string{"localhost:" + strconv.Itoa(p[0]), "localhost:" + strconv.Itoa(p[2]), "localhost:" + strconv.Itoa(p[4]),
		st.Centrals[0], st.JaegerQuery + "/api/v3/", st.AdminToken} {
		if !strings.Contains(out, want) {
			t.Errorf("make fleet did not print %q", want)
		}
	}
	api := fleet.Client{Base: st.Centrals[0], Token: st.AdminToken}
	version := st.MCVersion

	// A bot through each edge, two at a time (each is a Node process on a
	// 2-core machine).
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, e := range st.Edges {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var res botResult
			run, err := suite.runJSON(botTimeout, &res, "bot.js", "--host", "127.0.0.1", "--port", port(e.Addr),
				"--version", version, "--username", "bot_"+e.Region, "--timeout-ms", ms(botTimeout))
			if err != nil || res.Event != "result" || !res.Spawned || !res.Echo {
				t.Errorf("bot through %s (%s): %v: %s\n%s", e.Region, e.Addr, err, run.last, run.stderr)
			}
		})
	}
	wg.Wait()

	// The same cheater in eu and us is one player in central.
	for i, check := range []string{"chat.lookup_string", "chat.invalid"} {
		e := st.Edges[i]
		var res cheatResult
		run, err := suite.runJSON(cheatScriptTimeout, &res, "cheat.js", "--host", "127.0.0.1", "--port", port(e.Addr),
			"--version", version, "--username", cheater, "--cheat", check, "--expect", "drop", "--local-address", cheaterAddr,
			"--timeout-ms", ms(cheatScriptTimeout))
		if err != nil || res.Event != "result" {
			t.Errorf("cheat %s in %s: %v: %s\n%s", check, e.Region, err, run.last, run.stderr)
		}
	}
	eventually(t, 10*time.Second, "the cheater of eu and us as one player", func() (bool, string) {
		var pv playerView
		getJSON(t, api, "/v1/players/"+cheater, &pv)
		return slices.Equal(pv.Regions, []string{"eu", "us"}) && len(pv.Checks) == 2, fmt.Sprintf("%+v", pv)
	})

	var fv fleetView
	eventually(t, 10*time.Second, "three edges in /v1/fleet", func() (bool, string) {
		fv = fleetView{}
		getJSON(t, api, "/v1/fleet", &fv)
		got := map[string]bool{}
		for _, e := range fv.Edges {
			got[e.ID+"/"+e.Region] = true
		}
		return len(fv.Edges) == 3 && got["edge-eu/eu"] && got["edge-us/us"] && got["edge-ap/ap"], fmt.Sprintf("%+v", fv.Edges)
	})

	procs := descendants(t, m.cmd.Process.Pid)
	t.Logf("make fleet's processes: %s", commsOf(procs))
	if len(procs) < 9 {
		t.Errorf("make fleet runs %d processes, want at least 9 (the launcher, Consul, Redis, Jaeger, central, flying-squid, three edges)", len(procs))
	}
	m.interrupt(t)
	addrs := []string{st.Consul, strings.TrimPrefix(st.Redis, "redis://"), strings.TrimPrefix(st.Centrals[0], "http://"),
		strings.TrimPrefix(st.JaegerQuery, "http://"), st.Backend}
	for _, e := range st.Edges {
		addrs = append(addrs, e.Addr, e.Admin)
	}
	checkTornDown(t, procs, addrs)
	if _, err := fleet.ReadState(dir); !errors.Is(err, fleet.ErrNoFleet) {
		t.Errorf("the state file outlived the fleet: %v", err)
	}
	t.Logf("make fleet: %v in all", time.Since(start).Round(time.Millisecond))
}

func loopbackPort(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
