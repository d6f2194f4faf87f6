package mcproto_test

import (
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Position layouts (docs/PROTOCOL.md; minecraft.wiki "Position"):
// before 1.14 (protocol < 477): x 26 | y 12 | z 26, since: x 26 | z 26 | y 12.
// The packed values are computed by hand from those layouts.
func TestPositionPack(t *testing.T) {
	tests := []struct {
		name     string
		p        mcproto.Position
		old, new uint64
		// roundTripOnly: no hand-computed value, check Pack/Unpack only.
		roundTripOnly bool
	}{
		{"origin", mcproto.Position{}, 0, 0, false},
		{"small positive", mcproto.Position{X: 1, Y: 2, Z: 3}, 1<<38 | 2<<26 | 3, 1<<38 | 3<<12 | 2, false},
		{"all minus one", mcproto.Position{X: -1, Y: -1, Z: -1}, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, false},
		{"y minus one only", mcproto.Position{Y: -1}, 0xFFF << 26, 0xFFF, false},
		{"z minus one only", mcproto.Position{Z: -1}, 0x3FFFFFF, 0x3FFFFFF << 12, false},
		{"x minus one only", mcproto.Position{X: -1}, 0x3FFFFFF << 38, 0x3FFFFFF << 38, false},
		{"max", mcproto.Position{X: 1<<25 - 1, Y: 1<<11 - 1, Z: 1<<25 - 1},
			(1<<25-1)<<38 | (1<<11-1)<<26 | (1<<25 - 1), (1<<25-1)<<38 | (1<<25-1)<<12 | (1<<11 - 1), false},
		{"min", mcproto.Position{X: -(1 << 25), Y: -(1 << 11), Z: -(1 << 25)},
			1<<63 | 1<<37 | 1<<25, 1<<63 | 1<<37 | 1<<11, false},
		// minecraft.wiki's worked example for the 1.14+ layout.
		{"wiki example", mcproto.Position{X: 18357644, Y: 831, Z: -20882616},
			18357644<<38 | 831<<26 | (1<<26 - 20882616), 0x4607632C15B4833F, false},
		{"world border, 1.18 floor", mcproto.Position{X: -30000000, Y: -64, Z: 29999999}, 0, 0, true},
		{"world border, ceiling", mcproto.Position{X: 29999999, Y: 2031, Z: -30000000}, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, proto := range []int32{mcproto.Protocol1_8, 476, 477, mcproto.Protocol1_21_11} {
				want := tc.new
				if proto < 477 {
					want = tc.old
				}
				packed := tc.p.Pack(proto)
				if !tc.roundTripOnly && packed != want {
					t.Errorf("protocol %d: Pack = %#016x, want %#016x", proto, packed, want)
				}
				if got := mcproto.UnpackPosition(packed, proto); got != tc.p {
					t.Errorf("protocol %d: round trip = %+v, want %+v", proto, got, tc.p)
				}
			}
		})
	}
}

// TestPositionLayoutsDiffer guards against both branches decoding the same
// way: a value packed with one layout reads differently with the other.
func TestPositionLayoutsDiffer(t *testing.T) {
	p := mcproto.Position{X: 5, Y: 70, Z: -9}
	if got := mcproto.UnpackPosition(p.Pack(476), 477); got == p {
		t.Fatalf("pre-1.14 packing decoded unchanged with the 1.14 layout: %+v", got)
	}
}

func TestUUIDString(t *testing.T) {
	tests := []struct {
		u    mcproto.UUID
		want string
	}{
		{mcproto.UUID{}, "00000000-0000-0000-0000-000000000000"},
		{mcproto.UUID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "00010203-0405-0607-0809-0a0b0c0d0e0f"},
		{mcproto.UUID{0x06, 0x9a, 0x79, 0xf4, 0x44, 0xe9, 0x47, 0x26, 0xa5, 0xbe, 0xfc, 0xa9, 0x0e, 0x38, 0xaa, 0xf5}, "069a79f4-44e9-4726-a5be-fca90e38aaf5"},
		{mcproto.UUID{0: 0xff, 15: 0xff}, "ff000000-0000-0000-0000-0000000000ff"},
	}
	for _, tc := range tests {
		if got := tc.u.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestStateAndDirectionNames(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{mcproto.StateHandshake.String(), "handshake"},
		{mcproto.StateStatus.String(), "status"},
		{mcproto.StateLogin.String(), "login"},
		{mcproto.StateConfiguration.String(), "configuration"},
		{mcproto.StatePlay.String(), "play"},
		{mcproto.NumStates.String(), "unknown"},
		{mcproto.State(200).String(), "unknown"},
		{mcproto.Serverbound.String(), "serverbound"},
		{mcproto.Clientbound.String(), "clientbound"},
		{mcproto.NumDirections.String(), "unknown"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
