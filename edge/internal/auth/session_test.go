package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/auth/authtest"
	"github.com/rustguard/rustguard/shared/testservers"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// joined makes account a join the double with a fresh server id and
// returns that id.
func joined(t *testing.T, ss *testservers.SessionServer, a *testservers.SessionAccount, id string) string {
	t.Helper()
	if err := authtest.Join(context.Background(), ss.URL(), a, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func newAuthenticator(t *testing.T, ss *testservers.SessionServer, o auth.Options) (*auth.Authenticator, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.SessionServer, o.Registerer = ss.URL(), reg
	a, err := auth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a, reg
}

// counted is the value of counter name (with label value label, if any).
func counted(t *testing.T, reg *prometheus.Registry, name, label string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if len(m.Label) == 0 || m.Label[0].GetValue() == label {
				return int(m.Counter.GetValue())
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, label)
	return 0
}

func requests(t *testing.T, reg *prometheus.Registry, result string) int {
	return counted(t, reg, "rustguard_edge_session_server_requests_total", result)
}

// TestAuthenticate: the session server's answer decides, and the profile
// comes back with its signed properties.
func TestAuthenticate(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	a, reg := newAuthenticator(t, ss, auth.Options{RememberTTL: time.Minute})
	ctx := context.Background()

	id := joined(t, ss, alice, "-5f3a")
	p, err := a.Authenticate(ctx, auth.Login{Name: "alice", Addr: loopback, ServerID: id, SendIP: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != alice.ID || p.Name != "Alice" || len(p.Properties) != 1 || p.Properties[0].Name != "textures" ||
		!p.Properties[0].HasSignature || p.Properties[0].Signature != alice.Properties[0].Signature {
		t.Fatalf("profile %+v", p)
	}
	// Another server id: this connection's client did not join.
	if _, err := a.Authenticate(ctx, auth.Login{Name: "alice", Addr: loopback, ServerID: "1234"}); !errors.Is(err, auth.ErrNotJoined) {
		t.Fatalf("another server id: %v, want ErrNotJoined", err)
	}
	// prevent_proxy_connections: the join came from 127.0.0.1.
	if _, err := a.Authenticate(ctx, auth.Login{Name: "alice", Addr: netip.MustParseAddr("192.0.2.1"), ServerID: id, SendIP: true}); !errors.Is(err, auth.ErrNotJoined) {
		t.Fatalf("login from another address: %v, want ErrNotJoined", err)
	}
	if requests(t, reg, "joined") != 1 || requests(t, reg, "not_joined") != 2 {
		t.Fatal("requests not counted by result")
	}
}

// TestAuthenticateUnavailable: a session server that is down, slow or
// answering nonsense is an ErrUnavailable, within the timeout.
func TestAuthenticateUnavailable(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	const timeout = 300 * time.Millisecond
	a, reg := newAuthenticator(t, ss, auth.Options{Timeout: timeout})
	id := joined(t, ss, alice, "77")

	ss.Down(true)
	if _, err := a.Authenticate(context.Background(), auth.Login{Name: "Alice", ServerID: id}); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("down: %v, want ErrUnavailable", err)
	}
	ss.Down(false)

	ss.Delay(time.Minute)
	start := time.Now()
	_, err := a.Authenticate(context.Background(), auth.Login{Name: "Alice", ServerID: id})
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("slow: %v, want ErrUnavailable", err)
	}
	// Bounded: the timeout, not the server's minute (a generous margin for
	// a loaded machine; the point is the order of magnitude).
	if waited := time.Since(start); waited > 20*timeout {
		t.Fatalf("a slow session server held the login %s", waited)
	}
	if requests(t, reg, "status") != 1 || requests(t, reg, "timeout") != 1 {
		t.Fatal("failures not counted by kind")
	}
}

// TestAuthenticateInFlightCap: at the cap, a login waits for a slot within
// its timeout and fails as throttled, without a request.
func TestAuthenticateInFlightCap(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	a, reg := newAuthenticator(t, ss, auth.Options{MaxInFlight: 1, Timeout: 2 * time.Second})
	id := joined(t, ss, alice, "abc")
	ss.Delay(time.Minute)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // holds the only slot until its timeout
		defer wg.Done()
		_, _ = a.Authenticate(context.Background(), auth.Login{Name: "Alice", ServerID: id})
	}()
	ss.WaitHasJoinedCalls(t, 1, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := a.Authenticate(ctx, auth.Login{Name: "Alice", ServerID: id}); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("second login at the cap: %v, want ErrUnavailable", err)
	}
	if got := ss.HasJoinedCalls(); got != 1 {
		t.Fatalf("%d requests reached the session server; the cap is 1", got)
	}
	if requests(t, reg, "throttled") != 1 {
		t.Fatal("throttled login not counted")
	}
	wg.Wait()
}

// TestAuthenticateRemembers: under attack, a login the session server
// confirmed for this name and address is not asked again; otherwise it is.
func TestAuthenticateRemembers(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	now := time.Unix(1_700_000_000, 0)
	a, reg := newAuthenticator(t, ss, auth.Options{RememberTTL: time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	id := joined(t, ss, alice, "1")
	if _, err := a.Authenticate(ctx, auth.Login{Name: "Alice", Addr: loopback, ServerID: id}); err != nil {
		t.Fatal(err)
	}
	// A reconnect: the client joined again with a new server id, but the
	// session server is down (or saturated) during the attack.
	ss.Down(true)
	p, err := a.Authenticate(ctx, auth.Login{Name: "alice", Addr: loopback, ServerID: "2", UnderAttack: true})
	if err != nil || p.ID != alice.ID {
		t.Fatalf("remembered login under attack: %+v, %v", p, err)
	}
	if _, err := a.Authenticate(ctx, auth.Login{Name: "alice", Addr: loopback, ServerID: "2"}); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("outside attack mode the session server is asked: %v", err)
	}
	if _, err := a.Authenticate(ctx, auth.Login{Name: "alice", Addr: netip.MustParseAddr("127.0.0.2"), ServerID: "2", UnderAttack: true}); err == nil {
		t.Fatal("a remembered login was used for another address")
	}
	now = now.Add(time.Hour)
	if _, err := a.Authenticate(ctx, auth.Login{Name: "alice", Addr: loopback, ServerID: "2", UnderAttack: true}); err == nil {
		t.Fatal("a remembered login outlived its TTL")
	}
	if n := counted(t, reg, "rustguard_edge_session_server_remembered_total", ""); n != 1 {
		t.Fatalf("remembered logins counted %d, want 1", n)
	}
}
