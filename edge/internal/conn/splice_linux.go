//go:build linux

package conn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spliceCopy copies the rest of the pump's leg to its destination with
// splice(2), holding Go's splice pipe only while bytes move, until the
// peer closes (nil) or the leg fails; an idle leg parks (errParked) and a
// resumed pump carries on here (resumed: its read deadline stands).
//
// io.Copy between two TCP sockets splices too, but it takes a pipe (two
// descriptors) before it waits for the first byte and keeps it for the
// whole connection, so every idle spliced player cost four descriptors
// instead of two and an edge ran out of them at half the players. Here the
// wait happens on the socket alone, like an inspected leg's: on the
// goroutine for parkAfter, then in the poller with no goroutine at all
// (awaitRaw), under the idle deadline; and each splice moves exactly the
// bytes that are already there, so it never blocks holding the pipe, and
// gives it back (to Go's pipe pool) before the leg waits again.
func (p *pump) spliceCopy(resumed bool) error {
	src, ok := p.src.c.(*net.TCPConn)
	dst, ok2 := p.dst.(*net.TCPConn)
	if !ok || !ok2 || p.src.rc == nil {
		n, err := io.Copy(p.dst, p.src.c)
		p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(n))
		return err
	}
	if p.src.peekFn == nil {
		p.src.peekFn = p.src.peekFD
		p.src.tryPeekFn = p.src.tryPeekFD
	}
	// A field, not a local: ReadFrom takes an io.Reader, and a local's
	// address handed to it would move to the heap on every resume.
	lr := &p.src.lr
	lr.R = src
	for {
		err := p.awaitRaw(resumed, true)
		if err == io.EOF {
			return nil // the peer closed
		}
		if err != nil {
			return err
		}
		resumed = false
		lr.N = int64(p.src.n)
		// The bytes are there, but the read deadline may still be the
		// short one of the wait before parking (fillOrPark), and the
		// splice checks it before each pipe's worth while its writes wait
		// on the player: a slow player would be cut as idle (SHARP_EDGES.md,
		// "A splice reads under the deadline of the wait before it"). The
		// deadline first, then the kick's mark, so a kick's own deadline
		// set after it is never overwritten.
		_ = src.SetReadDeadline(p.deadline)
		if p.backendShut() {
			return errKicked
		}
		_ = dst.SetWriteDeadline(time.Now().Add(p.idle))
		w, err := dst.ReadFrom(lr)
		p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(w))
		if err != nil {
			return err
		}
	}
}

// waitBytes waits until the socket is readable and leaves how many bytes it
// holds in l.n; io.EOF when the peer closed. It reads nothing.
func (l *leg) waitBytes() error {
	l.n, l.rerr = 0, nil
	if err := l.rc.Read(l.peekFn); err != nil {
		return err // deadline exceeded or closed
	}
	return l.peeked()
}

// tryBytes is waitBytes without the wait: got is false when nothing has
// arrived.
func (l *leg) tryBytes() (got bool, err error) {
	l.n, l.rerr, l.wouldBlock = 0, nil, false
	if err := l.rc.Read(l.tryPeekFn); err != nil {
		return false, err // deadline exceeded or closed
	}
	if l.wouldBlock {
		return false, nil
	}
	return true, l.peeked()
}

// peeked is the outcome of a peek: its error, or io.EOF at end of stream.
func (l *leg) peeked() error {
	rerr := l.rerr
	l.rerr = nil
	if rerr != nil {
		return &net.OpError{Op: "read", Net: "tcp", Source: l.c.LocalAddr(), Addr: l.c.RemoteAddr(), Err: rerr}
	}
	if l.n == 0 {
		return io.EOF
	}
	return nil
}

// peekFD is waitBytes's poller callback: false (wait) while nothing has
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

// tryPeekFD is peekFD that never waits: wouldBlock when nothing arrived.
func (l *leg) tryPeekFD(fd uintptr) bool {
	if !l.peekFD(fd) {
		l.wouldBlock = true
	}
	return true
}

// spliceFrames: large frames' bodies are spliced (largeframe.go).
const spliceFrames = true

