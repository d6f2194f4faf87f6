package proxyproto

import (
	"bytes"
	"errors"
	"hash/crc32"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

var (
	ip4a = [4]byte{192, 0, 2, 10}
	ip4b = [4]byte{198, 51, 100, 7}
	ip6a = netip.MustParseAddr("2001:db8::1").As16()
	ip6b = netip.MustParseAddr("2001:db8:ffff::abcd").As16()
	// mapped is ::ffff:203.0.113.5, what a dual-stack balancer may send.
	mapped = netip.MustParseAddr("::ffff:203.0.113.5").As16()
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// mcHandshake is the start of a real Minecraft handshake frame that
// follows the header on the wire; it must never be consumed by Parse.
var mcHandshake = []byte{0x10, 0x00, 0xFB, 0x05, 0x09}

type parseCase struct {
	name    string
	in      []byte
	want    Header
	wantN   int
	wantErr error
}

func TestParseV1(t *testing.T) {
	v6Max := "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	unknownMax := "PROXY UNKNOWN " + v6Max + " " + v6Max + " 65535 65535\r\n"
	if len(unknownMax) != v1MaxLen {
		t.Fatalf("worst-case v1 line is %d bytes, spec says %d", len(unknownMax), v1MaxLen)
	}
	tcp6Max := "PROXY TCP6 " + v6Max + " " + v6Max + " 65535 65535\r\n"
	cases := []parseCase{
		{
			name:  "tcp4 spec example",
			in:    []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n"),
			want:  Header{Version: 1, Command: Proxy, Source: ap("192.168.0.1:56324"), Destination: ap("192.168.0.11:443")},
			wantN: len("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
		},
		{
			name:  "tcp4 followed by minecraft bytes",
			in:    append([]byte("PROXY TCP4 255.255.255.255 0.0.0.0 0 65535\r\n"), mcHandshake...),
			want:  Header{Version: 1, Command: Proxy, Source: ap("255.255.255.255:0"), Destination: ap("0.0.0.0:65535")},
			wantN: len("PROXY TCP4 255.255.255.255 0.0.0.0 0 65535\r\n"),
		},
		{
			name:  "tcp6",
			in:    []byte("PROXY TCP6 2001:db8::1 2001:DB8:FFFF::ABCD 1 25565\r\n"),
			want:  Header{Version: 1, Command: Proxy, Source: ap("[2001:db8::1]:1"), Destination: ap("[2001:db8:ffff::abcd]:25565")},
			wantN: len("PROXY TCP6 2001:db8::1 2001:DB8:FFFF::ABCD 1 25565\r\n"),
		},
		{
			name:  "tcp6 longest line",
			in:    []byte(tcp6Max),
			want:  Header{Version: 1, Command: Proxy, Source: netip.AddrPortFrom(netip.MustParseAddr(v6Max), 65535), Destination: netip.AddrPortFrom(netip.MustParseAddr(v6Max), 65535)},
			wantN: len(tcp6Max),
		},
		{
			name:  "tcp6 with mapped ipv4 is unmapped",
			in:    []byte("PROXY TCP6 ::ffff:203.0.113.5 ::1 40000 25565\r\n"),
			want:  Header{Version: 1, Command: Proxy, Source: ap("203.0.113.5:40000"), Destination: ap("[::1]:25565")},
			wantN: len("PROXY TCP6 ::ffff:203.0.113.5 ::1 40000 25565\r\n"),
		},
		{name: "unknown short form", in: []byte("PROXY UNKNOWN\r\nrest"), want: Header{Version: 1, Command: Proxy}, wantN: 15, wantErr: ErrNoAddress},
		{name: "unknown worst case 107 bytes", in: []byte(unknownMax + "x"), want: Header{Version: 1, Command: Proxy}, wantN: v1MaxLen, wantErr: ErrNoAddress},
		{name: "unknown with garbage is ignored", in: []byte("PROXY UNKNOWN whatever \x01 here\r\n"), want: Header{Version: 1, Command: Proxy}, wantN: len("PROXY UNKNOWN whatever \x01 here\r\n"), wantErr: ErrNoAddress},

		{name: "empty", in: nil, wantErr: ErrShort},
		{name: "one byte", in: []byte("P"), wantErr: ErrShort},
		{name: "word only", in: []byte("PROXY"), wantErr: ErrShort},
		{name: "no CRLF yet", in: []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 44"), wantErr: ErrShort},
		{name: "CR without LF yet", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), wantErr: ErrShort},

		{name: "http", in: []byte("GET / HTTP/1.1\r\n"), wantErr: ErrNotProxy},
		{name: "minecraft handshake", in: mcHandshake, wantErr: ErrNotProxy},
		{name: "legacy ping", in: []byte{0xFE, 0x01, 0xFA}, wantErr: ErrNotProxy},
		{name: "P then other", in: []byte("PRX"), wantErr: ErrNotProxy},
		{name: "lower case word", in: []byte("proxy TCP4"), wantErr: ErrNotProxy},

		{name: "no CRLF within 107 bytes", in: []byte("PROXY UNKNOWN " + strings.Repeat("f", 200)), wantErr: ErrTooLong},
		{name: "CRLF just past 107 bytes", in: []byte("PROXY UNKNOWN " + strings.Repeat("f", v1MaxLen-len("PROXY UNKNOWN ")-1) + "\r\n"), wantErr: ErrTooLong},
		{name: "word without space", in: []byte("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), wantErr: ErrMalformed},
		{name: "bare LF", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), wantErr: ErrMalformed},
		{name: "empty line", in: []byte("PROXY \r\n"), wantErr: ErrUnsupported},
		{name: "unknown protocol", in: []byte("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), wantErr: ErrUnsupported},
		{name: "tcp4 with ipv6", in: []byte("PROXY TCP4 ::1 ::2 1 2\r\n"), wantErr: ErrMalformed},
		{name: "tcp6 with ipv4", in: []byte("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), wantErr: ErrMalformed},
		{name: "mixed families", in: []byte("PROXY TCP4 1.2.3.4 ::1 1 2\r\n"), wantErr: ErrMalformed},
		{name: "octal-looking octet", in: []byte("PROXY TCP4 192.168.001.1 5.6.7.8 1 2\r\n"), wantErr: ErrMalformed},
		{name: "octet over 255", in: []byte("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), wantErr: ErrMalformed},
		{name: "port with leading zero", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n"), wantErr: ErrMalformed},
		{name: "port over 65535", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"), wantErr: ErrMalformed},
		{name: "port with sign", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), wantErr: ErrMalformed},
		{name: "double space", in: []byte("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"), wantErr: ErrMalformed},
		{name: "trailing space", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), wantErr: ErrMalformed},
		{name: "missing port", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), wantErr: ErrMalformed},
		{name: "extra field", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), wantErr: ErrMalformed},
		{name: "zone", in: []byte("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), wantErr: ErrMalformed},
		{name: "CR inside line", in: []byte("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"), wantErr: ErrMalformed},
	}
	runParseCases(t, cases)
}

func TestParseV2(t *testing.T) {
	tcp4 := addr4Block(ip4a, ip4b, 50000, 25565)
	tcp6 := addr6Block(ip6a, ip6b, 1, 65535)
	tcp4Hdr := Header{Version: 2, Command: Proxy, Source: ap("192.0.2.10:50000"), Destination: ap("198.51.100.7:25565")}
	tcp6Hdr := Header{Version: 2, Command: Proxy, Source: ap("[2001:db8::1]:1"), Destination: ap("[2001:db8:ffff::abcd]:65535")}
	authority := []byte("play.example.com")
	awsID := []byte{0x01, 'v', 'p', 'c', 'e', '-', '0', '1'}
	withTLVs := v2Raw(0x21, 0x11, tcp4, tlvBytes(0x02, authority), tlvBytes(0x04, []byte{0, 0, 0}), tlvBytes(0xEA, awsID), tlvBytes(0x05, nil))
	withTLVsHdr := tcp4Hdr
	withTLVsHdr.TLVs = []TLV{{Type: TLVAuthority, Value: authority}, {Type: 0xEA, Value: awsID}, {Type: TLVUniqueID, Value: []byte{}}}
	crcOK := withCRC32C(v2Raw(0x21, 0x21, tcp6), false)
	crcOKHdr := tcp6Hdr
	crcOKHdr.TLVs = []TLV{{Type: TLVCRC32C, Value: crcOK[len(crcOK)-4:]}}
	var tooManyTLVs [][]byte
	tooManyTLVs = append(tooManyTLVs, tcp4)
	for range maxTLVs + 1 {
		tooManyTLVs = append(tooManyTLVs, tlvBytes(0x04, nil))
	}
	var maxNoops [][]byte
	maxNoops = append(maxNoops, tcp4)
	for range maxTLVs {
		maxNoops = append(maxNoops, tlvBytes(0x04, nil))
	}
	// A header that HAProxy sent in a public packet capture: TCP4
	// 172.19.0.1:42578 -> 172.19.0.3:80, followed by an HTTP request.
	haproxyCapture := []byte{
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
		0xac, 0x13, 0x00, 0x01, 0xac, 0x13, 0x00, 0x03, 0xa6, 0x52, 0x00, 0x50, 0x47, 0x45, 0x54, 0x20,
	}
	full4 := v2Raw(0x21, 0x11, tcp4)

	cases := []parseCase{
		{name: "haproxy capture", in: haproxyCapture, want: Header{Version: 2, Command: Proxy, Source: ap("172.19.0.1:42578"), Destination: ap("172.19.0.3:80")}, wantN: 28},
		{name: "tcp4", in: append(v2Raw(0x21, 0x11, tcp4), mcHandshake...), want: tcp4Hdr, wantN: 28},
		{name: "tcp6", in: append(v2Raw(0x21, 0x21, tcp6), mcHandshake...), want: tcp6Hdr, wantN: 52},
		{
			name:  "tcp6 carrying mapped ipv4",
			in:    v2Raw(0x21, 0x21, addr6Block(mapped, ip6b, 7, 8)),
			want:  Header{Version: 2, Command: Proxy, Source: ap("203.0.113.5:7"), Destination: ap("[2001:db8:ffff::abcd]:8")},
			wantN: 52,
		},
		{name: "tlvs kept in order, noop dropped", in: withTLVs, want: withTLVsHdr, wantN: len(withTLVs)},
		{name: "valid crc32c", in: crcOK, want: crcOKHdr, wantN: len(crcOK)},
		{name: "max tlv count", in: v2Raw(0x21, 0x11, maxNoops...), want: tcp4Hdr, wantN: 28 + 3*maxTLVs},
		{name: "longest accepted length", in: v2Raw(0x21, 0x11, tcp4, tlvBytes(0x04, make([]byte, maxV2Payload-12-3))), want: tcp4Hdr, wantN: MaxHeaderLen},

		{name: "local", in: append(v2Raw(0x20, 0x00), mcHandshake...), want: Header{Version: 2, Command: Local}, wantN: 16, wantErr: ErrLocal},
		{name: "local skips its block and any family", in: v2Raw(0x20, 0xFF, []byte{1, 2, 3, 4, 5}), want: Header{Version: 2, Command: Local}, wantN: 21, wantErr: ErrLocal},
		{name: "proxy unspec", in: v2Raw(0x21, 0x00), want: Header{Version: 2, Command: Proxy}, wantN: 16, wantErr: ErrNoAddress},
		{name: "proxy udp4", in: v2Raw(0x21, 0x12, tcp4), want: Header{Version: 2, Command: Proxy}, wantN: 28, wantErr: ErrNoAddress},
		{name: "proxy unix stream", in: v2Raw(0x21, 0x31, make([]byte, 216)), want: Header{Version: 2, Command: Proxy}, wantN: 16 + 216, wantErr: ErrNoAddress},

		{name: "signature prefix", in: sigV2[:5], wantErr: ErrShort},
		{name: "signature only", in: sigV2, wantErr: ErrShort},
		{name: "no length yet", in: full4[:15], wantErr: ErrShort},
		{name: "cut in address block", in: full4[:20], wantErr: ErrShort},
		{name: "cut before last byte", in: full4[:27], wantErr: ErrShort},

		{name: "bad signature", in: append([]byte("\r\n\r\n\x00\r\nQUIX\n"), 0x21, 0x11), wantErr: ErrNotProxy},
		{name: "CRLF then other", in: []byte("\r\nGET"), wantErr: ErrNotProxy},
		{name: "version 1 in binary form", in: v2Raw(0x11, 0x11, tcp4), wantErr: ErrUnsupported},
		{name: "version 3", in: v2Raw(0x31, 0x11, tcp4), wantErr: ErrUnsupported},
		{name: "unassigned command", in: v2Raw(0x22, 0x11, tcp4), wantErr: ErrUnsupported},
		{name: "unassigned command seen early", in: append(append([]byte{}, sigV2...), 0x2F), wantErr: ErrUnsupported},
		{name: "unknown family", in: v2Raw(0x21, 0x41, tcp4), wantErr: ErrUnsupported},
		{name: "unknown transport", in: v2Raw(0x21, 0x13, tcp4), wantErr: ErrUnsupported},
		{name: "family without transport", in: v2Raw(0x21, 0x10, tcp4), wantErr: ErrUnsupported},
		{name: "oversized length rejected at 16 bytes", in: v2WithLen(0x21, 0x11, 0xFFFF, nil), wantErr: ErrTooLong},
		{name: "length one over cap", in: v2WithLen(0x21, 0x11, uint16(maxV2Payload+1), nil), wantErr: ErrTooLong},
		{name: "local oversized", in: v2WithLen(0x20, 0x00, 0xFFFF, nil), wantErr: ErrTooLong},
		{name: "tcp4 block too short", in: v2Raw(0x21, 0x11, tcp4[:8]), wantErr: ErrMalformed},
		{name: "tcp6 length of tcp4", in: v2Raw(0x21, 0x21, tcp4), wantErr: ErrMalformed},
		{name: "tcp6 empty", in: v2Raw(0x21, 0x21), wantErr: ErrMalformed},
		{name: "tlv header cut", in: v2Raw(0x21, 0x11, tcp4, []byte{0x02, 0x00}), wantErr: ErrMalformed},
		{name: "tlv value overruns", in: v2Raw(0x21, 0x11, tcp4, []byte{0x02, 0x00, 0x05, 'a', 'b'}), wantErr: ErrMalformed},
		{name: "too many tlvs", in: v2Raw(0x21, 0x11, tooManyTLVs...), wantErr: ErrTooLong},
		{name: "crc32c mismatch", in: withCRC32C(v2Raw(0x21, 0x11, tcp4), true), wantErr: ErrMalformed},
		{name: "crc32c wrong size", in: v2Raw(0x21, 0x11, tcp4, tlvBytes(0x03, []byte{1, 2, 3})), wantErr: ErrMalformed},
	}
	runParseCases(t, cases)
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := Parse(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Parse error = %v, want %v", err, tc.wantErr)
			}
			if n != tc.wantN {
				t.Errorf("n = %d, want %d", n, tc.wantN)
			}
			if !reflect.DeepEqual(h, tc.want) {
				t.Errorf("header = %+v, want %+v", h, tc.want)
			}
			if tc.wantN == 0 {
				return
			}
			// A complete header is complete only at its last byte: every
			// shorter prefix must ask for more, never succeed or fail.
			for k := range tc.wantN {
				if _, _, err := Parse(tc.in[:k]); err != ErrShort {
					t.Fatalf("prefix of %d bytes: error %v, want ErrShort", k, err)
				}
			}
		})
	}
}

// TestCastagnoliTable pins the checksum to CRC32C with the standard check
// value of "123456789", so a wrong polynomial cannot pass the round trips.
func TestCastagnoliTable(t *testing.T) {
	const check = 0xE3069283
	if got := crc32.Checksum([]byte("123456789"), castagnoli); got != check {
		t.Fatalf("crc32c check value = %#x, want %#x", got, check)
	}
}

// TestTLVValuesAliasInput documents that TLV values point into the parsed
// buffer rather than copies, and cannot be appended into the next TLV.
func TestTLVValuesAliasInput(t *testing.T) {
	in := v2Raw(0x21, 0x11, addr4Block(ip4a, ip4b, 1, 2), tlvBytes(0x02, []byte("a")), tlvBytes(0x05, []byte("b")))
	h, _, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.TLVs) != 2 {
		t.Fatalf("got %d TLVs, want 2", len(h.TLVs))
	}
	_ = append(h.TLVs[0].Value, 'X')
	if !bytes.Equal(h.TLVs[1].Value, []byte("b")) {
		t.Fatalf("appending to one TLV value changed the next: %q", h.TLVs[1].Value)
	}
}

func TestParseV2ZeroAllocs(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
	}{
		{"tcp4", v2Raw(0x21, 0x11, addr4Block(ip4a, ip4b, 1, 2))},
		{"tcp6", v2Raw(0x21, 0x21, addr6Block(ip6a, ip6b, 1, 2))},
		{"local", v2Raw(0x20, 0x00)},
		{"noop padding only", v2Raw(0x21, 0x11, addr4Block(ip4a, ip4b, 1, 2), tlvBytes(0x04, make([]byte, 8)))},
		{"short", sigV2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				_, _, _ = Parse(tc.in)
			})
			if allocs != 0 {
				t.Fatalf("Parse allocated %.1f times per run, want 0", allocs)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	cases := []struct {
		name string
		in   []byte
	}{
		{"v2/tcp4", append(v2Raw(0x21, 0x11, addr4Block(ip4a, ip4b, 50000, 25565)), mcHandshake...)},
		{"v2/tcp6", append(v2Raw(0x21, 0x21, addr6Block(ip6a, ip6b, 50000, 25565)), mcHandshake...)},
		{"v2/tcp4+crc32c", withCRC32C(v2Raw(0x21, 0x11, addr4Block(ip4a, ip4b, 50000, 25565), tlvBytes(0xEA, []byte("vpce-0123456789abcdef"))), false)},
		{"v1/tcp4", []byte("PROXY TCP4 192.0.2.10 198.51.100.7 50000 25565\r\n")},
		{"v1/tcp6", []byte("PROXY TCP6 2001:db8::1 2001:db8:ffff::abcd 50000 25565\r\n")},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				if _, _, err := Parse(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
