// Package accounts is the session server of the load tool's online-mode
// target: the repository's session-server double
// (shared/testservers/sessionserver) running in rgload's process, with one
// account per player name, made the first time the name logs in. It is the
// players' Joiner (bench/internal/player): Join makes the client's join
// call for the named account over a pooled HTTP client, so that a login
// costs one request and no new connection.
//
// Mojang's session server is never used: it cannot be load-tested, and a
// benchmark must not depend on the internet.
package accounts

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/rustguard/rustguard/shared/testservers/sessionserver"
)

// maxIdleConns is how many keep-alive connections the join client keeps
// to the double: above the most logins any workload has in flight (the
// idle workload's 64), so joins do not open a connection each.
const maxIdleConns = 256

// Server is the running double and its accounts.
type Server struct {
	ss     *sessionserver.Server
	client *http.Client

	mu       sync.Mutex
	accounts map[string]*sessionserver.Account // by name as the player sends it
}

// Start runs the double on a free 127.0.0.1 port until Close.
func Start() (*Server, error) {
	ss, err := sessionserver.New()
	if err != nil {
		return nil, fmt.Errorf("session server double: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = maxIdleConns, maxIdleConns
	return &Server{ss: ss, client: &http.Client{Transport: tr}, accounts: make(map[string]*sessionserver.Account)}, nil
}

// URL is the base URL the edge is given (RUSTGUARD_SESSION_SERVER).
func (s *Server) URL() string { return s.ss.URL() }

// Join joins the account called name (made now if it is new) to the server
// whose id hash is serverID.
func (s *Server) Join(ctx context.Context, name, serverID string) error {
	a, err := s.account(name)
	if err != nil {
		return err
	}
	return sessionserver.Join(ctx, s.client, s.ss.URL(), a, serverID)
}

// Accounts is how many accounts exist.
func (s *Server) Accounts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accounts)
}

// Joins is how many joins the double accepted; HasJoined how many
// hasJoined requests (the edge's) it received.
func (s *Server) Joins() int     { return s.ss.JoinCalls() }
func (s *Server) HasJoined() int { return s.ss.HasJoinedCalls() }

// account returns name's account, making it on first use. Making one signs
// its textures (about a millisecond); the lock is held meanwhile, so a
// name is never given two accounts.
func (s *Server) account(name string) (*sessionserver.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[name]; ok {
		return a, nil
	}
	a, err := s.ss.NewAccount(name)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", name, err)
	}
	s.accounts[name] = a
	return a, nil
}

// Close stops the double and the client's idle connections.
func (s *Server) Close() {
	s.client.CloseIdleConnections()
	s.ss.Close()
}
