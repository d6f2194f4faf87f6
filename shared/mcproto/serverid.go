package mcproto

import (
	"crypto/sha1"
	"math/big"
)

// ServerIDHash is the "server id" both ends of an online-mode login give
// the session server (docs/PROTOCOL.md, "The server id hash"): the client
// joins with it, the server asks hasJoined with it. It is
// SHA-1(serverID ‖ secret ‖ publicKeyDER) read as a signed two's-complement
// number and printed in lower-case hex without leading zeros, with a minus
// sign when negative: Java's new BigInteger(digest).toString(16).
//
// It lives here rather than with the edge's authentication because both
// sides compute it: the edge as the server, the load tool's players as
// clients.
func ServerIDHash(serverID string, secret, publicKeyDER []byte) string {
	d := sha1.New()
	d.Write([]byte(serverID))
	d.Write(secret)
	d.Write(publicKeyDER)
	return javaHex(d.Sum(nil))
}

// javaHex prints a big-endian two's-complement number as Java's
// BigInteger.toString(16) does.
func javaHex(b []byte) string {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		// Negative: the value is n − 2^(8·len).
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n.Text(16)
}
