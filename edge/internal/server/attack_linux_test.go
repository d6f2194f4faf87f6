//go:build linux

package server

// Attacks whose checks need Linux: the announced-size flood reads the
// kernel's per-socket receive queues from /proc/net/tcp to know the edge
// has read every byte before measuring its heap, and the descriptor test
// relies on RLIMIT_NOFILE and EMFILE semantics and counts /proc/<pid>/fd.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
)

const (
	// floodPlayers log in and then announce a maximal frame they never
	// send; floodStrangers announce one as their very first bytes.
	floodPlayers   = 500
	floodStrangers = 500
	// floodWorkers is how many connections are opened at once: enough to
	// keep the edge busy on 2 cores, few enough not to overflow the
	// backend's accept queue.
	floodWorkers = 32
	// floodBodyBytes is how much of the announced frame each player really
	// sends.
	floodBodyBytes = 10
	// floodHeapBound is the heap growth allowed for the whole flood: 64 KiB
	// per held connection. For 13 received bytes the framer holds one read
	// buffer of its smallest size class (4 KiB); the rest leaves room for
	// sessions, sockets, loggers and the test's own clients. An
	// edge that allocated what the peers announced would need 500 × 2 MiB
	// = 1000 MiB; one that did it for just 16 of them would break the bound.
	floodHeapBound = floodPlayers * (64 << 10)

	// fdLimit is the descriptor limit the edge binary runs under: the Go
	// runtime, the two listeners and one player with its backend leg need
	// about 10, so a few dozen connections exhaust it.
	fdLimit = 64
	// fdFloodMax bounds the connections opened to exhaust fdLimit.
	fdFloodMax = 4 * fdLimit
	// fdHandshakeTimeout keeps the flood's connections open in the edge for
	// the whole test instead of letting the handshake timeout free their
	// descriptors.
	fdHandshakeTimeout = "30s"
	// childStop bounds how long the edge binary may take to exit after
	// SIGTERM before it is killed.
	childStop = 5 * time.Second
	// childStart bounds how long the edge binary may take to listen.
	childStart = 10 * time.Second
)

// unreadOnPort sums the receive queues of established TCP sockets whose
// local port is port: bytes the kernel holds that the process has not read.
func unreadOnPort(port int) (int, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const established = "01"
	var unread int
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[3] != established {
			continue
		}
		_, portHex, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(portHex, 16, 16); err != nil || int(p) != port {
			continue
		}
		_, rxHex, _ := strings.Cut(fields[4], ":")
		rx, err := strconv.ParseUint(rxHex, 16, 32)
		if err != nil {
			return 0, fmt.Errorf("/proc/net/tcp rx_queue %q: %w", fields[4], err)
		}
		unread += int(rx)
	}
	return unread, sc.Err()
}

