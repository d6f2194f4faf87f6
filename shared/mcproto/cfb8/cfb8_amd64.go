//go:build amd64 && !purego

package cfb8

import "golang.org/x/sys/cpu"

// haveAsm reports whether this CPU runs the assembly in cfb8_amd64.s: AES-NI
// for the rounds, SSSE3 for PALIGNR and SSE4.1 for PINSRB/PEXTRB.
func haveAsm() bool {
	return cpu.X86.HasAES && cpu.X86.HasSSSE3 && cpu.X86.HasSSE41
}

// expandKey writes the AES-128 key schedule of key into ks.
//
//go:noescape
func expandKey(key *[KeySize]byte, ks *[scheduleSize]byte)

// encryptBlock encrypts one block with the schedule ks.
//
//go:noescape
func encryptBlock(ks *[scheduleSize]byte, dst, src *[BlockSize]byte)

// encryptCFB8 encrypts src into dst (len(dst) == len(src), equal or disjoint)
// and leaves the shift register in reg.
//
//go:noescape
func encryptCFB8(ks *[scheduleSize]byte, reg *[BlockSize]byte, dst, src []byte)

// decryptCFB8 is encryptCFB8's inverse.
//
//go:noescape
func decryptCFB8(ks *[scheduleSize]byte, reg *[BlockSize]byte, dst, src []byte)
