package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	// keyBits is vanilla's server key size: the client accepts any RSA
	// key, but 1024 bits keeps each handshake's private-key operation
	// cheap (two per login) and the request small.
	keyBits = 1024
	// minKeyBits / maxKeyBits bound a key loaded from a file: smaller is
	// factorable, larger costs milliseconds per login and no longer fits
	// the 128-byte blocks clients are tested with.
	minKeyBits = 1024
	maxKeyBits = 4096
	// maxKeyFile bounds reading a key file: a 4096-bit PEM key is about
	// 3.3 KiB.
	maxKeyFile = 64 << 10
)

// Key is the edge's RSA key pair for Encryption Request. It is shared by
// every connection and only read after construction.
type Key struct {
	priv *rsa.PrivateKey
	der  []byte // SubjectPublicKeyInfo, what Encryption Request carries
}

// GenerateKey returns a fresh 1024-bit key, as vanilla makes at start.
func GenerateKey() (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate %d-bit RSA key: %w", keyBits, err)
	}
	return newKey(priv)
}

// LoadKey reads a PEM RSA private key (PKCS#1 "RSA PRIVATE KEY" or PKCS#8
// "PRIVATE KEY").
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth key %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("auth key %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("auth key %s: larger than %d bytes", path, maxKeyFile)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("auth key %s: %w", path, err)
	}
	return k, nil
}

// ParseKey decodes the first PEM block of data as an RSA private key.
func ParseKey(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var priv *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		p, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		priv = p
	case "PRIVATE KEY":
		p, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := p.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T, not an RSA key", p)
		}
		priv = rk
	default:
		return nil, fmt.Errorf("PEM block %q, want RSA PRIVATE KEY or PRIVATE KEY", block.Type)
	}
	if bits := priv.N.BitLen(); bits < minKeyBits || bits > maxKeyBits {
		return nil, fmt.Errorf("a %d-bit key; want %d to %d bits", bits, minKeyBits, maxKeyBits)
	}
	return newKey(priv)
}

func newKey(priv *rsa.PrivateKey) (*Key, error) {
	priv.Precompute()
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return &Key{priv: priv, der: der}, nil
}

// PublicDER is the public key as Encryption Request sends it.
func (k *Key) PublicDER() []byte { return k.der }
