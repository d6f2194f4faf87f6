// Package sessionserver is a local stand-in for Mojang's session server:
// the one fake that online-mode tests and the load tool may use, since the
// real one cannot be reached (and must never be load-tested). It implements the
// two calls of the API with real state, as clients and servers use them
// (docs/PROTOCOL.md, "The session server"), and Join is the client's call.
//
// Tests start it with testservers.StartSessionServer, which stops it when
// the test ends; the load tool (bench/cmd/rgload) runs it in its own
// process with New and Close.
package sessionserver

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// sessionJoinTTL is how long a join stays valid for hasJoined. Mojang
	// does not document it; clients call hasJoined's counterpart within a
	// second of joining, and 30 s is vanilla's whole login timeout.
	sessionJoinTTL = 30 * time.Second
	// sessionMaxBody caps a join request body (a few hundred bytes).
	sessionMaxBody = 16 << 10
	// signingKeyBits is the size of the key the double signs properties
	// with. Mojang's is 4096 bits; 2048 keeps NewAccount near a
	// millisecond, which matters when the load tool makes thousands.
	signingKeyBits = 2048
	// maxErrorBody bounds how much of a refused join Join quotes.
	maxErrorBody = 1 << 10
)

// Server is the double. Its API, with real state:
//
//   - POST /session/minecraft/join {accessToken, selectedProfile, serverId}
//     (what a client calls before it answers Encryption Request): the token
//     must belong to an account and selectedProfile must be that account's
//     id; the join is recorded with the caller's address. 204, or 403 with
//     Mojang's error JSON.
//   - GET /session/minecraft/hasJoined?username=&serverId=[&ip=] (what a
//     server calls): 200 with the profile when that account joined with
//     that server id within the last 30 s (and from that ip, when given),
//     otherwise 204.
//
// Accounts are made by the caller (NewAccount); each gets a random UUID, an
// access token and a textures property signed with the server's own key, so
// signatures travel like Mojang's. Down and Delay simulate an outage and a
// slow server.
type Server struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu       sync.Mutex
	accounts map[string]*Account    // by access token
	joins    map[string]sessionJoin // by lower-cased name

	closeOnce sync.Once
	down      atomic.Bool
	delay     atomic.Int64 // time.Duration before each hasJoined answer
	joined    atomic.Int64
	stop      chan struct{}

	callsMu   sync.Mutex
	hasJoined int
	called    chan struct{} // closed and replaced on every hasJoined
}

// Account is an account of the double.
type Account struct {
	Name        string
	ID          [16]byte
	AccessToken string
	Properties  []Property
}

// Property is a profile property as the session server sends it.
type Property struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Signature string `json:"signature,omitempty"`
}

// IDHex is the account's UUID without dashes, as the API writes it.
func (a *Account) IDHex() string { return hex.EncodeToString(a.ID[:]) }

type sessionJoin struct {
	account  *Account
	serverID string
	ip       string
	at       time.Time
}

// New serves the double on a free 127.0.0.1 port until Close.
func New() (*Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return nil, fmt.Errorf("session server key: %w", err)
	}
	s := &Server{key: key, accounts: make(map[string]*Account), joins: make(map[string]sessionJoin),
		stop: make(chan struct{}), called: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session/minecraft/join", s.handleJoin)
	mux.HandleFunc("GET /session/minecraft/hasJoined", s.handleHasJoined)
	s.srv = httptest.NewServer(mux)
	return s, nil
}

// Close stops serving. Delayed answers end first, so Close does not wait
// for them. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.srv.Close()
	})
}

// URL is the base URL (auth.session_server, minecraft-protocol's
// sessionServer option).
func (s *Server) URL() string { return s.srv.URL }

