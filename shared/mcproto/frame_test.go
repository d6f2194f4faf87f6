package mcproto_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Framer buffer classes as frame.go defines them (bufClasses). The tests use
// them only as upper bounds on memory held.
const (
	smallestBufClass = 4 << 10   // bufClasses[0]; also the original design's (docs/DESIGN.md) default buffer_size
	largestBufClass  = 256 << 10 // bufClasses[len-1]; beyond it buffers double
)

// announcedAllocBudget is the most one framer may allocate for a peer that
// announces a 2 MiB frame and sends 10 bytes: a small buffer, far from the
// announced size (docs/PROTOCOL.md, Hostile input).
const announcedAllocBudget = 64 << 10

// frame is one frame as the framer returned it, copied out of its buffer.
type frame struct{ raw, body []byte }

// payload returns n deterministic pseudo-random bytes.
func payload(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// paddedFrame builds a frame whose length field is padded to 3 bytes, which
// is legal and must be relayed byte for byte.
func paddedFrame(body []byte) []byte {
	n := len(body)
	hdr := []byte{byte(n&0x7f) | 0x80, byte(n>>7&0x7f) | 0x80, byte(n >> 14)}
	return append(hdr, body...)
}

// testStream returns a stream of frames (plain and padded headers, empty
// frames, sizes around the buffer classes) and the frames expected from it.
func testStream(sizes []int) (stream []byte, want []frame) {
	for i, n := range sizes {
		body := payload(uint64(i), n)
		var raw []byte
		if i%5 == 3 {
			raw = paddedFrame(body)
		} else {
			raw = mcproto.AppendFrame(nil, body)
		}
		stream = append(stream, raw...)
		want = append(want, frame{raw: raw, body: body})
	}
	return stream, want
}

// feedChunks pushes chunks through the framer the way a connection reader
// does (Space, Commit, drain Next, Release) and returns every frame, copied.
// It stops at the first error.
func feedChunks(t testing.TB, f *mcproto.Framer, chunks [][]byte) ([]frame, error) {
	t.Helper()
	var got []frame
	for _, chunk := range chunks {
		for len(chunk) > 0 {
			space := f.Space()
			if len(space) == 0 {
				t.Fatal("Space returned no room")
			}
			n := copy(space, chunk)
			f.Commit(n)
			chunk = chunk[n:]
			for {
				raw, body, err := f.Next()
				if err != nil {
					return got, err
				}
				if raw == nil {
					break
				}
				if !bytes.Equal(raw[len(raw)-len(body):], body) {
					t.Fatalf("body is not the tail of raw: raw % x body % x", raw, body)
				}
				got = append(got, frame{raw: bytes.Clone(raw), body: bytes.Clone(body)})
			}
			f.Release()
		}
	}
	return got, nil
}

func checkFrames(t testing.TB, got, want []frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].raw, want[i].raw) {
			t.Fatalf("frame %d: raw differs (got %d bytes, want %d)", i, len(got[i].raw), len(want[i].raw))
		}
		if !bytes.Equal(got[i].body, want[i].body) {
			t.Fatalf("frame %d: body differs (got %d bytes, want %d)", i, len(got[i].body), len(want[i].body))
		}
	}
}

func oneByteChunks(b []byte) [][]byte {
	chunks := make([][]byte, len(b))
	for i := range b {
		chunks[i] = b[i : i+1]
	}
	return chunks
}

func fixedChunks(b []byte, size int) [][]byte {
	var chunks [][]byte
	for len(b) > 0 {
		n := min(size, len(b))
		chunks = append(chunks, b[:n])
		b = b[n:]
	}
	return chunks
}

func randomChunks(b []byte, seed uint64, maxChunk int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var chunks [][]byte
	for len(b) > 0 {
		n := min(1+rng.IntN(maxChunk), len(b))
		chunks = append(chunks, b[:n])
		b = b[n:]
	}
	return chunks
}

