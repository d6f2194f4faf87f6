package auth_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/auth/authtest"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func newKey(t *testing.T) *auth.Key {
	t.Helper()
	k, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestHandshakeAccepts: a response encrypting this connection's token and
// a 16-byte secret gives back that secret, once.
func TestHandshakeAccepts(t *testing.T) {
	k := newKey(t)
	h, err := k.NewHandshake()
	if err != nil {
		t.Fatal(err)
	}
	req := h.Request()
	if req.ServerID != "" || len(req.VerifyToken) != 4 || !req.ShouldAuthenticate {
		t.Fatalf("request %+v", req)
	}
	pub, err := authtest.PublicKey(req)
	if err != nil || pub.N.BitLen() != 1024 {
		t.Fatalf("public key: %v", err)
	}
	secret := []byte("0123456789abcdef")
	resp, err := authtest.Respond(req, secret)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Accept(resp, packets.LoginStart{Name: "alice"})
	if err != nil || string(got[:]) != string(secret) {
		t.Fatalf("Accept = %q, %v", got, err)
	}
	if h.ServerID(got) != authtest.ServerID(req, secret) {
		t.Fatal("the edge and the client hash different server ids")
	}
	// A replayed response on the same connection is refused.
	if _, err := h.Accept(resp, packets.LoginStart{Name: "alice"}); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("replayed response: %v, want ErrReplayed", err)
	}
	// So is the same response on a new connection: its token differs.
	h2, _ := k.NewHandshake()
	if _, err := h2.Accept(resp, packets.LoginStart{Name: "alice"}); !errors.Is(err, auth.ErrVerifyToken) {
		t.Fatalf("a response from another connection: %v, want ErrVerifyToken", err)
	}
}

