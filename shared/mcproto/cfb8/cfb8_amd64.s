//go:build amd64 && !purego

#include "textflag.h"

// AES-128 with AES-NI. The expanded key schedule is 11 round keys of 16
// bytes (FIPS-197 §5.2): ks[0] is the cipher key, ks[16*r] the key of
// round r. The schedule lives in a Go byte array with no alignment
// guarantee, so every key is loaded with MOVOU: legacy SSE instructions
// with a memory operand (AESENC m128, PXOR m128) fault on an unaligned
// address.

// EXPAND derives round key `off`/16 from the previous one in X0
// (FIPS-197 §5.2, Nk = 4): w[i] = w[i-4] ^ w[i-1] for three words and
// SubWord(RotWord(w[i-1])) ^ Rcon for the first. AESKEYGENASSIST computes
// SubWord(RotWord(x)) ^ rcon on dword 3, PSHUFD broadcasts it, and the three
// shift-and-xor steps build the running xor w0, w0^w1, w0^w1^w2, w0^..^w3.
#define EXPAND(rcon, off) \
	AESKEYGENASSIST $rcon, X0, X1; \
	PSHUFD          $0xff, X1, X1; \
	MOVO            X0, X2; \
	PSLLO           $4, X2; \
	PXOR            X2, X0; \
	PSLLO           $4, X2; \
	PXOR            X2, X0; \
	PSLLO           $4, X2; \
	PXOR            X2, X0; \
	PXOR            X1, X0; \
	MOVOU           X0, off(DI)

// func expandKey(key *[16]byte, ks *[176]byte)
TEXT ·expandKey(SB), NOSPLIT, $0-16
	MOVQ  key+0(FP), AX
	MOVQ  ks+8(FP), DI
	MOVOU (AX), X0
	MOVOU X0, 0(DI)
	EXPAND(0x01, 16)
	EXPAND(0x02, 32)
	EXPAND(0x04, 48)
	EXPAND(0x08, 64)
	EXPAND(0x10, 80)
	EXPAND(0x20, 96)
	EXPAND(0x40, 112)
	EXPAND(0x80, 128)
	EXPAND(0x1b, 144)
	EXPAND(0x36, 160)
	RET

// func encryptBlock(ks *[176]byte, dst, src *[16]byte)
//
// One AES-128 block; the tests use it to check the key schedule against
// crypto/aes.
TEXT ·encryptBlock(SB), NOSPLIT, $0-24
	MOVQ       ks+0(FP), AX
	MOVQ       dst+8(FP), DI
	MOVQ       src+16(FP), SI
	MOVOU      (SI), X0
	MOVOU      0(AX), X1
	PXOR       X1, X0
	MOVOU      16(AX), X1
	AESENC     X1, X0
	MOVOU      32(AX), X1
	AESENC     X1, X0
	MOVOU      48(AX), X1
	AESENC     X1, X0
	MOVOU      64(AX), X1
	AESENC     X1, X0
	MOVOU      80(AX), X1
	AESENC     X1, X0
	MOVOU      96(AX), X1
	AESENC     X1, X0
	MOVOU      112(AX), X1
	AESENC     X1, X0
	MOVOU      128(AX), X1
	AESENC     X1, X0
	MOVOU      144(AX), X1
	AESENC     X1, X0
	MOVOU      160(AX), X1
	AESENCLAST X1, X0
	MOVOU      X0, (DI)
	RET

