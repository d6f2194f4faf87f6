// Package bans is the fleet's shared ban list: bans by player UUID, player
// name, IP address and CIDR range, permanent or with an expiry, each with a
// reason, a source and a creation time.
//
// Data enters from Redis and leaves as answers to Match:
//
//   - Redis holds the list (a hash under a {bans} hash tag) and an event
//     stream of changes. Store.Add and Store.Remove change both atomically
//     through Lua scripts; the operator CLI (RunCLI) and the detection
//     engine's ban action (Detections) write through them.
//   - Store.Run loads the whole list into a Table, then follows the stream
//     with a blocking XREAD, so a ban reaches every edge within
//     milliseconds. It reloads the list after every reconnect, after a gap
//     in the stream and every few minutes, and calls OnAdd for each new ban
//     so the edge can kick matching players who are already online.
//   - Table.Match answers from memory with no lock and no allocation: the
//     edge checks every connection and login without a network round trip.
//     Expiry is judged on every lookup from the ban's own expiry time;
//     expired bans are removed from Redis lazily.
//
// A detection's ban action (Detections, DetectionBans) bans the player's
// address unless the edge authenticated the player: an offline player's
// name and UUID are claims, and banning them would ban whoever the
// attacker named. Bans Redis does not take, and every detection ban when
// there is no Redis, hold on the issuing edge in a bounded Local table.
//
// An IP ban on an IPv6 address bans its /64 and is stored as that CIDR
// (NormalizeSubject; package netscope says why). Entries an earlier version
// stored as "ip:<IPv6 address>" still match their /64 and are rewritten in
// the current form by the first edge that loads them.
//
// When Redis is unreachable the table keeps its last content (fail static),
// Healthy turns false, the loop retries with backoff and resynchronises by
// itself when Redis returns.
package bans
