package cfb8_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

// TestNoReadPastPage ends every message exactly at a page whose successor is
// unmapped: an implementation that loads even one byte past the end of src
// (an 8-byte step where fewer bytes remain) faults and the test binary dies.
// TestNoReadPastEnd catches writes past the end; this catches reads.
func TestNoReadPastPage(t *testing.T) {
	page := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = unix.Munmap(mem) })
	if err := unix.Mprotect(mem[page:], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	key, iv := make([]byte, cfb8.KeySize), make([]byte, cfb8.BlockSize)
	fill(r, key)
	fill(r, iv)
	for _, impl := range cfb8.Impls() {
		for n := 0; n <= 2*exhaustiveLen; n++ {
			pt := make([]byte, n)
			fill(r, pt)
			ct := reference(t, key, iv, pt, false)
			msg := mem[page-n : page : page]

			copy(msg, pt)
			enc, err := impl.NewEncrypter(key, iv)
			if err != nil {
				t.Fatal(err)
			}
			enc.XORKeyStream(msg, msg)
			if !bytes.Equal(msg, ct) {
				t.Fatalf("%s: encrypt %d bytes at a page end: got %x, want %x", impl.Name, n, msg, ct)
			}
			dec, err := impl.NewDecrypter(key, iv)
			if err != nil {
				t.Fatal(err)
			}
			dec.XORKeyStream(msg, msg)
			if !bytes.Equal(msg, pt) {
				t.Fatalf("%s: decrypt %d bytes at a page end: got %x, want %x", impl.Name, n, msg, pt)
			}
		}
	}
}
