package mcproto_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// cat joins byte slices; it keeps the tables below readable.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// vi is the VarInt encoding of v.
func vi(v int32) []byte { return mcproto.AppendVarInt(nil, v) }

// errBool is any non-nil error: Reader.Bool reports a bad byte without a
// sentinel, so the test only checks that it fails.
var errBool = errors.New("any error")

func TestReaderPrimitives(t *testing.T) {
	uuid := mcproto.UUID{0x06, 0x9a, 0x79, 0xf4, 0x44, 0xe9, 0x47, 0x26, 0xa5, 0xbe, 0xfc, 0xa9, 0x0e, 0x38, 0xaa, 0xf5}
	tests := []struct {
		name string
		in   []byte
		read func(r *mcproto.Reader) any
		want any
		err  error // nil: no error and every byte consumed
	}{
		{"varint", []byte{0xdd, 0xc7, 0x01}, func(r *mcproto.Reader) any { return r.VarInt() }, int32(25565), nil},
		{"varint negative", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, func(r *mcproto.Reader) any { return r.VarInt() }, int32(-1), nil},
		{"varint short", []byte{0x80}, func(r *mcproto.Reader) any { return r.VarInt() }, int32(0), mcproto.ErrShort},
		{"varint too big", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, func(r *mcproto.Reader) any { return r.VarInt() }, int32(0), mcproto.ErrVarIntTooBig},
		{"varlong", mcproto.AppendVarLong(nil, math.MinInt64), func(r *mcproto.Reader) any { return r.VarLong() }, int64(math.MinInt64), nil},
		{"varlong short", []byte{0xff}, func(r *mcproto.Reader) any { return r.VarLong() }, int64(0), mcproto.ErrShort},
		{"bool false", []byte{0}, func(r *mcproto.Reader) any { return r.Bool() }, false, nil},
		{"bool true", []byte{1}, func(r *mcproto.Reader) any { return r.Bool() }, true, nil},
		{"bool bad byte", []byte{2}, func(r *mcproto.Reader) any { return r.Bool() }, false, errBool},
		{"bool short", nil, func(r *mcproto.Reader) any { return r.Bool() }, false, mcproto.ErrShort},
		{"byte", []byte{0xff}, func(r *mcproto.Reader) any { return r.Byte() }, byte(0xff), nil},
		{"byte short", nil, func(r *mcproto.Reader) any { return r.Byte() }, byte(0), mcproto.ErrShort},
		{"int8", []byte{0xff}, func(r *mcproto.Reader) any { return r.Int8() }, int8(-1), nil},
		{"uint16", []byte{0xff, 0xfe}, func(r *mcproto.Reader) any { return r.Uint16() }, uint16(65534), nil},
		{"uint16 port", []byte{0x63, 0xdd}, func(r *mcproto.Reader) any { return r.Uint16() }, uint16(25565), nil},
		{"uint16 short", []byte{0x63}, func(r *mcproto.Reader) any { return r.Uint16() }, uint16(0), mcproto.ErrShort},
		{"int16", []byte{0xff, 0xfe}, func(r *mcproto.Reader) any { return r.Int16() }, int16(-2), nil},
		{"int32", []byte{0x80, 0, 0, 0}, func(r *mcproto.Reader) any { return r.Int32() }, int32(math.MinInt32), nil},
		{"int32 short", []byte{0, 0, 0}, func(r *mcproto.Reader) any { return r.Int32() }, int32(0), mcproto.ErrShort},
		{"int64", []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}, func(r *mcproto.Reader) any { return r.Int64() }, int64(0x0102030405060708), nil},
		{"int64 short", make([]byte, 7), func(r *mcproto.Reader) any { return r.Int64() }, int64(0), mcproto.ErrShort},
		{"float32", []byte{0x3f, 0x80, 0, 0}, func(r *mcproto.Reader) any { return r.Float32() }, float32(1), nil},
		{"float64", []byte{0xc0, 0x04, 0, 0, 0, 0, 0, 0}, func(r *mcproto.Reader) any { return r.Float64() }, float64(-2.5), nil},
		{"uuid", uuid[:], func(r *mcproto.Reader) any { return r.UUID() }, uuid, nil},
		{"uuid short", uuid[:15], func(r *mcproto.Reader) any { return r.UUID() }, mcproto.UUID{}, mcproto.ErrShort},
		{"position 1.14", []byte{0x46, 0x07, 0x63, 0x2c, 0x15, 0xb4, 0x83, 0x3f}, func(r *mcproto.Reader) any { return r.Position(477) }, mcproto.Position{X: 18357644, Y: 831, Z: -20882616}, nil},
		{"bytes", []byte{1, 2, 3}, func(r *mcproto.Reader) any { return string(r.Bytes(3)) }, "\x01\x02\x03", nil},
		{"bytes zero", nil, func(r *mcproto.Reader) any { return len(r.Bytes(0)) }, 0, nil},
		{"bytes negative", []byte{1}, func(r *mcproto.Reader) any { return r.Bytes(-1) == nil }, true, mcproto.ErrNegativeLength},
		{"bytes short", []byte{1, 2, 3}, func(r *mcproto.Reader) any { return r.Bytes(4) == nil }, true, mcproto.ErrShort},
		{"rest", []byte{1, 2}, func(r *mcproto.Reader) any { return string(r.Rest()) }, "\x01\x02", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mcproto.NewReader(tc.in)
			got := tc.read(&r)
			if got != tc.want {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			checkErr(t, r.Finish(), tc.err)
			if tc.err == nil && r.Len() != 0 {
				t.Errorf("%d bytes left", r.Len())
			}
		})
	}
}

