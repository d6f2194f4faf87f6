package mcproto_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Fuzz limits. The caps are small so the fuzzer reaches "over the cap"
// paths with short inputs; the bounds are what the code under test promises.
const (
	// fuzzFrameCapLimit: framer caps are drawn from [0, fuzzFrameCapLimit).
	fuzzFrameCapLimit = 2048
	// fuzzInflateCap is the inflate cap used by FuzzSplitCompressedInflate.
	fuzzInflateCap = 64 << 10
	// fuzzInflateOverhead is what one Inflate may allocate besides its
	// output: a fresh zlib reader (about 40 KiB of flate state, a 32 KiB
	// window among it), Huffman link tables and error values.
	fuzzInflateOverhead = 128 << 10
)

func FuzzReadVarInt(f *testing.F) {
	for _, tc := range varIntCases {
		f.Add(tc.enc)
	}
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0x80, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Oracle: the index of the first byte without the continuation bit.
		end := -1
		for i, c := range data {
			if c < 0x80 {
				end = i
				break
			}
		}

		v, n, err := mcproto.ReadVarInt(data)
		switch {
		case end >= 0 && end < mcproto.MaxVarIntLen:
			if err != nil || n != end+1 {
				t.Fatalf("ReadVarInt(% x) = %d, %d, %v; want %d bytes", data, v, n, err, end+1)
			}
			// encoding/binary's LEB128 is the same format; within 5 bytes it
			// cannot overflow uint64, and the low 32 bits are the value.
			u, un := binary.Uvarint(data[:n])
			if un != n || uint32(u) != uint32(v) {
				t.Fatalf("ReadVarInt(% x) = %d, LEB128 says %d", data, v, int32(uint32(u)))
			}
			re := mcproto.AppendVarInt(nil, v)
			if len(re) > n || len(re) != mcproto.VarIntLen(v) {
				t.Fatalf("canonical encoding of %d is % x (VarIntLen %d), input used %d", v, re, mcproto.VarIntLen(v), n)
			}
			if v2, n2, err := mcproto.ReadVarInt(re); err != nil || v2 != v || n2 != len(re) {
				t.Fatalf("re-encoded %d does not round-trip: %d, %d, %v", v, v2, n2, err)
			}
		case len(data) >= mcproto.MaxVarIntLen:
			if !errors.Is(err, mcproto.ErrVarIntTooBig) {
				t.Fatalf("ReadVarInt(% x) err = %v, want ErrVarIntTooBig", data, err)
			}
		default:
			if !errors.Is(err, mcproto.ErrShort) {
				t.Fatalf("ReadVarInt(% x) err = %v, want ErrShort", data, err)
			}
		}

		// VarLong: the same shape with 10 bytes.
		lv, ln, lerr := mcproto.ReadVarLong(data)
		switch {
		case end >= 0 && end < mcproto.MaxVarLongLen:
			if lerr != nil || ln != end+1 {
				t.Fatalf("ReadVarLong(% x) = %d, %d, %v", data, lv, ln, lerr)
			}
			if u, un := binary.Uvarint(data[:ln]); un == ln && u != uint64(lv) {
				t.Fatalf("ReadVarLong(% x) = %d, LEB128 says %d", data, lv, int64(u))
			}
			if ln <= mcproto.MaxVarIntLen && uint32(lv) != uint32(v) {
				t.Fatalf("VarLong %d and VarInt %d disagree on % x", lv, v, data[:ln])
			}
		case len(data) >= mcproto.MaxVarLongLen:
			if !errors.Is(lerr, mcproto.ErrVarIntTooBig) {
				t.Fatalf("ReadVarLong(% x) err = %v, want ErrVarIntTooBig", data, lerr)
			}
		default:
			if !errors.Is(lerr, mcproto.ErrShort) {
				t.Fatalf("ReadVarLong(% x) err = %v, want ErrShort", data, lerr)
			}
		}

		// The frame header is a VarInt of at most 3 bytes.
		bodyLen, hdrLen, herr := mcproto.ParseFrameHeader(data)
		switch {
		case end >= 0 && end < mcproto.MaxFrameHeaderLen:
			if herr != nil || hdrLen != end+1 || int32(bodyLen) != v {
				t.Fatalf("ParseFrameHeader(% x) = %d, %d, %v; VarInt %d", data, bodyLen, hdrLen, herr, v)
			}
			if bodyLen < 0 || bodyLen > mcproto.MaxFrameLength {
				t.Fatalf("ParseFrameHeader(% x) = %d, outside [0, %d]", data, bodyLen, mcproto.MaxFrameLength)
			}
		case len(data) >= mcproto.MaxFrameHeaderLen:
			if !errors.Is(herr, mcproto.ErrLengthTooWide) {
				t.Fatalf("ParseFrameHeader(% x) err = %v, want ErrLengthTooWide", data, herr)
			}
		default:
			if !errors.Is(herr, mcproto.ErrShort) {
				t.Fatalf("ParseFrameHeader(% x) err = %v, want ErrShort", data, herr)
			}
		}
	})
}