// Sizes straddling header widths (127/128) and buffer classes (4 KiB, 16 KiB,
// 64 KiB, 256 KiB), with a few empty frames.
var streamSizes = []int{1, 0, 5, 127, 128, 300, 0, 4093, 4094, 4095, 4096, 4097, 2, 16384, 20000, 70000, 3, 262144, 10}

// chunking is one way of cutting a stream into reads.
type chunking struct {
	name   string
	chunks [][]byte
}

func TestFramerChunkings(t *testing.T) {
	stream, want := testStream(streamSizes)
	tests := []chunking{
		{"whole stream", [][]byte{stream}},
		{"one byte at a time", oneByteChunks(stream)},
		{"64 KiB reads", fixedChunks(stream, 64<<10)},
		{"4 KiB reads", fixedChunks(stream, 4<<10)},
	}
	for seed := uint64(1); seed <= 8; seed++ {
		tests = append(tests,
			chunking{fmt.Sprintf("random chunks up to 9000, seed %d", seed), randomChunks(stream, seed, 9000)},
			chunking{fmt.Sprintf("random chunks up to 7, seed %d", seed), randomChunks(stream, seed, 7)})
	}
	for _, pooled := range []bool{false, true} {
		pool := mcproto.NewBufferPool(smallestBufClass)
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/pooled=%v", tc.name, pooled), func(t *testing.T) {
				p := pool
				if !pooled {
					p = nil
				}
				f := mcproto.NewFramer(p, mcproto.MaxFrameLength)
				got, err := feedChunks(t, f, tc.chunks)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				checkFrames(t, got, want)
				if n := len(f.Buffered()); n != 0 {
					t.Fatalf("%d bytes left buffered", n)
				}
			})
		}
	}
}

// TestFramerEveryBoundary splits a stream of small frames in two at every
// byte offset, and in three at a spread of offset pairs.
func TestFramerEveryBoundary(t *testing.T) {
	stream, want := testStream([]int{1, 0, 2, 5, 127, 128, 0, 200, 3, 130})
	for i := 0; i <= len(stream); i++ {
		f := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
		got, err := feedChunks(t, f, [][]byte{stream[:i], stream[i:]})
		if err != nil {
			t.Fatalf("split at %d: %v", i, err)
		}
		checkFrames(t, got, want)
		for j := i; j <= len(stream); j += 7 {
			f := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
			got, err := feedChunks(t, f, [][]byte{stream[:i], stream[i:j], stream[j:]})
			if err != nil {
				t.Fatalf("split at %d, %d: %v", i, j, err)
			}
			checkFrames(t, got, want)
		}
	}
}

func TestFramerCaps(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		input  []byte
		frames int   // complete frames expected before the error (or in all)
		err    error // nil: no error, input fully consumed
	}{
		{"exactly cap", 100, mcproto.AppendFrame(nil, make([]byte, 100)), 1, nil},
		// Only the header arrives: the cap is enforced before the body exists.
		{"cap+1, header only", 100, []byte{101}, 0, mcproto.ErrFrameTooLarge},
		{"cap+1, header after a good frame", 100, append(mcproto.AppendFrame(nil, []byte{1}), 101), 1, mcproto.ErrFrameTooLarge},
		{"2-byte header over cap", 100, []byte{0x80, 0x01}, 0, mcproto.ErrFrameTooLarge},
		{"padded header over cap", 100, []byte{0xe5, 0x80, 0x00}, 0, mcproto.ErrFrameTooLarge},
		{"padded header at cap", 100, paddedFrame(make([]byte, 100)), 1, nil},
		{"21-bit max under 21-bit cap, header only", mcproto.MaxFrameLength, []byte{0xff, 0xff, 0x7f}, 0, nil},
		{"21-bit max under smaller cap", mcproto.MaxFrameLength - 1, []byte{0xff, 0xff, 0x7f}, 0, mcproto.ErrFrameTooLarge},
		{"length wider than 21 bits", mcproto.MaxFrameLength, []byte{0xff, 0xff, 0xff}, 0, mcproto.ErrLengthTooWide},
		{"length wider than 21 bits after a frame", mcproto.MaxFrameLength, append(mcproto.AppendFrame(nil, []byte{1}), 0x80, 0x80, 0x80, 0x01), 1, mcproto.ErrLengthTooWide},
		{"cap zero allows empty frames only", 0, []byte{0, 0, 1}, 2, mcproto.ErrFrameTooLarge},
	}
	for _, tc := range tests {
		for _, chunking := range []string{"whole", "bytewise"} {
			t.Run(tc.name+"/"+chunking, func(t *testing.T) {
				chunks := [][]byte{tc.input}
				if chunking == "bytewise" {
					chunks = oneByteChunks(tc.input)
				}
				f := mcproto.NewFramer(nil, tc.max)
				got, err := feedChunks(t, f, chunks)
				if len(got) != tc.frames {
					t.Errorf("got %d frames, want %d", len(got), tc.frames)
				}
				checkErr(t, err, tc.err)
				// The error sticks: the framer does not skip past a bad header.
				if tc.err != nil {
					if _, _, err := f.Next(); !errors.Is(err, tc.err) {
						t.Fatalf("second Next = %v, want %v again", err, tc.err)
					}
				}
			})
		}
	}
}

