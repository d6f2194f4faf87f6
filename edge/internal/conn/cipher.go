package conn

import (
	"net"

	"github.com/rustguard/rustguard/edge/internal/auth"
)

// The client leg of an online-mode login is encrypted by the edge (AES-CFB8,
// one continuous stream per direction; docs/PROTOCOL.md). The rules that
// keep the two streams in step:
//
//   - Incoming bytes are decrypted in place right after each read, before
//     framing (leg.fill), so everything above the leg sees plaintext; the
//     bytes already buffered when the cipher starts are decrypted at once
//     (leg.decryptFrom).
//   - Every byte to the client is encrypted under clientMu, in the order it
//     is written: relayed batches and probes (pump.write), disconnects and
//     kicks (writeDisconnectLocked). A batch is encrypted in place in the
//     backend leg's buffer, which is not read again once written.
//   - An encrypted leg is never spliced: splice would copy ciphertext the
//     other side cannot read. Where a passthrough leg would go raw, an
//     encrypted one is copied through the cipher without framing
//     (pump.copyCipher).

// decryptFrom makes the leg decrypt with dec from now on, starting with
// the bytes it has buffered but not yet framed (what the client sent right
// behind its Encryption Response).
func (l *leg) decryptFrom(dec auth.Stream) {
	l.dec = dec
	if b := l.f.Buffered(); len(b) > 0 {
		dec.XORKeyStream(b, b)
	}
}

// encryptLocked encrypts b in place for the client leg when the edge owns
// its encryption. Called with clientMu held, right before b is written:
// the stream's order is the write order.
func (s *session) encryptLocked(b []byte) {
	if s.enc != nil && len(b) > 0 {
		s.enc.XORKeyStream(b, b)
	}
}

// cipherConn is the client connection seen through the cipher, for code
// that reads and writes a net.Conn itself (the verification limbo).
type cipherConn struct {
	net.Conn
	s   *session
	dec auth.Stream
	out []byte // scratch: Write must not change the caller's bytes
}

func (c *cipherConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.dec.XORKeyStream(p[:n], p[:n])
	}
	return n, err
}

func (c *cipherConn) Write(p []byte) (int, error) {
	c.s.clientMu.Lock()
	defer c.s.clientMu.Unlock()
	c.out = append(c.out[:0], p...)
	c.s.encryptLocked(c.out)
	n, err := c.Conn.Write(c.out)
	if cap(c.out) > maxKeptScratch {
		c.out = nil
	}
	return n, err
}

// CloseWrite half-closes the socket, as the limbo does before it lingers.
func (c *cipherConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
