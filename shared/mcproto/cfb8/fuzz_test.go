package cfb8_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

// FuzzStream: a random key and IV, random data, random cut points; every
// implementation must produce the reference's bytes in both directions,
// however the stream is cut.
func FuzzStream(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte("fedcba9876543210"), []byte("hello, minecraft"), []byte{3, 9})
	f.Add(make([]byte, 16), make([]byte, 16), make([]byte, 100), []byte{})
	f.Add([]byte{1}, []byte{2}, bytes.Repeat([]byte{0xff}, 33), []byte{8, 8, 16, 17, 31})
	f.Fuzz(func(t *testing.T, keySeed, ivSeed, pt, cutSeed []byte) {
		key := fixed(keySeed, cfb8.KeySize)
		iv := fixed(ivSeed, cfb8.BlockSize)
		cuts := make([]int, len(cutSeed))
		for i, c := range cutSeed {
			cuts[i] = int(c) % (len(pt) + 1)
		}
		slices.Sort(cuts)
		ct := reference(t, key, iv, pt, false)
		for _, impl := range cfb8.Impls() {
			checkSplit(t, impl, key, iv, pt, ct, cuts)
		}
	})
}

// fixed pads or cuts seed to n bytes.
func fixed(seed []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, seed)
	return out
}
