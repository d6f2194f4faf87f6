package packets

import (
	"errors"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// TestDecodeBrand is the brand rule both the limbo and the detection
// engine apply: the brands real clients send pass, anything else fails with
// ErrBadBrand or, when the data is not one string, an mcproto sentinel.
func TestDecodeBrand(t *testing.T) {
	str := func(s string) []byte { return mcproto.AppendString(nil, s) }
	for _, tc := range []struct {
		name string
		data []byte
		want string // the brand; "" when it must fail
		err  error  // the sentinel of the failure
	}{
		{"vanilla", str("vanilla"), "vanilla", nil},
		{"fabric", str("fabric"), "fabric", nil},
		{"forge", str("forge"), "forge", nil},
		{"forge before 1.13", str("fml,forge"), "fml,forge", nil},
		{"quilt", str("quilt"), "quilt", nil},
		{"a launcher with a version", str("lunarclient:v2.18.3-2451"), "lunarclient:v2.18.3-2451", nil},
		{"space", str("Feather Fabric"), "Feather Fabric", nil},
		{"section sign", str("§6gold"), "§6gold", nil},
		{"one byte", str("x"), "x", nil},
		{"64 bytes", str(strings.Repeat("b", 64)), strings.Repeat("b", 64), nil},
		{"64 bytes with a section sign", str(strings.Repeat("b", 62) + "§"), strings.Repeat("b", 62) + "§", nil},
		{"65 bytes", str(strings.Repeat("b", 65)), "", mcproto.ErrStringTooLong},
		{"65 bytes, 64 chars", str(strings.Repeat("b", 63) + "§"), "", ErrBadBrand},
		{"empty", str(""), "", ErrBadBrand},
		{"control character", str("vani\x01lla"), "", ErrBadBrand},
		{"newline", str("vanilla\n"), "", ErrBadBrand},
		{"tab", str("\tvanilla"), "", ErrBadBrand},
		{"delete", str("vanilla\x7f"), "", ErrBadBrand},
		{"non-ASCII letter", str("vanillä"), "", ErrBadBrand},
		{"no payload", nil, "", mcproto.ErrShort},
		{"no length prefix", []byte("vanilla"), "", mcproto.ErrShort},
		{"trailing bytes", append(str("vanilla"), 0), "", mcproto.ErrTrailingBytes},
		{"bad UTF-8", str("van\xffilla"), "", mcproto.ErrBadUTF8},
		{"negative length", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, "", mcproto.ErrNegativeLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBrand(tc.data)
			if tc.err == nil {
				if err != nil || string(b) != tc.want {
					t.Fatalf("DecodeBrand = %q, %v; want %q", b, err, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.err) || b != nil {
				t.Fatalf("DecodeBrand = %q, %v; want an error wrapping %v", b, err, tc.err)
			}
		})
	}
}

func TestBrandChannel(t *testing.T) {
	for _, tc := range []struct {
		protocol int32
		channel  string
		is       bool
	}{
		{47, "MC|Brand", true},
		{340, "MC|Brand", true},
		{340, "minecraft:brand", false},
		{mcproto.Protocol1_13, "minecraft:brand", true},
		{mcproto.Protocol1_13, "MC|Brand", false},
		{769, "minecraft:brand", true},
		{769, "MC|Brand", false},
		{769, "brand", false},
		{769, "minecraft:register", false},
	} {
		if got := IsBrandChannel([]byte(tc.channel), tc.protocol); got != tc.is {
			t.Errorf("IsBrandChannel(%q, %d) = %v, want %v", tc.channel, tc.protocol, got, tc.is)
		}
		if tc.is && BrandChannel(tc.protocol) != tc.channel {
			t.Errorf("BrandChannel(%d) = %q, want %q", tc.protocol, BrandChannel(tc.protocol), tc.channel)
		}
	}
}

// FuzzDecodeBrand holds the brand rule's promises on any data: an accepted
// brand is 1 to MaxBrandBytes bytes of the brand alphabet and re-encodes to
// the same data; a refusal wraps an error the callers can name.
func FuzzDecodeBrand(f *testing.F) {
	f.Add(mcproto.AppendString(nil, "vanilla"))
	f.Add(mcproto.AppendString(nil, "§6gold"))
	f.Add(mcproto.AppendString(nil, strings.Repeat("b", 65)))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBrand(data)
		if err != nil {
			if b != nil {
				t.Fatalf("error %v with brand %q", err, b)
			}
			return
		}
		if len(b) == 0 || len(b) > MaxBrandBytes {
			t.Fatalf("accepted a brand of %d bytes", len(b))
		}
		for _, c := range string(b) {
			if (c < ' ' || c > '~') && c != '§' {
				t.Fatalf("accepted brand character %U", c)
			}
		}
		if again := mcproto.AppendString(nil, string(b)); string(again) != string(data) {
			t.Fatalf("brand %q re-encodes to %x, not %x", b, again, data)
		}
	})
}
