// Package limits holds the rate limits the edges of a fleet share through
// Redis (docs/FLEET.md, Rate limits in three tiers). The first tier, token
// buckets per client address and prefix checked on every accept and login
// with no I/O, is the gate's own (edge/internal/gate, limiter.go): it is
// what remains when Redis is unreachable.
//
//   - Fleet: per-address, per-prefix and per-username-and-prefix login
//     limits shared by every edge, checked once per login with a GCRA
//     script in Redis. A refusal is cached on the edge until its
//     retry-after, so a refused flood does not reach Redis.
//     A short deadline and a circuit breaker keep Redis trouble from
//     slowing logins; the caller's policy decides whether an unreachable
//     Redis lets the login through (fail open, the default) or not.
//   - AttackSignal: the fleet's joins per second, aggregated asynchronously
//     (each edge adds its count once a second and reads the sum back), for
//     attack-mode decisions that need the whole fleet's view.
//
// The detection engine's per-connection packet limits stay in package
// detect; nothing here runs per packet.
package limits
