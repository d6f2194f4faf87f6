package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Auth configures who authenticates players and how the backend learns
// who they are (docs/CONFIG.md, "Authentication"). The top-level keys are
// the default route, for every handshake host that Routes does not name.
type Auth struct {
	// Mode is AuthPassthrough (the backend authenticates, if anyone
	// does; an encrypted stream is relayed untouched) or AuthOnline (the
	// edge authenticates against the session server and owns the
	// encryption of the client leg).
	Mode string `yaml:"mode" env:"RUSTGUARD_AUTH_MODE"`
	// SessionServer is the base URL of the session server's API.
	SessionServer string `yaml:"session_server" env:"RUSTGUARD_SESSION_SERVER"`
	// PreventProxyConnections sends the player's address with hasJoined,
	// so the session server refuses a login authenticated from another
	// address (a client that logs in through someone else's proxy).
	PreventProxyConnections bool `yaml:"prevent_proxy_connections" env:"RUSTGUARD_AUTH_PREVENT_PROXY_CONNECTIONS"`
	// KeyFile is a PEM RSA private key for Encryption Request; empty: a
	// 1024-bit key generated at start (what vanilla does).
	KeyFile string `yaml:"key_file" env:"RUSTGUARD_AUTH_KEY_FILE" fleet:"local"`
	// Forwarding is how an online-mode route tells the backend who the
	// player is: velocity, bungeecord, bungeeguard or none.
	Forwarding string `yaml:"forwarding" env:"RUSTGUARD_FORWARDING"`
	// ForwardingSecret is Velocity's HMAC key or BungeeGuard's token. A
	// credential: whoever holds it can log in as anyone on the backends.
	ForwardingSecret string `yaml:"forwarding_secret" env:"RUSTGUARD_FORWARDING_SECRET" secret:"true" fleet:"local"`
	// ForwardingSecretFile names a file holding the secret instead.
	ForwardingSecretFile string `yaml:"forwarding_secret_file" env:"RUSTGUARD_FORWARDING_SECRET_FILE" fleet:"local"`
	// RememberTTL is how long a login the session server confirmed is
	// remembered (name and address → profile), so that under attack the
	// same player from the same address is not sent to it again.
	RememberTTL Duration `yaml:"remember_ttl" env:"RUSTGUARD_AUTH_REMEMBER_TTL"`
	// Routes overrides mode, forwarding and its secret per handshake host
	// (lower-cased, without a trailing dot), e.g. a lobby in online mode
	// while a legacy server keeps its own authentication.
	Routes map[string]AuthRoute `yaml:"routes"`
}

// AuthRoute is one host's override; an empty field keeps the default
// route's value. A secret is given per route only as a file, so that no
// secret sits in a map the log would print.
type AuthRoute struct {
	Mode                    string `yaml:"mode"`
	Forwarding              string `yaml:"forwarding"`
	ForwardingSecretFile    string `yaml:"forwarding_secret_file"`
	PreventProxyConnections *bool  `yaml:"prevent_proxy_connections"`
}

// Authentication modes.
const (
	AuthPassthrough = "passthrough"
	AuthOnline      = "online"
)

// Forwarding modes.
const (
	ForwardVelocity    = "velocity"
	ForwardBungeeCord  = "bungeecord"
	ForwardBungeeGuard = "bungeeguard"
	ForwardNone        = "none"
)

// DefaultSessionServer is Mojang's session server.
const DefaultSessionServer = "https://sessionserver.mojang.com"

const (
	// MinForwardingSecretLen: Velocity generates a 12-character secret
	// for a new installation, so networks migrating from it can keep
	// theirs; anything shorter is guessable from one captured HMAC.
	MinForwardingSecretLen = 12
	// maxForwardingSecretLen: an HMAC key longer than SHA-256's block
	// (64 bytes) is hashed first and gains nothing; a BungeeGuard token is
	// a property value a backend reads whole. 1 KiB is far past both.
	maxForwardingSecretLen = 1 << 10
	// maxAuthRoutes: like discovery.routes, a handful in practice.
	maxAuthRoutes = 1024
	// minRememberTTL / maxRememberTTL: a remembered login must outlive a
	// verification and the reconnect after it (seconds), and should not
	// outlive a day: skins change and a shared address changes hands.
	minRememberTTL = 10 * time.Second
	maxRememberTTL = 24 * time.Hour
)

// AuthPolicy is one route's effective settings.
type AuthPolicy struct {
	Mode                    string
	Forwarding              string
	PreventProxyConnections bool
	// SecretFile is where the secret comes from when it is not
	// Auth.ForwardingSecret (the default route's inline secret).
	SecretFile string
	// Inline: the secret is Auth.ForwardingSecret.
	Inline bool
}

// Online reports whether the edge authenticates on this route.
func (p AuthPolicy) Online() bool { return p.Mode == AuthOnline }

// NeedsSecret reports whether the route's forwarding needs a secret.
func (p AuthPolicy) NeedsSecret() bool {
	return p.Online() && (p.Forwarding == ForwardVelocity || p.Forwarding == ForwardBungeeGuard)
}

// Default is the policy of hosts that no route names.
func (a Auth) Default() AuthPolicy {
	return AuthPolicy{Mode: a.Mode, Forwarding: a.Forwarding, PreventProxyConnections: a.PreventProxyConnections,
		SecretFile: a.ForwardingSecretFile, Inline: a.ForwardingSecret != ""}
}

