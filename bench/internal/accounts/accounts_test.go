package accounts

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestJoinMakesOneAccountPerName: the first join of a name makes its
// account, later joins reuse it, and a join is what hasJoined confirms.
func TestJoinMakesOneAccountPerName(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, j := range []struct{ name, id string }{{"rtt00001", "-1a"}, {"rtt00001", "2b"}, {"bulk1", "3c"}} {
		if err := s.Join(ctx, j.name, j.id); err != nil {
			t.Fatal(err)
		}
	}
	if s.Accounts() != 2 || s.Joins() != 3 {
		t.Fatalf("%d accounts, %d joins; want 2 and 3", s.Accounts(), s.Joins())
	}
	// The latest join of a name stands, as the edge's hasJoined sees it.
	resp, err := http.Get(s.URL() + "/session/minecraft/hasJoined?" + url.Values{"username": {"rtt00001"}, "serverId": {"2b"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || s.HasJoined() != 1 {
		t.Fatalf("hasJoined: HTTP %d, %d calls", resp.StatusCode, s.HasJoined())
	}
}
