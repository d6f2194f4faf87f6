package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// Stream is one direction of the client leg's cipher: AES-128-CFB8 keyed
// (key and IV) with the shared secret, one continuous stream for the whole
// connection. XORKeyStream may work in place (dst and src the same slice)
// and keeps its state between calls, so any split of a stream gives the
// same bytes.
type Stream interface {
	XORKeyStream(dst, src []byte)
}

// NewStreams returns the encrypter (edge → client) and decrypter
// (client → edge) for a shared secret.
//
// This is a plain crypto/aes CFB8, one block encryption per byte and
// correct rather than fast: a stand-in until shared/mcproto/cfb8 (the
// AES-NI implementation) lands, when this function is the one line to
// change.
func NewStreams(secret [SecretLen]byte) (enc, dec Stream, err error) {
	e, err := newCFB8(secret[:], false)
	if err != nil {
		return nil, nil, err
	}
	d, err := newCFB8(secret[:], true)
	if err != nil {
		return nil, nil, err
	}
	return e, d, nil
}

// cfb8 is CFB with an 8-bit segment (NIST SP 800-38A §6.3): each byte is
// XORed with the first byte of the block cipher applied to a 16-byte shift
// register, which then shifts in the ciphertext byte.
type cfb8 struct {
	block   cipher.Block
	reg     [aes.BlockSize]byte
	out     [aes.BlockSize]byte
	decrypt bool
}

func newCFB8(key []byte, decrypt bool) (*cfb8, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cfb8: %w", err)
	}
	c := &cfb8{block: b, decrypt: decrypt}
	copy(c.reg[:], key) // Minecraft uses the key as the IV
	return c, nil
}

func (c *cfb8) XORKeyStream(dst, src []byte) {
	dst = dst[:len(src)]
	for i, in := range src {
		c.block.Encrypt(c.out[:], c.reg[:])
		out := in ^ c.out[0]
		dst[i] = out
		ct := out
		if c.decrypt {
			ct = in
		}
		copy(c.reg[:], c.reg[1:])
		c.reg[aes.BlockSize-1] = ct
	}
}