// checkErr fails unless err matches want: nil for nil, any error for errBool,
// errors.Is otherwise.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == errBool && err == nil:
		t.Fatal("expected an error, got nil")
	case want != nil && want != errBool && !errors.Is(err, want):
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestReaderByteArray(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  int
		want []byte
		err  error
	}{
		{"exactly max", cat(vi(3), []byte{1, 2, 3}), 3, []byte{1, 2, 3}, nil},
		{"empty", vi(0), 0, []byte{}, nil},
		{"over max", cat(vi(4), []byte{1, 2, 3, 4}), 3, nil, mcproto.ErrArrayTooLong},
		{"negative length", vi(-1), 10, nil, mcproto.ErrNegativeLength},
		// A length far beyond the bytes present and beyond the cap is
		// refused by the cap, before anything is sliced.
		{"1 GiB announced, 3 bytes sent", cat(vi(1<<30), []byte{1, 2, 3}), mcproto.MaxFrameLength, nil, mcproto.ErrArrayTooLong},
		{"under max but short", cat(vi(10), []byte{1, 2, 3}), 100, nil, mcproto.ErrShort},
		{"length field short", []byte{0x80}, 100, nil, mcproto.ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mcproto.NewReader(tc.in)
			got := r.ByteArray(tc.max)
			checkErr(t, r.Finish(), tc.err)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got % x, want % x", got, tc.want)
			}
			if tc.err != nil && got != nil {
				t.Fatalf("a failed read returned % x, want nil", got)
			}
		})
	}
}

func TestReaderString(t *testing.T) {
	str := func(s string) []byte { return mcproto.AppendString(nil, s) }
	emoji := "\U0001F600" // 4 UTF-8 bytes, 2 UTF-16 code units
	tests := []struct {
		name string
		in   []byte
		max  int
		want string
		err  error
	}{
		{"ascii at limit", str("hello"), 5, "hello", nil},
		{"ascii over limit", str("hello!"), 5, "", mcproto.ErrStringTooLong},
		{"empty", str(""), 0, "", nil},
		{"2-byte chars count once", str("ééé"), 3, "ééé", nil},
		{"3-byte chars at 3n bytes", str("€€€"), 3, "€€€", nil},
		{"4-byte char counts twice: fits 2", str(emoji), 2, emoji, nil},
		{"4-byte char counts twice: over 1", str(emoji), 1, "", mcproto.ErrStringTooLong},
		// 8 bytes ≤ 3·3, so only the UTF-16 count can refuse it.
		{"two 4-byte chars over 3 units", str(emoji + emoji), 3, "", mcproto.ErrStringTooLong},
		{"two 4-byte chars at 4 units", str(emoji + emoji), 4, emoji + emoji, nil},
		{"mixed units", str("a" + emoji + "é€"), 5, "a" + emoji + "é€", nil},
		{"mixed units over", str("a" + emoji + "é€"), 4, "", mcproto.ErrStringTooLong},
		{"byte count 3n+1 refused", cat(vi(10), []byte("aaaaaaaaaa")), 3, "", mcproto.ErrStringTooLong},
		// The byte-count check comes before the read: a 1 GiB claim with 3
		// bytes behind it is "too long", not "short".
		{"1 GiB announced, 3 bytes sent", cat(vi(1<<30), []byte("abc")), 255, "", mcproto.ErrStringTooLong},
		{"max int32 announced", cat(vi(math.MaxInt32), []byte("abc")), 32767, "", mcproto.ErrStringTooLong},
		{"short body within limit", cat(vi(10), []byte("abc")), 16, "", mcproto.ErrShort},
		{"negative length", vi(-5), 16, "", mcproto.ErrNegativeLength},
		{"min int32 length", vi(math.MinInt32), 16, "", mcproto.ErrNegativeLength},
		{"invalid byte", cat(vi(2), []byte{'a', 0xff}), 16, "", mcproto.ErrBadUTF8},
		{"truncated sequence", cat(vi(2), []byte{0xe2, 0x82}), 16, "", mcproto.ErrBadUTF8},
		{"utf-8 encoded surrogate", cat(vi(3), []byte{0xed, 0xa0, 0x80}), 16, "", mcproto.ErrBadUTF8},
		{"overlong nul", cat(vi(2), []byte{0xc0, 0x80}), 16, "", mcproto.ErrBadUTF8},
		{"length field too big", []byte{0xff, 0xff, 0xff, 0xff, 0xff}, 16, "", mcproto.ErrVarIntTooBig},
		{"handshake host 255", str(strings.Repeat("h", 255)), 255, strings.Repeat("h", 255), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mcproto.NewReader(tc.in)
			got := r.String(tc.max)
			checkErr(t, r.Finish(), tc.err)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}

			r = mcproto.NewReader(tc.in)
			b := r.StringBytes(tc.max)
			checkErr(t, r.Finish(), tc.err)
			if string(b) != tc.want || (tc.err != nil && b != nil) {
				t.Fatalf("StringBytes = %q, want %q", b, tc.want)
			}
		})
	}
}

