package conn

// Per-state frame caps for the client leg (docs/PROTOCOL.md, Hostile input). The 21-bit frame
// limit is only the outer bound; before a player is logged in, a peer may pin
// no more than these few KiB.
const (
	// handshakeCap: VarInt protocol (5) + host String(261) at 3 bytes a char
	// + u16 port + VarInt intent, plus the id. The XDP filter's bound for the
	// same packet is 775 bytes; 1 KiB leaves room for padded VarInts.
	handshakeCap = 1 << 10
	// statusCap: Status Request is an id only, Ping an id + i64 (9 bytes).
	statusCap = 16
	// loginStartCap: name String(16) + UUID, and for 1.19–1.19.2 the
	// optional profile key block (key ≤ 512 + signature ≤ 4096 + i64).
	loginStartCap = 8 << 10
	// maxKeptScratch is the largest inflate buffer a serverbound leg keeps
	// between packets; larger (rare) packets get a fresh one each time.
	maxKeptScratch = 64 << 10
	// maxLegacyPing caps what we buffer of a 1.6 legacy ping: "MC|PingHost"
	// plus a host of 255 chars in UTF-16 and a few fixed fields.
	maxLegacyPing = 600
)
