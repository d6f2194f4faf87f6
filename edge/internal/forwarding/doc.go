// Package forwarding tells an offline-mode backend who an authenticated
// player is, in the formats backends understand (docs/PROTOCOL.md,
// "Identity forwarding"):
//
//   - Velocity modern forwarding: the answer to the backend's Login Plugin
//     Request on velocity:player_info, the player data signed with
//     HMAC-SHA256 under a secret the backend shares;
//   - BungeeCord legacy forwarding: the address, UUID and properties
//     appended to the handshake host, which proves nothing;
//   - BungeeGuard: the same, with a token property the backend checks.
//
// Data enters as the profile edge/internal/auth confirmed plus the
// player's address and Login Start key, and leaves as bytes conn writes to
// the backend leg. Nothing here reads anything the client typed into the
// host field: the host is rebuilt from the routed host alone.
package forwarding
