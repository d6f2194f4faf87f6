package gate

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/netscope"
)

// Deps are the gate's collaborators. Every field is optional.
type Deps struct {
	// Conns limits connections at accept. Nil: built-in token buckets
	// from Config.ConnAddr and Config.ConnPrefix.
	Conns Limiter
	// Logins limits logins locally. Nil: built-in token buckets from
	// Config.LoginAddr and Config.LoginPrefix.
	Logins Limiter
	// Fleet limits logins fleet-wide, after every local rule. Nil: none.
	Fleet FleetLimiter
	// Bans is the ban list. Nil: nobody is banned.
	Bans BanChecker
	// AddrBans checks the address alone at accept, so a banned address
	// or range cannot ping or hold a slot. Nil: bans apply at login only.
	AddrBans AddrBanChecker
	// Attack reports the fleet's join rate. Nil: local joins only.
	Attack AttackSignal
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Metrics receives the gate's instruments. Nil: not registered.
	Metrics prometheus.Registerer
	// Log receives operator events (attack mode, fleet limiter health).
	// Nil: slog.Default().
	Log *slog.Logger
}

// LoginRequest is what the gate needs to know about a login.
type LoginRequest struct {
	Addr     netip.Addr   // the player's address (after a trusted PROXY header)
	Name     string       // username from Login Start
	UUID     mcproto.UUID // from Login Start; zero when the client sent none
	Host     string       // routing host: packets.ParseHost(handshake host).Host
	Protocol int32        // handshake protocol version
	// Authenticated is true when the edge verified that the player owns
	// Name and UUID: the session server confirmed the account (online
	// mode; Identified is then the call). Unauthenticated, the gate never
	// uses the claimed UUID: bans are matched against the offline UUID of
	// Name (Identity).
	Authenticated bool
	// AuthPending marks a login on an online-mode route before the session
	// server has been asked: Name and UUID are claims that authentication
	// will settle, so Login matches address bans only, and Identified the
	// account's once it is proven. No player is refused for a name someone
	// else claimed.
	AuthPending bool
}

// Identity is the UUID the edge may key anything on for this login: the
// claimed UUID when authenticated, otherwise the offline UUID of the name,
// which is what an offline backend calls the player. A claimed UUID costs
// nothing to forge: matching bans against it would let a banned player in
// under another UUID, and let anyone trip bans meant for someone else.
func (r LoginRequest) Identity() mcproto.UUID {
	if r.Authenticated {
		return r.UUID
	}
	return mcproto.OfflineUUID(r.Name)
}

// VerifyKey is who a passed verification is remembered for: the account's
// UUID when authenticated, the name otherwise. The two cannot collide: a
// UUID's 36 characters do not fit a name.
func (r LoginRequest) VerifyKey() string {
	if r.Authenticated {
		return r.UUID.String()
	}
	return r.Name
}

// Gate is the admission gate. It is safe for concurrent use and owns no
// goroutines.
type Gate struct {
	now      func() time.Time
	log      *slog.Logger
	conns    Limiter
	logins   Limiter
	fleet    FleetLimiter
	bans     BanChecker
	addrBans AddrBanChecker
	signal   AttackSignal

	// rules are the stateless login rules, swapped whole by Reconfigure.
	rules atomic.Pointer[rules]

	slots  *slots
	verify *verification
	attack *attackTracker

	fleetFailing atomic.Bool
	m            *metrics
}

// rules are the login rules that keep no state: compiled from a Config,
// read without a lock.
type rules struct {
	verifyAlways bool
	name         *regexp.Regexp
	hosts        hostSet
	protocols    []bool // indexed by protocol − packets.MinProtocol
	protocolMsg  string
}

func compileRules(c Config) (*rules, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	name, err := compileName(c.NamePattern)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	protocols, err := protocolSet(c.AllowedProtocols, c.DeniedProtocols)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	return &rules{verifyAlways: c.VerifyAlways, name: name, hosts: newHostSet(c.AllowedHosts),
		protocols: protocols, protocolMsg: protocolMessage(protocols)}, nil
}

