package status

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestSetPolicyChangesTheNextPing: a new fallback text and player count
// show on the next ping no backend answers, and a new TTL decides whether
// a cached answer is reused.
func TestSetPolicyChangesTheNextPing(t *testing.T) {
	c := newTestCache()
	ctx := context.Background()
	hs := packets.Handshake{Protocol: packets.MaxProtocol, Host: "play.example.com", Port: 25565, Intent: mcproto.IntentStatus}
	if got := description(t, c.Status(ctx, "", hs)); got != "fallback" {
		t.Fatalf("fallback before: %q", got)
	}
	c.SetPolicy(Policy{TTL: time.Minute, FetchTimeout: time.Second, Fallback: Fallback{MOTD: "Back soon", MaxPlayers: 500}})
	js := c.Status(ctx, "", hs)
	if got := description(t, js); got != "Back soon" {
		t.Fatalf("fallback after SetPolicy: %q", got)
	}
	var st struct {
		Players struct{ Max int } `json:"players"`
		Version struct{ Name string }
	}
	if err := json.Unmarshal(js, &st); err != nil || st.Players.Max != 500 || st.Version.Name != "RustGuard" {
		t.Fatalf("fallback %s: %+v %v", js, st, err)
	}

	b := startStatusBackend(t)
	c.Status(ctx, b.addr(), hs)
	c.Status(ctx, b.addr(), hs)
	if n := len(b.requests()); n != 1 {
		t.Fatalf("backend asked %d times under a one-minute TTL, want 1", n)
	}
	c.SetPolicy(Policy{TTL: time.Nanosecond, FetchTimeout: time.Second, Fallback: Fallback{MOTD: "x"}})
	c.Status(ctx, b.addr(), hs)
	if n := len(b.requests()); n != 2 {
		t.Fatalf("backend asked %d times after the TTL shrank, want 2", n)
	}
}
