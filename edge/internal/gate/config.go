package gate

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Attack-mode switch values (gate.attack_mode, RUSTGUARD_ATTACK_MODE).
const (
	AttackModeAuto = "auto" // on when joins/s cross the threshold, off after the quiet period
	AttackModeOn   = "on"   // forced on: everyone not yet verified verifies
	AttackModeOff  = "off"  // forced off: nobody verifies unless VerifyAlways
)

// DefaultNamePattern is Sonar's valid-name-regex with vanilla's 16-character
// limit on usernames (docs/DETECTIONS.md admit.name; docs/PROTOCOL.md, Login).
const DefaultNamePattern = `^[a-zA-Z0-9_]{1,16}$`

// Rate is a token bucket: PerSecond tokens refill each second up to Burst,
// one token per connection or login. PerSecond 0 switches the bucket off.
type Rate struct {
	PerSecond float64
	Burst     int
}

func (r Rate) enabled() bool { return r.PerSecond > 0 }

// Config holds every layer-1 limit. Defaults returns the recommended values;
// the comments there say where each number comes from.
type Config struct {
	// Connections at accept, per address (IPv4 address, IPv6 /64) and per
	// prefix (IPv4 /24, IPv6 /48): package netscope. Status pings count:
	// each opens a connection.
	ConnAddr, ConnPrefix Rate
	// Logins (Login Start), per address and per prefix, checked before any
	// session-server call so one edge stays inside its Mojang budget.
	LoginAddr, LoginPrefix Rate

	// NamePattern must match the whole username; it has to be anchored
	// (^…$) so an operator's pattern cannot accidentally match a part.
	NamePattern string
	// AllowedHosts lists the domains players may connect through: exact
	// names, or "*.example.com" for any subdomain. Empty allows any host.
	AllowedHosts []string
	// AllowedProtocols lists the protocol numbers admitted; empty means
	// every protocol the packet tables support. DeniedProtocols removes
	// protocols from that set.
	AllowedProtocols []int32
	DeniedProtocols  []int32

	// MaxLoginsInFlight caps logins in progress per address (0: no cap).
	MaxLoginsInFlight int
	// MaxAccountsPerAddr caps connections in login or play per address,
	// i.e. concurrent players (0: no cap).
	MaxAccountsPerAddr int

	// AttackMode is AttackModeAuto, AttackModeOn or AttackModeOff.
	AttackMode string
	// AttackJoinsPerSecond turns attack mode on when this edge's joins per
	// second reach it; AttackFleetJoinsPerSecond does the same for the
	// fleet-wide rate from an AttackSignal (0: ignore the fleet).
	AttackJoinsPerSecond      float64
	AttackFleetJoinsPerSecond float64
	// AttackQuiet is how long the rate must stay below the thresholds
	// before attack mode turns itself off.
	AttackQuiet time.Duration

	// VerifyAlways sends every player not verified recently through the
	// limbo, attack or not.
	VerifyAlways bool
	// VerifiedTTL is how long a passed verification (name + address) lets
	// the player straight through.
	VerifiedTTL time.Duration
	// VerifyMaxFailures failures within VerifyBlock block the address for
	// VerifyBlock.
	VerifyMaxFailures int
	VerifyBlock       time.Duration
}

// Defaults returns the recommended configuration.
func Defaults() Config {
	return Config{
		// gate's addrquota numbers (5/s, burst 10), applied per address.
		ConnAddr: Rate{PerSecond: 5, Burst: 10},
		// Infrared's 10/s and twice the address burst: a /24 holds many
		// hosts (CGNAT, campuses), so two busy ones still get through.
		ConnPrefix: Rate{PerSecond: 10, Burst: 20},
		// Velocity's one login per address per 3 s, with gate's burst of 3
		// for a reconnect after a client crash.
		LoginAddr: Rate{PerSecond: 1.0 / 3, Burst: 3},
		// A shared /24 gets three addresses' worth of logins per second
		// and a burst for a LAN party reconnecting at once; gate's own
		// 0.4/s per prefix is too tight for CGNAT.
		LoginPrefix: Rate{PerSecond: 1, Burst: 6},

		NamePattern: DefaultNamePattern,

		// One login in flight per address (Sonar: one verification in
		// flight per IP); three players per address (Sonar, EpicGuard
		// max-online-per-ip).
		MaxLoginsInFlight:  1,
		MaxAccountsPerAddr: 3,

		// Sonar AttackTracker: ≥ 8 joins/s, lasts ≥ 30 s.
		AttackMode:           AttackModeAuto,
		AttackJoinsPerSecond: 8,
		// Four edges' worth of the local threshold: a wave spread thin
		// over the fleet stays under 8/s on each edge but crosses this,
		// while a small fleet's honest joins stay below. Tune to fleet size.
		AttackFleetJoinsPerSecond: 32,
		AttackQuiet:               30 * time.Second,

		// Sonar keeps passed verifications for 5 days. A day is enough for
		// a regular player to verify at most once a day (and only during
		// attacks), while residential addresses that change daily do not
		// fill the table with dead entries, and a bot that once got a
		// pass (a human-solved CAPTCHA sold on) rides on it for a day at
		// most. Infrared's session validator also keeps 24 h.
		VerifiedTTL: 24 * time.Hour,
		// Sonar blacklist-threshold 2, blacklist-time 600,000 ms.
		VerifyMaxFailures: 2,
		VerifyBlock:       10 * time.Minute,
	}
}

