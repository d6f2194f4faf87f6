package proxyproto

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestAppendV2Bytes(t *testing.T) {
	cases := []struct {
		name     string
		src, dst netip.AddrPort
		want     []byte
	}{
		{
			// Byte for byte what HAProxy wrote in a public packet capture.
			name: "tcp4 matches haproxy",
			src:  ap("172.19.0.1:42578"),
			dst:  ap("172.19.0.3:80"),
			want: []byte{
				0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
				0xac, 0x13, 0x00, 0x01, 0xac, 0x13, 0x00, 0x03, 0xa6, 0x52, 0x00, 0x50,
			},
		},
		{
			name: "tcp6",
			src:  ap("[2001:db8::1]:1"),
			dst:  ap("[2001:db8:ffff::abcd]:65535"),
			want: v2Raw(0x21, 0x21, addr6Block(ip6a, ip6b, 1, 65535)),
		},
		{
			name: "mapped ipv4 on both sides becomes tcp4",
			src:  ap("[::ffff:192.0.2.10]:50000"),
			dst:  ap("[::ffff:198.51.100.7]:25565"),
			want: v2Raw(0x21, 0x11, addr4Block(ip4a, ip4b, 50000, 25565)),
		},
		{
			name: "ipv4 player to ipv6 backend maps into tcp6",
			src:  ap("203.0.113.5:7"),
			dst:  ap("[2001:db8:ffff::abcd]:8"),
			want: v2Raw(0x21, 0x21, addr6Block(mapped, ip6b, 7, 8)),
		},
		{
			name: "zone dropped",
			src:  netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1%eth0"), 1),
			dst:  ap("[2001:db8:ffff::abcd]:65535"),
			want: v2Raw(0x21, 0x21, addr6Block(ip6a, ip6b, 1, 65535)),
		},
		{name: "no source gives local", src: netip.AddrPort{}, dst: ap("10.0.0.1:25565"), want: v2Raw(0x20, 0x00)},
		{name: "no destination gives local", src: ap("10.0.0.1:25565"), dst: netip.AddrPort{}, want: v2Raw(0x20, 0x00)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep")
			got := AppendV2(append([]byte{}, prefix...), tc.src, tc.dst)
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("AppendV2 overwrote the existing bytes: %x", got)
			}
			if got := got[len(prefix):]; !bytes.Equal(got, tc.want) {
				t.Fatalf("AppendV2 =\n%x\nwant\n%x", got, tc.want)
			}
		})
	}
}

func TestAppendV2RoundTrip(t *testing.T) {
	cases := []struct {
		name             string
		src, dst         netip.AddrPort
		wantSrc, wantDst netip.AddrPort
		wantErr          error
	}{
		{name: "tcp4", src: ap("192.0.2.10:50000"), dst: ap("198.51.100.7:25565")},
		{name: "tcp6", src: ap("[2001:db8::1]:0"), dst: ap("[::1]:65535")},
		{name: "mixed families unmap back", src: ap("203.0.113.5:1234"), dst: ap("[2001:db8::2]:25565")},
		{name: "mapped input comes back as ipv4", src: ap("[::ffff:192.0.2.10]:1"), dst: ap("[2001:db8::2]:2"), wantSrc: ap("192.0.2.10:1"), wantDst: ap("[2001:db8::2]:2")},
		{name: "missing address becomes local", src: netip.AddrPort{}, dst: ap("10.0.0.1:1"), wantErr: ErrLocal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wire := AppendV2(nil, tc.src, tc.dst)
			wire = append(wire, mcHandshake...)
			h, n, err := Parse(wire)
			if err != tc.wantErr {
				t.Fatalf("Parse error = %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(wire[n:], mcHandshake) {
				t.Fatalf("bytes after the header = %x, want %x", wire[n:], mcHandshake)
			}
			if tc.wantErr != nil {
				return
			}
			wantSrc, wantDst := tc.src, tc.dst
			if tc.wantSrc.IsValid() {
				wantSrc, wantDst = tc.wantSrc, tc.wantDst
			}
			if h.Version != 2 || h.Command != Proxy || h.Source != wantSrc || h.Destination != wantDst {
				t.Fatalf("round trip = %+v, want v2 PROXY %s -> %s", h, wantSrc, wantDst)
			}
		})
	}
}

func TestAppendV2ZeroAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	src, dst := ap("[2001:db8::1]:1"), ap("[2001:db8::2]:2")
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendV2(buf[:0], src, dst)
	})
	if allocs != 0 {
		t.Fatalf("AppendV2 into a large enough buffer allocated %.1f times, want 0", allocs)
	}
}