// New builds a gate from a configuration Validate accepts.
func New(c Config, d Deps) (*Gate, error) {
	r, err := compileRules(c)
	if err != nil {
		return nil, err
	}
	g := &Gate{
		now: d.Now, log: d.Log,
		conns: d.Conns, logins: d.Logins, fleet: d.Fleet, bans: d.Bans, addrBans: d.AddrBans, signal: d.Attack,
		slots:  newSlots(c),
		verify: newVerification(c),
		attack: newAttackTracker(c),
	}
	g.rules.Store(r)
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.conns == nil {
		g.conns = newLocalLimiter(c.ConnAddr, c.ConnPrefix)
	}
	if g.logins == nil {
		g.logins = newLocalLimiter(c.LoginAddr, c.LoginPrefix)
	}
	if g.m, err = newMetrics(g, d.Metrics); err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	if c.AttackMode != AttackModeAuto {
		g.log.Info("attack mode forced", "attack_mode", c.AttackMode)
	}
	return g, nil
}

// Reconfigure applies c while the gate runs: rules, limits, attack-mode
// settings and verification take effect with the next decision. What the
// gate counts is kept: token buckets (a lower burst caps them at their next
// refill), logins in flight and players per address (a lower cap refuses
// new logins, never drops a player), passed verifications, blocks and the
// join rate. A configuration Validate refuses changes nothing. Rates of
// limiters passed in Deps are theirs to change.
func (g *Gate) Reconfigure(c Config) error {
	r, err := compileRules(c)
	if err != nil {
		return err
	}
	g.rules.Store(r)
	if l, ok := g.conns.(*localLimiter); ok {
		l.setRates(c.ConnAddr, c.ConnPrefix)
	}
	if l, ok := g.logins.(*localLimiter); ok {
		l.setRates(c.LoginAddr, c.LoginPrefix)
	}
	g.slots.setCaps(c)
	g.verify.setPolicy(c)
	g.attack.setPolicy(c)
	return nil
}

// Accept decides on a freshly accepted connection from addr: address bans,
// then the connection rate of the address and its prefix. A refusal
// carries no message; close the socket. Accept allocates nothing and never
// touches the network.
func (g *Gate) Accept(addr netip.Addr) Decision {
	now := g.now()
	addr = netscope.Normalize(addr)
	d := Decision{Outcome: Allow}
	switch {
	case g.addrBans != nil && g.addrBans.AddrBanned(addr, now):
		// Before the rates: a banned flood must not spend the tokens its
		// prefix's other hosts share.
		d = Decision{Outcome: Refuse, Reason: Banned}
	default:
		if ok, scope, wait := g.conns.Allow(addr, now); !ok {
			d = Decision{Outcome: Refuse, Reason: rateReason(scope), RetryAfter: wait}
		}
	}
	g.m.count(stageAccept, d)
	return d
}

// Login decides on a login once Login Start is decoded, applying every
// layer-1 rule. Unless refused, it returns a Ticket: call LoggedIn when the
// login completes and Release when the connection ends. A Verify decision
// means the player goes to the verification limbo, which reports back
// through Verified or Failed. ctx bounds the fleet limiter call.
func (g *Gate) Login(ctx context.Context, r LoginRequest) (*Ticket, Decision) {
	t, d := g.login(ctx, r)
	g.m.count(stageLogin, d)
	return t, d
}

func (g *Gate) login(ctx context.Context, r LoginRequest) (*Ticket, Decision) {
	now := g.now()
	addr := netscope.Normalize(r.Addr)
	host := hostKey(addr)
	rl := g.rules.Load()

	// Stateless rules first: they cost nothing and need no table.
	switch {
	case !rl.protocolAllowed(r.Protocol):
		return nil, refuse(ProtocolDenied, rl.protocolMsg, 0)
	case !rl.hosts.allows(r.Host):
		return nil, refuse(BadHost, msgBadHost, 0)
	case !rl.name.MatchString(r.Name):
		return nil, refuse(BadName, msgBadName, 0)
	}
	if wait, blocked := g.verify.blocked(host, now); blocked {
		return nil, refuse(BlockedVerification, "Too many failed verifications from your address. Try again in "+formatWait(wait)+".", wait)
	}
	if g.bans != nil {
		name, id := r.Name, r.Identity()
		if r.AuthPending {
			name, id = "", mcproto.UUID{} // claims: Identified matches the account
		}
		if msg, banned := g.bans.Banned(addr, name, id, now); banned {
			if msg == "" {
				msg = msgBanned
			}
			return nil, refuse(Banned, msg, 0)
		}
	}
	if ok, scope, wait := g.logins.Allow(addr, now); !ok {
		return nil, refuse(rateReason(scope), tooFast(wait), wait)
	}
	t, why := g.slots.acquire(host)
	if why != None {
		return nil, refuse(why, slotMessage(why, g.slots), 0)
	}
	if g.fleet != nil {
		if ok, wait := g.askFleet(ctx, addr, r.Name); !ok {
			t.Release()
			return nil, refuse(RateFleet, tooFast(wait), wait)
		}
	}

	// Only logins that passed every per-address rule count as joins: one
	// address hammering the gate is refused above and cannot switch attack
	// mode on for everybody; many addresses joining at once can.
	g.attack.join(now)
	attack := g.attackMode(now)
	if !attack && !rl.verifyAlways {
		return t, Decision{Outcome: Allow}
	}
	if g.verify.verified(host, r.VerifyKey(), now) {
		return t, Decision{Outcome: Allow, Reason: Verified}
	}
	why = AttackMode
	if rl.verifyAlways {
		why = VerifyAlways
	}
	return t, Decision{Outcome: Verify, Reason: why}
}

