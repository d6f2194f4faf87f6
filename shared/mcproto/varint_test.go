package mcproto_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// The expected encodings are written out by hand from the protocol's VarInt
// definition (7 bits per byte, lowest group first, 0x80 = more follows), not
// produced by the encoder under test.
var varIntCases = []struct {
	v   int32
	enc []byte
}{
	{0, []byte{0x00}},
	{1, []byte{0x01}},
	{2, []byte{0x02}},
	{127, []byte{0x7f}},
	{128, []byte{0x80, 0x01}},
	{255, []byte{0xff, 0x01}},
	{25565, []byte{0xdd, 0xc7, 0x01}},
	{2097151, []byte{0xff, 0xff, 0x7f}},
	{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
	{2147483647, []byte{0xff, 0xff, 0xff, 0xff, 0x07}},
	{-1, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
	{-2147483648, []byte{0x80, 0x80, 0x80, 0x80, 0x08}},
}

func TestVarIntEncode(t *testing.T) {
	for _, tc := range varIntCases {
		if got := mcproto.AppendVarInt(nil, tc.v); !bytes.Equal(got, tc.enc) {
			t.Errorf("AppendVarInt(%d) = % x, want % x", tc.v, got, tc.enc)
		}
		if got := mcproto.VarIntLen(tc.v); got != len(tc.enc) {
			t.Errorf("VarIntLen(%d) = %d, want %d", tc.v, got, len(tc.enc))
		}
		// Appending keeps what is already in the buffer.
		if got := mcproto.AppendVarInt([]byte{0xaa}, tc.v); !bytes.Equal(got, append([]byte{0xaa}, tc.enc...)) {
			t.Errorf("AppendVarInt(prefix, %d) = % x", tc.v, got)
		}
	}
}

func TestVarIntDecode(t *testing.T) {
	for _, tc := range varIntCases {
		// Bytes after the value must be left alone.
		in := append(append([]byte{}, tc.enc...), 0xff, 0x00)
		v, n, err := mcproto.ReadVarInt(in)
		if err != nil || v != tc.v || n != len(tc.enc) {
			t.Errorf("ReadVarInt(% x) = %d, %d, %v; want %d, %d, nil", in, v, n, err, tc.v, len(tc.enc))
		}
	}
}

func TestReadVarIntEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		want  int32
		wantN int
		err   error
	}{
		{"empty", nil, 0, 0, mcproto.ErrShort},
		{"one continuation byte", []byte{0x80}, 0, 0, mcproto.ErrShort},
		{"four continuation bytes", []byte{0xff, 0xff, 0xff, 0xff}, 0, 0, mcproto.ErrShort},
		{"fifth byte continues", []byte{0xff, 0xff, 0xff, 0xff, 0xff}, 0, 0, mcproto.ErrVarIntTooBig},
		{"six bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, 0, mcproto.ErrVarIntTooBig},
		{"padded zero, 2 bytes", []byte{0x80, 0x00}, 0, 2, nil},
		{"padded one, 5 bytes", []byte{0x81, 0x80, 0x80, 0x80, 0x00}, 1, 5, nil},
		{"padded 127, 3 bytes", []byte{0xff, 0x80, 0x00}, 127, 3, nil},
		// Bits above bit 31 in the fifth byte fall off, as in vanilla's
		// reader (an int shift); the value is what the low 32 bits say.
		{"5-byte max with high bits", []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, -1, 5, nil},
		{"5-byte max int32", []byte{0xff, 0xff, 0xff, 0xff, 0x07}, math.MaxInt32, 5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, n, err := mcproto.ReadVarInt(tc.in)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if v != tc.want || n != tc.wantN {
				t.Fatalf("got %d (%d bytes), want %d (%d bytes)", v, n, tc.want, tc.wantN)
			}
		})
	}
}

