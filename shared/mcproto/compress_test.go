package mcproto_test

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// testThreshold is the compression threshold Velocity and gate default to.
const testThreshold = 256

// bombAllocBudget bounds what inflating a bomb may allocate: the output is
// limited to Data Length + 1 (docs/PROTOCOL.md, Compression), so a 1000-byte claim must
// cost a few KiB of output plus the zlib reader's fixed state, never the
// 2 MiB the stream would expand to.
const bombAllocBudget = 64 << 10

// zlibOf compresses b with the standard library, independently of
// mcproto.Compressor.
func zlibOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// chunkPacket builds a chunk-like packet of about n bytes: packet id 0x21
// (1.8 Chunk Data), coordinates, then block data made of runs from a small
// palette, which compresses roughly as real chunk sections do.
func chunkPacket(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 21))
	p := mcproto.AppendVarInt(nil, 0x21)
	p = mcproto.AppendInt32(p, -12)
	p = mcproto.AppendInt32(p, 40)
	p = mcproto.AppendBool(p, true)
	p = mcproto.AppendUint16(p, 0x00ff)
	p = mcproto.AppendVarInt(p, int32(n))
	palette := []byte{0, 1, 2, 3, 7, 9, 12, 13, 17, 31, 48, 80}
	for len(p) < n {
		run := 1 + rng.IntN(48)
		v := palette[rng.IntN(len(palette))]
		for i := 0; i < run && len(p) < n; i++ {
			p = append(p, v)
		}
	}
	return p
}

func TestMaxInflate(t *testing.T) {
	if got := mcproto.MaxInflate(mcproto.Clientbound); got != 8<<20 {
		t.Errorf("clientbound cap = %d, want 8 MiB", got)
	}
	if got := mcproto.MaxInflate(mcproto.Serverbound); got != 2<<20 {
		t.Errorf("serverbound cap = %d, want 2 MiB", got)
	}
}

func TestSplitCompressed(t *testing.T) {
	raw := func(n int) []byte { return cat(vi(0), make([]byte, n)) }
	z := []byte{0x78, 0x9c, 0x01}
	tests := []struct {
		name    string
		body    []byte
		strict  bool
		dataLen int
		payload []byte
		err     error
	}{
		{"raw small", cat(vi(0), []byte{0x0f, 1, 2}), true, 0, []byte{0x0f, 1, 2}, nil},
		{"raw empty", vi(0), true, 0, []byte{}, nil},
		{"raw at threshold, strict", raw(testThreshold), true, 0, make([]byte, testThreshold), nil},
		{"raw over threshold, strict", raw(testThreshold + 1), true, 0, nil, mcproto.ErrBadCompression},
		{"raw over threshold, lenient", raw(testThreshold + 1), false, 0, make([]byte, testThreshold+1), nil},
		{"raw far over threshold, lenient", raw(100000), false, 0, make([]byte, 100000), nil},
		{"compressed at threshold", cat(vi(testThreshold), z), true, testThreshold, z, nil},
		{"compressed under threshold, strict", cat(vi(testThreshold-1), z), true, 0, nil, mcproto.ErrBadCompression},
		{"compressed under threshold, lenient", cat(vi(testThreshold-1), z), false, 0, nil, mcproto.ErrBadCompression},
		{"compressed at one byte", cat(vi(1), z), false, 0, nil, mcproto.ErrBadCompression},
		{"compressed at cap", cat(vi(mcproto.MaxServerboundInflate), z), true, mcproto.MaxServerboundInflate, z, nil},
		{"compressed over cap", cat(vi(mcproto.MaxServerboundInflate+1), z), true, 0, nil, mcproto.ErrInflateTooLarge},
		{"compressed max int32", cat(vi(1<<31-1), z), false, 0, nil, mcproto.ErrInflateTooLarge},
		{"negative data length", cat(vi(-1), z), false, 0, nil, mcproto.ErrBadCompression},
		{"min int32 data length", cat(vi(-1<<31), z), false, 0, nil, mcproto.ErrBadCompression},
		{"padded data length", cat([]byte{0x80, 0x82, 0x00}, z), true, 256, z, nil},
		{"empty body", nil, false, 0, nil, mcproto.ErrShort},
		{"data length cut", []byte{0x80}, false, 0, nil, mcproto.ErrShort},
		{"data length too big", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, false, 0, nil, mcproto.ErrVarIntTooBig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dataLen, payload, err := mcproto.SplitCompressed(tc.body, testThreshold, mcproto.MaxServerboundInflate, tc.strict)
			checkErr(t, err, tc.err)
			if dataLen != tc.dataLen {
				t.Fatalf("dataLen = %d, want %d", dataLen, tc.dataLen)
			}
			if !bytes.Equal(payload, tc.payload) {
				t.Fatalf("payload = % x, want % x", payload, tc.payload)
			}
		})
	}
}

