package conn

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// leg reads one side of a connection into a framer.
//
// On a TCP socket it waits for readability through syscall.RawConn before it
// takes a buffer from the pool, so a connection that is idle (the common
// case: thousands of players standing still between packets) holds no read
// buffer at all, and once relayed no goroutine either (the pump parks it,
// poller_linux.go). Memory per connection then follows the bytes in
// flight, not the number of connections.
type leg struct {
	c  net.Conn
	rc syscall.RawConn // nil when c is not a plain socket (tests use net.Pipe)
	f  *mcproto.Framer
	// dec decrypts what arrives, when the edge owns this leg's encryption
	// (online mode, cipher.go); nil otherwise.
	dec auth.Stream

	// readFn is the callback fill hands to rc.Read, made once: a closure
	// made per call would escape (RawConn is an interface) and cost an
	// allocation per read. It leaves its result in n and rerr.
	readFn func(fd uintptr) bool
	n      int
	rerr   error
	// tryFn is readFn that never waits (tryFill); wouldBlock says it
	// found nothing to read.
	tryFn      func(fd uintptr) bool
	wouldBlock bool

	// peekFn, tryPeekFn, peekBuf and lr serve the spliced copy
	// (splice_linux.go), which waits for bytes without reading them and
	// then splices exactly that many.
	peekFn    func(fd uintptr) bool
	tryPeekFn func(fd uintptr) bool
	peekBuf   [1]byte
	lr        io.LimitedReader
}

func newLeg(c net.Conn, f *mcproto.Framer) *leg {
	l := &leg{c: c, f: f}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			l.rc = rc
			l.readFn = l.readFD
			l.tryFn = l.tryFD
		}
	}
	return l
}

// readFD reads once from fd into the framer; false (wait for readability)
// on EAGAIN, after giving the buffer back.
func (l *leg) readFD(fd uintptr) bool {
	for {
		l.n, l.rerr = syscall.Read(int(fd), l.f.Space())
		if l.rerr == syscall.EINTR {
			continue
		}
		if l.rerr == syscall.EAGAIN {
			l.f.Release() // wait without holding a buffer
			return false
		}
		return true
	}
}

// tryFD is readFD without the wait: on EAGAIN it gives the buffer back,
// notes wouldBlock and returns.
func (l *leg) tryFD(fd uintptr) bool {
	if l.readFD(fd) {
		return true
	}
	l.wouldBlock = true
	return true
}

// tryFill reads once into the framer if bytes are there, without waiting:
// got is false when there were none. Only for a socket (rc set).
func (l *leg) tryFill() (got bool, err error) {
	l.wouldBlock = false
	err = l.rc.Read(l.tryFn)
	n, rerr := l.n, l.rerr
	l.rerr = nil
	if err != nil {
		return false, err // deadline exceeded or closed
	}
	if l.wouldBlock {
		return false, nil
	}
	if rerr != nil {
		return false, &net.OpError{Op: "read", Net: "tcp", Source: l.c.LocalAddr(), Addr: l.c.RemoteAddr(), Err: rerr}
	}
	if n <= 0 {
		return false, io.EOF
	}
	l.commit(n)
	return true, nil
}

// wait reads once into the framer (fill), or with peek waits for bytes
// without reading them and leaves their count in l.n (waitBytes: a spliced
// leg). Either returns io.EOF when the peer closed.
func (l *leg) wait(peek bool) error {
	if peek {
		return l.waitBytes()
	}
	return l.fill()
}

// try is wait without the wait: got is false when nothing has arrived.
// Only for a socket (rc set).
func (l *leg) try(peek bool) (got bool, err error) {
	if peek {
		return l.tryBytes()
	}
	return l.tryFill()
}

// fill reads once into the framer. It returns io.EOF when the peer closed.
func (l *leg) fill() error {
	if l.rc == nil {
		n, err := l.c.Read(l.f.Space())
		l.commit(n)
		if n > 0 {
			return nil
		}
		return err
	}
	err := l.rc.Read(l.readFn)
	n, rerr := l.n, l.rerr
	l.rerr = nil
	if err != nil {
		return err // deadline exceeded or closed
	}
	if rerr != nil {
		return &net.OpError{Op: "read", Net: "tcp", Source: l.c.LocalAddr(), Addr: l.c.RemoteAddr(), Err: rerr}
	}
	if n <= 0 {
		return io.EOF
	}
	l.commit(n)
	return nil
}

// commit hands n freshly read bytes to the framer, decrypted in place
// first when the leg is encrypted.
func (l *leg) commit(n int) {
	l.f.Commit(n)
	if l.dec != nil && n > 0 {
		b := l.f.Buffered()
		b = b[len(b)-n:]
		l.dec.XORKeyStream(b, b)
	}
}

// discard reads once and throws the bytes away, holding no buffer after:
// how a leg is drained after a kick.
func (l *leg) discard() error {
	if err := l.fill(); err != nil {
		return err
	}
	l.f.TakeBuffered()
	l.f.Release()
	return nil
}

// next returns the next complete frame, reading as needed.
func (l *leg) next() (raw, body []byte, err error) {
	for {
		raw, body, err = l.f.Next()
		if err != nil || raw != nil {
			return raw, body, err
		}
		if err := l.fill(); err != nil {
			return nil, nil, err
		}
	}
}

// isClosed reports errors that only mean "the other side or we hung up".
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