// Identified applies, once the session server confirmed the account of an
// online-mode login, the rules that need a proven identity: bans of the
// account's UUID and name, and whether that account already passed
// verification from this address (which turns Login's Verify into Allow).
// r is the login with Authenticated set and the account's name and UUID;
// d is what Login decided. The result replaces d.
func (g *Gate) Identified(r LoginRequest, d Decision) Decision {
	out := g.identified(r, d)
	g.m.count(stageIdentified, out)
	return out
}

func (g *Gate) identified(r LoginRequest, d Decision) Decision {
	if !r.Authenticated || !d.Allowed() && d.Outcome != Verify {
		return d
	}
	now := g.now()
	addr := netscope.Normalize(r.Addr)
	if g.bans != nil {
		if msg, banned := g.bans.Banned(addr, r.Name, r.UUID, now); banned {
			if msg == "" {
				msg = msgBanned
			}
			return refuse(Banned, msg, 0)
		}
	}
	if d.Outcome == Verify && g.verify.verified(hostKey(addr), r.VerifyKey(), now) {
		return Decision{Outcome: Allow, Reason: Verified}
	}
	return d
}

// Verified records that the player named by key (LoginRequest.VerifyKey:
// the name, or an authenticated account's UUID) passed the verification
// limbo from addr: the next join of that player from that address (IPv6:
// its /64) within VerifiedTTL is let straight through.
func (g *Gate) Verified(addr netip.Addr, name string) {
	// Clone: the name may point into a larger buffer that the table would
	// otherwise keep alive for a day.
	g.verify.pass(hostKey(addr), strings.Clone(name), g.now())
}

// Failed records a failed verification from addr and reports whether the
// address is now blocked (for VerifyBlock), so the caller can spread the
// block to the fleet.
func (g *Gate) Failed(addr netip.Addr) (blocked bool) {
	_, blocked = g.verify.fail(hostKey(addr), g.now())
	return blocked
}

// AttackMode reports whether attack mode is on now. Reading it also lets an
// idle gate notice that the quiet period is over.
func (g *Gate) AttackMode() bool { return g.attackMode(g.now()) }

func (g *Gate) attackMode(now time.Time) bool {
	fleet := 0.0
	if g.signal != nil {
		fleet = g.signal.FleetJoinsPerSecond()
	}
	on, tr := g.attack.update(now, fleet)
	switch {
	case !tr.changed:
	case tr.on:
		g.log.Warn("attack mode on: new players verify first",
			"joins_per_second", tr.local, "fleet_joins_per_second", tr.fleet,
			"threshold", tr.threshold, "fleet_threshold", tr.fleetLimit)
	default:
		g.log.Info("attack mode off", "lasted", tr.lasted.Round(time.Second).String(),
			"joins_per_second", tr.local, "fleet_joins_per_second", tr.fleet)
	}
	return on
}

// askFleet asks the fleet limiter, failing open: an unreachable Redis costs
// the fleet-wide limit, not the players.
func (g *Gate) askFleet(ctx context.Context, addr netip.Addr, name string) (bool, time.Duration) {
	fctx, cancel := context.WithTimeout(ctx, fleetTimeout)
	defer cancel()
	ok, wait, err := g.fleet.AllowLogin(fctx, addr, name)
	switch {
	case err == nil:
		if g.fleetFailing.CompareAndSwap(true, false) {
			g.log.Info("fleet login limiter recovered")
		}
		return ok, wait
	case ctx.Err() != nil:
		// The caller gave up (the player left): not the limiter's fault.
		return true, 0
	}
	g.m.fleetErrors.Inc()
	if g.fleetFailing.CompareAndSwap(false, true) {
		g.log.Warn("fleet login limiter failing; applying the local login quota only", "err", err)
	}
	return true, 0
}

