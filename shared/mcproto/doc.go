// Package mcproto is RustGuard's Minecraft Java Edition wire library: VarInts,
// primitive field types, frames and compression.
//
// Bytes enter from a network peer that may be hostile. Every decoder here
// checks a length against a cap before it allocates or slices, never
// allocates what a peer announces before the bytes exist, and reports a typed
// error (see errors.go) that callers map to a rejection reason.
//
// Layout of one frame (docs/PROTOCOL.md, Framing and Compression):
//
//	uncompressed:  Length VarInt(≤3 bytes) | Packet ID VarInt | Data
//	compressed:    Length VarInt(≤3 bytes) | Data Length VarInt | zlib(ID|Data) or raw ID|Data when Data Length is 0
//
// It also computes the protocol's two identity hashes: a name's offline-mode
// UUID (offline.go) and an online login's server id (serverid.go).
//
// The packet-id tables and typed packet decoders live in mcproto/packets.
package mcproto
