package proxyproto

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultTimeout bounds how long ReadConn waits for a header when the
// caller passes no timeout. The spec asks receivers to wait at least 3 s so
// one lost segment can be retransmitted (TCP's initial retransmission
// timeout is 1 s, RFC 6298); the header comes from our own balancer next
// to the edge, so 5 s is ample and still far below gate's 10 s. Without a
// bound a trusted-range peer could hold a connection slot forever.
const DefaultTimeout = 5 * time.Second

// maxEmptyReads bounds how many (0, nil) reads we accept in a row from a
// misbehaving io.Reader before giving up, the same limit bufio uses.
const maxEmptyReads = 100

// Read reads exactly one header from r. TCP cannot push bytes back, so
// whatever arrived after the header in the same reads is returned as rest;
// the caller must feed rest to the Minecraft frame reader before reading
// the connection again. Read buffers at most MaxHeaderLen bytes.
//
// The errors are Parse's, with two additions: on ErrNotProxy rest holds
// every byte read so far (a caller that tolerates direct connections can
// replay them), a stream that ends before its first byte returns io.EOF,
// one that ends mid-header io.ErrUnexpectedEOF, and a failing reader its
// own error, all wrapped. Read sets no
// deadline; use ReadConn on a net.Conn.
func Read(r io.Reader) (h Header, rest []byte, err error) {
	buf := make([]byte, MaxHeaderLen)
	filled, empty := 0, 0
	for {
		m, rerr := r.Read(buf[filled:])
		if m < 0 || m > len(buf)-filled {
			return Header{}, nil, fmt.Errorf("proxyproto: reader returned %d bytes: %w", m, io.ErrShortBuffer)
		}
		filled += m
		if m > 0 {
			empty = 0
			hdr, n, perr := Parse(buf[:filled])
			switch {
			case perr == nil, errors.Is(perr, ErrLocal), errors.Is(perr, ErrNoAddress):
				return hdr, buf[n:filled:filled], perr
			case errors.Is(perr, ErrNotProxy):
				return Header{}, buf[:filled:filled], perr
			case perr != ErrShort:
				return Header{}, nil, perr
			}
			// Parse returns ErrShort only while a header could still fit,
			// and every header we accept fits in buf; a full buffer here
			// would be a bug in Parse, not a reason to spin.
			if filled == len(buf) {
				return Header{}, nil, fmt.Errorf("proxyproto: %d bytes without a complete header: %w", filled, ErrTooLong)
			}
		} else if rerr == nil {
			if empty++; empty >= maxEmptyReads {
				return Header{}, nil, fmt.Errorf("proxyproto: read header: %w", io.ErrNoProgress)
			}
		}
		if rerr != nil {
			// A peer that closes before sending anything is not a broken
			// header: plain TCP health checks do exactly that, and callers
			// want to tell them apart from a header cut short.
			if rerr == io.EOF && filled > 0 {
				rerr = io.ErrUnexpectedEOF
			}
			return Header{}, nil, fmt.Errorf("proxyproto: read header after %d bytes: %w", filled, rerr)
		}
	}
}

// ReadConn is Read with a deadline: it gives the peer timeout (or
// DefaultTimeout when timeout <= 0) to deliver the whole header, then
// clears the read deadline. A peer that is too slow gets an error matching
// os.ErrDeadlineExceeded.
func ReadConn(c net.Conn, timeout time.Duration) (Header, []byte, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return Header{}, nil, fmt.Errorf("proxyproto: set read deadline: %w", err)
	}
	h, rest, err := Read(c)
	if derr := c.SetReadDeadline(time.Time{}); derr != nil && err == nil {
		return Header{}, nil, fmt.Errorf("proxyproto: clear read deadline: %w", derr)
	}
	return h, rest, err
}
