// Package limbo is the verification limbo of layer 1 (docs/DETECTIONS.md,
// "Verification limbo"): before a new player in attack mode reaches a
// backend, the edge itself plays a tiny world to it and watches whether it
// behaves like a real Minecraft client.
//
// Data enters as a client connection whose handshake and Login Start the
// caller has read (package conn), plus the bytes read past Login Start. The
// limbo answers as the server would: Set Compression (threshold 256), Login
// Success with the offline UUID, for 1.20.2+ the configuration state
// (feature flags, registries, tags, a keep-alive, Finish Configuration),
// then Join Game, a chunk column with an 8 × 8 stone platform at one of
// eight heights, and a teleport to a random point a few blocks above it.
// It never dials a backend. Data leaves as a Result: Passed, or a Reason
// whose String is the stable check key:
//
//   - verify.keepalive: the keep-alive (random id; sent in configuration on
//     1.20.2+, in play before) must be echoed with the same id, once. 1.8's
//     own id-0 keep-alives of the "Downloading terrain" screen are ignored.
//   - verify.teleport: 1.9+ must confirm the teleport with its random id,
//     once, and answer it with a position-and-rotation packet exactly at the
//     target (before the confirm on 1.21.2+, after it before), before moving.
//   - verify.gravity: then the client falls. Each reported Δy must equal
//     (last Δy − 0.08) × 0.98F within 1e-7, the float drag of vanilla, with
//     one allowed Δy = 0 report right after the teleport (vanilla sends it;
//     mineflayer does not). It must land, on ground, exactly on the
//     platform's top after at least MinFallTicks ticks, with a landing step
//     no longer than gravity allows, and stay above the platform.
//   - verify.brand, verify.settings: the client brand (MC|Brand before 1.13,
//     minecraft:brand since; printable, 1–64 bytes, once) and client
//     settings (view distance ≥ 2) must arrive before the verdict. Both
//     rules are packets.DecodeBrand and packets.MinViewDistance, the ones
//     the detection engine's client.brand and crash.view_distance use.
//   - verify.budget: at most MaxPackets packets (Sonar's 325).
//   - verify.timeout: everything within Timeout (10 s). When time runs out
//     after the landing, the reason names what never came instead.
//   - verify.protocol: a malformed or out-of-place frame or packet.
//
// A client that passed is sent away to log in again, now known to the gate:
// 1.20.5+ by a Transfer to the edge's public address (handshake intent 3),
// older clients by a disconnect asking them to reconnect. A client that
// failed reads a generic failure message; which check failed is only in the
// Result, for the gate's counters and debug logs.
//
// The world comes precomputed: gen/gen.js encodes, for every protocol from
// 1.8 (47) to 1.21.4 (769), the configuration and play packets with the
// serialisers of the npm packages minecraft-protocol, prismarine-chunk and
// minecraft-data (MIT and BSD-3-Clause; THIRD_PARTY.md) and frames them for
// the threshold, compressing the large ones once at generation time.
// data/world.bin (about 80 KB for 42 protocols; packets shared between
// versions are stored once) is embedded and parsed once by New; every
// connection writes slices of it. The packets that vary per connection
// (teleport, keep-alive, transfer, Login Success, disconnects) are encoded
// in Go, and encode_test.go proves them byte-identical to
// minecraft-protocol's for every protocol.
//
// What was left out, on purpose or for lack of data:
//
//   - 1.21.5+ (770+): minecraft-data 3.119 has no registry data of their own
//     (1.21.5–1.21.8 reuse 1.21.3's, which lacks registries those clients
//     require), so the limbo does not claim them; Supports is false.
//   - Registries are sent in full (no Select Known Packs), as a vanilla
//     server does for a client that knows no packs. The enchantment
//     registry is left out: its entries refer to item, block and entity
//     tags whose contents minecraft-data does not carry. The tags the other
//     registries refer to (infiniburn, wolf variant biomes) are declared
//     empty. mineflayer accepts this on every version; real 1.20.2+ vanilla
//     clients have not been tried against it yet.
//   - 1.21.2+'s Client Tick End is not required between positions
//     (mineflayer does not send it).
//
// Per connection the limbo holds a session of a few hundred bytes, a read
// buffer from the pool that grows only with bytes received, and a zlib
// reader only if the client sends a compressed packet. Everything a client
// sends is capped: one packet at 33 KiB, the count at MaxPackets, the time
// at Timeout.
package limbo