// TestHandshakeRefuses: what a broken or hostile client can send.
func TestHandshakeRefuses(t *testing.T) {
	k := newKey(t)
	secret := []byte("0123456789abcdef")
	tests := []struct {
		name   string
		modify func(req *packets.EncryptionRequest, resp *packets.EncryptionResponse)
		want   error
	}{
		{"a wrong verify token", func(req *packets.EncryptionRequest, resp *packets.EncryptionResponse) {
			bad := *req
			bad.VerifyToken = []byte{1, 2, 3, 4}
			r, _ := authtest.Respond(bad, secret)
			resp.VerifyToken = r.VerifyToken
		}, auth.ErrVerifyToken},
		{"a token block that is no PKCS#1 block", func(_ *packets.EncryptionRequest, resp *packets.EncryptionResponse) {
			resp.VerifyToken = make([]byte, 128)
			resp.VerifyToken[0] = 0x42
		}, auth.ErrVerifyToken},
		{"a short secret block", func(_ *packets.EncryptionRequest, resp *packets.EncryptionResponse) {
			resp.SharedSecret = resp.SharedSecret[:64]
		}, auth.ErrBlockSize},
		{"a token block too long", func(_ *packets.EncryptionRequest, resp *packets.EncryptionResponse) {
			resp.VerifyToken = append(resp.VerifyToken, 0)
		}, auth.ErrBlockSize},
		{"the signed form without a profile key", func(_ *packets.EncryptionRequest, resp *packets.EncryptionResponse) {
			resp.Signed, resp.VerifyToken, resp.Salt, resp.MessageSignature = true, nil, 7, make([]byte, 256)
		}, auth.ErrNoProfileKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := k.NewHandshake()
			req := h.Request()
			resp, err := authtest.Respond(req, secret)
			if err != nil {
				t.Fatal(err)
			}
			tt.modify(&req, &resp)
			if _, err := h.Accept(resp, packets.LoginStart{Name: "alice"}); !errors.Is(err, tt.want) {
				t.Fatalf("Accept: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestHandshakeWrongSecretLength: a secret that is not 16 bytes is not
// taken, and not told apart from a wrong one either (no padding oracle): a
// random key stands in, so the server id differs from the client's and the
// session server will not confirm the join.
func TestHandshakeWrongSecretLength(t *testing.T) {
	k := newKey(t)
	for _, n := range []int{0, 15, 17, 32} {
		h, _ := k.NewHandshake()
		req := h.Request()
		short := []byte("0123456789abcdef0123456789abcdef")[:n]
		resp, err := authtest.Respond(req, short)
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.Accept(resp, packets.LoginStart{Name: "alice"})
		if err != nil {
			t.Fatalf("%d bytes: Accept: %v", n, err)
		}
		if h.ServerID(got) == authtest.ServerID(req, short) {
			t.Fatalf("%d bytes: the edge hashes the client's server id: the secret was taken", n)
		}
	}
}

// TestHandshakeSignedForm: 1.19–1.19.2 clients with a profile key sign
// the token and a salt instead of encrypting the token.
func TestHandshakeSignedForm(t *testing.T) {
	k := newKey(t)
	profile, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&profile.PublicKey)
	ls := packets.LoginStart{Name: "alice", HasKey: true, PublicKey: pubDER, KeySignature: []byte("mojang's")}
	sign := func(token []byte, salt int64) []byte {
		d := sha256.New()
		d.Write(token)
		_ = binary.Write(d, binary.BigEndian, salt)
		sig, err := rsa.SignPKCS1v15(rand.Reader, profile, crypto.SHA256, d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	secret := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name  string
		token func(req packets.EncryptionRequest) []byte
		want  error
	}{
		{"valid", func(req packets.EncryptionRequest) []byte { return req.VerifyToken }, nil},
		{"signed another token", func(packets.EncryptionRequest) []byte { return []byte{9, 9, 9, 9} }, auth.ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := k.NewHandshake()
			req := h.Request()
			resp, _ := authtest.Respond(req, secret)
			resp.Signed, resp.VerifyToken, resp.Salt = true, nil, -1234567
			resp.MessageSignature = sign(tc.token(req), resp.Salt)
			got, err := h.Accept(resp, ls)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Accept: %v, want %v", err, tc.want)
			}
			if err == nil && string(got[:]) != string(secret) {
				t.Fatalf("secret %q", got)
			}
		})
	}
}

// TestLoadKey: a key file in either PEM form, and what is refused.
func TestLoadKey(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, p := range []string{write("pkcs1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(priv)), write("pkcs8.pem", "PRIVATE KEY", pkcs8)} {
		k, err := auth.LoadKey(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		if string(k.PublicDER()) != string(want) {
			t.Fatalf("%s: another public key", p)
		}
	}
	smallPath := filepath.Join(dir, "small.pem")
	if err := os.WriteFile(smallPath, []byte(rsa512), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{smallPath,
		write("cert.pem", "CERTIFICATE", []byte{1, 2, 3}), filepath.Join(dir, "missing.pem")} {
		if _, err := auth.LoadKey(p); err == nil {
			t.Fatalf("%s: loaded", p)
		}
	}
}

// rsa512 is a 512-bit key (openssl genrsa 512), which the edge must refuse:
// Go no longer generates keys that small.
const rsa512 = `-----BEGIN RSA PRIVATE KEY-----
MIIBOQIBAAJBALOhey+4S3O79HQxv9G527iPLCzSymJMemrkDPRavofRsfJ6V65+
pVWRkOh20sBCTwoRwFE9r82RjmCgtovvcPcCAwEAAQJAJ5NxV48sGICVmDAJygQ/
04a/vdRnQIcHBZve+ssvZS7AmPhTVH4dboVpMgop8qVGGQ8dPedy0GaxroeZhJGw
uQIhANszI+VfBA35VjfFBR55yQSfXjoYrqLEqyLc19dJhZFVAiEA0cm6ix4cgDGl
0geaINaGL01WRzWDx6Abskm7gMZIqRsCIGqT9fsbdMQ6nGInaHLF8ihOOKl0wMyh
ZThhOo0R0WC1AiBIumaxU/8NcijKZ1hHihd6zpTamvLUge0YIfee7R7DgQIgR7JW
Hvt1OJS3sxWQioAISCxQBy/rykQBNXBvAChyytA=
-----END RSA PRIVATE KEY-----
`