// TestReaderStringBytesNoAlloc backs the Reader's "never allocates" promise
// for the hot path.
func TestReaderStringBytesNoAlloc(t *testing.T) {
	body := cat(mcproto.AppendString(nil, "play.example.com"), []byte{0x63, 0xdd}, vi(2))
	allocs := testing.AllocsPerRun(100, func() {
		r := mcproto.NewReader(body)
		_ = r.StringBytes(255)
		_ = r.Uint16()
		_ = r.VarInt()
		if r.Finish() != nil {
			panic("finish")
		}
	})
	if allocs != 0 {
		t.Fatalf("StringBytes path allocates %.1f times per packet", allocs)
	}
}

func TestReaderStickyError(t *testing.T) {
	body := cat([]byte{0x00, 0x01}, mcproto.AppendString(nil, "abc"), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	r := mcproto.NewReader(body)
	_ = r.Uint16()
	// "abc" under a cap of 1 fails; the bytes after it are all present.
	if s := r.String(1); s != "" {
		t.Fatalf("String over cap returned %q", s)
	}
	if !errors.Is(r.Err(), mcproto.ErrStringTooLong) {
		t.Fatalf("Err = %v, want ErrStringTooLong", r.Err())
	}
	off := r.Offset()

	// Every later read returns the zero value, consumes nothing and keeps
	// the first error, even though the bytes are there.
	if v := r.Int64(); v != 0 {
		t.Errorf("Int64 after error = %d", v)
	}
	if v := r.VarInt(); v != 0 {
		t.Errorf("VarInt after error = %d", v)
	}
	if v := r.VarLong(); v != 0 {
		t.Errorf("VarLong after error = %d", v)
	}
	if v := r.Byte(); v != 0 {
		t.Errorf("Byte after error = %d", v)
	}
	if v := r.Bool(); v {
		t.Error("Bool after error = true")
	}
	if v := r.UUID(); v != (mcproto.UUID{}) {
		t.Errorf("UUID after error = %v", v)
	}
	if v := r.Bytes(1); v != nil {
		t.Errorf("Bytes after error = % x", v)
	}
	if v := r.ByteArray(100); v != nil {
		t.Errorf("ByteArray after error = % x", v)
	}
	if v := r.Rest(); v != nil {
		t.Errorf("Rest after error = % x", v)
	}
	r.Fail(errors.New("later failure"))
	if r.Offset() != off {
		t.Errorf("offset moved from %d to %d after the error", off, r.Offset())
	}
	if err := r.Finish(); !errors.Is(err, mcproto.ErrStringTooLong) {
		t.Fatalf("Finish = %v, want the first error", err)
	}

	// Reset clears the error.
	r.Reset([]byte{7})
	if v := r.Byte(); v != 7 || r.Finish() != nil {
		t.Fatalf("after Reset: %d, %v", v, r.Finish())
	}
}

func TestReaderShortIsSticky(t *testing.T) {
	r := mcproto.NewReader([]byte{0x00, 0x01, 0x02})
	_ = r.Int32()
	if !errors.Is(r.Err(), mcproto.ErrShort) {
		t.Fatalf("Err = %v, want ErrShort", r.Err())
	}
	// A failed fixed-size read does not leave a half-consumed body that a
	// later smaller read could pick from.
	if v := r.Byte(); v != 0 {
		t.Fatalf("Byte after ErrShort = %d", v)
	}
	if r.Len() != 0 {
		t.Fatalf("Len after ErrShort = %d", r.Len())
	}
}

func TestReaderFail(t *testing.T) {
	first := errors.New("first")
	r := mcproto.NewReader([]byte{1})
	r.Fail(first)
	r.Fail(errors.New("second"))
	if !errors.Is(r.Finish(), first) {
		t.Fatalf("Finish = %v, want first", r.Finish())
	}
}

func TestReaderFinish(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(r *mcproto.Reader)
		err  error
	}{
		{"all consumed", []byte{1, 2}, func(r *mcproto.Reader) { r.Uint16() }, nil},
		{"one byte left", []byte{1, 2, 3}, func(r *mcproto.Reader) { r.Uint16() }, mcproto.ErrTrailingBytes},
		{"nothing read", []byte{1}, func(r *mcproto.Reader) {}, mcproto.ErrTrailingBytes},
		{"empty body", nil, func(r *mcproto.Reader) {}, nil},
		{"rest consumes", []byte{1, 2, 3}, func(r *mcproto.Reader) { r.Byte(); r.Rest() }, nil},
		{"error wins over trailing", []byte{2, 9, 9}, func(r *mcproto.Reader) { r.Bool() }, errBool},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mcproto.NewReader(tc.in)
			tc.read(&r)
			err := r.Finish()
			checkErr(t, err, tc.err)
			if tc.err == errBool && errors.Is(err, mcproto.ErrTrailingBytes) {
				t.Fatalf("Finish = %v: the first error must win", err)
			}
		})
	}
}

