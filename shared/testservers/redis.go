// Package testservers starts real servers (Redis, Consul, Jaeger) on loopback ports
// for integration tests, and stops them by PID when the test ends. The one
// fake, the session-server double (package sessionserver), runs in the
// test's process and stops with the test as well.
package testservers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// redisStartTimeout bounds one start until PING answers; redis-server
	// is ready in about 10 ms, a loaded CI machine under -race needs more.
	redisStartTimeout = 15 * time.Second
	// redisPollInterval is how often start-up tries PING: redis-server
	// offers no readiness signal to wait on.
	redisPollInterval = 10 * time.Millisecond
	// redisStopTimeout bounds waiting for a killed server to exit.
	redisStopTimeout = 10 * time.Second
	// redisPortAttempts is how many ports StartRedis tries: another process
	// can take a port between our probe and the server's bind.
	redisPortAttempts = 5
	// redisLogTail is how much of the server's log a failed test prints.
	redisLogTail = 8 << 10
)

// errRedisExited means the server exited before it answered PING (usually:
// the port was taken in the meantime).
var errRedisExited = errors.New("redis-server exited during start-up")

// Redis is a real redis-server on a loopback port of its own.
//
// Data lives in a per-test directory with the append-only file on, so Stop
// (SIGKILL, as in a crash) followed by Restart brings the same data back on
// the same port: in production, surviving a Redis restart is Redis
// persistence's job, and this is how the tests model it. Redis writes the
// AOF before it replies, so an acknowledged write survives the kill.
type Redis struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exits
}

// StartRedis runs redis-server on a free 127.0.0.1 port and waits until it
// answers PING. Without the binary the test fails: `make test` installs it.
// The server is killed by PID when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH: run make test (installs redis-server): %v", err)
	}
	r := &Redis{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			t.Logf("redis log tail:\n%s", r.logTail())
		}
	})
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		r.port = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		err = r.start()
		if err == nil {
			return r
		}
		if !errors.Is(err, errRedisExited) || attempt == redisPortAttempts {
			t.Fatalf("start redis on port %d: %v\n%s", r.port, err, r.logTail())
		}
	}
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's address as a redis:// URL, the form
// RUSTGUARD_REDIS_URL takes.
func (r *Redis) URL() string { return "redis://" + r.Addr() }

// Stop kills the server (SIGKILL, like a crash) and waits for it to exit.
// It is idempotent.
func (r *Redis) Stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
	case <-time.After(redisStopTimeout):
		r.t.Errorf("redis-server pid %d did not exit within %v", cmd.Process.Pid, redisStopTimeout)
	}
}

// Restart stops the server if it runs and starts it again on the same port
// with the same data directory, so the data survives.
func (r *Redis) Restart() {
	r.t.Helper()
	r.Stop()
	// The old socket is closed with the process; a few tries cover the
	// rare case where the kernel has not released the port yet.
	var err error
	for attempt := 0; attempt < redisPortAttempts; attempt++ {
		if err = r.start(); err == nil {
			return
		}
		if !errors.Is(err, errRedisExited) {
			break
		}
	}
	r.t.Fatalf("restart redis on port %d: %v\n%s", r.port, err, r.logTail())
}

func (r *Redis) start() error {
	logf, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--dir", r.dir,
		"--save", "",
		"--appendonly", "yes",
		// everysec may hold back an acknowledged write while a rewrite runs
		// (right after start), and a kill then loses it: the outage tests
		// need "acknowledged means on disk".
		"--appendfsync", "always",
		"--daemonize", "no",
		"--loglevel", "warning",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("exec %s: %w", r.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
	defer cancel()
	tick := time.NewTicker(redisPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			r.mu.Lock()
			r.cmd = nil
			r.mu.Unlock()
			return errRedisExited
		default:
		}
		if r.ping(ctx) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			r.Stop()
			return fmt.Errorf("no PONG within %v", redisStartTimeout)
		case <-tick.C:
		}
	}
}

// ping sends an inline PING and expects +PONG. While Redis loads its AOF it
// answers -LOADING, which counts as not ready.
func (r *Redis) ping(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func (r *Redis) logTail() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "redis.log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > redisLogTail {
		b = b[len(b)-redisLogTail:]
	}
	return string(bytes.TrimSpace(b))
}
