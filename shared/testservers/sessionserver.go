package testservers

import (
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/testservers/sessionserver"
)

// SessionServer is the session-server double (package sessionserver) for
// one test: the only fake online-mode tests may use, since Mojang's servers
// cannot be reached. It runs in the test's process and stops when the test
// ends.
type SessionServer struct {
	*sessionserver.Server
}

// SessionAccount is an account of the double.
type SessionAccount = sessionserver.Account

// SessionProperty is a profile property as the session server sends it.
type SessionProperty = sessionserver.Property

// StartSessionServer serves the double on a free 127.0.0.1 port until the
// test ends.
func StartSessionServer(t testing.TB) *SessionServer {
	t.Helper()
	s, err := sessionserver.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &SessionServer{s}
}

// AddAccount creates an account named name with a fresh UUID, access token
// and a signed textures property, or fails the test.
func (s *SessionServer) AddAccount(t testing.TB, name string) *SessionAccount {
	t.Helper()
	a, err := s.NewAccount(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// WaitHasJoinedCalls waits until at least n hasJoined requests arrived,
// failing the test after timeout.
func (s *SessionServer) WaitHasJoinedCalls(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	if err := s.WaitForHasJoined(n, timeout); err != nil {
		t.Fatal(err)
	}
}
