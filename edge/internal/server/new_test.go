package server

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"

	"github.com/rustguard/rustguard/shared/testservers"
)

// TestFailedNewStopsWhatItStarted: New starts Consul discovery (its
// watchers) before it binds the admin listener; when that last step fails,
// the watchers must not keep polling Consul for an edge that never came to
// be. A process that retries New, or a test, would pile them up.
func TestFailedNewStopsWhatItStarted(t *testing.T) {
	consul := testservers.StartConsul(t, "dc1")
	t.Setenv("CONSUL_HTTP_ADDR", consul.HTTPAddr())
	t.Setenv("CONSUL_HTTP_TOKEN", "")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	cfg := testConfig("127.0.0.1:1") // unused with Consul; only has to be valid
	cfg.Redis.URL = testservers.StartRedis(t).URL()
	cfg.Admin.ListenAddress = taken.Addr().String() // New's last step fails
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		e.Start()
		e.Shutdown()
		t.Fatal("New succeeded with its admin address taken")
	}
	waitFor(t, func() bool { return !goroutinesIn("/edge/internal/discovery.") })
}

// goroutinesIn reports whether a goroutine has a frame in a function whose
// name contains pkg.
func goroutinesIn(pkg string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Contains(buf[:n], []byte(pkg))
		}
		buf = make([]byte, 2*len(buf))
	}
}