// heapInuse is the live heap after two collections (the second empties
// sync.Pool victim caches, which hold released read buffers).
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// parallel runs fn(i) for i in [0, n) on floodWorkers goroutines and
// returns the first error.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range floodWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func TestAttackAnnouncedSizeFlood(t *testing.T) {
	b := startBackend(t, mcproto.CompressionOff, false)
	cfg := attackConfig(b.addr(), attackHandshakeTimeout)
	cfg.Proxy.MaxConnections = 2 * (floodPlayers + floodStrangers)
	e := startEdge(t, cfg)
	addr := e.Addr().String()
	port := e.Addr().(*net.TCPAddr).Port

	// The backend's half of every login, kept open until the test ends.
	var bmu sync.Mutex
	var backends []*backendConn
	stopDrain := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case bc := <-b.logins:
				bmu.Lock()
				backends = append(backends, bc)
				bmu.Unlock()
			case <-stopDrain:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stopDrain)
		<-drained
		for _, bc := range backends {
			_ = bc.Close()
		}
	})

	// Warm up what is built once (status cache entry, packet tables, pools)
	// so it is not counted as flood growth.
	ping(t, addr, attackProtocol)
	warm := mustDialPlayer(t, addr)
	if err := warm.login(attackProtocol, "Warmup"); err != nil {
		t.Fatal(err)
	}
	_ = warm.conn.Close()
	pollUntil(t, attackIO, "warm-up connections closed", func() bool { return e.ln.Active() == 0 })
	before := heapInuse()
	frameTooLarge := rejected(e, reason.FrameTooLarge)

	// Logged-in players announce 2 MiB, send 10 bytes, and stay.
	players := make([]net.Conn, floodPlayers)
	t.Cleanup(func() {
		for _, c := range players {
			if c != nil {
				_ = c.Close()
			}
		}
	})
	start := time.Now()
	err := parallel(floodPlayers, func(i int) error {
		p, err := dialPlayer(addr)
		if err != nil {
			return err
		}
		players[i] = p.conn
		if err := p.login(attackProtocol, fmt.Sprintf("Flood%d", i)); err != nil {
			return err
		}
		_, err = p.conn.Write(cat(announceMax(), make([]byte, floodBodyBytes)))
		return err
	})
	if err != nil {
		t.Fatalf("flood players: %v", err)
	}

	// Strangers announce 2 MiB before any handshake: refused at once.
	err = parallel(floodStrangers, func(i int) error {
		p, err := dialPlayer(addr)
		if err != nil {
			return err
		}
		defer p.conn.Close()
		if _, err := p.conn.Write(cat(announceMax(), make([]byte, floodBodyBytes))); err != nil && !peerClosed(err) {
			return err
		}
		res := p.readUntilClosed(promptClose)
		if !res.closedByEdge() {
			return fmt.Errorf("stranger %d: still open after %v (%v), want refused at once", i, res.after, res.err)
		}
		if len(res.packets) > 0 {
			return fmt.Errorf("stranger %d: got %d packets before the close, want none", i, len(res.packets))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("flood strangers: %v", err)
	}
	t.Logf("flood of %d + %d connections sent in %v", floodPlayers, floodStrangers, time.Since(start))

	pollUntil(t, attackIO, "frame_too_large counted for every stranger", func() bool {
		return rejected(e, reason.FrameTooLarge) == frameTooLarge+floodStrangers
	})
	pollUntil(t, attackIO, "the edge read every byte the players sent", func() bool {
		n, err := unreadOnPort(port)
		if err != nil {
			t.Fatalf("read /proc/net/tcp: %v", err)
		}
		return n == 0
	})
	// Every flood player is still connected, waiting for the rest of its
	// frame. (The listener drops a stranger from the count just after the
	// handler counted its rejection, hence the poll.)
	pollUntil(t, counterWait, fmt.Sprintf("active connections = %d flood players", floodPlayers), func() bool {
		return e.ln.Active() == floodPlayers
	})

	after := heapInuse()
	growth := int64(after) - int64(before)
	t.Logf("heap in use: %d KiB before, %d KiB after; growth %d KiB, %d bytes per held connection (announced: %d bytes each)",
		before>>10, after>>10, growth>>10, growth/floodPlayers, mcproto.MaxFrameLength)
	if growth > floodHeapBound {
		t.Errorf("heap grew by %d MiB for %d connections that announced 2 MiB each, want < %d MiB: the edge allocated what peers announced",
			growth>>20, floodPlayers, floodHeapBound>>20)
	}

	// The edge still serves.
	if d := description(ping(t, addr, attackProtocol)); d != "fake backend" {
		t.Errorf("status after the flood: %q", d)
	}
}

// edgeBinary returns the path of a rustguard-edge binary: $RUSTGUARD_EDGE_BIN
// when set, otherwise one built into a temporary directory.
func edgeBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("RUSTGUARD_EDGE_BIN"); bin != "" {
		return bin
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			t.Skip("no go tool to build the edge binary and RUSTGUARD_EDGE_BIN is unset")
		}
	}
	bin := filepath.Join(t.TempDir(), "rustguard-edge")
	start := time.Now()
	out, err := exec.Command(gobin, "build", "-o", bin, "github.com/rustguard/rustguard/edge/cmd/rustguard-edge").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start))
	return bin
}

// childLog collects the JSON log lines of the edge binary. It always keeps
// reading, so the child never blocks on a full stderr pipe.
type childLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *childLog) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// find returns the first line containing s.
func (l *childLog) find(s string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return line, true
		}
	}
	return "", false
}

func (l *childLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// childEnv is the environment without RUSTGUARD_* variables from outside
// the test, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUSTGUARD_") {
			env = append(env, kv)
		}
	}
	// Every test connection comes from 127.0.0.1: open the gate's
	// per-address limits, as testConfig does in-process.
	env = append(env, "RUSTGUARD_GATE_CONN_ADDR_RATE=0", "RUSTGUARD_GATE_CONN_PREFIX_RATE=0",
		"RUSTGUARD_GATE_LOGIN_ADDR_RATE=0", "RUSTGUARD_GATE_LOGIN_PREFIX_RATE=0",
		"RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT=0", "RUSTGUARD_GATE_MAX_ACCOUNTS_PER_ADDR=0", "RUSTGUARD_ATTACK_MODE=off")
	return append(env, extra...)
}

// lowFDs counts the open descriptors of process pid numbered below limit.
// Accept fails with EMFILE exactly when all of them are taken; descriptors
// above it can only be inherited (the limit keeps new ones below).
func lowFDs(pid, limit int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var n int
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd < limit {
			n++
		}
	}
	return n, err
}

// scrapeCounter fetches /metrics once and returns the value of the first
// sample of name.
func scrapeCounter(admin, name string) (float64, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		return strconv.ParseFloat(f[len(f)-1], 64)
	}
	return 0, fmt.Errorf("%s not in /metrics", name)
}