// ErrInvalidConfig marks a configuration Validate rejects.
var ErrInvalidConfig = errors.New("invalid gate config")

// FieldError names the configuration field at fault and why.
type FieldError struct {
	Field  string // the YAML key under gate., e.g. "conn_addr.burst"
	Reason string
}

func (e *FieldError) Error() string { return "gate." + e.Field + ": " + e.Reason }

// Unwrap lets callers test for ErrInvalidConfig.
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// Validate reports every invalid field, joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	for _, r := range []struct {
		field string
		rate  Rate
	}{{"conn_addr", c.ConnAddr}, {"conn_prefix", c.ConnPrefix}, {"login_addr", c.LoginAddr}, {"login_prefix", c.LoginPrefix}} {
		switch {
		case math.IsNaN(r.rate.PerSecond) || math.IsInf(r.rate.PerSecond, 0) || r.rate.PerSecond < 0:
			bad(r.field+".rate", "must be a finite number ≥ 0 (0 switches the limit off), got %v", r.rate.PerSecond)
		case r.rate.enabled() && r.rate.Burst < 1:
			bad(r.field+".burst", "must be ≥ 1 when the rate is on, got %d", r.rate.Burst)
		}
	}
	if _, err := compileName(c.NamePattern); err != nil {
		bad("name_pattern", "%v", err)
	}
	for i, h := range c.AllowedHosts {
		if _, err := normalizeAllowedHost(h); err != nil {
			bad(fmt.Sprintf("allowed_hosts[%d]", i), "%v", err)
		}
	}
	for i, p := range c.AllowedProtocols {
		if packets.Lookup(p) == nil {
			bad(fmt.Sprintf("allowed_protocols[%d]", i), "protocol %d is not supported (supported: %d to %d)", p, packets.MinProtocol, packets.MaxProtocol)
		}
	}
	if _, err := protocolSet(c.AllowedProtocols, c.DeniedProtocols); err != nil {
		bad("denied_protocols", "%v", err)
	}
	if c.MaxLoginsInFlight < 0 {
		bad("max_logins_in_flight", "must be ≥ 0 (0: no cap), got %d", c.MaxLoginsInFlight)
	}
	if c.MaxAccountsPerAddr < 0 {
		bad("max_accounts_per_addr", "must be ≥ 0 (0: no cap), got %d", c.MaxAccountsPerAddr)
	}
	switch c.AttackMode {
	case AttackModeAuto, AttackModeOn, AttackModeOff:
	default:
		bad("attack_mode", "must be %q, %q or %q, got %q", AttackModeAuto, AttackModeOn, AttackModeOff, c.AttackMode)
	}
	if !(c.AttackJoinsPerSecond > 0) || math.IsInf(c.AttackJoinsPerSecond, 0) {
		bad("attack_joins_per_second", "must be a finite number > 0, got %v", c.AttackJoinsPerSecond)
	}
	if !(c.AttackFleetJoinsPerSecond >= 0) || math.IsInf(c.AttackFleetJoinsPerSecond, 0) {
		bad("attack_fleet_joins_per_second", "must be a finite number ≥ 0 (0: ignore the fleet), got %v", c.AttackFleetJoinsPerSecond)
	}
	if c.AttackQuiet < time.Second {
		bad("attack_quiet", "must be at least 1s (the join counter's resolution), got %v", c.AttackQuiet)
	}
	if c.VerifiedTTL <= 0 {
		bad("verified_ttl", "must be > 0, got %v", c.VerifiedTTL)
	}
	if c.VerifyMaxFailures < 1 {
		bad("verify_max_failures", "must be ≥ 1, got %d", c.VerifyMaxFailures)
	}
	if c.VerifyBlock <= 0 {
		bad("verify_block", "must be > 0, got %v", c.VerifyBlock)
	}
	return errors.Join(errs...)
}

// compileName compiles a name pattern that must be anchored at both ends.
func compileName(p string) (*regexp.Regexp, error) {
	if !strings.HasPrefix(p, "^") || !strings.HasSuffix(p, "$") {
		return nil, fmt.Errorf("pattern %q must start with ^ and end with $ so it judges the whole name", p)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	return re, nil
}

// protocolSet expands the allow and deny lists into a table indexed by
// protocol − MinProtocol.
func protocolSet(allowed, denied []int32) ([]bool, error) {
	set := make([]bool, packets.MaxProtocol-packets.MinProtocol+1)
	if len(allowed) == 0 {
		allowed = packets.Protocols()
	}
	for _, p := range allowed {
		if packets.Lookup(p) != nil {
			set[p-packets.MinProtocol] = true
		}
	}
	for _, p := range denied {
		if p >= packets.MinProtocol && p <= packets.MaxProtocol {
			set[p-packets.MinProtocol] = false
		}
	}
	for _, ok := range set {
		if ok {
			return set, nil
		}
	}
	return nil, errors.New("no protocol is left to admit")
}
