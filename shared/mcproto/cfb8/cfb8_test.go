package cfb8_test

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

// NIST SP 800-38A, Appendix F.3.7 (CFB8-AES128.Encrypt) and F.3.8
// (CFB8-AES128.Decrypt): the same key, IV, plaintext and ciphertext read in
// both directions.
const (
	nistKey        = "2b7e151628aed2a6abf7158809cf4f3c"
	nistIV         = "000102030405060708090a0b0c0d0e0f"
	nistPlaintext  = "6bc1bee22e409f96e93d7e117393172aae2d"
	nistCiphertext = "3b79424c9c0dd436bace9e0ed4586a4f32b9"
)

// FIPS-197, Appendix A.1: the AES-128 key expansion of nistKey, w[40..43]
// (the last round key).
const fipsLastRoundKey = "d014f9a8c9ee2589e13f0cc8b6630ca6"

// Test sizes.
const (
	// exhaustiveLen: every message up to this length is cut at every point.
	// Above two decryption steps of 8 plus a tail, so every combination of
	// step and tail meets a split.
	exhaustiveLen = 40
	// randomMessages is how many random messages TestRandomSplits cuts.
	randomMessages = 300
	// randomMaxLen bounds their length: several KiB, like a chunk packet.
	randomMaxLen = 5000
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reference is CFB8 written as plainly as possible from SP 800-38A §6.3:
// I_1 = IV; O_j = CIPH_K(I_j); C#_j = P#_j ^ MSB_8(O_j);
// I_{j+1} = LSB_120(I_j) | C#_j. Decryption swaps the roles of P# and C#.
func reference(t testing.TB, key, iv, in []byte, decrypt bool) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	input := bytes.Clone(iv)
	out := make([]byte, len(in))
	o := make([]byte, aes.BlockSize)
	for j, b := range in {
		block.Encrypt(o, input)
		out[j] = b ^ o[0]
		c := out[j]
		if decrypt {
			c = b
		}
		input = append(input[1:], c)
	}
	return out
}

// chunks cuts n into pieces at the given cut points (sorted, within 0..n;
// repeats make empty pieces, which callers must also handle).
func chunks(n int, cuts []int) [][2]int {
	var out [][2]int
	prev := 0
	for _, c := range cuts {
		out = append(out, [2]int{prev, c})
		prev = c
	}
	return append(out, [2]int{prev, n})
}

// streamer is what Encrypter and Decrypter share.
type streamer interface{ XORKeyStream(dst, src []byte) }

// runSplit feeds in through s in the pieces cuts makes, in place or into a
// separate buffer.
func runSplit(s streamer, in []byte, cuts []int, inPlace bool) []byte {
	out := make([]byte, len(in))
	if inPlace {
		copy(out, in)
	}
	for _, c := range chunks(len(in), cuts) {
		src := in[c[0]:c[1]]
		if inPlace {
			src = out[c[0]:c[1]]
		}
		s.XORKeyStream(out[c[0]:c[1]], src)
	}
	return out
}

func randomCuts(r *rand.Rand, n int) []int {
	cuts := make([]int, r.IntN(8))
	for i := range cuts {
		cuts[i] = r.IntN(n + 1)
	}
	slices.Sort(cuts)
	return cuts
}

func TestNISTVectors(t *testing.T) {
	key, iv := unhex(t, nistKey), unhex(t, nistIV)
	pt, ct := unhex(t, nistPlaintext), unhex(t, nistCiphertext)
	if got := reference(t, key, iv, pt, false); !bytes.Equal(got, ct) {
		t.Fatalf("reference encrypt = %x, want %x", got, ct)
	}
	for _, impl := range cfb8.Impls() {
		for _, inPlace := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/inPlace=%v", impl.Name, inPlace), func(t *testing.T) {
				enc, err := impl.NewEncrypter(key, iv)
				if err != nil {
					t.Fatal(err)
				}
				if got := runSplit(enc, pt, nil, inPlace); !bytes.Equal(got, ct) {
					t.Errorf("F.3.7 encrypt = %x, want %x", got, ct)
				}
				dec, err := impl.NewDecrypter(key, iv)
				if err != nil {
					t.Fatal(err)
				}
				if got := runSplit(dec, ct, nil, inPlace); !bytes.Equal(got, pt) {
					t.Errorf("F.3.8 decrypt = %x, want %x", got, pt)
				}
			})
		}
	}
}

