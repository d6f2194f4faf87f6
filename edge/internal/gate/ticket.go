package gate

import (
	"net/netip"
	"sync"
)

// maxLiveHosts caps the table of hosts with connections in login or play.
// Every entry belongs to at least one open connection holding a Ticket, so
// the listener's max_connections (default 1000) and the process's file
// descriptor limit keep it far smaller; this is the backstop for when both
// are set huge. 262,144 is half of systemd's default hard limit on open
// files (524,288): more hosts than the process could ever hold sockets for.
// About 60 bytes an entry: 16 MB full.
const maxLiveHosts = 1 << 18

// slotCount is one host's live connections.
type slotCount struct {
	inFlight int // logins not yet finished
	players  int // connections in login or play (in-flight ones included)
}

// slots counts logins in flight and players per host.
type slots struct {
	mu          sync.Mutex
	maxInFlight int // 0: no cap; guarded by mu
	maxPlayers  int // 0: no cap; guarded by mu
	hosts       map[netip.Prefix]slotCount
}

// setCaps changes the caps. Counts are kept: an address over a lowered cap
// keeps its players and is refused new ones until it is under again.
func (s *slots) setCaps(c Config) {
	s.mu.Lock()
	s.maxInFlight, s.maxPlayers = c.MaxLoginsInFlight, c.MaxAccountsPerAddr
	s.mu.Unlock()
}

// playersCap is the players-per-address cap, for the refusal message.
func (s *slots) playersCap() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxPlayers
}

func newSlots(c Config) *slots {
	return &slots{maxInFlight: c.MaxLoginsInFlight, maxPlayers: c.MaxAccountsPerAddr,
		hosts: make(map[netip.Prefix]slotCount)}
}

// acquire takes a login-in-flight slot and a player slot for host.
func (s *slots) acquire(host netip.Prefix) (*Ticket, Reason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.hosts[host]
	switch {
	case !ok && len(s.hosts) >= maxLiveHosts:
		return nil, GateFull
	case s.maxInFlight > 0 && c.inFlight >= s.maxInFlight:
		return nil, LoginInFlight
	case s.maxPlayers > 0 && c.players >= s.maxPlayers:
		return nil, TooManyAccounts
	}
	c.inFlight++
	c.players++
	s.hosts[host] = c
	return &Ticket{s: s, host: host, inFlight: true, held: true}, None
}

// Ticket holds a login's per-host slots: one login in flight until
// LoggedIn, one player until Release. Its methods are safe to call more
// than once, concurrently, and on a nil Ticket (a refused login has none),
// so callers can defer Release unconditionally.
type Ticket struct {
	s    *slots
	host netip.Prefix
	// Guarded by s.mu.
	inFlight bool
	held     bool
}

// LoggedIn ends the login: the host may start another one. Call it when the
// player reaches play (or configuration), i.e. Login Success went through.
func (t *Ticket) LoggedIn() {
	if t == nil {
		return
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.inFlight {
		return
	}
	t.inFlight = false
	c := t.s.hosts[t.host]
	c.inFlight--
	t.s.hosts[t.host] = c
}

// Release gives back every slot the ticket still holds. Call it when the
// connection ends, however it ends.
func (t *Ticket) Release() {
	if t == nil {
		return
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.held {
		return
	}
	c := t.s.hosts[t.host]
	if t.inFlight {
		c.inFlight--
	}
	c.players--
	t.inFlight, t.held = false, false
	if c.players <= 0 {
		delete(t.s.hosts, t.host)
		return
	}
	t.s.hosts[t.host] = c
}

// live is the number of hosts with live tickets (tests, metrics).
func (s *slots) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hosts)
}