func TestInflate(t *testing.T) {
	pkt := chunkPacket(1000)
	exact := zlibOf(t, pkt)
	longer := zlibOf(t, append(bytes.Clone(pkt), 0))
	shorter := zlibOf(t, pkt[:999])
	var rawDeflate bytes.Buffer
	fw, _ := flate.NewWriter(&rawDeflate, flate.DefaultCompression)
	fw.Write(pkt)
	fw.Close()
	var dictBuf bytes.Buffer
	dw, _ := zlib.NewWriterLevelDict(&dictBuf, zlib.DefaultCompression, []byte("dictionary"))
	dw.Write(pkt)
	dw.Close()
	badSum := bytes.Clone(exact)
	badSum[len(badSum)-1] ^= 0xff

	tests := []struct {
		name    string
		payload []byte
		dataLen int
		err     error
	}{
		{"exact size", exact, 1000, nil},
		{"inflates to one byte more", longer, 1000, mcproto.ErrSizeMismatch},
		{"inflates to one byte less", shorter, 1000, mcproto.ErrSizeMismatch},
		{"announces far more", exact, 2 << 20, mcproto.ErrSizeMismatch},
		{"announces far less", exact, 256, mcproto.ErrSizeMismatch},
		{"garbage", []byte("this is not a zlib stream at all"), 1000, mcproto.ErrBadCompression},
		{"empty payload", nil, 1000, mcproto.ErrBadCompression},
		{"header only", exact[:2], 1000, mcproto.ErrBadCompression},
		{"truncated stream", exact[:len(exact)/2], 1000, mcproto.ErrBadCompression},
		{"truncated checksum", exact[:len(exact)-2], 1000, mcproto.ErrBadCompression},
		{"bad checksum", badSum, 1000, mcproto.ErrBadCompression},
		{"raw deflate without zlib header", rawDeflate.Bytes(), 1000, mcproto.ErrBadCompression},
		{"preset dictionary", dictBuf.Bytes(), 1000, mcproto.ErrBadCompression},
	}
	var z mcproto.Inflater // one inflater through every case, failures included
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := z.Inflate(nil, tc.payload, tc.dataLen)
			checkErr(t, err, tc.err)
			if tc.err == nil && !bytes.Equal(out, pkt) {
				t.Fatalf("inflated %d bytes that differ from the packet", len(out))
			}
			if tc.err != nil && out != nil {
				t.Fatalf("failed inflate returned %d bytes", len(out))
			}
			// Every failure leaves the inflater usable.
			if out, err := z.Inflate(nil, exact, 1000); err != nil || !bytes.Equal(out, pkt) {
				t.Fatalf("inflater broken after %q: %v", tc.name, err)
			}
		})
	}
}

func TestInflateAppends(t *testing.T) {
	pkt := chunkPacket(5000)
	payload := zlibOf(t, pkt)
	var z mcproto.Inflater
	tests := []struct {
		name string
		dst  []byte
	}{
		{"nil", nil},
		{"prefix, no spare capacity", []byte("prefix")},
		{"prefix, small spare capacity", append(make([]byte, 0, 16), "prefix"...)},
		{"prefix, enough capacity", append(make([]byte, 0, 8000), "prefix"...)},
		{"empty, exact capacity", make([]byte, 0, len(pkt))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := bytes.Clone(tc.dst)
			out, err := z.Inflate(tc.dst, payload, len(pkt))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, cat(prefix, pkt)) {
				t.Fatalf("got %d bytes, want prefix + %d", len(out), len(pkt))
			}
		})
	}
}

// TestInflateBomb: 2 MiB of zeros compress to about 2 KiB. Announced as 1000
// bytes, the inflate must stop after 1001 and report a mismatch, without
// producing the 2 MiB.
func TestInflateBomb(t *testing.T) {
	bomb := zlibOf(t, make([]byte, 2<<20))
	if len(bomb) > 4<<10 {
		t.Fatalf("bomb is %d bytes, expected about 2 KiB", len(bomb))
	}
	var z mcproto.Inflater
	if _, err := z.Inflate(nil, bomb, 1000); !errors.Is(err, mcproto.ErrSizeMismatch) {
		t.Fatalf("bomb announced as 1000: err = %v, want ErrSizeMismatch", err)
	}
	per := bytesPerRun(20, func() {
		if _, err := z.Inflate(nil, bomb, 1000); err == nil {
			panic("bomb accepted")
		}
	})
	if per >= bombAllocBudget {
		t.Fatalf("bomb allocates %d bytes per inflate, want < %d", per, bombAllocBudget)
	}
	t.Logf("bomb announced as 1000 bytes: %d bytes allocated per inflate", per)

	// Announced honestly at the serverbound cap it is a legal packet.
	out, err := z.Inflate(nil, bomb, 2<<20)
	if err != nil || len(out) != 2<<20 {
		t.Fatalf("honest 2 MiB: %d bytes, %v", len(out), err)
	}
}

