package cfb8_test

import (
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

// benchSizes: a small play packet, a typical socket write, a chunk-sized
// burst.
var benchSizes = []struct {
	name string
	n    int
}{
	{"16B", 16},
	{"1KiB", 1 << 10},
	{"16KiB", 16 << 10},
}

func BenchmarkEncrypt(b *testing.B) {
	for _, impl := range cfb8.Impls() {
		for _, size := range benchSizes {
			b.Run(impl.Name+"/"+size.name, func(b *testing.B) {
				key := make([]byte, cfb8.KeySize)
				enc, err := impl.NewEncrypter(key, key)
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, size.n)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					enc.XORKeyStream(buf, buf)
				}
			})
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, impl := range cfb8.Impls() {
		for _, size := range benchSizes {
			b.Run(impl.Name+"/"+size.name, func(b *testing.B) {
				key := make([]byte, cfb8.KeySize)
				dec, err := impl.NewDecrypter(key, key)
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, size.n)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					dec.XORKeyStream(buf, buf)
				}
			})
		}
	}
}