func TestAttackDescriptorExhaustion(t *testing.T) {
	bin := edgeBinary(t)
	b := startBackend(t, attackThreshold, false)

	// ulimit without -S/-H sets both limits, so the Go runtime cannot raise
	// the soft limit back at start-up; exec keeps the PID ours.
	cmd := exec.Command("sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0"`, fdLimit), bin)
	cmd.Env = childEnv(
		"RUSTGUARD_LISTEN_ADDR=127.0.0.1:0",
		"RUSTGUARD_ADMIN_ADDR=127.0.0.1:0",
		"RUSTGUARD_BACKEND_ADDR="+b.addr(),
		"RUSTGUARD_HANDSHAKE_TIMEOUT="+fdHandshakeTimeout,
		"RUSTGUARD_SHUTDOWN_TIMEOUT=1s",
		"RUSTGUARD_LOG_FORMAT=json",
		"RUSTGUARD_LOG_LEVEL=info",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var logs childLog
	logsDone := make(chan struct{})
	go func() { defer close(logsDone); logs.consume(stderr) }()
	exited := make(chan error, 1)
	go func() { <-logsDone; exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(childStop):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("edge log:\n%s", logs.String())
		}
	})

	// The listening addresses come from the edge's own start-up line, so
	// both listeners can bind port 0.
	var line string
	pollUntil(t, childStart, "the edge binary logs that it listens", func() bool {
		var ok bool
		line, ok = logs.find(`"edge listening"`)
		return ok
	})
	var started struct{ Addr, Admin string }
	if err := json.Unmarshal([]byte(line), &started); err != nil || started.Addr == "" || started.Admin == "" {
		t.Fatalf("start-up line %q: %v", line, err)
	}

	player := mustDialPlayer(t, started.Addr)
	if err := player.login(attackProtocol, "Resident"); err != nil {
		t.Fatal(err)
	}
	bc := b.nextLogin(t)
	if err := exchange(player, bc, attackProtocol, 1); err != nil {
		t.Fatal(err)
	}

	// Open more connections than the edge has descriptors: it accepts
	// until it holds fdLimit, the rest wait in the kernel's accept queue,
	// and from then on every accept fails with EMFILE.
	var flood []net.Conn
	closeFlood := func() {
		for _, c := range flood {
			_ = c.Close()
		}
		flood = nil
	}
	t.Cleanup(closeFlood)
	for i := range fdFloodMax {
		c, err := net.DialTimeout("tcp", started.Addr, attackIO)
		if err != nil {
			t.Fatalf("flood connection %d: %v", i, err)
		}
		flood = append(flood, c)
	}
	pollUntil(t, childStart, "the edge logs an accept failing with EMFILE", func() bool {
		_, ok := logs.find("too many open files")
		return ok
	})
	if n, err := lowFDs(pid, fdLimit); err != nil || n != fdLimit {
		t.Errorf("edge holds %d of its %d descriptors (%v), want all", n, fdLimit, err)
	}
	t.Logf("edge out of descriptors after %d flood connections", len(flood))

	// The player who was already in keeps playing, and the process lives.
	for i := range 3 {
		if err := exchange(player, bc, attackProtocol, int64(10+i)); err != nil {
			t.Fatalf("player relay while the edge is out of descriptors: %v", err)
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("edge exited while out of descriptors: %v", err)
	default:
	}

	// Free the descriptors: the listener must recover by itself.
	closeFlood()
	var acceptErrors float64
	pollUntil(t, childStart, "/metrics answers once descriptors are free", func() bool {
		v, err := scrapeCounter(started.Admin, "rustguard_edge_accept_errors_total")
		acceptErrors = v
		return err == nil
	})
	if acceptErrors <= 0 {
		t.Errorf("rustguard_edge_accept_errors_total = %v, want > 0", acceptErrors)
	}
	t.Logf("accept errors counted: %v", acceptErrors)

	// The flood's closed connections may still wait in the kernel's accept
	// queue, and the edge takes each off it with a descriptor it holds
	// until it reads the end: a login during that drain can find no
	// descriptor for its backend dial and is told the server is not
	// reachable. Recovering means logins work again once it is over.
	var fresh *rawPlayer
	var refused int
	for deadline := time.Now().Add(childStart); ; refused++ {
		p := mustDialPlayer(t, started.Addr)
		err := p.login(attackProtocol, "Newcomer")
		if err == nil {
			fresh = p
			break
		}
		_ = p.conn.Close()
		if !strings.Contains(err.Error(), "not reachable") || time.Now().After(deadline) {
			t.Fatalf("login after the flood (%d refused while it drained): %v", refused, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("logins refused while the flood drained: %d", refused)
	if err := exchange(fresh, b.nextLogin(t), attackProtocol, 2); err != nil {
		t.Fatalf("relay after the flood: %v", err)
	}
	if err := exchange(player, bc, attackProtocol, 3); err != nil {
		t.Errorf("resident player after the flood: %v", err)
	}
	select {
	case err := <-exited:
		t.Errorf("edge exited: %v", err)
	default:
	}
}