func TestVarLong(t *testing.T) {
	tests := []struct {
		v   int64
		enc []byte
	}{
		{0, []byte{0x00}},
		{1, []byte{0x01}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{255, []byte{0xff, 0x01}},
		{2147483647, []byte{0xff, 0xff, 0xff, 0xff, 0x07}},
		{math.MaxInt64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{-1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{-2147483648, []byte{0x80, 0x80, 0x80, 0x80, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{math.MinInt64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
	}
	for _, tc := range tests {
		if got := mcproto.AppendVarLong(nil, tc.v); !bytes.Equal(got, tc.enc) {
			t.Errorf("AppendVarLong(%d) = % x, want % x", tc.v, got, tc.enc)
		}
		v, n, err := mcproto.ReadVarLong(append(append([]byte{}, tc.enc...), 0x01))
		if err != nil || v != tc.v || n != len(tc.enc) {
			t.Errorf("ReadVarLong(% x) = %d, %d, %v; want %d, %d", tc.enc, v, n, err, tc.v, len(tc.enc))
		}
	}
}

func TestReadVarLongEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		want  int64
		wantN int
		err   error
	}{
		{"empty", nil, 0, 0, mcproto.ErrShort},
		{"nine continuation bytes", bytes.Repeat([]byte{0xff}, 9), 0, 0, mcproto.ErrShort},
		{"tenth byte continues", bytes.Repeat([]byte{0xff}, 10), 0, 0, mcproto.ErrVarIntTooBig},
		{"padded zero, 10 bytes", append(bytes.Repeat([]byte{0x80}, 9), 0x00), 0, 10, nil},
		{"padded five, 3 bytes", []byte{0x85, 0x80, 0x00}, 5, 3, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, n, err := mcproto.ReadVarLong(tc.in)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if v != tc.want || n != tc.wantN {
				t.Fatalf("got %d (%d bytes), want %d (%d bytes)", v, n, tc.want, tc.wantN)
			}
		})
	}
}

// TestVarIntMatchesLEB128 checks random values against encoding/binary's
// unsigned LEB128, which is the same wire format read as uint32/uint64.
func TestVarIntMatchesLEB128(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		v := int32(rng.Uint32() >> (rng.IntN(32)))
		enc := mcproto.AppendVarInt(nil, v)
		if want := binary.AppendUvarint(nil, uint64(uint32(v))); !bytes.Equal(enc, want) {
			t.Fatalf("AppendVarInt(%d) = % x, LEB128 % x", v, enc, want)
		}
		got, n, err := mcproto.ReadVarInt(enc)
		if err != nil || got != v || n != len(enc) {
			t.Fatalf("ReadVarInt(% x) = %d, %d, %v; want %d", enc, got, n, err, v)
		}

		l := int64(rng.Uint64() >> (rng.IntN(64)))
		encL := mcproto.AppendVarLong(nil, l)
		if want := binary.AppendUvarint(nil, uint64(l)); !bytes.Equal(encL, want) {
			t.Fatalf("AppendVarLong(%d) = % x, LEB128 % x", l, encL, want)
		}
		gotL, n, err := mcproto.ReadVarLong(encL)
		if err != nil || gotL != l || n != len(encL) {
			t.Fatalf("ReadVarLong(% x) = %d, %d, %v; want %d", encL, gotL, n, err, l)
		}
	}
}

func TestParseFrameHeader(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		bodyLen int
		hdrLen  int
		err     error
	}{
		{"zero", []byte{0x00}, 0, 1, nil},
		{"one byte max", []byte{0x7f, 0xaa}, 127, 1, nil},
		{"two bytes", []byte{0x80, 0x01}, 128, 2, nil},
		{"largest legal frame", []byte{0xff, 0xff, 0x7f}, 2097151, 3, nil},
		{"largest legal frame, body follows", []byte{0xff, 0xff, 0x7f, 0x01, 0x02}, mcproto.MaxFrameLength, 3, nil},
		{"padded zero, 3 bytes", []byte{0x80, 0x80, 0x00}, 0, 3, nil},
		{"padded one, 3 bytes", []byte{0x81, 0x80, 0x00}, 1, 3, nil},
		{"padded 200, 3 bytes", []byte{0xc8, 0x81, 0x00}, 200, 3, nil},
		{"third byte continues", []byte{0xff, 0xff, 0xff}, 0, 0, mcproto.ErrLengthTooWide},
		{"2^21 needs 4 bytes", []byte{0x80, 0x80, 0x80, 0x01}, 0, 0, mcproto.ErrLengthTooWide},
		{"negative as 5-byte varint", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 0, 0, mcproto.ErrLengthTooWide},
		{"empty", nil, 0, 0, mcproto.ErrShort},
		{"one continuation byte", []byte{0x80}, 0, 0, mcproto.ErrShort},
		{"two continuation bytes", []byte{0xff, 0xff}, 0, 0, mcproto.ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, h, err := mcproto.ParseFrameHeader(tc.in)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if n != tc.bodyLen || h != tc.hdrLen {
				t.Fatalf("got body %d header %d, want %d %d", n, h, tc.bodyLen, tc.hdrLen)
			}
		})
	}
}

func TestAppendFrame(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want []byte
	}{
		{"empty", nil, []byte{0x00}},
		{"one byte", []byte{0x2a}, []byte{0x01, 0x2a}},
		{"128 bytes", bytes.Repeat([]byte{7}, 128), append([]byte{0x80, 0x01}, bytes.Repeat([]byte{7}, 128)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mcproto.AppendFrame([]byte{0xee}, tc.body)
			if !bytes.Equal(got, append([]byte{0xee}, tc.want...)) {
				t.Fatalf("AppendFrame = % x, want ee % x", got, tc.want)
			}
		})
	}
}
