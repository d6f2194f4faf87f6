// Package detect is the detection engine: it sees every decoded packet of
// both directions of a player's connection, keeps the small per-player state
// the checks share (position, rotation, gamemode, abilities, held slot, open
// window, keep-alive ids, an entity table, the teleport queue and an
// acknowledgement clock), runs the checks of docs/DETECTIONS.md layer by layer and
// decides what happens to the packet: pass, drop, or kick the player (a ban
// is a kick that also writes the shared ban list).
//
// Data enters from the relay in edge/internal/conn through Player.Serverbound
// and Player.Clientbound (packet kind, state and the packet's data after its
// id), and leaves as a Verdict for the packet, as probe packets the relay
// injects into the client stream (Player.Probe), and as detection events
// (shared/detection) handed to the Sinks: metrics, logs, and later traces
// and the ban list.
//
// The hot path allocates nothing: packets are decoded into values on the
// stack, checks are plain method calls chosen by a switch on the packet kind,
// and violation levels are kept only for checks that have flagged.
package detect
