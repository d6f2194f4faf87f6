// Package discovery decides where a player goes. The connection handler asks
// a Backends for candidate addresses for a handshake host, dials them in
// order and reports open connections back through Acquire/Release.
//
// Two implementations exist:
//
//   - Static: one address from the configuration serves every host; it is
//     probed so /readyz can say whether it is reachable.
//   - Consul: backends are the passing instances of Consul services, watched
//     with blocking queries (watch.go); a handshake host picks the service
//     (routing rules below); when the local datacenter has no passing instance
//     a prepared query fails over to the nearest datacenters (failover.go).
//     Register (register.go) announces the edge itself in Consul.
//
// Data enters from Consul's HTTP API on background goroutines, is turned
// into an immutable routing table and published with an atomic pointer
// swap, so Candidates on the login path never takes a lock.
//
// Routing a host to a Consul service, first match wins:
//
//  1. ConsulOptions.Routes (operator configuration) — it always wins, so a
//     backend cannot take over a host the operator assigned elsewhere.
//  2. Hosts that the DefaultService's own instances declare in the service
//     meta key "rustguard_hosts": they stay with the default pool.
//  3. Host claims: "rustguard_hosts" (comma-separated hosts) on the passing
//     instances of services the configuration allows to claim hosts
//     (ConsulOptions.ClaimPrefix on the service name, ClaimTag on the
//     instance). Any other service's metadata is ignored: whoever can
//     register a service in Consul would otherwise pick where players go.
//     Allowed services are discovered through the catalog, filtered before
//     the cap on watched services, so services that may not claim cannot
//     crowd out those that may. A host that two allowed services claim is
//     served by neither (it falls through to 4) and a warning names both:
//     choosing one would let a service take another's players.
//  4. ConsulOptions.DefaultService, if set; otherwise ErrUnknownHost.
//
// Choosing among a service's instances (rank in backends.go): the player's
// stable instance first, picked by rendezvous hashing on the player key and
// kept while that instance carries no more than about 25 % above the average
// load of this edge (consistent hashing with bounded loads); then the others
// by fewest open connections from this edge. Instances that refused a dial
// in the last few seconds go last.
package discovery
