package player

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rustguard/rustguard/bench/internal/accounts"
	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
	"github.com/rustguard/rustguard/bench/internal/target"
)

// edgeBin builds rustguard-edge once per test binary: the online client is
// tested against the edge's real online mode (edge/internal/auth), which
// the bench module cannot import, so it runs as the load tool runs it.
var edgeBin = sync.OnceValues(func() (string, error) {
	if edgeDir == "" {
		return "", errors.New("no directory for the edge binary (TestMain did not run)")
	}
	bin := filepath.Join(edgeDir, "rustguard-edge")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/rustguard/rustguard/edge/cmd/rustguard-edge")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build rustguard-edge: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// edgeDir holds the edge binary; TestMain makes and removes it.
var edgeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rgload-player-edge-")
	if err != nil {
		panic(err)
	}
	edgeDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// onlineEdge starts the backend, the session-server double and an
// edge-online in front of them, as rgload does; the edge must stop cleanly
// when the test ends.
func onlineEdge(t *testing.T) (*backend.Server, *accounts.Server, string) {
	t.Helper()
	bin, err := edgeBin()
	if err != nil {
		t.Fatal(err)
	}
	srv, addr := startBackend(t, backend.DefaultThreshold)
	sessions, err := accounts.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sessions.Close)
	p, err := target.Start(ctxT(t), target.EdgeOnline, target.Options{
		Backend: addr, EdgeBin: bin, EdgeMaxConns: 100, WorkDir: t.TempDir(), SessionServer: sessions.URL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("edge-online did not stop cleanly: %v\n%s", err, p.LogTail())
		}
	})
	return srv, sessions, p.Addr
}

// TestLoginOnlineThroughTheEdge: a player logs in to the edge in online
// mode (RSA exchange, join, hasJoined, cipher on), echoes both kinds of
// packet through the encrypted leg and receives a verified bulk stream.
func TestLoginOnlineThroughTheEdge(t *testing.T) {
	srv, sessions, addr := onlineEdge(t)
	ctx := ctxT(t)
	s, err := LoginOnline(ctx, &net.Dialer{}, addr, "rtt00001", sessions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Encrypted() {
		t.Fatal("logged in through edge-online without encryption")
	}
	for i, kind := range []EchoKind{EchoKeepAlive, EchoPlugin, EchoKeepAlive} {
		if rtt, _, err := s.Echo(kind, int32(i+1), nil); err != nil || rtt <= 0 {
			t.Fatalf("echo %v: %v, %v", kind, rtt, err)
		}
	}
	if sessions.Joins() != 1 || sessions.HasJoined() != 1 || sessions.Accounts() != 1 {
		t.Errorf("session server saw %d joins, %d hasJoined, %d accounts; want 1 each",
			sessions.Joins(), sessions.HasJoined(), sessions.Accounts())
	}

	b, err := LoginOnline(ctx, &net.Dialer{}, addr, backend.BulkPrefix+"1", sessions)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n atomic.Int64
	err = b.ReceiveBulk(bctx, backend.BulkFrame(backend.DefaultThreshold, backend.MinBulkPacket), func(k int) {
		if n.Add(int64(k)) >= 1<<20 {
			cancel()
		}
	})
	if err != nil || n.Load() < 1<<20 {
		t.Fatalf("bulk through the encrypted leg: %d bytes, %v", n.Load(), err)
	}
	if st := srv.Stats(); st.Logins != 2 || st.Echoes != 3 {
		t.Errorf("backend stats %+v, want 2 logins and 3 echoes", st)
	}
}

// wrongServerID joins with a hash the edge did not compute, as a client
// with a broken hash or a replayed join would.
type wrongServerID struct{ j Joiner }

func (w wrongServerID) Join(ctx context.Context, name, serverID string) error {
	return w.j.Join(ctx, name, serverID+"0")
}

// TestLoginOnlineRefusals: the edge's online mode refuses a player without
// an account (it cannot answer Encryption Request) and one whose join
// carries the wrong server id; neither reaches the backend.
func TestLoginOnlineRefusals(t *testing.T) {
	srv, sessions, addr := onlineEdge(t)
	ctx := ctxT(t)
	if _, err := Login(ctx, &net.Dialer{}, addr, "offline1"); !errors.Is(err, mcconn.ErrUnexpectedPacket) {
		t.Fatalf("offline player: err = %v, want ErrUnexpectedPacket", err)
	}
	_, err := LoginOnline(ctx, &net.Dialer{}, addr, "cracked1", wrongServerID{sessions})
	if !errors.Is(err, ErrKicked) || !strings.Contains(err.Error(), "verify") {
		t.Fatalf("wrong server id: err = %v, want a kick (failed to verify)", err)
	}
	if st := srv.Stats(); st.Logins != 0 {
		t.Errorf("backend saw %d logins, want 0", st.Logins)
	}
}

// countingJoiner counts joins.
type countingJoiner struct{ n atomic.Int64 }

func (c *countingJoiner) Join(context.Context, string, string) error { c.n.Add(1); return nil }

// TestLoginOnlineAgainstAnOfflineServer: with a Joiner, a server that never
// asks for encryption (the offline targets) is logged in to as before and
// the session server is not called.
func TestLoginOnlineAgainstAnOfflineServer(t *testing.T) {
	_, addr := startBackend(t, backend.DefaultThreshold)
	var j countingJoiner
	s, err := LoginOnline(ctxT(t), &net.Dialer{}, addr, "rtt00002", &j)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Encrypted() || j.n.Load() != 0 {
		t.Fatalf("offline login: encrypted %v, %d joins", s.Encrypted(), j.n.Load())
	}
}
