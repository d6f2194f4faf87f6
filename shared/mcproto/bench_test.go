package mcproto_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Benchmark inputs.
const (
	// benchReadSize is one socket read on a busy leg: 64 KiB, a common
	// kernel receive batch.
	benchReadSize = 64 << 10
	// benchStreamBytes is the length of the synthetic play stream; big
	// enough that buffer growth at the start is noise.
	benchStreamBytes = 8 << 20
	// benchChunkPacket is the size of a 1.8-style chunk packet.
	benchChunkPacket = 20 << 10
)

var benchVarInts = []int32{42, 300, 2097151, -1}

func BenchmarkReadVarInt(b *testing.B) {
	for _, v := range benchVarInts {
		enc := mcproto.AppendVarInt(nil, v)
		b.Run(fmt.Sprintf("%dB", len(enc)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			var sum int32
			for i := 0; i < b.N; i++ {
				x, _, err := mcproto.ReadVarInt(enc)
				if err != nil {
					b.Fatal(err)
				}
				sum += x
			}
			_ = sum
		})
	}
}

func BenchmarkAppendVarInt(b *testing.B) {
	for _, v := range benchVarInts {
		b.Run(fmt.Sprintf("%dB", mcproto.VarIntLen(v)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(mcproto.VarIntLen(v)))
			buf := make([]byte, 0, mcproto.MaxVarIntLen)
			for i := 0; i < b.N; i++ {
				buf = mcproto.AppendVarInt(buf[:0], v)
			}
			_ = buf
		})
	}
}

// playStream is a synthetic 1.8 clientbound play stream: mostly small frames
// (entity movement, keep-alives, 10–60 bytes) and about 2% chunk-sized frames
// (4–30 KiB).
func playStream(total int) (stream []byte, frames int) {
	rng := rand.New(rand.NewPCG(18, 47))
	for len(stream) < total {
		n := 10 + rng.IntN(51)
		if rng.IntN(100) < 2 {
			n = 4<<10 + rng.IntN(26<<10)
		}
		body := make([]byte, n)
		body[0] = byte(rng.IntN(0x49))
		for i := 1; i < n; i++ {
			body[i] = byte(rng.Uint32())
		}
		stream = mcproto.AppendFrame(stream, body)
		frames++
	}
	return stream, frames
}

// BenchmarkFramerNext splits a play stream read in 64 KiB reads, the way a
// relay leg drives the framer: Space, Commit, Next until empty, Release.
// One op is one pass over the whole stream.
func BenchmarkFramerNext(b *testing.B) {
	stream, frames := playStream(benchStreamBytes)
	f := mcproto.NewFramer(mcproto.NewBufferPool(smallestBufClass), mcproto.MaxFrameLength)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	got := 0
	for i := 0; i < b.N; i++ {
		for off := 0; off < len(stream); {
			n := copy(f.Space(), stream[off:min(off+benchReadSize, len(stream))])
			f.Commit(n)
			off += n
			for {
				raw, _, err := f.Next()
				if err != nil {
					b.Fatal(err)
				}
				if raw == nil {
					break
				}
				got++
			}
			f.Release()
		}
	}
	b.StopTimer()
	if got != frames*b.N {
		b.Fatalf("got %d frames, want %d", got, frames*b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(got), "ns/frame")
}

// compressedChunkFrame is a 20 KiB chunk packet compressed at threshold 256,
// split into its Data Length and zlib payload.
func compressedChunkFrame(b *testing.B) (frame, payload []byte, dataLen int) {
	var c mcproto.Compressor
	frame = c.AppendFrame(nil, chunkPacket(benchChunkPacket), testThreshold)
	n, h, err := mcproto.ParseFrameHeader(frame)
	if err != nil {
		b.Fatal(err)
	}
	dataLen, payload, err = mcproto.SplitCompressed(frame[h:h+n], testThreshold, mcproto.MaxClientboundInflate, true)
	if err != nil {
		b.Fatal(err)
	}
	return frame, payload, dataLen
}

// BenchmarkPeekCompressedID classifies a compressed chunk packet by its id
// without inflating the rest. Bytes are the frame's wire size.
func BenchmarkPeekCompressedID(b *testing.B) {
	frame, _, _ := compressedChunkFrame(b)
	var z mcproto.Inflater
	head := make([]byte, mcproto.MaxVarIntLen)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, h, _ := mcproto.ParseFrameHeader(frame)
		dataLen, payload, err := mcproto.SplitCompressed(frame[h:h+n], testThreshold, mcproto.MaxClientboundInflate, true)
		if err != nil {
			b.Fatal(err)
		}
		p, err := z.Peek(head, payload, dataLen)
		if err != nil {
			b.Fatal(err)
		}
		if id, _, _ := mcproto.ReadVarInt(p); id != 0x21 {
			b.Fatalf("id %#x", id)
		}
	}
}

// BenchmarkInflateFull inflates the same packet completely into a reused
// buffer. Bytes are the uncompressed size.
func BenchmarkInflateFull(b *testing.B) {
	_, payload, dataLen := compressedChunkFrame(b)
	var z mcproto.Inflater
	dst := make([]byte, 0, dataLen+1)
	b.ReportAllocs()
	b.SetBytes(int64(dataLen))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := z.Inflate(dst[:0], payload, dataLen)
		if err != nil {
			b.Fatal(err)
		}
		dst = out
	}
}

// BenchmarkCompressorAppendFrame builds frames the edge writes itself: a small
// one that goes out raw and a chunk-sized one that is compressed.
func BenchmarkCompressorAppendFrame(b *testing.B) {
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"raw-40B", chunkPacket(40)},
		{"zlib-20KiB", chunkPacket(benchChunkPacket)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var c mcproto.Compressor
			dst := c.AppendFrame(nil, tc.pkt, testThreshold) // warm the writer and size dst
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.pkt)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst = c.AppendFrame(dst[:0], tc.pkt, testThreshold)
			}
		})
	}
}