// Route is the policy for a routed host (as written in Routes) with the
// default's values where the route leaves a field empty.
func (a Auth) Route(r AuthRoute) AuthPolicy {
	p := a.Default()
	if r.Mode != "" {
		p.Mode = r.Mode
	}
	if r.Forwarding != "" {
		p.Forwarding = r.Forwarding
	}
	if r.PreventProxyConnections != nil {
		p.PreventProxyConnections = *r.PreventProxyConnections
	}
	if r.ForwardingSecretFile != "" {
		p.SecretFile, p.Inline = r.ForwardingSecretFile, false
	}
	return p
}

// CheckForwardingSecret checks a secret's length, wherever it came from
// (the variable, the file, a secret file read at start). It never repeats
// the secret.
func CheckForwardingSecret(secret []byte) error {
	switch {
	case len(secret) < MinForwardingSecretLen:
		return fmt.Errorf("the forwarding secret has %d bytes; use at least %d random characters", len(secret), MinForwardingSecretLen)
	case len(secret) > maxForwardingSecretLen:
		return fmt.Errorf("the forwarding secret has %d bytes; at most %d", len(secret), maxForwardingSecretLen)
	}
	return nil
}

func checkAuth(p *problems, a Auth) {
	checkAuthMode(p, "auth.mode", a.Mode, false)
	checkForwarding(p, "auth.forwarding", a.Forwarding, false)
	if u, err := url.Parse(a.SessionServer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		p.add("auth.session_server", a.SessionServer, "must be an http:// or https:// base URL without query or credentials (the default is "+DefaultSessionServer+")")
	}
	checkDuration(p, "auth.remember_ttl", a.RememberTTL, minRememberTTL, maxRememberTTL)
	if a.ForwardingSecret != "" {
		if a.ForwardingSecretFile != "" {
			p.add("auth.forwarding_secret_file", a.ForwardingSecretFile, "set either auth.forwarding_secret (RUSTGUARD_FORWARDING_SECRET) or this file, not both")
		}
		if err := CheckForwardingSecret([]byte(a.ForwardingSecret)); err != nil {
			p.add("auth.forwarding_secret", redactedMark, err.Error())
		}
	}
	if len(a.Routes) > maxAuthRoutes {
		p.add("auth.routes", fmt.Sprintf("%d entries", len(a.Routes)), fmt.Sprintf("at most %d entries", maxAuthRoutes))
		return
	}
	checkAuthPolicy(p, "auth", a.Default())
	hosts := make([]string, 0, len(a.Routes))
	for h := range a.Routes {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts) // problems in a stable order
	for _, h := range hosts {
		r := a.Routes[h]
		field := "auth.routes." + h
		if h == "" || h != strings.ToLower(strings.TrimRight(h, ".")) || strings.ContainsAny(h, " \x00/:") {
			p.add(field, h, "a route is a handshake host: lower case, without a trailing dot, port or path")
			continue
		}
		checkAuthMode(p, field+".mode", r.Mode, true)
		checkForwarding(p, field+".forwarding", r.Forwarding, true)
		checkAuthPolicy(p, field, a.Route(r))
	}
}

// checkAuthPolicy checks what one route needs as a whole.
func checkAuthPolicy(p *problems, field string, pol AuthPolicy) {
	if !pol.NeedsSecret() || pol.SecretFile != "" || pol.Inline {
		return
	}
	what := "auth.forwarding_secret (RUSTGUARD_FORWARDING_SECRET) or auth.forwarding_secret_file"
	if field != "auth" {
		what += ", or " + field + ".forwarding_secret_file"
	}
	p.add(field+".forwarding", pol.Forwarding, "online mode with "+pol.Forwarding+" forwarding needs a secret: set "+what)
}

func checkAuthMode(p *problems, field, v string, empty bool) {
	switch v {
	case AuthPassthrough, AuthOnline:
	case "":
		if !empty {
			p.add(field, v, "must be passthrough or online")
		}
	default:
		p.add(field, v, "must be passthrough or online")
	}
}

func checkForwarding(p *problems, field, v string, empty bool) {
	switch v {
	case ForwardVelocity, ForwardBungeeCord, ForwardBungeeGuard, ForwardNone:
	case "":
		if !empty {
			p.add(field, v, "must be velocity, bungeecord, bungeeguard or none")
		}
	default:
		p.add(field, v, "must be velocity, bungeecord, bungeeguard or none")
	}
}

// Warnings are settings that are valid but deserve an operator's second
// look; the edge logs them at start and `config check` prints them.
func (e Edge) Warnings() []*FieldError {
	var out []*FieldError
	warn := func(field string, pol AuthPolicy) {
		if !pol.Online() {
			return
		}
		switch pol.Forwarding {
		case ForwardNone:
			out = append(out, &FieldError{Field: field + ".forwarding", Value: ForwardNone,
				Reason: "online mode without forwarding: the backend learns the player's address (with proxy.send_proxy_protocol) but not the account; it must run in offline mode and trust whatever name it is given, so it must be reachable from the edges only"})
		case ForwardBungeeCord:
			out = append(out, &FieldError{Field: field + ".forwarding", Value: ForwardBungeeCord,
				Reason: "BungeeCord forwarding is not authenticated: anyone who reaches a backend can claim any player; firewall the backends or use velocity or bungeeguard"})
		}
	}
	a := e.Auth
	warn("auth", a.Default())
	hosts := make([]string, 0, len(a.Routes))
	for h := range a.Routes {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		warn("auth.routes."+h, a.Route(a.Routes[h]))
	}
	return out
}
