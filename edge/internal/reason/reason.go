// Package reason names every way the edge refuses or ends a connection. One
// enum serves the log field, the metric label and the player's disconnect
// message, so the three never disagree about why a player was turned away.
package reason

// Reason is why a connection was refused or closed by the edge.
type Reason uint8

const (
	None               Reason = iota
	ServerFull                // max_connections reached; the player is told
	OverCapacity              // far past max_connections: closed without a word
	BackendUnavailable        // no backend answered the dial
	UnsupportedVersion        // the client's protocol is outside 1.8 … newest
	LegacyClient              // pre-1.7 login (first byte 0x02)
	Malformed                 // a frame or packet that does not decode
	FrameTooLarge             // a frame over the cap of its state
	BadIntent                 // handshake intent other than status, login, transfer
	HandshakeTimeout          // handshake or login not finished in time
	IdleTimeout               // no bytes for proxy.timeout
	ProxyHeader               // trusted peer without a valid PROXY header
	ShuttingDown              // the edge is draining (SIGTERM)
	Detection                 // a detection check kicked the player
	UnknownHost               // no backend pool serves the handshake host
	RateLimited               // the gate refused the connection at accept (rates per address or prefix)
	Refused                   // the gate refused the login (rates, name, host, protocol, accounts, ban); the gate's metric says which rule
	Banned                    // a banned address refused at accept, or a ban issued while the player was online
	VerificationFailed        // the player failed the verification limbo
	AuthFailed                // online mode: the session server did not confirm the login, or the Encryption Response did not prove the connection
	AuthUnavailable           // online mode: the session server is down, too slow or saturated
	numReasons
)

// Count is one more than the largest Reason, for arrays indexed by Reason.
const Count = int(numReasons)

var names = [numReasons]string{
	None:               "none",
	ServerFull:         "server_full",
	OverCapacity:       "over_capacity",
	BackendUnavailable: "backend_unavailable",
	UnsupportedVersion: "unsupported_version",
	LegacyClient:       "legacy_client",
	Malformed:          "malformed",
	FrameTooLarge:      "frame_too_large",
	BadIntent:          "bad_intent",
	HandshakeTimeout:   "handshake_timeout",
	IdleTimeout:        "idle_timeout",
	ProxyHeader:        "proxy_header",
	ShuttingDown:       "shutting_down",
	Detection:          "detection",
	UnknownHost:        "unknown_host",
	RateLimited:        "rate_limited",
	Refused:            "refused",
	Banned:             "banned",
	VerificationFailed: "verification_failed",
	AuthFailed:         "auth_failed",
	AuthUnavailable:    "auth_unavailable",
}

// String is the stable snake_case name used as log field and metric label.
func (r Reason) String() string {
	if r < numReasons {
		return names[r]
	}
	return "unknown"
}

// All lists every reason except None, for pre-registering metric labels so
// a dashboard shows zeros rather than gaps.
func All() []Reason {
	out := make([]Reason, 0, numReasons-1)
	for r := None + 1; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// Messages holds the operator-configured texts shown to players.
type Messages struct {
	BackendUnavailable string
	ServerFull         string
	Shutdown           string
	UnsupportedVersion string
}

// PlayerMessage is the text a player sees for r. Reasons a player cannot
// act on (malformed input, timeouts) get a short generic line: an attacker
// learns nothing from it and an honest player with a broken client still
// sees that the edge, not the game, closed the connection.
func (r Reason) PlayerMessage(m Messages) string {
	switch r {
	case ServerFull, OverCapacity:
		return m.ServerFull
	case BackendUnavailable:
		return m.BackendUnavailable
	case UnsupportedVersion:
		return m.UnsupportedVersion
	case LegacyClient:
		return "Outdated client: please use Minecraft 1.8 or newer"
	case ShuttingDown:
		return m.Shutdown
	case UnknownHost:
		return "This address does not lead to a server here. Check the server address."
	case HandshakeTimeout, IdleTimeout:
		return "Timed out"
	case AuthFailed:
		// Vanilla's own words, which players and their guides know.
		return "Failed to verify username!"
	case AuthUnavailable:
		return "Authentication servers are down. Please try again later, sorry!"
	}
	return "Disconnected: invalid data from client (" + r.String() + ")"
}