// func encryptCFB8(ks *[176]byte, reg *[16]byte, dst, src []byte)
//
// Encryption is one serial chain: the block encrypted for byte i+1 contains
// ciphertext byte i. The loop keeps that chain to the ten AES rounds plus one
// PALIGNR; everything else (the next plaintext byte, the key adjustments,
// storing the ciphertext byte) runs beside it on other ports.
//
// The state register is kept pre-whitened: S = reg ^ k0, so the first AES
// round is AESENC k1 straight away. Shifting the register by one byte must
// then also move the whitening: with reg' = reg[1:16] ++ c,
//
//	S'[j]  = S[j+1] ^ k0[j+1] ^ k0[j]      (j < 15)
//	S'[15] = c ^ k0[15] = p ^ E(reg)[0] ^ k0[15]
//
// A = S ^ M with M = k0 ^ (k0 << 8) supplies the first 15 bytes (as A[1:16]).
// The last byte is produced by the cipher itself: AESENCLAST xors its round
// key in, so byte 0 of that key is replaced by k10[0] ^ p ^ k0[15], and
// E(reg)[0] comes out already xored with p ^ k0[15]. One PALIGNR $1 then
// joins A[1:16] and that byte into S'. The ciphertext byte is S'[15] ^ k0[15].
//
// Registers: X1..X9 = k1..k9, X10 = k10, X0 = k10 with byte 0 replaced,
// X11 = A, X12 = S, X13 = M; R8 = k10[0] ^ k0[15], R10 = k0[15].
TEXT ·encryptCFB8(SB), NOSPLIT, $0-64
	MOVQ ks+0(FP), AX
	MOVQ reg+8(FP), BX
	MOVQ dst_base+16(FP), DI
	MOVQ src_base+40(FP), SI
	MOVQ src_len+48(FP), CX
	TESTQ CX, CX
	JZ   encDone

	MOVOU   0(AX), X0
	MOVO    X0, X13
	PSLLO   $1, X13
	PXOR    X0, X13
	MOVOU   (BX), X12
	PXOR    X0, X12
	MOVBLZX 15(AX), R10
	MOVBLZX 160(AX), R8
	XORL    R10, R8
	MOVOU   16(AX), X1
	MOVOU   32(AX), X2
	MOVOU   48(AX), X3
	MOVOU   64(AX), X4
	MOVOU   80(AX), X5
	MOVOU   96(AX), X6
	MOVOU   112(AX), X7
	MOVOU   128(AX), X8
	MOVOU   144(AX), X9
	MOVOU   160(AX), X10

encLoop:
	MOVO       X12, X11
	PXOR       X13, X11
	MOVBLZX    (SI), DX
	XORL       R8, DX
	MOVO       X10, X0
	PINSRB     $0, DX, X0
	AESENC     X1, X12
	AESENC     X2, X12
	AESENC     X3, X12
	AESENC     X4, X12
	AESENC     X5, X12
	AESENC     X6, X12
	AESENC     X7, X12
	AESENC     X8, X12
	AESENC     X9, X12
	AESENCLAST X0, X12
	PALIGNR    $1, X11, X12
	PEXTRB     $15, X12, DX
	XORL       R10, DX
	MOVB       DX, (DI)
	INCQ       SI
	INCQ       DI
	DECQ       CX
	JNZ        encLoop

	// reg = S ^ k0: the last 16 ciphertext bytes.
	MOVOU 0(AX), X0
	PXOR  X0, X12
	MOVOU X12, (BX)

encDone:
	RET

// ROUND8 runs one AES round over the eight blocks X0..X7 with the key at
// off(AX), loaded once into X10.
#define ROUND8(off) \
	MOVOU  off(AX), X10; \
	AESENC X10, X0; \
	AESENC X10, X1; \
	AESENC X10, X2; \
	AESENC X10, X3; \
	AESENC X10, X4; \
	AESENC X10, X5; \
	AESENC X10, X6; \
	AESENC X10, X7

// WINDOW builds in X the block for the byte k positions into the step:
// bytes k..k+15 of H ++ C (H = the 16 ciphertext bytes before the step, in
// X8; C = the step's ciphertext, in X9), whitened with k0 (X12).
#define WINDOW(k, X) \
	MOVO    X9, X; \
	PALIGNR $k, X8, X; \
	PXOR    X12, X

