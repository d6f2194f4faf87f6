package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

const (
	// verifyTokenLen is vanilla's: 4 random bytes, fresh per connection.
	verifyTokenLen = 4
	// SecretLen is the AES-128 key (and IV) the client chooses.
	SecretLen = 16
)

// Errors of an Encryption Response. Conn closes the connection on each;
// none of them says anything to the client that could help it decrypt
// something (see Accept).
var (
	// ErrVerifyToken: the response does not prove the client read this
	// connection's Encryption Request (wrong token, undecryptable block).
	ErrVerifyToken = errors.New("verify token does not match")
	// ErrBlockSize: a field is not one RSA block of the edge's key.
	ErrBlockSize = errors.New("encrypted field is not one block of the server key")
	// ErrNoProfileKey: the 1.19–1.19.2 signed form without a key in Login
	// Start to check it with.
	ErrNoProfileKey = errors.New("signed encryption response without a profile key in Login Start")
	// ErrSignature: the signed form's signature does not verify.
	ErrSignature = errors.New("verify token signature does not verify with the profile key")
	// ErrReplayed: a second Encryption Response on one connection.
	ErrReplayed = errors.New("encryption response already accepted on this connection")
)

// Handshake is one connection's encryption exchange: the verify token it
// sent and whether the answer was taken.
type Handshake struct {
	key      *Key
	token    [verifyTokenLen]byte
	accepted bool
}

// NewHandshake starts the exchange with a fresh verify token.
func (k *Key) NewHandshake() (*Handshake, error) {
	h := &Handshake{key: k}
	if _, err := rand.Read(h.token[:]); err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	return h, nil
}

// Request is the Encryption Request to send: an empty server id (since
// 1.7), the public key, the token, and on 1.20.5+ should-authenticate,
// which tells the client to join the session server first.
func (h *Handshake) Request() packets.EncryptionRequest {
	return packets.EncryptionRequest{PublicKey: h.key.der, VerifyToken: h.token[:], ShouldAuthenticate: true}
}

// Accept checks an Encryption Response and returns the shared secret.
// ls is the connection's Login Start (its profile key checks the
// 1.19–1.19.2 signed form).
//
// Both RSA fields are decrypted so that a failed decryption is not
// observable apart from any other wrong value (PKCS#1 v1.5 padding that
// answers "bad padding" is an oracle that decrypts other ciphertexts, e.g.
// another player's shared secret, in enough tries). A shared secret that
// does not decrypt to exactly 16 bytes therefore does not fail here: a
// random secret stands in for it, the client's hash then names a
// different server id, and the session server says it never joined.
func (h *Handshake) Accept(resp packets.EncryptionResponse, ls packets.LoginStart) ([SecretLen]byte, error) {
	var secret [SecretLen]byte
	if h.accepted {
		return secret, ErrReplayed
	}
	h.accepted = true
	size := h.key.priv.Size()
	if len(resp.SharedSecret) != size {
		return secret, fmt.Errorf("shared secret of %d bytes: %w", len(resp.SharedSecret), ErrBlockSize)
	}
	if resp.Signed {
		if err := h.checkSigned(resp, ls); err != nil {
			return secret, err
		}
	} else {
		if len(resp.VerifyToken) != size {
			return secret, fmt.Errorf("verify token of %d bytes: %w", len(resp.VerifyToken), ErrBlockSize)
		}
		var token [verifyTokenLen]byte
		if _, err := rand.Read(token[:]); err != nil {
			return secret, fmt.Errorf("verify token: %w", err)
		}
		// Keeps the random token unless the block decrypts to exactly 4
		// bytes; a random token matches ours with probability 2^-32.
		if err := rsa.DecryptPKCS1v15SessionKey(nil, h.key.priv, resp.VerifyToken, token[:]); err != nil {
			return secret, fmt.Errorf("%w: %v", ErrVerifyToken, err)
		}
		if subtle.ConstantTimeCompare(token[:], h.token[:]) != 1 {
			return secret, ErrVerifyToken
		}
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return secret, fmt.Errorf("shared secret: %w", err)
	}
	if err := rsa.DecryptPKCS1v15SessionKey(nil, h.key.priv, resp.SharedSecret, secret[:]); err != nil {
		return secret, fmt.Errorf("shared secret: %w", err)
	}
	return secret, nil
}

// checkSigned checks the 1.19–1.19.2 alternative to the encrypted token:
// the client's profile key (from Login Start) signed, with SHA256withRSA,
// the token followed by the salt as a big-endian int64. It proves the
// client holds the private half of the key it announced; whether that key
// belongs to the account is Mojang's signature on it, which the backend
// checks (it receives the key in Velocity forwarding v2/v3).
func (h *Handshake) checkSigned(resp packets.EncryptionResponse, ls packets.LoginStart) error {
	if !ls.HasKey {
		return ErrNoProfileKey
	}
	pub, err := x509.ParsePKIXPublicKey(ls.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: profile key: %v", ErrSignature, err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: profile key is a %T", ErrSignature, pub)
	}
	d := sha256.New()
	d.Write(h.token[:])
	var salt [8]byte
	binary.BigEndian.PutUint64(salt[:], uint64(resp.Salt))
	d.Write(salt[:])
	if err := rsa.VerifyPKCS1v15(rk, crypto.SHA256, d.Sum(nil), resp.MessageSignature); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return nil
}

// ServerID is the hash the client sent to the session server's join and
// the edge asks hasJoined with: SHA-1 over the server id (empty), the
// shared secret and the public key, printed like Java's
// BigInteger.toString(16) (docs/PROTOCOL.md).
func (h *Handshake) ServerID(secret [SecretLen]byte) string {
	return mcproto.ServerIDHash("", secret[:], h.key.der)
}
