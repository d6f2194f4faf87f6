// Package cfb8 is Minecraft's stream cipher: AES-128 in CFB8 mode (NIST SP
// 800-38A §6.3 with s = 8), which the standard library does not provide.
//
// After a successful Encryption Response both peers encrypt every byte they
// send from then on (frame lengths included) with AES-128-CFB8, using the
// 16-byte shared secret as both key and IV. Each direction is one stream for
// the whole connection: a leg holds one Encrypter for what it sends and one
// Decrypter for what it receives, created once, and feeds them every byte in
// order, however the reads and writes split them. docs/PROTOCOL.md
// ("Encryption") says where the cipher sits on a leg.
//
// CFB8 spends one AES block per byte. Encrypting is a serial chain (the block
// for byte i+1 contains ciphertext byte i); decrypting is not (every input is
// ciphertext, already known), so the decrypter keeps eight blocks in flight.
// On amd64 with AES-NI both run in assembly (cfb8_amd64.s) with no call per
// byte; elsewhere, and on CPUs without AES-NI, a generic implementation on
// crypto/aes produces the same bytes more slowly. Either way XORKeyStream
// allocates nothing.
package cfb8
