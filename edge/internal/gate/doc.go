// Package gate is layer 1 of the edge's defences (docs/DETECTIONS.md, "Layer 1"):
// it decides, before a backend is dialled, whether a connection may go on,
// must first pass the verification limbo, or is refused and why.
//
// Data enters at two points of the data path and leaves as a Decision:
//
//   - Accept, right after the listener accepted a socket: address bans
//     (the in-memory table) and the connection rate per address and per
//     prefix. Nothing is parsed yet and nothing
//     can be said to the peer, so a refusal means closing the socket
//     without a word. Accept allocates nothing.
//   - Login, once Login Start is decoded: protocol allow/deny lists, the
//     handshake host against the configured domains, the username syntax,
//     verification blocks, bans, the login rate per address and prefix
//     (and fleet-wide, when a fleet limiter is wired), one login in flight
//     per address and a cap on players per address. A login that passes
//     gets a Ticket holding its per-address slots; the connection gives the
//     slots back through Ticket.LoggedIn and Ticket.Release.
//
// An "address" is an IPv4 address or an IPv6 /64 and a "prefix" an IPv4 /24
// or an IPv6 /48, for every rule here (package netscope says why).
//
// Login also counts joins for attack mode. When joins per second cross the
// threshold (locally, or fleet-wide through an AttackSignal) the gate turns
// attack mode on by itself and, after a quiet period below the threshold,
// off again; operators can force it either way. In attack mode, or always
// when configured, a player who has not passed the verification limbo
// recently gets a Verify decision. The limbo reports back through Verified
// (remembered for a TTL, so the next join passes straight through) and
// Failed (two failures block the address for ten minutes).
//
// The fleet-wide pieces (token buckets in Redis, the shared ban list, the
// fleet attack signal) are small interfaces defined here and supplied by
// the caller; when none is given the gate runs alone on its own in-process
// token buckets. Every per-address table is bounded and evicts the least
// recently used entry, so a flood of distinct addresses costs a fixed
// amount of memory.
//
// Refusals are an attacker's doing and are never logged here; the caller
// logs them at debug. Metrics count every decision by stage, outcome and
// reason; attack-mode transitions are logged at warn (on) and info (off).
package gate