// FuzzFramer feeds arbitrary bytes in arbitrary chunks. Each byte of
// chunking gives one chunk size (byte>>1 + 1, 1..128) and whether to Release
// after draining (low bit); the sizes repeat. An empty chunking feeds all at
// once.
func FuzzFramer(f *testing.F) {
	stream, _ := testStream([]int{1, 0, 5, 127, 128, 300, 0, 2})
	f.Add(stream, []byte{}, uint16(fuzzFrameCapLimit-1))
	f.Add(stream, []byte{0, 1, 2, 255}, uint16(200))
	f.Add(stream, []byte{0}, uint16(0))
	f.Add(make([]byte, 20), []byte{3}, uint16(10))
	f.Add([]byte{0xff, 0xff, 0xff}, []byte{}, uint16(100))
	f.Add([]byte{0xff, 0xff, 0x7f, 1, 2, 3}, []byte{7}, uint16(1000))
	f.Add(cat([]byte{0x03, 1, 2, 3}, []byte{0x80, 0x01}), []byte{1}, uint16(127))
	f.Fuzz(func(t *testing.T, data, chunking []byte, capSel uint16) {
		maxBody := int(capSel) % fuzzFrameCapLimit
		fr := mcproto.NewFramer(mcproto.NewBufferPool(smallestBufClass), maxBody)
		var consumed []byte // concatenation of every raw frame returned
		empties := 0        // empty frames in a row, for the error oracle
		var ferr error
		in := data
		for i := 0; len(in) > 0 && ferr == nil; i++ {
			size, release := len(in), false
			if len(chunking) > 0 {
				c := chunking[i%len(chunking)]
				size, release = int(c>>1)+1, c&1 == 1
			}
			chunk := in[:min(size, len(in))]
			in = in[len(chunk):]
			for len(chunk) > 0 && ferr == nil {
				space := fr.Space()
				if len(space) == 0 {
					t.Fatal("Space returned no room")
				}
				n := copy(space, chunk)
				fr.Commit(n)
				chunk = chunk[n:]
				mark := fr.Mark()
				var batch []byte
				for {
					raw, body, err := fr.Next()
					if err != nil {
						ferr = err
						break
					}
					if raw == nil {
						break
					}
					if len(body) > maxBody {
						t.Fatalf("body of %d bytes under cap %d", len(body), maxBody)
					}
					bodyLen, h, err := mcproto.ParseFrameHeader(raw)
					if err != nil || h+bodyLen != len(raw) || bodyLen != len(body) || !bytes.Equal(raw[h:], body) {
						t.Fatalf("raw % x does not frame body % x", raw, body)
					}
					if len(body) == 0 {
						empties++
					} else {
						empties = 0
					}
					batch = append(batch, raw...)
				}
				if got := fr.Since(mark); !bytes.Equal(got, batch) {
					t.Fatalf("Since(mark) = % x, frames were % x", got, batch)
				}
				consumed = append(consumed, batch...)
				if release {
					fr.Release()
				}
			}
		}

		// The frames are exactly the consumed prefix of the input, and what
		// is left is buffered unchanged.
		if !bytes.HasPrefix(data, consumed) {
			t.Fatalf("frames (% x) are not a prefix of the input (% x)", consumed, data)
		}
		rest := data[len(consumed):]
		n, h, herr := mcproto.ParseFrameHeader(rest)
		switch {
		case ferr == nil:
			fed := data[:len(data)-len(in)]
			if !bytes.Equal(fr.Buffered(), fed[len(consumed):]) {
				t.Fatalf("Buffered = % x, want % x", fr.Buffered(), fed[len(consumed):])
			}
			// Nothing complete and acceptable is left behind.
			if herr == nil && h+n <= len(rest) {
				t.Fatalf("complete frame left unread: % x", rest)
			}
		case errors.Is(ferr, mcproto.ErrLengthTooWide):
			if !errors.Is(herr, mcproto.ErrLengthTooWide) {
				t.Fatalf("ErrLengthTooWide but the header % x parses: %v", rest, herr)
			}
		case errors.Is(ferr, mcproto.ErrFrameTooLarge):
			if herr != nil || n <= maxBody {
				t.Fatalf("ErrFrameTooLarge for header % x (cap %d): %d, %v", rest, maxBody, n, herr)
			}
		case errors.Is(ferr, mcproto.ErrEmptyFrames):
			if herr != nil || n != 0 || empties != mcproto.MaxEmptyFrames {
				t.Fatalf("ErrEmptyFrames after %d empty frames, next header %d, %v", empties, n, herr)
			}
		default:
			t.Fatalf("unexpected error %v", ferr)
		}
	})
}

