package mcproto

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// Inflate caps by direction (docs/PROTOCOL.md, Compression).
const (
	// MaxClientboundInflate is vanilla's VANILLA_MAXIMUM_UNCOMPRESSED_SIZE,
	// 2^23: backends are semi-trusted and chunk data is large.
	MaxClientboundInflate = 8 << 20
	// MaxServerboundInflate is gate's cap for untrusted clients, 2 MiB.
	MaxServerboundInflate = 2 << 20
	// CompressionOff is the threshold value meaning "no compression".
	CompressionOff = -1
)

// MaxInflate returns the inflate cap for a direction.
func MaxInflate(d Direction) int {
	if d == Clientbound {
		return MaxClientboundInflate
	}
	return MaxServerboundInflate
}

// SplitCompressed reads the Data Length in front of body on a leg with
// compression at threshold. It returns the announced uncompressed length
// (0 for a raw packet) and the rest: the raw packet when dataLen is 0, the
// zlib stream otherwise. strict rejects raw packets longer than the
// threshold, which no vanilla encoder sends (it compresses from the
// threshold on; equality is tolerated as gate does).
func SplitCompressed(body []byte, threshold, maxInflate int, strict bool) (dataLen int, payload []byte, err error) {
	v, n, err := ReadVarInt(body)
	if err != nil {
		return 0, nil, fmt.Errorf("data length: %w", err)
	}
	payload = body[n:]
	switch {
	case v < 0:
		return 0, nil, fmt.Errorf("negative data length %d: %w", v, ErrBadCompression)
	case v == 0:
		if strict && len(payload) > threshold {
			return 0, nil, fmt.Errorf("raw packet of %d bytes over threshold %d: %w", len(payload), threshold, ErrBadCompression)
		}
		return 0, payload, nil
	case int(v) < threshold:
		return 0, nil, fmt.Errorf("compressed packet of %d bytes under threshold %d: %w", v, threshold, ErrBadCompression)
	case int(v) > maxInflate:
		return 0, nil, fmt.Errorf("data length %d > %d: %w", v, maxInflate, ErrInflateTooLarge)
	}
	return int(v), payload, nil
}

// Inflater decompresses packets of one connection leg, reusing one zlib
// reader so the steady state allocates nothing. Not safe for concurrent use.
type Inflater struct {
	src bytes.Reader
	zr  io.ReadCloser
	lim io.LimitedReader
}

func (z *Inflater) reset(payload []byte) error {
	z.src.Reset(payload)
	if z.zr == nil {
		zr, err := zlib.NewReader(&z.src)
		if err != nil {
			return fmt.Errorf("zlib header: %w: %w", ErrBadCompression, err)
		}
		z.zr = zr
		return nil
	}
	if err := z.zr.(zlib.Resetter).Reset(&z.src, nil); err != nil {
		return fmt.Errorf("zlib header: %w: %w", ErrBadCompression, err)
	}
	return nil
}

// Peek inflates only the first len(dst) bytes of a compressed packet (or
// fewer when the packet is shorter) into dst. A few bytes reveal the packet
// id and its first fields, so a large packet (chunk data) can be classified
// and relayed without a full inflate; PeekInflate stops decoding as soon as
// dst is full (compress/flate would decode a whole 32 KiB window first).
func (z *Inflater) Peek(dst []byte, payload []byte, dataLen int) ([]byte, error) {
	if dataLen <= 0 {
		return dst[:0], fmt.Errorf("peek with data length %d: %w", dataLen, ErrBadCompression)
	}
	want := min(len(dst), dataLen)
	n, err := PeekInflate(dst[:want], payload)
	if err != nil {
		return nil, fmt.Errorf("inflate head: %w", err)
	}
	if n < want {
		return nil, fmt.Errorf("stream ends after %d bytes, announced %d: %w", n, dataLen, ErrBadCompression)
	}
	return dst[:n], nil
}

// Inflate decompresses payload, which must inflate to exactly dataLen bytes,
// appending to dst. The output grows as bytes come out of the stream, not to
// the announced size up front, and never past dataLen+1.
func (z *Inflater) Inflate(dst []byte, payload []byte, dataLen int) ([]byte, error) {
	if err := z.reset(payload); err != nil {
		return nil, err
	}
	z.lim = io.LimitedReader{R: z.zr, N: int64(dataLen) + 1}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			grow := max(min(cap(dst)-start, dataLen+1-(len(dst)-start)), 512)
			dst = append(dst, make([]byte, grow)...)[:len(dst)]
		}
		n, err := z.lim.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("inflate: %w: %w", ErrBadCompression, err)
		}
	}
	if got := len(dst) - start; got != dataLen {
		return nil, fmt.Errorf("inflated %d bytes, announced %d: %w", got, dataLen, ErrSizeMismatch)
	}
	return dst, nil
}

// Compressor builds frames for a leg with compression, reusing one zlib
// writer. The edge writes few frames of its own (disconnects, probes); most
// are below any threshold and go out raw.
type Compressor struct {
	zw  *zlib.Writer
	buf bytes.Buffer
}

// AppendFrame appends a complete frame (length field included) carrying
// packet (ID + data) for a leg whose threshold is threshold (CompressionOff
// for none). At or above the threshold the packet is compressed, as vanilla
// does.
func (c *Compressor) AppendFrame(dst, packet []byte, threshold int) []byte {
	if threshold < 0 {
		return AppendFrame(dst, packet)
	}
	// An empty packet cannot be compressed: its Data Length would be 0,
	// which means "not compressed". (Real packets always have an id.)
	if len(packet) < threshold || len(packet) == 0 {
		dst = AppendVarInt(dst, int32(len(packet)+1))
		dst = append(dst, 0)
		return append(dst, packet...)
	}
	c.buf.Reset()
	if c.zw == nil {
		c.zw = zlib.NewWriter(&c.buf)
	} else {
		c.zw.Reset(&c.buf)
	}
	_, _ = c.zw.Write(packet) // writes to a bytes.Buffer cannot fail
	_ = c.zw.Close()
	dl := VarIntLen(int32(len(packet)))
	dst = AppendVarInt(dst, int32(dl+c.buf.Len()))
	dst = AppendVarInt(dst, int32(len(packet)))
	return append(dst, c.buf.Bytes()...)
}
