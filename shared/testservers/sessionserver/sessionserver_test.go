package sessionserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestJoinThenHasJoinedWithoutATest: the double runs outside a test's
// lifetime (the load tool's case): New, accounts, the client's Join, the
// server's hasJoined, Close.
func TestJoinThenHasJoinedWithoutATest(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.NewAccount("Alice")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Join(ctx, http.DefaultClient, s.URL(), a, "-1a2b"); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"username": {"alice"}, "serverId": {"-1a2b"}}
	resp, err := http.Get(s.URL() + "/session/minecraft/hasJoined?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hasJoined after Join: %d, want 200", resp.StatusCode)
	}
	if err := s.WaitForHasJoined(1, time.Second); err != nil {
		t.Fatal(err)
	}
	if s.JoinCalls() != 1 {
		t.Fatalf("%d joins, want 1", s.JoinCalls())
	}
}

// TestJoinRefused: a token the double does not know is refused with
// Mojang's 403, and Join says so.
func TestJoinRefused(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.NewAccount("Bob")
	if err != nil {
		t.Fatal(err)
	}
	stolen := *a
	stolen.AccessToken = "not-a-token"
	err = Join(context.Background(), http.DefaultClient, s.URL(), &stolen, "1")
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "Invalid token") {
		t.Fatalf("err = %v, want HTTP 403 Invalid token", err)
	}
	if s.JoinCalls() != 0 {
		t.Fatalf("%d joins recorded", s.JoinCalls())
	}
}

// TestCloseIsIdempotentAndStopsServing: after Close nothing answers, and a
// second Close is harmless.
func TestCloseIsIdempotentAndStopsServing(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s.Delay(time.Hour) // a hasJoined in flight must not hold Close up
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(s.URL() + "/session/minecraft/hasJoined?username=x&serverId=y")
		if err == nil {
			resp.Body.Close()
		}
	}()
	if err := s.WaitForHasJoined(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	<-done
	if _, err := http.Get(s.URL() + "/session/minecraft/hasJoined?username=x&serverId=y"); err == nil {
		t.Fatal("the double still answers after Close")
	}
}