// FuzzSplitCompressedInflate runs an arbitrary compressed-leg body through
// SplitCompressed and, when it names a zlib payload, Peek and Inflate.
func FuzzSplitCompressedInflate(f *testing.F) {
	var c mcproto.Compressor
	for _, pkt := range [][]byte{{0x00}, chunkPacket(300), chunkPacket(4000), make([]byte, 1000)} {
		frame := c.AppendFrame(nil, pkt, testThreshold)
		_, h, _ := mcproto.ParseFrameHeader(frame)
		f.Add(frame[h:], testThreshold, true)
	}
	bomb := cat(vi(1000), zlibOf(f, make([]byte, 1<<20)))
	f.Add(bomb, testThreshold, true)
	f.Add(cat(vi(0), []byte{1, 2, 3}), 2, true)
	f.Add(cat(vi(-1), []byte{0x78, 0x9c}), 0, false)
	f.Add(cat(vi(300), []byte("not zlib")), testThreshold, false)
	f.Fuzz(func(t *testing.T, body []byte, threshold int, strict bool) {
		dataLen, payload, err := mcproto.SplitCompressed(body, threshold, fuzzInflateCap, strict)
		if err != nil {
			if dataLen != 0 || payload != nil {
				t.Fatalf("error %v with dataLen %d and %d payload bytes", err, dataLen, len(payload))
			}
			return
		}
		v, n, verr := mcproto.ReadVarInt(body)
		if verr != nil || int(v) != dataLen || !bytes.Equal(payload, body[n:]) {
			t.Fatalf("SplitCompressed = %d, % x; Data Length field %d, %v", dataLen, payload, v, verr)
		}
		if dataLen == 0 {
			if strict && len(payload) > threshold {
				t.Fatalf("strict accepted a raw packet of %d bytes over threshold %d", len(payload), threshold)
			}
			return
		}
		if dataLen < threshold || dataLen > fuzzInflateCap {
			t.Fatalf("dataLen %d outside [%d, %d]", dataLen, threshold, fuzzInflateCap)
		}

		var z mcproto.Inflater
		var out []byte
		var ierr error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		out, ierr = z.Inflate(nil, payload, dataLen)
		runtime.ReadMemStats(&after)
		if ierr == nil && len(out) != dataLen {
			t.Fatalf("Inflate returned %d bytes for Data Length %d", len(out), dataLen)
		}
		if ierr != nil && !errors.Is(ierr, mcproto.ErrBadCompression) && !errors.Is(ierr, mcproto.ErrSizeMismatch) {
			t.Fatalf("Inflate error %v is neither ErrBadCompression nor ErrSizeMismatch", ierr)
		}
		// The output grows as it is produced, limited to Data Length + 1,
		// doubling at most: never near what a bomb would expand to.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*uint64(dataLen+1)+fuzzInflateOverhead {
			t.Fatalf("Inflate with Data Length %d allocated %d bytes", dataLen, alloc)
		}

		head, perr := z.Peek(make([]byte, 8), payload, dataLen)
		if perr == nil && len(head) != min(8, dataLen) {
			t.Fatalf("Peek returned %d bytes, want %d", len(head), min(8, dataLen))
		}
		if ierr == nil && (perr != nil || !bytes.Equal(head, out[:len(head)])) {
			t.Fatalf("Peek = % x, %v; Inflate began % x", head, perr, out[:min(8, len(out))])
		}
	})
}

