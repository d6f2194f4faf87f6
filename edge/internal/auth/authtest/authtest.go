// Package authtest is the client side of online mode, for tests: what a
// Minecraft client does between Encryption Request and play (join the
// session server, answer with the encrypted secret and token, encrypt the
// stream), built on the edge's own packet encoders. End-to-end tests use
// independent clients (test/e2e); this one drives the edge's packages and
// integration tests.
package authtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/http"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/testservers"
	"github.com/rustguard/rustguard/shared/testservers/sessionserver"
)

// Join tells the session server that account a is joining the server whose
// id hash is serverID, as a client does before it answers Encryption
// Request.
func Join(ctx context.Context, sessionURL string, a *testservers.SessionAccount, serverID string) error {
	return sessionserver.Join(ctx, http.DefaultClient, sessionURL, a, serverID)
}

// Respond encrypts secret and the request's verify token with the server's
// public key, as a client's Encryption Response carries them.
func Respond(req packets.EncryptionRequest, secret []byte) (packets.EncryptionResponse, error) {
	pub, err := PublicKey(req)
	if err != nil {
		return packets.EncryptionResponse{}, err
	}
	s, err := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
	if err != nil {
		return packets.EncryptionResponse{}, err
	}
	tok, err := rsa.EncryptPKCS1v15(rand.Reader, pub, req.VerifyToken)
	if err != nil {
		return packets.EncryptionResponse{}, err
	}
	return packets.EncryptionResponse{SharedSecret: s, VerifyToken: tok}, nil
}

// PublicKey decodes the server key of an Encryption Request.
func PublicKey(req packets.EncryptionRequest) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(req.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("server key is a %T", k)
	}
	return pub, nil
}

// ServerID is the hash a client joins with for this request and secret.
func ServerID(req packets.EncryptionRequest, secret []byte) string {
	return mcproto.ServerIDHash(req.ServerID, secret, req.PublicKey)
}
