package auth

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
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
// (client → edge) for a shared secret (shared/mcproto/cfb8: AES-NI where
// the CPU has it; docs/PROTOCOL.md, "Encryption").
func NewStreams(secret [SecretLen]byte) (enc, dec Stream, err error) {
	e, err := cfb8.NewEncrypter(secret[:], secret[:])
	if err != nil {
		return nil, nil, fmt.Errorf("client leg cipher: %w", err)
	}
	d, err := cfb8.NewDecrypter(secret[:], secret[:])
	if err != nil {
		return nil, nil, fmt.Errorf("client leg cipher: %w", err)
	}
	return e, d, nil
}
