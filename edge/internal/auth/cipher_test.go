package auth

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestStreamsMatchOpenSSL: the client leg's streams are Minecraft's
// AES-128-CFB8 with the secret as key and IV: bytes checked with
// `openssl enc -aes-128-cfb8 -K 30..66 -iv 30..66` (the secret
// "0123456789abcdef").
func TestStreamsMatchOpenSSL(t *testing.T) {
	var secret [SecretLen]byte
	copy(secret[:], "0123456789abcdef")
	enc, _, err := NewStreams(secret)
	if err != nil {
		t.Fatal(err)
	}
	got := []byte("hello, minecraft")
	enc.XORKeyStream(got, got)
	if want := "1ac644b731e065f74ae88c02234c94cf"; hex.EncodeToString(got) != want {
		t.Fatalf("%x, want %s", got, want)
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
