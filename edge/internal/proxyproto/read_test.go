package proxyproto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"testing/iotest"
	"time"
)

// testTimeout bounds every network wait in these tests so a bug fails the
// test instead of hanging it.
const testTimeout = 5 * time.Second

// zeroReader returns (0, nil) forever, which io.Reader discourages but a
// buggy wrapper can do.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestRead(t *testing.T) {
	v1 := []byte("PROXY TCP4 192.0.2.10 198.51.100.7 50000 25565\r\n")
	v2 := v2Raw(0x21, 0x21, addr6Block(ip6a, ip6b, 1, 65535))
	local := v2Raw(0x20, 0x00)
	v1Hdr := Header{Version: 1, Command: Proxy, Source: ap("192.0.2.10:50000"), Destination: ap("198.51.100.7:25565")}
	v2Hdr := Header{Version: 2, Command: Proxy, Source: ap("[2001:db8::1]:1"), Destination: ap("[2001:db8:ffff::abcd]:65535")}
	// Longer than Read's buffer, so part of it must stay in the reader.
	long := bytes.Repeat([]byte{0xAB}, 3*MaxHeaderLen)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	cases := []struct {
		name    string
		stream  []byte
		wrap    func(io.Reader) io.Reader
		want    Header
		wantErr error
		after   []byte // bytes that must follow the header: rest + what is left in the reader
	}{
		{name: "v1 whole", stream: cat(v1, mcHandshake), want: v1Hdr, after: mcHandshake},
		{name: "v1 one byte at a time", stream: cat(v1, mcHandshake), wrap: iotest.OneByteReader, want: v1Hdr, after: mcHandshake},
		{name: "v2 whole", stream: cat(v2, mcHandshake), want: v2Hdr, after: mcHandshake},
		{name: "v2 one byte at a time", stream: cat(v2, mcHandshake), wrap: iotest.OneByteReader, want: v2Hdr, after: mcHandshake},
		{name: "v2 half at a time", stream: cat(v2, mcHandshake), wrap: iotest.HalfReader, want: v2Hdr, after: mcHandshake},
		{name: "v2 then more than a buffer", stream: cat(v2, long), want: v2Hdr, after: long},
		{name: "v2 with EOF on the last data", stream: v2, wrap: iotest.DataErrReader, want: v2Hdr, after: []byte{}},
		{name: "header then nothing", stream: v1, want: v1Hdr, after: []byte{}},
		{name: "local", stream: cat(local, mcHandshake), wrap: iotest.OneByteReader, want: Header{Version: 2, Command: Local}, wantErr: ErrLocal, after: mcHandshake},
		{name: "v1 unknown", stream: cat([]byte("PROXY UNKNOWN\r\n"), mcHandshake), want: Header{Version: 1, Command: Proxy}, wantErr: ErrNoAddress, after: mcHandshake},
		{name: "not proxy returns what was read", stream: mcHandshake, want: Header{}, wantErr: ErrNotProxy, after: mcHandshake},
		{name: "not proxy one byte at a time", stream: cat([]byte("PRX"), mcHandshake), wrap: iotest.OneByteReader, wantErr: ErrNotProxy, after: cat([]byte("PRX"), mcHandshake)},
		{name: "eof mid v2", stream: v2[:20], wantErr: io.ErrUnexpectedEOF},
		{name: "eof mid v1", stream: v1[:20], wrap: iotest.OneByteReader, wantErr: io.ErrUnexpectedEOF},
		{name: "eof before anything", stream: nil, wantErr: io.EOF},
		{name: "malformed", stream: cat(v2Raw(0x21, 0x21, addr4Block(ip4a, ip4b, 1, 2)), mcHandshake), wantErr: ErrMalformed},
		{name: "oversized v2", stream: cat(v2WithLen(0x21, 0x11, 0xFFFF, nil), long), wantErr: ErrTooLong},
		{name: "v1 without CRLF", stream: cat([]byte("PROXY UNKNOWN "), long), wrap: iotest.OneByteReader, wantErr: ErrTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.stream)
			if tc.wrap != nil {
				r = tc.wrap(r)
			}
			h, rest, err := Read(r)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Read error = %v, want %v", err, tc.wantErr)
			}
			if tc.after == nil {
				if rest != nil {
					t.Errorf("rest = %x after a fatal error, want nil", rest)
				}
				return
			}
			if len(rest) > MaxHeaderLen {
				t.Errorf("rest holds %d bytes, more than the %d-byte buffer", len(rest), MaxHeaderLen)
			}
			if !errors.Is(err, ErrNotProxy) && !equalHeaders(h, tc.want) {
				t.Errorf("header = %+v, want %+v", h, tc.want)
			}
			left, rerr := io.ReadAll(r)
			if rerr != nil {
				t.Fatalf("draining the reader: %v", rerr)
			}
			if got := append(append([]byte{}, rest...), left...); !bytes.Equal(got, tc.after) {
				t.Errorf("bytes after the header: got %d bytes (%d in rest), want %d", len(got), len(rest), len(tc.after))
			}
		})
	}
}