// PublicKey verifies the signatures of the properties the double hands out.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// NewAccount creates an account named name with a fresh UUID, access
// token and a signed textures property. Signing costs about a millisecond
// (an RSA private-key operation).
func (s *Server) NewAccount(name string) (*Account, error) {
	a := &Account{Name: name}
	var tok [16]byte
	if _, err := rand.Read(a.ID[:]); err != nil {
		return nil, fmt.Errorf("account id: %w", err)
	}
	a.ID[6] = a.ID[6]&0x0f | 0x40 // version 4, as Mojang's ids are
	a.ID[8] = a.ID[8]&0x3f | 0x80
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("access token: %w", err)
	}
	a.AccessToken = hex.EncodeToString(tok[:])
	textures, err := json.Marshal(map[string]any{
		"timestamp": time.Now().UnixMilli(), "profileId": a.IDHex(), "profileName": name,
		"textures": map[string]any{"SKIN": map[string]string{"url": "http://textures.invalid/" + a.IDHex()}},
	})
	if err != nil {
		return nil, fmt.Errorf("textures: %w", err)
	}
	value := base64.StdEncoding.EncodeToString(textures)
	// Mojang signs property values with SHA1withRSA.
	sum := sha1.Sum([]byte(value))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, sum[:])
	if err != nil {
		return nil, fmt.Errorf("sign textures: %w", err)
	}
	a.Properties = []Property{{Name: "textures", Value: value, Signature: base64.StdEncoding.EncodeToString(sig)}}
	s.mu.Lock()
	s.accounts[a.AccessToken] = a
	s.mu.Unlock()
	return a, nil
}

// Down makes every request fail with 503 (true) or answer again (false).
func (s *Server) Down(down bool) { s.down.Store(down) }

// Delay holds every hasJoined answer back by d.
func (s *Server) Delay(d time.Duration) { s.delay.Store(int64(d)) }

// HasJoinedCalls is how many hasJoined requests arrived.
func (s *Server) HasJoinedCalls() int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return s.hasJoined
}

// WaitForHasJoined waits until at least n hasJoined requests arrived, or
// fails after timeout.
func (s *Server) WaitForHasJoined(n int, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.callsMu.Lock()
		got, ch := s.hasJoined, s.called
		s.callsMu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("session server: %d hasJoined requests after %s, want %d", got, timeout, n)
		}
	}
}

// JoinCalls is how many joins were accepted.
func (s *Server) JoinCalls() int { return int(s.joined.Load()) }

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var req struct {
		AccessToken     string `json:"accessToken"`
		SelectedProfile string `json:"selectedProfile"`
		ServerID        string `json:"serverId"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, sessionMaxBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		sessionError(w, http.StatusBadRequest, "IllegalArgumentException", "malformed join request")
		return
	}
	s.mu.Lock()
	a := s.accounts[req.AccessToken]
	s.mu.Unlock()
	if a == nil {
		sessionError(w, http.StatusForbidden, "ForbiddenOperationException", "Invalid token")
		return
	}
	if strings.ReplaceAll(req.SelectedProfile, "-", "") != a.IDHex() {
		sessionError(w, http.StatusForbidden, "ForbiddenOperationException", "Invalid profile")
		return
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.mu.Lock()
	s.joins[strings.ToLower(a.Name)] = sessionJoin{account: a, serverID: req.ServerID, ip: ip, at: time.Now()}
	s.mu.Unlock()
	s.joined.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleHasJoined(w http.ResponseWriter, r *http.Request) {
	s.callsMu.Lock()
	s.hasJoined++
	close(s.called)
	s.called = make(chan struct{})
	s.callsMu.Unlock()
	if d := time.Duration(s.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
	}
	if s.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	j, ok := s.joins[strings.ToLower(q.Get("username"))]
	s.mu.Unlock()
	if !ok || j.serverID != q.Get("serverId") || time.Since(j.at) > sessionJoinTTL ||
		q.Has("ip") && q.Get("ip") != j.ip {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": j.account.IDHex(), "name": j.account.Name, "properties": j.account.Properties})
}

func sessionError(w http.ResponseWriter, status int, kind, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"errorMessage":%q}`, kind, msg)
}

// Join is the client's call: it tells the session server at baseURL that
// account a joins the server whose id hash is serverID (mcproto.ServerIDHash),
// as a client does before it answers Encryption Request. Anything but 204
// is an error quoting the answer.
func Join(ctx context.Context, c *http.Client, baseURL string, a *Account, serverID string) error {
	body, err := json.Marshal(map[string]string{"accessToken": a.AccessToken, "selectedProfile": a.IDHex(), "serverId": serverID})
	if err != nil {
		return fmt.Errorf("join request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/session/minecraft/join", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("join request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("join %s: %w", a.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return fmt.Errorf("join %s: HTTP %d %s", a.Name, resp.StatusCode, msg)
	}
	// Drain (nothing, for a 204) so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}
