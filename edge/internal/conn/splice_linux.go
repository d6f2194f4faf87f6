//go:build linux

package conn

import (
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spliceCopy copies the rest of the pump's leg to its destination with
// splice(2), holding Go's splice pipe only while bytes move.
//
// io.Copy between two TCP sockets splices too, but it takes a pipe (two
// descriptors) before it waits for the first byte and keeps it for the
// whole connection, so every idle spliced player cost four descriptors
// instead of two and an edge ran out of them at half the players. Here the
// wait happens on the socket alone (through the poller, with the idle
// deadline, like an inspected leg), and each splice moves exactly the
// bytes that are already there, so it never blocks holding the pipe.
func (p *pump) spliceCopy() (int64, error) {
	src, ok := p.src.c.(*net.TCPConn)
	dst, ok2 := p.dst.(*net.TCPConn)
	if !ok || !ok2 || p.src.rc == nil {
		n, err := io.Copy(p.dst, p.src.c)
		p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(n))
		return n, err
	}
	if p.src.peekFn == nil {
		p.src.peekFn = p.src.peekFD
	}
	lr := io.LimitedReader{R: src}
	var total int64
	for {
		_ = src.SetReadDeadline(time.Now().Add(p.idle))
		if p.backendShut() {
			return total, errKicked
		}
		n, err := p.src.available()
		if err != nil || n == 0 {
			return total, err // n == 0: the peer closed
		}
		lr.N = int64(n)
		_ = dst.SetWriteDeadline(time.Now().Add(p.idle))
		w, err := dst.ReadFrom(&lr)
		total += w
		p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(w))
		if err != nil {
			return total, err
		}
	}
}

// available waits until the socket is readable and returns how many bytes
// it holds, 0 when the peer closed. It reads nothing.
func (l *leg) available() (int, error) {
	l.n, l.rerr = 0, nil
	if err := l.rc.Read(l.peekFn); err != nil {
		return 0, err // deadline exceeded or closed
	}
	if l.rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: l.c.LocalAddr(), Addr: l.c.RemoteAddr(), Err: l.rerr}
	}
	return l.n, nil
}

// peekFD is available's poller callback: false (wait) while nothing has
// arrived; otherwise the byte count in l.n (0 at end of stream).
func (l *leg) peekFD(fd uintptr) bool {
	for {
		n, _, err := syscall.Recvfrom(int(fd), l.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			l.rerr = err
			return true
		case n == 0:
			return true // end of stream: l.n stays 0
		}
		avail, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ) // FIONREAD for a socket
		if err != nil {
			l.rerr = err
			return true
		}
		l.n = max(avail, 1)
		return true
	}
}