// FuzzReaderString checks Reader.StringBytes and Reader.String against an
// independent reading of the rules (docs/PROTOCOL.md, Framing).
func FuzzReaderString(f *testing.F) {
	f.Add(mcproto.AppendString(nil, "play.example.com"), uint16(255))
	f.Add(mcproto.AppendString(nil, "\U0001F600\U0001F600"), uint16(3))
	f.Add(mcproto.AppendString(nil, "€€€"), uint16(3))
	f.Add(cat(vi(1<<30), []byte("abc")), uint16(255))
	f.Add(cat(vi(-1), []byte("abc")), uint16(16))
	f.Add(cat(vi(3), []byte{0xed, 0xa0, 0x80}), uint16(16))
	f.Add(cat(vi(2), []byte{0xc0, 0x80}), uint16(16))
	f.Add([]byte{0x80}, uint16(16))
	f.Fuzz(func(t *testing.T, data []byte, maxSel uint16) {
		maxChars := int(maxSel)
		r := mcproto.NewReader(data)
		got := r.StringBytes(maxChars)
		err := r.Err()

		// Independent expectation.
		var want []byte
		var wantErr error
		n, h, verr := mcproto.ReadVarInt(data) // announced byte count, prefix width
		switch {
		case verr != nil:
			wantErr = verr
		case n < 0:
			wantErr = mcproto.ErrNegativeLength
		case int64(n) > 3*int64(maxChars):
			wantErr = mcproto.ErrStringTooLong
		case int(n) > len(data)-h:
			wantErr = mcproto.ErrShort
		case !utf8.Valid(data[h : h+int(n)]):
			wantErr = mcproto.ErrBadUTF8
		case len(utf16.Encode([]rune(string(data[h:h+int(n)])))) > maxChars:
			wantErr = mcproto.ErrStringTooLong
		default:
			want = data[h : h+int(n)]
		}
		if wantErr != nil {
			if !errors.Is(err, wantErr) || got != nil {
				t.Fatalf("StringBytes(% x, %d) = %q, %v; want error %v", data, maxChars, got, err, wantErr)
			}
		} else {
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("StringBytes(% x, %d) = %q, %v; want %q", data, maxChars, got, err, want)
			}
			if r.Offset() != h+len(want) {
				t.Fatalf("Offset = %d, want %d", r.Offset(), h+len(want))
			}
			if len(want) > 0 && &got[0] != &data[h] {
				t.Fatal("StringBytes copied instead of aliasing the body")
			}
		}

		r2 := mcproto.NewReader(data)
		if s := r2.String(maxChars); s != string(want) || !errors.Is(r2.Err(), wantErr) {
			t.Fatalf("String = %q, %v; StringBytes = %q, %v", s, r2.Err(), got, err)
		}
	})
}