func TestFramerSetMax(t *testing.T) {
	f := mcproto.NewFramer(nil, 10)
	if f.Max() != 10 {
		t.Fatalf("Max = %d", f.Max())
	}
	f.Load(mcproto.AppendFrame(nil, make([]byte, 20)))
	if _, _, err := f.Next(); !errors.Is(err, mcproto.ErrFrameTooLarge) {
		t.Fatalf("20-byte frame under cap 10: %v", err)
	}
	// A state change raises the cap; the buffered frame is now acceptable.
	f.SetMax(20)
	if raw, body, err := f.Next(); err != nil || len(body) != 20 || len(raw) != 21 {
		t.Fatalf("after SetMax(20): raw %d body %d err %v", len(raw), len(body), err)
	}
}

func TestFramerEmptyFrames(t *testing.T) {
	zeros := func(n int) []byte { return make([]byte, n) }
	padZeros := func(n int) []byte { return bytes.Repeat([]byte{0x80, 0x00}, n) }
	one := mcproto.AppendFrame(nil, []byte{0x42})
	tests := []struct {
		name   string
		input  []byte
		frames int
		err    error
	}{
		{"max empties tolerated", zeros(mcproto.MaxEmptyFrames), mcproto.MaxEmptyFrames, nil},
		{"max empties then a frame", cat(zeros(mcproto.MaxEmptyFrames), one), mcproto.MaxEmptyFrames + 1, nil},
		{"one more refused", zeros(mcproto.MaxEmptyFrames + 1), mcproto.MaxEmptyFrames, mcproto.ErrEmptyFrames},
		{"a frame resets the run", cat(zeros(mcproto.MaxEmptyFrames), one, zeros(mcproto.MaxEmptyFrames), one), 2*mcproto.MaxEmptyFrames + 2, nil},
		{"a run after a reset is refused", cat(zeros(3), one, zeros(mcproto.MaxEmptyFrames+1)), 3 + 1 + mcproto.MaxEmptyFrames, mcproto.ErrEmptyFrames},
		{"padded empty frames count", padZeros(mcproto.MaxEmptyFrames + 1), mcproto.MaxEmptyFrames, mcproto.ErrEmptyFrames},
		{"long run", zeros(1000), mcproto.MaxEmptyFrames, mcproto.ErrEmptyFrames},
	}
	for _, tc := range tests {
		for _, chunking := range []string{"whole", "bytewise"} {
			t.Run(tc.name+"/"+chunking, func(t *testing.T) {
				chunks := [][]byte{tc.input}
				if chunking == "bytewise" {
					chunks = oneByteChunks(tc.input)
				}
				got, err := feedChunks(t, mcproto.NewFramer(nil, 100), chunks)
				checkErr(t, err, tc.err)
				if len(got) != tc.frames {
					t.Fatalf("got %d frames, want %d", len(got), tc.frames)
				}
				// Empty frames come out with their raw bytes, so a relay can
				// forward them unchanged.
				for i, fr := range got {
					if len(fr.body) == 0 && (len(fr.raw) == 0 || fr.raw[len(fr.raw)-1] != 0) {
						t.Fatalf("empty frame %d has raw % x", i, fr.raw)
					}
				}
			})
		}
	}
}