// TestReaderRoundTrip writes every field with the Append helpers and reads it
// back in order.
func TestReaderRoundTrip(t *testing.T) {
	uuid := mcproto.UUID{15: 1}
	pos := mcproto.Position{X: -100, Y: -64, Z: 33554431}
	var b []byte
	b = mcproto.AppendVarInt(b, -7)
	b = mcproto.AppendVarLong(b, 1<<40)
	b = mcproto.AppendBool(b, true)
	b = mcproto.AppendBool(b, false)
	b = mcproto.AppendUint16(b, 25565)
	b = mcproto.AppendInt32(b, -123456)
	b = mcproto.AppendInt64(b, math.MinInt64+1)
	b = mcproto.AppendFloat32(b, float32(math.Inf(-1)))
	b = mcproto.AppendFloat64(b, math.SmallestNonzeroFloat64)
	b = mcproto.AppendUUID(b, uuid)
	b = mcproto.AppendInt64(b, int64(pos.Pack(mcproto.Protocol1_20_5)))
	b = mcproto.AppendInt64(b, int64(pos.Pack(mcproto.Protocol1_12_2)))
	b = mcproto.AppendString(b, "Notch")
	b = mcproto.AppendByteArray(b, []byte{9, 8, 7})

	r := mcproto.NewReader(b)
	checks := []struct {
		name      string
		got, want any
	}{
		{"varint", r.VarInt(), int32(-7)},
		{"varlong", r.VarLong(), int64(1 << 40)},
		{"bool true", r.Bool(), true},
		{"bool false", r.Bool(), false},
		{"uint16", r.Uint16(), uint16(25565)},
		{"int32", r.Int32(), int32(-123456)},
		{"int64", r.Int64(), int64(math.MinInt64 + 1)},
		{"float32", r.Float32(), float32(math.Inf(-1))},
		{"float64", r.Float64(), math.SmallestNonzeroFloat64},
		{"uuid", r.UUID(), uuid},
		{"position 1.14+", r.Position(mcproto.Protocol1_20_5), pos},
		{"position pre-1.14", r.Position(mcproto.Protocol1_12_2), pos},
		{"string", r.String(16), "Notch"},
		{"byte array", string(r.ByteArray(3)), "\x09\x08\x07"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if err := r.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if r.Offset() != len(b) {
		t.Fatalf("Offset = %d, want %d", r.Offset(), len(b))
	}
}