// func decryptCFB8(ks *[176]byte, reg *[16]byte, dst, src []byte)
//
// Decryption has no chain: plaintext byte j is c[j] ^ E(c[j-16:j])[0], and
// all of c is known. Each step decrypts 8 bytes with 8 independent AES blocks
// interleaved round by round, so the AES unit works on one block while the
// others' rounds are still in its pipeline. The windows are built from the
// 16-byte history H and the step's 8 ciphertext bytes with PALIGNR; byte 0 of
// each result is gathered with three levels of PUNPCKL into one qword.
//
// In place (dst == src) is safe: a step loads its 8 ciphertext bytes before it
// stores their plaintext, and later windows come from H, a register. Nothing
// is read past src: steps load exactly 8 bytes, and the last 0..7 bytes go one
// at a time.
//
// Registers: X0..X7 = blocks, X8 = H, X9 = C, X10 = round key, X11 = copy of
// C for the final xor, X12 = k0.
TEXT ·decryptCFB8(SB), NOSPLIT, $0-64
	MOVQ  ks+0(FP), AX
	MOVQ  reg+8(FP), BX
	MOVQ  dst_base+16(FP), DI
	MOVQ  src_base+40(FP), SI
	MOVQ  src_len+48(FP), CX
	MOVOU (BX), X8
	MOVOU 0(AX), X12
	CMPQ  CX, $8
	JB    decTail

decLoop8:
	MOVQ    (SI), X9
	MOVO    X8, X0
	PXOR    X12, X0
	WINDOW(1, X1)
	WINDOW(2, X2)
	WINDOW(3, X3)
	WINDOW(4, X4)
	WINDOW(5, X5)
	WINDOW(6, X6)
	WINDOW(7, X7)
	MOVO    X9, X11
	PALIGNR $8, X8, X9
	MOVO    X9, X8

	ROUND8(16)
	ROUND8(32)
	ROUND8(48)
	ROUND8(64)
	ROUND8(80)
	ROUND8(96)
	ROUND8(112)
	ROUND8(128)
	ROUND8(144)
	MOVOU      160(AX), X10
	AESENCLAST X10, X0
	AESENCLAST X10, X1
	AESENCLAST X10, X2
	AESENCLAST X10, X3
	AESENCLAST X10, X4
	AESENCLAST X10, X5
	AESENCLAST X10, X6
	AESENCLAST X10, X7

	// Byte 0 of X0..X7 into bytes 0..7 of X0.
	PUNPCKLBW X1, X0
	PUNPCKLBW X3, X2
	PUNPCKLBW X5, X4
	PUNPCKLBW X7, X6
	PUNPCKLWL X2, X0
	PUNPCKLWL X6, X4
	PUNPCKLLQ X4, X0
	PXOR      X11, X0
	MOVQ      X0, (DI)

	ADDQ $8, SI
	ADDQ $8, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  decLoop8

decTail:
	TESTQ CX, CX
	JZ    decStore
	MOVOU 16(AX), X1
	MOVOU 32(AX), X2
	MOVOU 48(AX), X3
	MOVOU 64(AX), X4
	MOVOU 80(AX), X5
	MOVOU 96(AX), X6
	MOVOU 112(AX), X7
	MOVOU 128(AX), X9
	MOVOU 144(AX), X10
	MOVOU 160(AX), X11

decLoop1:
	MOVO       X8, X0
	PXOR       X12, X0
	AESENC     X1, X0
	AESENC     X2, X0
	AESENC     X3, X0
	AESENC     X4, X0
	AESENC     X5, X0
	AESENC     X6, X0
	AESENC     X7, X0
	AESENC     X9, X0
	AESENC     X10, X0
	AESENCLAST X11, X0
	MOVBLZX    (SI), DX
	MOVQ       X0, R9
	XORL       DX, R9
	MOVB       R9, (DI)
	PSRLO      $1, X8
	PINSRB     $15, DX, X8
	INCQ       SI
	INCQ       DI
	DECQ       CX
	JNZ        decLoop1

decStore:
	MOVOU X8, (BX)
	RET