// bytesPerRun is the average number of heap bytes f allocates, measured with
// runtime.MemStats after one warm-up call.
func bytesPerRun(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestFramerAnnouncedLengthNotAllocated: a peer announcing a 2 MiB frame and
// sending 10 bytes costs a small buffer, not 2 MiB (docs/PROTOCOL.md, Hostile input).
func TestFramerAnnouncedLengthNotAllocated(t *testing.T) {
	input := []byte{0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7} // 2,097,151 announced, 7 body bytes
	for _, pooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("pooled=%v", pooled), func(t *testing.T) {
			var pool *mcproto.BufferPool
			if pooled {
				pool = mcproto.NewBufferPool(smallestBufClass)
			}
			f := mcproto.NewFramer(pool, mcproto.MaxFrameLength)
			if got, err := feedChunks(t, f, [][]byte{input}); err != nil || len(got) != 0 {
				t.Fatalf("got %d frames, err %v; want none, nil", len(got), err)
			}
			if !bytes.Equal(f.Buffered(), input) {
				t.Fatalf("Buffered = % x, want % x", f.Buffered(), input)
			}
			if size := len(f.Buffered()) + len(f.Space()); size > smallestBufClass {
				t.Fatalf("buffer of %d bytes for 10 received, want ≤ %d", size, smallestBufClass)
			}

			per := bytesPerRun(50, func() {
				f := mcproto.NewFramer(pool, mcproto.MaxFrameLength)
				f.Commit(copy(f.Space(), input))
				if raw, _, err := f.Next(); raw != nil || err != nil {
					panic("unexpected frame")
				}
			})
			if per >= announcedAllocBudget {
				t.Fatalf("feeding 10 bytes of a 2 MiB frame allocates %d bytes, want < %d", per, announcedAllocBudget)
			}
			t.Logf("%d bytes allocated per framer", per)
		})
	}
}

// TestFramerGrowsWithData feeds a 1 MiB frame in 4 KiB reads: the buffer
// grows with what arrived (never past twice the pending bytes once beyond
// the pooled classes) and the frame comes out intact.
func TestFramerGrowsWithData(t *testing.T) {
	body := payload(7, 1<<20)
	stream := append(mcproto.AppendFrame(nil, body), mcproto.AppendFrame(nil, []byte{1, 2, 3})...)
	f := mcproto.NewFramer(mcproto.NewBufferPool(smallestBufClass), mcproto.MaxFrameLength)
	var got []frame
	for off := 0; off < len(stream); {
		pending := len(f.Buffered())
		space := f.Space()
		if size := pending + len(space); size > max(largestBufClass, 2*pending) {
			t.Fatalf("with %d bytes pending the buffer is %d bytes", pending, size)
		}
		n := copy(space, stream[off:min(off+4<<10, len(stream))])
		f.Commit(n)
		off += n
		for {
			raw, b, err := f.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if raw == nil {
				break
			}
			got = append(got, frame{raw: bytes.Clone(raw), body: bytes.Clone(b)})
		}
		if off < len(stream)-5 && len(got) > 0 {
			t.Fatalf("frame returned after %d of %d bytes", off, len(stream))
		}
	}
	if len(got) != 2 || !bytes.Equal(got[0].body, body) || !bytes.Equal(got[1].body, []byte{1, 2, 3}) {
		t.Fatalf("frames not returned intact (%d frames)", len(got))
	}
}