func TestKeySchedule(t *testing.T) {
	if !cfb8.HaveAsm() {
		t.Skip("no assembly on this CPU or build: the schedule is crypto/aes's")
	}
	key := unhex(t, nistKey)
	if got := hex.EncodeToString(cfb8.ScheduleAsm(key)[10*aes.BlockSize:]); got != fipsLastRoundKey {
		t.Errorf("last round key = %s, want %s (FIPS-197 A.1)", got, fipsLastRoundKey)
	}
	r := rand.New(rand.NewPCG(1, 2))
	key = make([]byte, cfb8.KeySize)
	block := make([]byte, aes.BlockSize)
	want := make([]byte, aes.BlockSize)
	for i := 0; i < 1000; i++ {
		fill(r, key)
		fill(r, block)
		c, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		c.Encrypt(want, block)
		if got := cfb8.EncryptBlockAsm(key, block); !bytes.Equal(got, want) {
			t.Fatalf("key %x block %x: asm %x, crypto/aes %x", key, block, got, want)
		}
	}
}

func fill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// TestEverySplit cuts every message up to exhaustiveLen bytes at every point
// (one cut, two calls) and at every pair of points (three calls). The
// decrypter's 8-byte steps and byte-wise tail meet every boundary this way.
func TestEverySplit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key, iv := make([]byte, cfb8.KeySize), make([]byte, cfb8.BlockSize)
	fill(r, key)
	fill(r, iv)
	for _, impl := range cfb8.Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			for n := 0; n <= exhaustiveLen; n++ {
				pt := make([]byte, n)
				fill(r, pt)
				ct := reference(t, key, iv, pt, false)
				for a := 0; a <= n; a++ {
					for b := a; b <= n; b++ {
						checkSplit(t, impl, key, iv, pt, ct, []int{a, b})
					}
				}
			}
		})
	}
}

func TestRandomSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, impl := range cfb8.Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			for i := 0; i < randomMessages; i++ {
				key, iv := make([]byte, cfb8.KeySize), make([]byte, cfb8.BlockSize)
				fill(r, key)
				if i%2 == 0 {
					copy(iv, key) // Minecraft's choice
				} else {
					fill(r, iv)
				}
				pt := make([]byte, r.IntN(randomMaxLen))
				fill(r, pt)
				ct := reference(t, key, iv, pt, false)
				checkSplit(t, impl, key, iv, pt, ct, randomCuts(r, len(pt)))
			}
		})
	}
}

// checkSplit encrypts pt in the pieces cuts makes and decrypts ct in the
// same pieces, in place and not, and compares with the one-shot reference.
func checkSplit(t *testing.T, impl cfb8.Impl, key, iv, pt, ct []byte, cuts []int) {
	t.Helper()
	for _, inPlace := range []bool{false, true} {
		enc, err := impl.NewEncrypter(key, iv)
		if err != nil {
			t.Fatal(err)
		}
		if got := runSplit(enc, pt, cuts, inPlace); !bytes.Equal(got, ct) {
			t.Fatalf("encrypt %d bytes cut at %v (in place %v): got %x, want %x", len(pt), cuts, inPlace, got, ct)
		}
		dec, err := impl.NewDecrypter(key, iv)
		if err != nil {
			t.Fatal(err)
		}
		if got := runSplit(dec, ct, cuts, inPlace); !bytes.Equal(got, pt) {
			t.Fatalf("decrypt %d bytes cut at %v (in place %v): got %x, want %x", len(ct), cuts, inPlace, got, pt)
		}
	}
}

