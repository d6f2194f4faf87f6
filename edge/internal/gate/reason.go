package gate

import "time"

// Reason says why the gate refused a connection, or why it let one through
// the way it did. It is the log field, the metric label and the key to the
// player's message, so the three never disagree.
type Reason uint8

const (
	None                Reason = iota // allowed with nothing to remark
	RateAddr                          // connection or login rate of the address exceeded
	RatePrefix                        // connection or login rate of the /24 or /48 exceeded
	RateFleet                         // fleet-wide login rate exceeded
	BadName                           // username does not match the name pattern
	BadHost                           // handshake host is not one of the configured domains
	ProtocolDenied                    // protocol not allowed, denied, or unsupported
	LoginInFlight                     // the address already has a login in progress
	TooManyAccounts                   // the address already has the maximum of players
	Banned                            // the ban list matches the address, name or UUID
	BlockedVerification               // the address failed verification too often recently
	GateFull                          // the table of addresses with live connections is full
	AttackMode                        // verify first: attack mode is on
	VerifyAlways                      // verify first: verification is configured for everyone
	Verified                          // allowed: the player passed verification recently
	numReasons
)

var reasonNames = [numReasons]string{
	None:                "none",
	RateAddr:            "rate_addr",
	RatePrefix:          "rate_prefix",
	RateFleet:           "rate_fleet",
	BadName:             "bad_name",
	BadHost:             "bad_host",
	ProtocolDenied:      "protocol_denied",
	LoginInFlight:       "login_in_flight",
	TooManyAccounts:     "too_many_accounts",
	Banned:              "banned",
	BlockedVerification: "blocked_verification",
	GateFull:            "gate_full",
	AttackMode:          "attack_mode",
	VerifyAlways:        "verify_always",
	Verified:            "verified",
}

// String is the stable snake_case name used as log field and metric label.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Outcome is what the caller does with a connection.
type Outcome uint8

const (
	// Refuse is the zero value, so a Decision nobody filled in fails
	// closed.
	Refuse Outcome = iota
	// Allow lets the connection go on to the backend.
	Allow
	// Verify sends the player through the verification limbo first.
	Verify
	numOutcomes
)

var outcomeNames = [numOutcomes]string{Refuse: "refuse", Allow: "allow", Verify: "verify"}

// String is the stable name used as metric label.
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// Decision is the gate's answer for one connection.
type Decision struct {
	Outcome Outcome
	Reason  Reason
	// Message is what the player reads when refused at login. Empty at
	// accept (the socket is closed without a word: there is no protocol
	// state yet to write a Disconnect into) and for Allow and Verify.
	Message string
	// RetryAfter is how long until a rate-limited or blocked peer may try
	// again; zero when unknown or not applicable.
	RetryAfter time.Duration
}

// Allowed reports whether the connection may go on, directly or through
// verification.
func (d Decision) Allowed() bool { return d.Outcome != Refuse }

// stage is where in the data path a decision was taken (metric label).
type stage uint8

const (
	stageAccept stage = iota
	stageLogin
	stageIdentified // online mode: after the session server confirmed the account
	numStages
)

var stageNames = [numStages]string{stageAccept: "accept", stageLogin: "login", stageIdentified: "identified"}
