package mcproto

import (
	"bytes"
	"compress/zlib"
	"math/rand/v2"
	"testing"
)

func zlibBytes(t testing.TB, data []byte, level int) []byte {
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// TestPeekInflateAgreesWithZlib: for data of every kind and every level
// (stored, fixed and dynamic blocks, back-references from the second byte
// on), the first bytes PeekInflate returns are the data's first bytes.
func TestPeekInflateAgreesWithZlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 70000)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	inputs := map[string][]byte{
		"empty":    {},
		"one byte": {0x21},
		"zeros":    make([]byte, 20000),
		"run":      bytes.Repeat([]byte{0x21, 7, 0}, 10000),
		"text":     bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog "), 500),
		"random":   random,
		"chunkish": append([]byte{0x21, 0x80, 0x01}, bytes.Repeat([]byte{1, 0, 0, 0, 2, 0, 3}, 4000)...),
	}
	for name, data := range inputs {
		for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression, zlib.HuffmanOnly} {
			z := zlibBytes(t, data, level)
			for _, want := range []int{1, 5, 32, 300} {
				dst := make([]byte, want)
				n, err := PeekInflate(dst, z)
				if err != nil {
					t.Fatalf("%s level %d peek %d: %v", name, level, want, err)
				}
				exp := min(want, len(data))
				if n != exp || !bytes.Equal(dst[:n], data[:exp]) {
					t.Fatalf("%s level %d peek %d: got %d bytes %x, want %x", name, level, want, n, dst[:n], data[:exp])
				}
			}
		}
	}
}

func TestPeekInflateRefusesGarbage(t *testing.T) {
	for name, in := range map[string][]byte{
		"short":        {0x78},
		"bad method":   {0x79, 0x9c, 1, 2},
		"bad check":    {0x78, 0x9d, 1, 2},
		"preset dict":  {0x78, 0xbb, 0, 0, 0, 0},
		"bad btype":    {0x78, 0x9c, 0x07},
		"truncated":    {0x78, 0x9c, 0x05},
		"stored nlen":  {0x78, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00, 'a'},
		"far distance": append([]byte{0x78, 0x01}, 0x03, 0x00), // fixed block whose first symbol is end-of-block is fine, so this must not error
	} {
		dst := make([]byte, 8)
		_, err := PeekInflate(dst, in)
		if name == "far distance" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzPeekInflate(f *testing.F) {
	f.Add(zlibBytes(f, []byte("hello hello hello"), 6), uint8(4))
	f.Add(zlibBytes(f, make([]byte, 1000), 9), uint8(16))
	f.Add([]byte{0x78, 0x9c, 0xff, 0xff}, uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, n uint8) {
		dst := make([]byte, int(n)%64+1)
		got, err := PeekInflate(dst, in)
		if got > len(dst) {
			t.Fatalf("wrote %d into %d", got, len(dst))
		}
		// Where zlib decodes the stream, the peeked bytes must be its prefix.
		r, zerr := zlib.NewReader(bytes.NewReader(in))
		if zerr != nil || err != nil {
			return
		}
		full := make([]byte, len(dst))
		m, _ := r.Read(full)
		for m < len(full) {
			k, e := r.Read(full[m:])
			m += k
			if e != nil || k == 0 {
				break
			}
		}
		if m >= got && !bytes.Equal(full[:got], dst[:got]) {
			t.Fatalf("peek %x, zlib %x", dst[:got], full[:got])
		}
	})
}

func BenchmarkPeekInflate(b *testing.B) {
	data := append([]byte{0x21, 0x80, 0x01}, bytes.Repeat([]byte{1, 0, 0, 0, 2, 0, 3, 9, 4}, 2300)...)
	z := zlibBytes(b, data, zlib.DefaultCompression)
	var dst [32]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(z)))
	for i := 0; i < b.N; i++ {
		if _, err := PeekInflate(dst[:], z); err != nil {
			b.Fatal(err)
		}
	}
}