func TestPeek(t *testing.T) {
	big := chunkPacket(20 << 10)
	id128 := cat(vi(128), payload(9, 3000))
	tiny := []byte{0x05, 1, 2, 3, 4}
	tests := []struct {
		name    string
		pkt     []byte
		dataLen int // 0: len(pkt)
		dst     int
		want    []byte
		id      int32
		err     error
	}{
		{"chunk packet head", big, 0, 8, big[:8], 0x21, nil},
		{"chunk packet id only", big, 0, mcproto.MaxVarIntLen, big[:5], 0x21, nil},
		{"two-byte id", id128, 0, 8, id128[:8], 128, nil},
		{"packet shorter than dst", tiny, 0, 16, tiny, 5, nil},
		{"announced shorter than dst", big, 3, 16, big[:3], 0x21, nil},
		{"stream shorter than announced and dst", tiny, 1000, 16, nil, 0, mcproto.ErrBadCompression},
		{"garbage", nil, 1000, 16, nil, 0, mcproto.ErrBadCompression},
	}
	var z mcproto.Inflater
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte("garbage, not zlib")
			if tc.pkt != nil {
				payload = zlibOf(t, tc.pkt)
			}
			dataLen := tc.dataLen
			if dataLen == 0 {
				dataLen = len(tc.pkt)
			}
			head, err := z.Peek(make([]byte, tc.dst), payload, dataLen)
			checkErr(t, err, tc.err)
			if !bytes.Equal(head, tc.want) {
				t.Fatalf("Peek = % x, want % x", head, tc.want)
			}
			if tc.err != nil {
				return
			}
			id, _, err := mcproto.ReadVarInt(head)
			if err != nil || id != tc.id {
				t.Fatalf("packet id = %#x, %v; want %#x", id, err, tc.id)
			}
		})
	}
}

// TestInflaterReuse runs many packets of varied sizes through one Inflater,
// alternating Peek and Inflate, as one connection leg does.
func TestInflaterReuse(t *testing.T) {
	var z mcproto.Inflater
	var out []byte
	head := make([]byte, 8)
	for i := 0; i < 200; i++ {
		pkt := chunkPacket(testThreshold + i*97)
		payload := zlibOf(t, pkt)
		h, err := z.Peek(head, payload, len(pkt))
		if err != nil || !bytes.Equal(h, pkt[:8]) {
			t.Fatalf("packet %d: Peek = % x, %v", i, h, err)
		}
		out, err = z.Inflate(out[:0], payload, len(pkt))
		if err != nil || !bytes.Equal(out, pkt) {
			t.Fatalf("packet %d: Inflate: %v", i, err)
		}
	}
}

// Allocation limits for the steady state of one Inflater on chunkPacket(20
// KiB). Peek uses our own prefix decoder (PeekInflate) and allocates
// nothing. Inflate uses the standard library's compress/zlib (Go 1.26); its
// limit is a regression guard, not a goal. Where its allocations come from:
//   - 1: zlib's reader.Reset calls adler32.New every time;
//   - the rest: compress/flate's huffmanDecoder.init makes fresh link tables
//     for every dynamic Huffman block whose codes are longer than 9 bits
//     (5 for this packet's first and only block).
//
// Reaching zero needs a zlib/flate decoder that reuses those tables.
const (
	peekAllocLimit    = 0
	inflateAllocLimit = 6
)

// TestPeekAllocs: classifying a compressed packet is per-packet work on the
// relay path.
func TestPeekAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	pkt := chunkPacket(20 << 10)
	payload := zlibOf(t, pkt)
	var z mcproto.Inflater
	head := make([]byte, 8)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := z.Peek(head, payload, len(pkt)); err != nil {
			panic(err)
		}
	})
	t.Logf("Peek: %.0f allocations per packet", allocs)
	if allocs > peekAllocLimit {
		t.Errorf("Peek allocates %.0f times per packet in the steady state, limit %d", allocs, peekAllocLimit)
	}
}

// TestInflateAllocs: a full inflate into a reused buffer that is large
// enough must not allocate for the output.
func TestInflateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	pkt := chunkPacket(20 << 10)
	payload := zlibOf(t, pkt)
	var z mcproto.Inflater
	dst := make([]byte, 0, 32<<10)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := z.Inflate(dst, payload, len(pkt)); err != nil {
			panic(err)
		}
	})
	t.Logf("Inflate: %.0f allocations per packet", allocs)
	if allocs > inflateAllocLimit {
		t.Errorf("Inflate into a large enough buffer allocates %.0f times per packet, limit %d", allocs, inflateAllocLimit)
	}
}

