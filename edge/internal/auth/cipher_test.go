package auth

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCFB8NISTVectors: NIST SP 800-38A, F.3.7 (CFB8-AES128.Encrypt) and
// F.3.8 (CFB8-AES128.Decrypt). The vectors use an IV other than the key,
// so the register is set by hand.
func TestCFB8NISTVectors(t *testing.T) {
	key := unhex(t, "2b7e151628aed2a6abf7158809cf4f3c")
	iv := unhex(t, "000102030405060708090a0b0c0d0e0f")
	plain := unhex(t, "6bc1bee22e409f96e93d7e117393172aae2d")
	ciphertext := unhex(t, "3b79424c9c0dd436bace9e0ed4586a4f32b9")
	for _, decrypt := range []bool{false, true} {
		c, err := newCFB8(key, decrypt)
		if err != nil {
			t.Fatal(err)
		}
		copy(c.reg[:], iv)
		in, want := plain, ciphertext
		if decrypt {
			in, want = ciphertext, plain
		}
		got := append([]byte(nil), in...)
		c.XORKeyStream(got, got) // in place
		if !bytes.Equal(got, want) {
			t.Fatalf("decrypt=%v: %x, want %x", decrypt, got, want)
		}
	}
}

// TestStreamsRoundTripAnySplit: the two directions of one secret invert
// each other, however the stream is cut into calls.
func TestStreamsRoundTripAnySplit(t *testing.T) {
	var secret [SecretLen]byte
	copy(secret[:], "0123456789abcdef")
	r := rand.New(rand.NewPCG(1, 2))
	msg := make([]byte, 4096)
	for i := range msg {
		msg[i] = byte(r.IntN(256))
	}
	enc, _, err := NewStreams(secret)
	if err != nil {
		t.Fatal(err)
	}
	_, dec, _ := NewStreams(secret)
	ct := make([]byte, len(msg))
	for i := 0; i < len(msg); {
		n := min(1+r.IntN(200), len(msg)-i)
		enc.XORKeyStream(ct[i:i+n], msg[i:i+n])
		i += n
	}
	pt := append([]byte(nil), ct...)
	for i := 0; i < len(pt); {
		n := min(1+r.IntN(300), len(pt)-i)
		dec.XORKeyStream(pt[i:i+n], pt[i:i+n])
		i += n
	}
	if !bytes.Equal(pt, msg) {
		t.Fatal("decrypting the encrypted stream does not give it back")
	}
}