func (r *rules) protocolAllowed(p int32) bool {
	return p >= packets.MinProtocol && p <= packets.MaxProtocol && r.protocols[p-packets.MinProtocol]
}

// Player messages. Refusals a player can act on say what to do; none of
// them tells an attacker which other rule it would trip.
const (
	msgBadHost        = "Please connect through this server's published address."
	msgBadName        = "Invalid username."
	msgBanned         = "You are banned from this server."
	msgTooFast        = "You are logging in too fast. Please wait a moment and try again."
	msgInFlight       = "A login from your address is already in progress. Please wait a moment and try again."
	msgBusy           = "The server is busy. Please try again shortly."
	msgAccountsPrefix = "Too many players are connected from your address (at most "
)

func refuse(r Reason, msg string, wait time.Duration) Decision {
	return Decision{Outcome: Refuse, Reason: r, Message: msg, RetryAfter: wait}
}

func rateReason(s Scope) Reason {
	if s == ScopePrefix {
		return RatePrefix
	}
	return RateAddr
}

func tooFast(wait time.Duration) string {
	if wait <= 0 {
		return msgTooFast
	}
	return "You are logging in too fast. Try again in " + formatWait(wait) + "."
}

func slotMessage(r Reason, s *slots) string {
	switch r {
	case LoginInFlight:
		return msgInFlight
	case TooManyAccounts:
		return msgAccountsPrefix + strconv.Itoa(s.playersCap()) + ")."
	}
	return msgBusy
}

// formatWait renders a wait for players, rounded up: "3s", "10m".
func formatWait(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64((d+time.Minute-1)/time.Minute), 10) + "m"
}

// protocolMessage tells a refused player which versions to use: the oldest
// release of the lowest admitted protocol to the newest of the highest.
func protocolMessage(set []bool) string {
	lo, hi := int32(-1), int32(-1)
	for i, ok := range set {
		if ok {
			if lo < 0 {
				lo = int32(i) + packets.MinProtocol
			}
			hi = int32(i) + packets.MinProtocol
		}
	}
	oldest := packets.Lookup(lo).Versions()[0]
	newest := packets.VersionName(hi)
	if oldest == newest {
		return "Unsupported Minecraft version. Please join with " + newest + "."
	}
	return "Unsupported Minecraft version. Please join with " + oldest + " to " + newest + "."
}

// hostSet is the allow-list of handshake hosts.
type hostSet struct {
	exact    map[string]struct{}
	suffixes []string // ".example.com" for "*.example.com"
}

func newHostSet(list []string) hostSet {
	h := hostSet{exact: make(map[string]struct{})}
	for _, raw := range list {
		s, err := normalizeAllowedHost(raw)
		if err != nil {
			continue // Validate reported it
		}
		if rest, ok := strings.CutPrefix(s, "*"); ok {
			h.suffixes = append(h.suffixes, rest)
			continue
		}
		h.exact[s] = struct{}{}
	}
	return h
}

// allows reports whether host may be used; an empty list allows any. A
// wildcard matches subdomains only, as in DNS: "*.example.com" does not
// match "example.com".
func (h hostSet) allows(host string) bool {
	if len(h.exact) == 0 && len(h.suffixes) == 0 {
		return true
	}
	host = strings.ToLower(strings.TrimRight(host, "."))
	if _, ok := h.exact[host]; ok {
		return true
	}
	for _, s := range h.suffixes {
		if len(host) > len(s) && strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// normalizeAllowedHost lowercases a configured host and trims trailing dots,
// as packets.ParseHost does for the handshake, so the two compare equal.
func normalizeAllowedHost(raw string) (string, error) {
	h := strings.ToLower(strings.TrimRight(strings.TrimSpace(raw), "."))
	switch {
	case h == "" || h == "*":
		return "", fmt.Errorf("host %q is empty", raw)
	case strings.ContainsAny(h, " \t\x00/"):
		return "", fmt.Errorf("host %q must be a bare host name", raw)
	case strings.Contains(strings.TrimPrefix(h, "*."), "*"):
		return "", fmt.Errorf("host %q: a wildcard is only allowed as a leading \"*.\"", raw)
	}
	return h, nil
}
