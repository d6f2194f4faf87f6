package cfb8

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"unsafe"
)

const (
	// KeySize is the key length: Minecraft's shared secret is 16 random
	// bytes, so the cipher is always AES-128.
	KeySize = 16
	// BlockSize is AES's block size, which is also the length of the IV and
	// of CFB8's shift register.
	BlockSize = aes.BlockSize
	// scheduleSize is the expanded AES-128 key: the whitening key and one
	// key for each of the 10 rounds (FIPS-197 §5.2, Nr = 10).
	scheduleSize = 11 * BlockSize
)

// Errors from the constructors; wrapped with the length that was passed.
var (
	ErrKeySize = errors.New("cfb8: key must be 16 bytes (AES-128)")
	ErrIVSize  = errors.New("cfb8: IV must be 16 bytes")
)

// Encrypter encrypts one direction of a connection. It implements
// cipher.Stream. It is not safe for concurrent use: a stream has one order.
type Encrypter struct{ s stream }

// Decrypter decrypts one direction of a connection. It implements
// cipher.Stream. It is not safe for concurrent use: a stream has one order.
type Decrypter struct{ s stream }

var (
	_ cipher.Stream = (*Encrypter)(nil)
	_ cipher.Stream = (*Decrypter)(nil)
)

// stream is the state both directions share: the shift register and the key
// in the form the implementation in use needs.
type stream struct {
	// reg is the shift register: the last 16 ciphertext bytes of the stream
	// (the IV before there were 16).
	reg [BlockSize]byte
	// ks is the expanded key for the assembly.
	ks [scheduleSize]byte
	// block is crypto/aes's cipher when the assembly is not used; nil
	// otherwise.
	block cipher.Block
	// out is the generic path's keystream block. It lives here rather than on
	// the stack because passing a stack array to an interface method makes it
	// escape: one allocation per byte.
	out [BlockSize]byte
}

// NewEncrypter returns the encrypting stream for key and iv. Minecraft uses
// the shared secret as both.
func NewEncrypter(key, iv []byte) (*Encrypter, error) {
	e := new(Encrypter)
	if err := e.s.init(key, iv, haveAsm()); err != nil {
		return nil, err
	}
	return e, nil
}

// NewDecrypter returns the decrypting stream for key and iv. Minecraft uses
// the shared secret as both.
func NewDecrypter(key, iv []byte) (*Decrypter, error) {
	d := new(Decrypter)
	if err := d.s.init(key, iv, haveAsm()); err != nil {
		return nil, err
	}
	return d, nil
}

// init sets s up for key and iv, with the assembly when asm is true.
func (s *stream) init(key, iv []byte, asm bool) error {
	if len(key) != KeySize {
		return fmt.Errorf("%w, got %d", ErrKeySize, len(key))
	}
	if len(iv) != BlockSize {
		return fmt.Errorf("%w, got %d", ErrIVSize, len(iv))
	}
	copy(s.reg[:], iv)
	if asm {
		expandKey((*[KeySize]byte)(key), &s.ks)
		return nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("cfb8: %w", err)
	}
	s.block = block
	return nil
}

// XORKeyStream encrypts src into dst. dst and src may be the same slice (in
// place) or not overlap at all; any other overlap panics, as does a dst
// shorter than src. Calls continue one stream: splitting a message anywhere
// gives the same bytes as encrypting it whole.
func (e *Encrypter) XORKeyStream(dst, src []byte) {
	dst = checkBuffers(dst, src)
	if len(src) == 0 {
		return
	}
	if e.s.block == nil {
		encryptCFB8(&e.s.ks, &e.s.reg, dst, src)
		return
	}
	e.s.encryptGeneric(dst, src)
}

// XORKeyStream decrypts src into dst, with the same rules as
// Encrypter.XORKeyStream.
func (d *Decrypter) XORKeyStream(dst, src []byte) {
	dst = checkBuffers(dst, src)
	if len(src) == 0 {
		return
	}
	if d.s.block == nil {
		decryptCFB8(&d.s.ks, &d.s.reg, dst, src)
		return
	}
	d.s.decryptGeneric(dst, src)
}

// checkBuffers enforces cipher.Stream's buffer rules and returns dst cut to
// len(src). A partial overlap would make the decrypter read plaintext it has
// just written as if it were ciphertext, so it is a programming error, not a
// silent corruption.
func checkBuffers(dst, src []byte) []byte {
	if len(dst) < len(src) {
		panic("cfb8: output smaller than input")
	}
	dst = dst[:len(src)]
	if len(src) == 0 {
		return dst
	}
	d := uintptr(unsafe.Pointer(unsafe.SliceData(dst)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(src)))
	n := uintptr(len(src))
	if d != s && d < s+n && s < d+n {
		panic("cfb8: invalid buffer overlap")
	}
	return dst
}