// TestFramerBufferBoundedByCap: Space documents that growth is bounded by
// the current cap plus the header. A peer whose reads keep filling the
// buffer raises the size hint; after a Release the next buffer is taken at
// that hint. With a 1 KiB cap (a pre-login state) no buffer beyond the
// smallest class is ever needed, so none may be held.
func TestFramerBufferBoundedByCap(t *testing.T) {
	const capBytes = 1 << 10
	f := mcproto.NewFramer(mcproto.NewBufferPool(smallestBufClass), capBytes)
	for round := 0; round < 6; round++ {
		space := f.Space()
		if size := len(f.Buffered()) + len(space); size > smallestBufClass {
			t.Fatalf("round %d: a framer capped at %d bytes holds a %d-byte buffer", round, capBytes, size)
		}
		// Fill the read completely with legal 2-byte frames.
		for i := 0; i+1 < len(space); i += 2 {
			space[i], space[i+1] = 0x01, 0x00
		}
		f.Commit(len(space) &^ 1)
		for {
			raw, _, err := f.Next()
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if raw == nil {
				break
			}
		}
		f.Release()
	}
}

func TestFramerRelease(t *testing.T) {
	frameA := mcproto.AppendFrame(nil, payload(1, 50))
	frameB := mcproto.AppendFrame(nil, payload(2, 3000))

	t.Run("fresh framer", func(t *testing.T) {
		f := mcproto.NewFramer(nil, 100)
		f.Release()
		if len(f.Buffered()) != 0 {
			t.Fatal("fresh framer has buffered bytes")
		}
		if raw, _, err := f.Next(); raw != nil || err != nil {
			t.Fatalf("Next on empty framer = %v, %v", raw, err)
		}
	})

	t.Run("partial frame survives", func(t *testing.T) {
		f := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
		half := len(frameB) / 2
		f.Load(cat(frameA, frameB[:half]))
		if raw, _, err := f.Next(); err != nil || !bytes.Equal(raw, frameA) {
			t.Fatalf("first frame: %v", err)
		}
		if raw, _, _ := f.Next(); raw != nil {
			t.Fatal("partial frame returned")
		}
		f.Release()
		if !bytes.Equal(f.Buffered(), frameB[:half]) {
			t.Fatalf("Release dropped the partial frame: %d bytes buffered, want %d", len(f.Buffered()), half)
		}
		f.Load(frameB[half:])
		if raw, _, err := f.Next(); err != nil || !bytes.Equal(raw, frameB) {
			t.Fatalf("completed frame: %v", err)
		}
	})

	t.Run("drained framer lets go", func(t *testing.T) {
		f := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
		f.Load(frameA)
		if raw, _, _ := f.Next(); raw == nil {
			t.Fatal("no frame")
		}
		f.Release()
		if len(f.Buffered()) != 0 {
			t.Fatal("bytes buffered after release")
		}
		// Reusable after release.
		f.Load(frameB)
		if raw, _, err := f.Next(); err != nil || !bytes.Equal(raw, frameB) {
			t.Fatalf("after release: %v", err)
		}
	})

	t.Run("buffer goes back to the pool", func(t *testing.T) {
		if raceEnabled {
			t.Skip("sync.Pool drops items at random under the race detector")
		}
		pool := mcproto.NewBufferPool(smallestBufClass)
		f := mcproto.NewFramer(pool, mcproto.MaxFrameLength)
		per := bytesPerRun(1000, func() {
			f.Commit(copy(f.Space(), frameA))
			if raw, _, _ := f.Next(); raw == nil {
				panic("no frame")
			}
			f.Release()
		})
		// Without reuse every cycle would allocate a 4 KiB buffer.
		if per >= smallestBufClass/4 {
			t.Fatalf("a read/release cycle allocates %d bytes: the buffer is not reused", per)
		}
		t.Logf("%d bytes allocated per read/release cycle", per)
	})

	// A relay releases before every blocking read, so the cycle is on the
	// hot path and must not allocate at all (style.md, "Hot paths").
	t.Run("read/release cycle allocates nothing", func(t *testing.T) {
		if raceEnabled {
			t.Skip("sync.Pool drops items at random under the race detector")
		}
		pool := mcproto.NewBufferPool(smallestBufClass)
		f := mcproto.NewFramer(pool, mcproto.MaxFrameLength)
		allocs := testing.AllocsPerRun(1000, func() {
			f.Commit(copy(f.Space(), frameA))
			if raw, _, _ := f.Next(); raw == nil {
				panic("no frame")
			}
			f.Release()
		})
		if allocs != 0 {
			t.Fatalf("a read/release cycle allocates %.1f times, want 0", allocs)
		}
	})
}