// TestNoReadPastEnd puts the message at the start of a larger array and
// checks that decrypting it leaves the bytes after it alone: a step that
// stored 8 bytes where fewer remain would change them. (Reads past the end
// are TestNoReadPastPage's job.)
func TestNoReadPastEnd(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	key, iv := make([]byte, cfb8.KeySize), make([]byte, cfb8.BlockSize)
	fill(r, key)
	fill(r, iv)
	for _, impl := range cfb8.Impls() {
		for n := 0; n <= 2*exhaustiveLen; n++ {
			pt := make([]byte, n)
			fill(r, pt)
			ct := reference(t, key, iv, pt, false)
			backing := bytes.Repeat([]byte{0xa5}, n+32)
			msg := backing[:n:n]
			copy(msg, ct)
			dec, err := impl.NewDecrypter(key, iv)
			if err != nil {
				t.Fatal(err)
			}
			dec.XORKeyStream(msg, msg)
			if !bytes.Equal(msg, pt) {
				t.Fatalf("%s: decrypt %d bytes: got %x, want %x", impl.Name, n, msg, pt)
			}
			if tail := backing[n:]; !bytes.Equal(tail, bytes.Repeat([]byte{0xa5}, 32)) {
				t.Fatalf("%s: decrypt %d bytes wrote past the end: %x", impl.Name, n, tail)
			}
		}
	}
}

func TestAllocations(t *testing.T) {
	key := make([]byte, cfb8.KeySize)
	buf := make([]byte, 1500)
	for _, impl := range cfb8.Impls() {
		enc, err := impl.NewEncrypter(key, key)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := impl.NewDecrypter(key, key)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { enc.XORKeyStream(buf, buf) }); n != 0 {
			t.Errorf("%s: encrypt allocates %v times per call", impl.Name, n)
		}
		if n := testing.AllocsPerRun(100, func() { dec.XORKeyStream(buf, buf) }); n != 0 {
			t.Errorf("%s: decrypt allocates %v times per call", impl.Name, n)
		}
	}
}

func TestConstructorErrors(t *testing.T) {
	good := make([]byte, 16)
	for _, tc := range []struct {
		name    string
		key, iv []byte
		want    error
	}{
		{"short key", make([]byte, 15), good, cfb8.ErrKeySize},
		{"AES-256 key", make([]byte, 32), good, cfb8.ErrKeySize},
		{"nil key", nil, good, cfb8.ErrKeySize},
		{"short iv", good, make([]byte, 8), cfb8.ErrIVSize},
		{"long iv", good, make([]byte, 17), cfb8.ErrIVSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cfb8.NewEncrypter(tc.key, tc.iv); !errors.Is(err, tc.want) {
				t.Errorf("NewEncrypter: err = %v, want %v", err, tc.want)
			}
			if _, err := cfb8.NewDecrypter(tc.key, tc.iv); !errors.Is(err, tc.want) {
				t.Errorf("NewDecrypter: err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBufferRules(t *testing.T) {
	key := make([]byte, cfb8.KeySize)
	for _, impl := range cfb8.Impls() {
		enc, err := impl.NewEncrypter(key, key)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := impl.NewDecrypter(key, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []streamer{enc, dec} {
			buf := make([]byte, 64)
			s.XORKeyStream(nil, nil)          // empty: nothing to do
			s.XORKeyStream(buf[:40], buf[:8]) // dst may be longer
			mustPanic(t, impl.Name+" short dst", func() { s.XORKeyStream(buf[:7], buf[8:16]) })
			mustPanic(t, impl.Name+" overlap ahead", func() { s.XORKeyStream(buf[1:17], buf[0:16]) })
			mustPanic(t, impl.Name+" overlap behind", func() { s.XORKeyStream(buf[0:16], buf[15:31]) })
		}
	}
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}
