package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/edge/internal/forwarding"
	"github.com/rustguard/rustguard/shared/config"
)

// TestOnlineModeRoutesAndSecrets: each route gets its mode, forwarding and
// secret; a secret file loses its trailing line break; a file that cannot
// be read, or holds too short a secret, stops the start and is named
// without its content.
func TestOnlineModeRoutesAndSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := config.DefaultEdge().Auth
	c.Mode, c.ForwardingSecretFile = config.AuthOnline, write("velocity.secret", "a-velocity-secret-123\n")
	c.Routes = map[string]config.AuthRoute{
		"legacy.example.com": {Mode: config.AuthPassthrough},
		"guard.example.com":  {Forwarding: config.ForwardBungeeGuard, ForwardingSecretFile: write("guard.token", "a-bungeeguard-token\r\n")},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	om, err := newOnlineMode(c, prometheus.NewRegistry(), log)
	if err != nil {
		t.Fatal(err)
	}
	if om.Key == nil || om.Authenticator == nil {
		t.Fatal("online routes without a key or session server client")
	}
	if r := om.Route("play.example.com"); !r.Online || r.Forwarding != forwarding.Velocity || string(r.Secret) != "a-velocity-secret-123" {
		t.Errorf("default route %+v", r)
	}
	if r := om.Route("legacy.example.com"); r.Online || r.Secret != nil {
		t.Errorf("passthrough route %+v", r)
	}
	if r := om.Route("guard.example.com"); !r.Online || r.Forwarding != forwarding.BungeeGuard || string(r.Secret) != "a-bungeeguard-token" {
		t.Errorf("bungeeguard route %+v", r)
	}

	c.ForwardingSecretFile = filepath.Join(dir, "missing")
	if _, err := newOnlineMode(c, prometheus.NewRegistry(), log); err == nil || !strings.Contains(err.Error(), "auth.forwarding_secret_file") {
		t.Errorf("missing secret file: %v", err)
	}
	c.ForwardingSecretFile = write("short", "short\n")
	if _, err := newOnlineMode(c, prometheus.NewRegistry(), log); err == nil || strings.Contains(err.Error(), "short\n") {
		t.Errorf("short secret: %v", err)
	}

	// All passthrough: no key is made and nobody asks the session server.
	om, err = newOnlineMode(config.DefaultEdge().Auth, prometheus.NewRegistry(), log)
	if err != nil || om.Key != nil || om.Authenticator != nil || om.Route("x").Online {
		t.Errorf("passthrough edge: %+v, %v", om, err)
	}
}
