package mcconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

func TestWriteReadPacket(t *testing.T) {
	big := bytes.Repeat([]byte("chunk"), 2000)
	tests := []struct {
		name      string
		threshold int
		packet    []byte
	}{
		{"uncompressed leg", mcproto.CompressionOff, append([]byte{0x21}, big...)},
		{"compressed leg, small packet goes raw", 256, []byte{0x00, 0x05}},
		{"compressed leg, at threshold", 4, []byte{0x17, 1, 2, 3}},
		{"compressed leg, large packet", 256, append([]byte{0x21}, big...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			w, r := New(a, mcproto.Serverbound), New(b, mcproto.Clientbound)
			w.SetThreshold(tt.threshold)
			r.SetThreshold(tt.threshold)
			go func() { _ = w.WritePacket(tt.packet) }()
			id, data, err := r.ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			if id != int32(tt.packet[0]) || !bytes.Equal(data, tt.packet[1:]) {
				t.Fatalf("got id %#x and %d bytes, want %#x and %d", id, len(data), tt.packet[0], len(tt.packet)-1)
			}
		})
	}
}

func TestNextFrameMatchesWire(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	var comp mcproto.Compressor
	f1 := comp.AppendFrame(nil, append([]byte{0x21}, bytes.Repeat([]byte{7}, 5000)...), 256)
	f2 := comp.AppendFrame(nil, []byte{0x00, 0x2a}, 256)
	go func() {
		_, _ = a.Write(append(append([]byte{}, f1...), f2...))
		a.Close()
	}()
	c := New(b, mcproto.Clientbound)
	c.SetThreshold(256)
	raw, _, err := c.NextFrame()
	if err != nil || !bytes.Equal(raw, f1) {
		t.Fatalf("first frame: %d bytes, %v; want %d bytes", len(raw), err, len(f1))
	}
	// ReadPacket continues where NextFrame stopped.
	id, data, err := c.ReadPacket()
	if err != nil || id != 0 || !bytes.Equal(data, []byte{0x2a}) {
		t.Fatalf("second packet: %#x %x %v", id, data, err)
	}
	if _, _, err := c.NextFrame(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
}

func TestNextFrameTruncated(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		_, _ = a.Write([]byte{10, 1, 2, 3}) // announces 10 bytes, sends 3
		a.Close()
	}()
	if _, _, err := New(b, mcproto.Clientbound).NextFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
}

func TestExpectWrongID(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _ = New(a, mcproto.Serverbound).WritePacket([]byte{0x05}) }()
	if _, err := New(b, mcproto.Clientbound).Expect(0x02); !errors.Is(err, ErrUnexpectedPacket) {
		t.Fatalf("err = %v, want ErrUnexpectedPacket", err)
	}
}

func TestCorruptCompressedFrame(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		// Data Length 300 ≥ threshold, but the body is not zlib.
		body := mcproto.AppendVarInt(nil, 300)
		body = append(body, 1, 2, 3, 4)
		_, _ = a.Write(mcproto.AppendFrame(nil, body))
		a.Close()
	}()
	c := New(b, mcproto.Clientbound)
	c.SetThreshold(256)
	if _, _, err := c.ReadPacket(); !errors.Is(err, mcproto.ErrBadCompression) {
		t.Fatalf("err = %v, want ErrBadCompression", err)
	}
}

// tap records what crosses the wire.
type tap struct {
	net.Conn
	wire bytes.Buffer
}

func (t *tap) Write(p []byte) (int, error) {
	t.wire.Write(p)
	return t.Conn.Write(p)
}

// TestEncryptedLeg: with the cipher on at both ends, packets (compressed
// or not), raw frames and NextFrame all come through, and what crossed the
// wire is AES-128-CFB8 of the clear frames, one stream per direction
// (checked against an independent encrypter over the same bytes).
func TestEncryptedLeg(t *testing.T) {
	secret := []byte("0123456789abcdef")
	big := append([]byte{0x21}, bytes.Repeat([]byte("chunk"), 2000)...)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	wa := &tap{Conn: a}
	w, r := New(wa, mcproto.Serverbound), New(b, mcproto.Clientbound)
	for _, c := range []*Conn{w, r} {
		c.SetThreshold(256)
		if err := c.EnableEncryption(secret); err != nil {
			t.Fatal(err)
		}
	}
	var comp mcproto.Compressor
	rawFrame := comp.AppendFrame(nil, []byte{0x00, 0x07}, 256)
	keep := bytes.Clone(rawFrame)
	go func() {
		_ = w.WritePacket(big)
		_ = w.WritePacket([]byte{0x00, 0x2a})
		_, _ = w.Write(rawFrame)
	}()
	id, data, err := r.ReadPacket()
	if err != nil || id != 0x21 || !bytes.Equal(data, big[1:]) {
		t.Fatalf("big packet: %#x, %d bytes, %v", id, len(data), err)
	}
	id, data, err = r.ReadPacket()
	if err != nil || id != 0 || !bytes.Equal(data, []byte{0x2a}) {
		t.Fatalf("small packet: %#x %x %v", id, data, err)
	}
	raw, _, err := r.NextFrame()
	if err != nil || !bytes.Equal(raw, keep) {
		t.Fatalf("raw frame: %x, %v; want %x", raw, err, keep)
	}
	if !bytes.Equal(rawFrame, keep) {
		t.Fatal("Write encrypted the caller's buffer in place")
	}

	clear := comp.AppendFrame(nil, big, 256)
	clear = comp.AppendFrame(clear, []byte{0x00, 0x2a}, 256)
	clear = append(clear, keep...)
	enc, err := cfb8.NewEncrypter(secret, secret)
	if err != nil {
		t.Fatal(err)
	}
	enc.XORKeyStream(clear, clear)
	if !bytes.Equal(wa.wire.Bytes(), clear) {
		t.Fatal("the wire does not carry the AES-128-CFB8 stream of the frames")
	}
}

// TestEnableEncryptionRefusesBufferedBytes: bytes read in the clear but not
// yet consumed when the cipher starts would be misread; the switch fails.
func TestEnableEncryptionRefusesBufferedBytes(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		f := mcproto.AppendFrame(nil, []byte{0x01})
		_, _ = a.Write(mcproto.AppendFrame(f, []byte{0x02}))
		a.Close()
	}()
	c := New(b, mcproto.Clientbound)
	if _, err := c.Expect(0x01); err != nil {
		t.Fatal(err)
	}
	if err := c.EnableEncryption(make([]byte, cfb8.KeySize)); !errors.Is(err, ErrUnexpectedPacket) {
		t.Fatalf("err = %v, want ErrUnexpectedPacket", err)
	}
	if c.Encrypted() {
		t.Fatal("cipher on after a refused switch")
	}
}

// TestEncryptedPacketPathAllocatesNothing: the cipher adds no allocation to
// a packet written and read back once the buffers have grown.
func TestEncryptedPacketPathAllocatesNothing(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w, r := New(a, mcproto.Serverbound), New(b, mcproto.Clientbound)
	for _, c := range []*Conn{w, r} {
		if err := c.EnableEncryption(make([]byte, cfb8.KeySize)); err != nil {
			t.Fatal(err)
		}
	}
	pkt := []byte{0x00, 1, 2, 3, 4, 5, 6, 7, 8}
	errs := make(chan error, 1)
	go func() {
		for {
			if _, _, err := r.ReadPacket(); err != nil {
				errs <- err
				return
			}
		}
	}()
	if err := w.WritePacket(pkt); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := w.WritePacket(pkt); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per encrypted packet", n)
	}
	a.Close()
	<-errs
}