func TestFramerMarkSince(t *testing.T) {
	frames := [][]byte{
		mcproto.AppendFrame(nil, payload(1, 10)),
		mcproto.AppendFrame(nil, payload(2, 200)),
		paddedFrame(payload(3, 3)),
		mcproto.AppendFrame(nil, nil),
		mcproto.AppendFrame(nil, payload(4, 40)),
	}
	partial := mcproto.AppendFrame(nil, payload(5, 100))[:30]
	f := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
	f.Load(cat(cat(frames...), partial))

	if m := f.Mark(); len(f.Since(m)) != 0 {
		t.Fatal("Since(Mark()) is not empty")
	}
	if raw, _, _ := f.Next(); !bytes.Equal(raw, frames[0]) {
		t.Fatal("first frame")
	}
	m := f.Mark()
	for i := 1; i < len(frames); i++ {
		if raw, _, err := f.Next(); err != nil || !bytes.Equal(raw, frames[i]) {
			t.Fatalf("frame %d: %v", i, err)
		}
		// After every frame, Since covers exactly the frames taken so far.
		if got, want := f.Since(m), cat(frames[1:i+1]...); !bytes.Equal(got, want) {
			t.Fatalf("after frame %d: Since = %d bytes, want %d", i, len(got), len(want))
		}
	}
	// A partial frame is not part of the batch.
	if raw, _, _ := f.Next(); raw != nil {
		t.Fatal("partial frame returned")
	}
	if got, want := f.Since(m), cat(frames[1:]...); !bytes.Equal(got, want) {
		t.Fatalf("Since after partial = %d bytes, want %d", len(got), len(want))
	}
}

func TestFramerTakeBufferedLoad(t *testing.T) {
	a := mcproto.AppendFrame(nil, payload(1, 20))
	b := mcproto.AppendFrame(nil, payload(2, 5000))
	c := mcproto.AppendFrame(nil, payload(3, 70000))
	cut := len(c) / 3

	f := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
	f.Load(cat(a, b, c[:cut]))
	if raw, _, _ := f.Next(); !bytes.Equal(raw, a) {
		t.Fatal("first frame")
	}
	taken := bytes.Clone(f.TakeBuffered())
	if want := cat(b, c[:cut]); !bytes.Equal(taken, want) {
		t.Fatalf("TakeBuffered = %d bytes, want %d", len(taken), len(want))
	}
	if len(f.Buffered()) != 0 {
		t.Fatal("bytes still buffered after TakeBuffered")
	}
	if raw, _, err := f.Next(); raw != nil || err != nil {
		t.Fatalf("Next after TakeBuffered = %d bytes, %v", len(raw), err)
	}
	if len(f.TakeBuffered()) != 0 {
		t.Fatal("second TakeBuffered not empty")
	}

	// A second framer picks the stream up where the first left it.
	g := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
	g.Load(taken)
	g.Load(c[cut:])
	for i, want := range [][]byte{b, c} {
		if raw, _, err := g.Next(); err != nil || !bytes.Equal(raw, want) {
			t.Fatalf("frame %d after Load: %v", i, err)
		}
	}
	if len(g.Buffered()) != 0 {
		t.Fatal("leftover after Load round trip")
	}

	// Load into a framer with nothing buffered, then nothing at all.
	h := mcproto.NewFramer(nil, mcproto.MaxFrameLength)
	h.Load(nil)
	if len(h.Buffered()) != 0 {
		t.Fatal("Load(nil) buffered bytes")
	}
}

// errAfterReader yields what r yields and then err instead of io.EOF.
type errAfterReader struct {
	r   io.Reader
	err error
}

