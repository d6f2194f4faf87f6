package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/conn"
	"github.com/rustguard/rustguard/edge/internal/forwarding"
	"github.com/rustguard/rustguard/shared/config"
)

// maxSecretFile bounds reading a forwarding secret file: a secret is at
// most 1 KiB (config.CheckForwardingSecret), and a wrong path (a log, a
// device) must not be read whole.
const maxSecretFile = 4 << 10

// onlineMode is what the connections need to authenticate players on the
// online-mode routes: the routes themselves, the edge's key and the session
// server client. Key and Authenticator are nil when every route is
// passthrough.
type onlineMode struct {
	Route         func(host string) conn.AuthRoute
	Key           *auth.Key
	Authenticator *auth.Authenticator
}

// newOnlineMode reads the auth section: each route's policy and secret
// (files are read now, once: a secret that cannot be read stops the start),
// and for online routes the key and the session server client.
func newOnlineMode(c config.Auth, reg prometheus.Registerer, log *slog.Logger) (onlineMode, error) {
	var om onlineMode
	def, err := authRoute(c, c.Default(), "auth")
	if err != nil {
		return om, err
	}
	online := def.Online
	routes := make(map[string]conn.AuthRoute, len(c.Routes))
	for host, r := range c.Routes {
		ar, err := authRoute(c, c.Route(r), "auth.routes."+host)
		if err != nil {
			return om, err
		}
		routes[host] = ar
		online = online || ar.Online
	}
	om.Route = func(host string) conn.AuthRoute {
		if r, ok := routes[host]; ok {
			return r
		}
		return def
	}
	if !online {
		return om, nil
	}
	if c.KeyFile != "" {
		om.Key, err = auth.LoadKey(c.KeyFile)
	} else {
		om.Key, err = auth.GenerateKey()
	}
	if err != nil {
		return om, fmt.Errorf("auth.key_file: %w", err)
	}
	om.Authenticator, err = auth.New(auth.Options{SessionServer: c.SessionServer, RememberTTL: c.RememberTTL.D(),
		Registerer: reg, Log: log})
	if err != nil {
		return om, fmt.Errorf("auth.session_server: %w", err)
	}
	return om, nil
}

// authRoute turns one route's policy into what conn uses, reading its
// secret. field names the route in errors; the secret itself never appears
// in one.
func authRoute(c config.Auth, p config.AuthPolicy, field string) (conn.AuthRoute, error) {
	r := conn.AuthRoute{Online: p.Online(), SendIP: p.PreventProxyConnections}
	if !r.Online {
		return r, nil // passthrough forwards nothing
	}
	mode, err := forwarding.ParseMode(p.Forwarding)
	if err != nil {
		return r, fmt.Errorf("%s.forwarding: %w", field, err)
	}
	r.Forwarding = mode
	if !p.NeedsSecret() {
		return r, nil
	}
	switch {
	case p.Inline:
		r.Secret = []byte(c.ForwardingSecret)
	case p.SecretFile != "":
		b, err := readSecret(p.SecretFile)
		if err != nil {
			return r, fmt.Errorf("%s.forwarding_secret_file %s: %w", field, p.SecretFile, err)
		}
		r.Secret = b
	}
	if err := config.CheckForwardingSecret(r.Secret); err != nil {
		return r, fmt.Errorf("%s: %w", field, err)
	}
	return r, nil
}

// readSecret reads a secret file: its content without the trailing line
// break an editor or `echo` adds.
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("larger than %d bytes", maxSecretFile)
	}
	return bytes.TrimRight(b, "\r\n"), nil
}
