package mcproto

import "testing"

// TestServerIDHashFixtures: Java's BigInteger.toString(16) of SHA-1 digests,
// the fixtures every implementation is checked against (the bare names are
// hashed: empty secret and key).
func TestServerIDHashFixtures(t *testing.T) {
	for name, want := range map[string]string{
		"Notch": "4ed1f46bbe04bc756bcb17c0c7ce3e4632f06a48",
		"jeb_":  "-7c9d5b0044c130109a5d7b5fb5c317c02b4e28c1", // negative: two's complement, a minus sign
		"simon": "88e16a1019277b15d58faf0541e11910eb756f6",   // a leading zero dropped
	} {
		if got := ServerIDHash(name, nil, nil); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestServerIDHashCoversEveryPart: the secret and the key are hashed after
// the id, so changing either changes the hash.
func TestServerIDHashCoversEveryPart(t *testing.T) {
	base := ServerIDHash("", []byte("0123456789abcdef"), []byte{0x30, 0x81})
	for _, other := range []string{
		ServerIDHash("x", []byte("0123456789abcdef"), []byte{0x30, 0x81}),
		ServerIDHash("", []byte("0123456789abcdeF"), []byte{0x30, 0x81}),
		ServerIDHash("", []byte("0123456789abcdef"), []byte{0x30, 0x82}),
	} {
		if other == base {
			t.Errorf("hash %s did not change", base)
		}
	}
}
