package mcconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
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
