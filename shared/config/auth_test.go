package config

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

const testSecret = "a-secret-of-24-characters"

func TestValidateAuthRefuses(t *testing.T) {
	tr := true
	tests := []struct {
		name   string
		modify func(a *Auth)
		want   string
	}{
		{"unknown mode", func(a *Auth) { a.Mode = "offline" },
			`auth.mode = "offline": must be passthrough or online`},
		{"unknown forwarding", func(a *Auth) { a.Forwarding = "legacy" },
			`auth.forwarding = "legacy": must be velocity, bungeecord, bungeeguard or none`},
		{"velocity without a secret", func(a *Auth) { a.Mode = AuthOnline },
			`auth.forwarding = "velocity": online mode with velocity forwarding needs a secret: set auth.forwarding_secret (RUSTGUARD_FORWARDING_SECRET) or auth.forwarding_secret_file`},
		{"bungeeguard without a secret", func(a *Auth) { a.Mode, a.Forwarding = AuthOnline, ForwardBungeeGuard },
			`auth.forwarding = "bungeeguard": online mode with bungeeguard forwarding needs a secret: set auth.forwarding_secret (RUSTGUARD_FORWARDING_SECRET) or auth.forwarding_secret_file`},
		{"a short secret, never shown", func(a *Auth) { a.ForwardingSecret = "hunter2" },
			`auth.forwarding_secret = "REDACTED": the forwarding secret has 7 bytes; use at least 12 random characters`},
		{"secret twice", func(a *Auth) { a.ForwardingSecret, a.ForwardingSecretFile = testSecret, "/run/secret" },
			`auth.forwarding_secret_file = "/run/secret": set either auth.forwarding_secret (RUSTGUARD_FORWARDING_SECRET) or this file, not both`},
		{"session server without scheme", func(a *Auth) { a.SessionServer = "sessionserver.mojang.com" },
			`auth.session_server = "sessionserver.mojang.com": must be an http:// or https:// base URL without query or credentials (the default is https://sessionserver.mojang.com)`},
		{"session server with credentials", func(a *Auth) { a.SessionServer = "https://u:p@example.com" },
			`auth.session_server = "https://u:p@example.com": must be an http:// or https:// base URL without query or credentials (the default is https://sessionserver.mojang.com)`},
		{"remember too short", func(a *Auth) { a.RememberTTL = Duration(1e9) },
			`auth.remember_ttl = "1s": must be at least 10s`},
		{"an online route without a secret", func(a *Auth) {
			a.Routes = map[string]AuthRoute{"play.example.com": {Mode: AuthOnline}}
		}, `auth.routes.play.example.com.forwarding = "velocity": online mode with velocity forwarding needs a secret: set auth.forwarding_secret (RUSTGUARD_FORWARDING_SECRET) or auth.forwarding_secret_file, or auth.routes.play.example.com.forwarding_secret_file`},
		{"a route with a port", func(a *Auth) {
			a.Routes = map[string]AuthRoute{"play.example.com:25565": {Mode: AuthOnline}}
		}, `auth.routes.play.example.com:25565 = "play.example.com:25565": a route is a handshake host: lower case, without a trailing dot, port or path`},
		{"a route in upper case", func(a *Auth) {
			a.Routes = map[string]AuthRoute{"Play.example.com": {PreventProxyConnections: &tr}}
		}, `auth.routes.Play.example.com = "Play.example.com": a route is a handshake host: lower case, without a trailing dot, port or path`},
		{"a route's unknown mode", func(a *Auth) {
			a.Routes = map[string]AuthRoute{"play.example.com": {Mode: "on"}}
		}, `auth.routes.play.example.com.mode = "on": must be passthrough or online`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DefaultEdge()
			tt.modify(&e.Auth)
			err := e.Validate()
			var fe *FieldError
			if err == nil || !errors.As(err, &fe) || err.Error() != tt.want {
				t.Fatalf("Validate() =\n  %v\nwant\n  %s", err, tt.want)
			}
		})
	}
}

func TestValidateAuthAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(a *Auth)
	}{
		// A passthrough route never forwards: no secret needed.
		{"passthrough with velocity and no secret", func(a *Auth) {}},
		{"online velocity with the variable", func(a *Auth) { a.Mode, a.ForwardingSecret = AuthOnline, testSecret }},
		{"online velocity with a file", func(a *Auth) { a.Mode, a.ForwardingSecretFile = AuthOnline, "/run/secret" }},
		{"online without forwarding", func(a *Auth) { a.Mode, a.Forwarding = AuthOnline, ForwardNone }},
		{"online bungeecord", func(a *Auth) { a.Mode, a.Forwarding = AuthOnline, ForwardBungeeCord }},
		{"a route's own secret file", func(a *Auth) {
			a.Routes = map[string]AuthRoute{"play.example.com": {Mode: AuthOnline, ForwardingSecretFile: "/run/play"}}
		}},
		{"a local session server", func(a *Auth) { a.SessionServer = "http://127.0.0.1:8080/prefix" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DefaultEdge()
			tt.modify(&e.Auth)
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

// TestAuthRouteInherits: a route's empty fields are the default's; a
// route's own secret file replaces the default's inline secret.
func TestAuthRouteInherits(t *testing.T) {
	f := false
	a := Auth{Mode: AuthOnline, Forwarding: ForwardVelocity, ForwardingSecret: testSecret, PreventProxyConnections: true}
	if p := a.Route(AuthRoute{}); p != a.Default() || !p.Inline {
		t.Fatalf("empty route = %+v; want the default %+v", p, a.Default())
	}
	p := a.Route(AuthRoute{Forwarding: ForwardBungeeGuard, ForwardingSecretFile: "/run/bg", PreventProxyConnections: &f})
	want := AuthPolicy{Mode: AuthOnline, Forwarding: ForwardBungeeGuard, SecretFile: "/run/bg"}
	if p != want {
		t.Fatalf("route = %+v; want %+v", p, want)
	}
}

// TestAuthWarnings: online routes without authenticated forwarding are
// valid, and said to be risky.
func TestAuthWarnings(t *testing.T) {
	e := DefaultEdge()
	if w := e.Warnings(); len(w) != 0 {
		t.Fatalf("defaults warn: %v", w)
	}
	e.Auth.Mode, e.Auth.Forwarding = AuthOnline, ForwardNone
	e.Auth.Routes = map[string]AuthRoute{"a.example.com": {Forwarding: ForwardBungeeCord}, "b.example.com": {Mode: AuthPassthrough}}
	w := e.Warnings()
	if len(w) != 2 || w[0].Field != "auth.forwarding" || w[1].Field != "auth.routes.a.example.com.forwarding" {
		t.Fatalf("warnings = %v", w)
	}
	if !strings.Contains(w[0].Reason, "offline mode") {
		t.Fatalf("warning reason %q", w[0].Reason)
	}
}

// TestForwardingSecretNeverLogged: the secret from the variable is masked
// wherever the configuration is printed.
func TestForwardingSecretNeverLogged(t *testing.T) {
	e, _, err := LoadEdge(envMap(map[string]string{"RUSTGUARD_AUTH_MODE": "online", "RUSTGUARD_FORWARDING_SECRET": testSecret,
		"RUSTGUARD_SESSION_SERVER": "http://127.0.0.1:1", "RUSTGUARD_FORWARDING": "bungeeguard"}))
	if err != nil {
		t.Fatal(err)
	}
	if e.Auth.ForwardingSecret != testSecret || e.Auth.Mode != AuthOnline || e.Auth.Forwarding != ForwardBungeeGuard ||
		e.Auth.SessionServer != "http://127.0.0.1:1" {
		t.Fatalf("the variables did not apply: %+v", e.Auth)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", e)
	if strings.Contains(buf.String(), testSecret) || !strings.Contains(buf.String(), "forwarding_secret=REDACTED") {
		t.Fatalf("the log shows the secret or does not mask it:\n%s", buf.String())
	}
}
