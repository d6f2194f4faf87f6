package cfb8

// The generic implementation: CFB8 exactly as NIST SP 800-38A §6.3 states it,
// one crypto/aes block per byte. It serves other architectures, amd64 CPUs
// without AES-NI and purego builds, and it is the second implementation the
// tests hold the assembly against.

// encryptGeneric encrypts src into dst (equal or disjoint, same length).
func (s *stream) encryptGeneric(dst, src []byte) {
	for i, p := range src {
		s.block.Encrypt(s.out[:], s.reg[:])
		c := p ^ s.out[0]
		s.shift(c)
		dst[i] = c
	}
}

// decryptGeneric decrypts src into dst (equal or disjoint, same length).
func (s *stream) decryptGeneric(dst, src []byte) {
	for i, c := range src {
		s.block.Encrypt(s.out[:], s.reg[:])
		s.shift(c)
		dst[i] = c ^ s.out[0]
	}
}

// shift moves the register one byte on, taking in ciphertext byte c.
func (s *stream) shift(c byte) {
	copy(s.reg[:], s.reg[1:])
	s.reg[BlockSize-1] = c
}