// decodeFrame undoes Compressor.AppendFrame with the receive-side functions:
// frame header, Data Length, inflate.
func decodeFrame(t testing.TB, frame []byte, threshold int) []byte {
	t.Helper()
	n, h, err := mcproto.ParseFrameHeader(frame)
	if err != nil {
		t.Fatalf("frame header: %v", err)
	}
	if h+n != len(frame) {
		t.Fatalf("frame announces %d+%d bytes, has %d", h, n, len(frame))
	}
	body := frame[h:]
	if threshold < 0 {
		return body
	}
	dataLen, payload, err := mcproto.SplitCompressed(body, threshold, mcproto.MaxClientboundInflate, true)
	if err != nil {
		t.Fatalf("SplitCompressed: %v", err)
	}
	if dataLen == 0 {
		return payload
	}
	var z mcproto.Inflater
	out, err := z.Inflate(nil, payload, dataLen)
	if err != nil {
		t.Fatalf("Inflate: %v", err)
	}
	return out
}

func TestCompressorAppendFrame(t *testing.T) {
	small := []byte{0x00, 0x2a}
	tests := []struct {
		name       string
		pkt        []byte
		threshold  int
		compressed bool
		want       []byte // exact frame when not compressed
	}{
		{"compression off", small, mcproto.CompressionOff, false, []byte{0x02, 0x00, 0x2a}},
		{"compression off, large", chunkPacket(5000), mcproto.CompressionOff, false, mcproto.AppendFrame(nil, chunkPacket(5000))},
		{"below threshold", small, testThreshold, false, []byte{0x03, 0x00, 0x00, 0x2a}},
		{"one below threshold", chunkPacket(testThreshold - 1), testThreshold, false,
			cat(vi(testThreshold), []byte{0}, chunkPacket(testThreshold-1))},
		{"at threshold", chunkPacket(testThreshold), testThreshold, true, nil},
		{"above threshold", chunkPacket(20 << 10), testThreshold, true, nil},
		{"threshold zero", small, 0, true, nil},
		{"threshold zero, one byte", []byte{0x07}, 0, true, nil},
		// Degenerate, but the output must still decode to what went in.
		{"threshold zero, empty packet", nil, 0, false, nil},
		{"threshold one, empty packet", nil, 1, false, []byte{0x01, 0x00}},
		{"incompressible", payload(3, 4000), testThreshold, true, nil},
	}
	var c mcproto.Compressor
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame := c.AppendFrame([]byte("prefix"), tc.pkt, tc.threshold)
			if !bytes.HasPrefix(frame, []byte("prefix")) {
				t.Fatal("prefix overwritten")
			}
			frame = frame[len("prefix"):]
			if tc.want != nil && !bytes.Equal(frame, tc.want) {
				t.Fatalf("frame = % x, want % x", frame, tc.want)
			}
			if got := decodeFrame(t, frame, tc.threshold); !bytes.Equal(got, tc.pkt) {
				t.Fatalf("round trip: got %d bytes % .16x, want %d bytes", len(got), got, len(tc.pkt))
			}
			if tc.threshold >= 0 {
				_, h, _ := mcproto.ParseFrameHeader(frame)
				dataLen, _, _ := mcproto.ReadVarInt(frame[h:])
				if isCompressed := dataLen != 0; isCompressed != tc.compressed {
					t.Fatalf("compressed = %v (Data Length %d), want %v", isCompressed, dataLen, tc.compressed)
				}
			}
		})
	}
}

// TestCompressorReuse runs many frames around the threshold through one
// Compressor and one Inflater, as a leg does.
func TestCompressorReuse(t *testing.T) {
	var c mcproto.Compressor
	var buf []byte
	for i := 0; i < 300; i++ {
		n := 1 + (i*37)%(3*testThreshold)
		if i%50 == 0 {
			n = 30000 + i
		}
		pkt := chunkPacket(n)[:n]
		buf = c.AppendFrame(buf[:0], pkt, testThreshold)
		if got := decodeFrame(t, buf, testThreshold); !bytes.Equal(got, pkt) {
			t.Fatalf("frame %d (%d bytes) did not round-trip", i, n)
		}
	}
}

func ExampleInflater_Peek() {
	var c mcproto.Compressor
	frame := c.AppendFrame(nil, chunkPacket(20<<10), 256)

	n, h, _ := mcproto.ParseFrameHeader(frame)
	dataLen, payload, _ := mcproto.SplitCompressed(frame[h:h+n], 256, mcproto.MaxClientboundInflate, true)
	var z mcproto.Inflater
	head, _ := z.Peek(make([]byte, mcproto.MaxVarIntLen), payload, dataLen)
	id, _, _ := mcproto.ReadVarInt(head)
	fmt.Printf("packet %#x, %d bytes uncompressed\n", id, dataLen)
	// Output: packet 0x21, 20480 bytes uncompressed
}