// spliceFrame relays the large frame the framer holds the start of: the
// buffered bytes written, then exactly rest more spliced from the backend
// to the client, so the leg is at a frame boundary again afterwards. It
// holds clientMu throughout: nothing else may write to the client in the
// middle of a frame (a kick's disconnect waits for its end). It waits for
// the backend's bytes on this goroutine, never parked: a frame in progress
// is not an idle leg, and waiting with no buffer and no pipe costs only
// the goroutine. A leg that fails in the middle of a frame is no longer
// frame-aligned: it is marked raw, so a kick writes no disconnect into it.
func (p *pump) spliceFrame(rest int) (err error) {
	s, f, m := p.s, p.src.f, p.s.h.o.Metrics
	src, dst := p.src.c.(*net.TCPConn), p.dst.(*net.TCPConn)
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	// As in write: the deadline first, then kicked, so a kick's shorter
	// deadline set after it is never overwritten.
	_ = dst.SetWriteDeadline(time.Now().Add(p.idle))
	if s.kicked.Load() {
		return net.ErrClosed
	}
	p.publish()
	head := f.TakeBuffered()
	n, err := dst.Write(head)
	m.BytesForwarded[p.dir].Add(float64(n))
	f.Release()
	if err != nil {
		if n > 0 {
			s.raw[p.dir].Store(true)
		}
		return fmt.Errorf("write %s: %w", p.dir, err)
	}
	defer func() {
		if err != nil {
			s.raw[p.dir].Store(true) // cut in the middle of a frame
		}
	}()
	if p.src.peekFn == nil {
		p.src.peekFn = p.src.peekFD
		p.src.tryPeekFn = p.src.tryPeekFD
	}
	lr := &p.src.lr
	lr.R = src
	for rest > 0 {
		// The idle deadline moves with every read, as on the framed path
		// (a pump resumed from the poller kept the one it parked with).
		p.deadline = time.Now().Add(p.idle)
		if err := p.awaitFrameBytes(); err != nil {
			return err
		}
		lr.N = int64(min(p.src.n, rest))
		// As in spliceCopy: not the slice's deadline of the wait, which
		// may pass while the splice's writes wait on the player. A kick
		// waits on clientMu meanwhile; its write deadline on the player
		// bounds this splice.
		_ = src.SetReadDeadline(p.deadline)
		w, err := dst.ReadFrom(lr)
		m.BytesForwarded[p.dir].Add(float64(w))
		rest -= int(w)
		if err != nil {
			return fmt.Errorf("splice %s: %w", p.dir, err)
		}
	}
	m.SplicedFrames.Inc()
	return nil
}

// spliceStallCheck is how often a splice waiting in the middle of a frame
// looks for a kick or the backend's shutdown: their wake-up (a deadline
// set on the backend leg) may have been overwritten by this wait's own.
// The same second a kick waits for a write in progress (kickWriteWait).
const spliceStallCheck = kickWriteWait

// awaitFrameBytes waits until the backend leg holds bytes and leaves their
// count in p.src.n, under the leg's idle deadline, in slices of
// spliceStallCheck. A kick waits for the frame's end on clientMu, so that
// its disconnect can follow the frame: while the backend keeps sending,
// the splice carries on (the kick's write deadline on the client bounds
// it); once the backend stalls inside the frame for a slice, the splice
// gives up and the kick proceeds without a message.
//
// It ends at once only when the backend leg was shut or closed: the
// player hung up, or the relay ended. A kick marks the leg for its drain
// (backendShut) before it waits for clientMu, but shuts it only after, so
// backendShut, which stops the framed path, must not cut the frame here.
func (p *pump) awaitFrameBytes() error {
	for {
		if p.backendClosed() {
			return errKicked
		}
		now := time.Now()
		if !now.Before(p.deadline) {
			return fmt.Errorf("frame body: %w", os.ErrDeadlineExceeded)
		}
		wait := now.Add(spliceStallCheck)
		if p.deadline.Before(wait) {
			wait = p.deadline
		}
		_ = p.src.c.SetReadDeadline(wait)
		err := p.src.waitBytes()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if p.s.kicked.Load() {
				return errKicked
			}
			continue
		}
		return err // nil, io.EOF (the backend hung up inside the frame), or a failure
	}
}

// backendClosed reports that the backend leg was shut (shutBackend) or
// closed: no more of a frame in progress will come through it for the
// player.
func (p *pump) backendClosed() bool {
	p.s.backendMu.Lock()
	defer p.s.backendMu.Unlock()
	return p.s.closed
}