func (e *errAfterReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestFrameReader(t *testing.T) {
	stream, want := testStream([]int{1, 0, 300, 5000, 2})
	bodies := func(fs []frame) [][]byte {
		var out [][]byte
		for _, f := range fs {
			out = append(out, f.body)
		}
		return out
	}
	boom := errors.New("connection reset")
	tests := []struct {
		name   string
		src    io.Reader
		max    int
		bodies [][]byte
		err    error
	}{
		{"clean end", bytes.NewReader(stream), mcproto.MaxFrameLength, bodies(want), io.EOF},
		{"one byte reads", iotest.OneByteReader(bytes.NewReader(stream)), mcproto.MaxFrameLength, bodies(want), io.EOF},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(stream)), mcproto.MaxFrameLength, bodies(want), io.EOF},
		{"half reads", iotest.HalfReader(bytes.NewReader(stream)), mcproto.MaxFrameLength, bodies(want), io.EOF},
		{"empty stream", bytes.NewReader(nil), mcproto.MaxFrameLength, nil, io.EOF},
		{"ends inside a body", bytes.NewReader(stream[:len(stream)-1]), mcproto.MaxFrameLength, bodies(want[:len(want)-1]), io.ErrUnexpectedEOF},
		{"ends inside a body, data with EOF", iotest.DataErrReader(bytes.NewReader(stream[:len(stream)-1])), mcproto.MaxFrameLength, bodies(want[:len(want)-1]), io.ErrUnexpectedEOF},
		{"ends inside a header", bytes.NewReader([]byte{0x80}), mcproto.MaxFrameLength, nil, io.ErrUnexpectedEOF},
		{"ends after a header", bytes.NewReader([]byte{0x05}), mcproto.MaxFrameLength, nil, io.ErrUnexpectedEOF},
		{"over cap", bytes.NewReader(stream), 1000, bodies(want[:3]), mcproto.ErrFrameTooLarge},
		{"read error passes through", &errAfterReader{bytes.NewReader(stream[:10]), boom}, mcproto.MaxFrameLength, bodies(want[:2]), boom},
		// The first read (one 4 KiB buffer) holds the first three frames.
		{"timeout passes through", iotest.TimeoutReader(bytes.NewReader(stream)), mcproto.MaxFrameLength, bodies(want[:3]), iotest.ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := mcproto.NewFrameReader(tc.src, tc.max)
			if fr.Framer().Max() != tc.max {
				t.Fatalf("Framer().Max() = %d", fr.Framer().Max())
			}
			got, err := readAll(fr)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if len(got) != len(tc.bodies) {
				t.Fatalf("got %d frames, want %d", len(got), len(tc.bodies))
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.bodies[i]) {
					t.Fatalf("frame %d differs", i)
				}
			}
		})
	}
}

// readAll reads bodies until the first error.
func readAll(fr *mcproto.FrameReader) ([][]byte, error) {
	var got [][]byte
	for {
		body, err := fr.Next()
		if err != nil {
			return got, err
		}
		got = append(got, bytes.Clone(body))
	}
}

func TestFrameReaderPipe(t *testing.T) {
	stream, want := testStream([]int{10, 0, 127, 128, 4096, 70000, 1, 20000})
	tests := []struct {
		name  string
		write []byte
		err   error
		n     int
	}{
		{"closed at a frame boundary", stream, io.EOF, len(want)},
		{"closed inside the last frame", stream[:len(stream)-100], io.ErrUnexpectedEOF, len(want) - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			t.Cleanup(func() { client.Close(); server.Close() })
			done := make(chan error, 1)
			go func() {
				// Writes in uneven pieces, then closes: the reader sees EOF.
				var err error
				for _, c := range randomChunks(tc.write, 3, 5000) {
					if _, err = server.Write(c); err != nil {
						break
					}
				}
				server.Close()
				done <- err
			}()
			got, err := readAll(mcproto.NewFrameReader(client, mcproto.MaxFrameLength))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if werr := <-done; werr != nil {
				t.Fatalf("writer: %v", werr)
			}
			if len(got) != tc.n {
				t.Fatalf("got %d frames, want %d", len(got), tc.n)
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i].body) {
					t.Fatalf("frame %d differs", i)
				}
			}
		})
	}
}