func equalHeaders(a, b Header) bool {
	return a.Version == b.Version && a.Command == b.Command && a.Source == b.Source &&
		a.Destination == b.Destination && len(a.TLVs) == len(b.TLVs)
}

func TestReadReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		r       io.Reader
		wantErr error
	}{
		{name: "reader error", r: iotest.ErrReader(boom), wantErr: boom},
		{name: "error after partial header", r: io.MultiReader(bytes.NewReader(sigV2), iotest.ErrReader(boom)), wantErr: boom},
		{name: "no progress", r: zeroReader{}, wantErr: io.ErrNoProgress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, rest, err := Read(tc.r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Read error = %v, want %v", err, tc.wantErr)
			}
			if rest != nil {
				t.Fatalf("rest = %x, want nil", rest)
			}
		})
	}
}

// pipe returns both ends of an in-memory connection, closed at cleanup.
func pipe(t *testing.T) (client, server net.Conn) {
	t.Helper()
	client, server = net.Pipe()
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

func TestReadConnTimeout(t *testing.T) {
	client, server := pipe(t)
	start := time.Now()
	_, _, err := ReadConn(server, 50*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadConn on a silent peer: error %v, want os.ErrDeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > testTimeout {
		t.Fatalf("ReadConn waited %v for a 50ms timeout", waited)
	}

	// The deadline must be cleared: a later read waits for data instead of
	// failing at once.
	go func() {
		client.SetWriteDeadline(time.Now().Add(testTimeout))
		client.Write([]byte{0x42})
	}()
	var one [1]byte
	if _, err := server.Read(one[:]); err != nil || one[0] != 0x42 {
		t.Fatalf("read after ReadConn = %x, %v; want 42, nil (deadline not cleared?)", one, err)
	}
}

func TestReadConnSlowHeaderTimesOut(t *testing.T) {
	client, server := pipe(t)
	// Half a header, then silence: a peer holding the slot open.
	go func() {
		client.SetWriteDeadline(time.Now().Add(testTimeout))
		client.Write(sigV2[:6])
	}()
	_, _, err := ReadConn(server, 100*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error %v, want os.ErrDeadlineExceeded", err)
	}
}

// TestReadConnTCP runs the whole path over a real loopback socket: a
// balancer writes AppendV2's header and the player's first bytes, the edge
// reads the header and then sees exactly the player's bytes.
func TestReadConnTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })

	player := ap("203.0.113.5:40000")
	payload := append(bytes.Repeat(mcHandshake, 300), 0xFF)
	dialErr := make(chan error, 1)
	go func() {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
		if err != nil {
			dialErr <- err
			return
		}
		defer c.Close()
		c.SetWriteDeadline(time.Now().Add(testTimeout))
		dst := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		_, err = c.Write(append(AppendV2(nil, player, dst), payload...))
		dialErr <- err
	}()

	ln.(*net.TCPListener).SetDeadline(time.Now().Add(testTimeout))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { conn.Close() })

	peer := conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
	if !NewTrust([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).Contains(peer) {
		t.Fatalf("loopback peer %s not trusted by 127.0.0.0/8", peer)
	}
	h, rest, err := ReadConn(conn, testTimeout)
	if err != nil {
		t.Fatalf("ReadConn: %v", err)
	}
	if h.Source != player || h.Destination.Port() != ln.Addr().(*net.TCPAddr).AddrPort().Port() {
		t.Fatalf("header = %+v, want source %s", h, player)
	}
	conn.SetReadDeadline(time.Now().Add(testTimeout))
	left, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading the player's bytes: %v", err)
	}
	if got := append(rest, left...); !bytes.Equal(got, payload) {
		t.Fatalf("player bytes: got %d, want %d", len(got), len(payload))
	}
	if err := <-dialErr; err != nil {
		t.Fatalf("balancer side: %v", err)
	}
}
