//go:build linux

package conn

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// poller holds the legs of idle players without a goroutine each: an epoll
// set of its own over their sockets. A relay's pump that finds nothing to
// read parks its leg here and its goroutine returns, whether the leg is
// framed or copied raw (spliced, or through the client's cipher); when
// the socket becomes readable (or closes), or the pump's read deadline
// passes, the poller starts a goroutine that carries on where the pump
// stopped. Go's own poller cannot do this: it wakes a parked goroutine, so
// every idle player used to keep two goroutines and their stacks (at least
// 4 KiB each) for nothing.
//
// Every epoll_ctl on a leg's socket goes through its syscall.RawConn
// (Control), so the descriptor cannot be closed and reused under it; a
// socket closed while parked leaves the epoll set by itself, which is why
// whoever closes a relayed leg wakes its pumps afterwards (session.wake).
type poller struct {
	epfd int
	// file is epfd as a pollable file: the loop waits for the set to
	// have events through Go's own poller, so a wake-up is scheduled like
	// any network read (no thread blocked in epoll_wait, no hop through
	// sysmon before the resumed pump runs), and its read deadline times
	// the sweep. Closing it stops the loop.
	file   *os.File
	rc     syscall.RawConn
	sweep  time.Duration
	waitFn func(fd uintptr) bool
	events [pollEvents]unix.EpollEvent
	n      int // events the last waitFn took

	closed    atomic.Bool
	closeOnce sync.Once
	mu        sync.Mutex
	legs      map[uint64]*pump // every pump that has parked, until it ends
	next      uint64
	done      chan struct{}
}

// pollEvents is how many readiness events one epoll_wait takes at most.
// More are simply taken by the next call.
const pollEvents = 256

// parkEvents: readable, or the peer hung up; one event, then the leg must
// be parked again (EPOLLONESHOT), so one wake-up starts one goroutine.
const parkEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// sweepInterval is how often parked legs' read deadlines are checked: a
// sixteenth of the idle timeout, between 10 ms and 1 s. An idle timeout is
// enforced this much late at most, which next to proxy.timeout (seconds)
// is nothing.
func sweepInterval(idle time.Duration) time.Duration {
	return min(max(idle/16, 10*time.Millisecond), time.Second)
}

func newPoller(idle time.Duration) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("epoll set non-blocking: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "rustguard-poller")
	rc, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("epoll raw conn: %w", err)
	}
	pl := &poller{epfd: epfd, file: file, rc: rc, sweep: sweepInterval(idle),
		legs: make(map[uint64]*pump), done: make(chan struct{})}
	pl.waitFn = pl.take
	go pl.loop()
	return pl, nil
}

// take collects what the set has ready without blocking; false (wait for
// the set to become readable) when nothing is.
func (pl *poller) take(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), pl.events[:], 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil || n <= 0:
			pl.n = 0
			return err != nil // an error ends the wait; n stays 0
		}
		pl.n = n
		return true
	}
}

// loop wakes parked pumps for their events and deadlines until close.
func (pl *poller) loop() {
	defer close(pl.done)
	var woken []*pump
	lastSweep := time.Now()
	for {
		_ = pl.file.SetReadDeadline(time.Now().Add(pl.sweep))
		err := pl.rc.Read(pl.waitFn)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// Closed (or a broken set, which cannot happen): every parked
			// leg goes back to a goroutine and nothing parks any more.
			pl.closed.Store(true)
			pl.wakeAll()
			return
		}
		woken = woken[:0]
		pl.mu.Lock()
		for _, ev := range pl.events[:pl.n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if p := pl.legs[id]; p != nil {
				woken = append(woken, p)
			}
		}
		pl.n = 0
		if now := time.Now(); now.Sub(lastSweep) >= pl.sweep {
			lastSweep = now
			for _, p := range pl.legs {
				if p.parked.Load() && now.UnixNano() >= p.pk.deadline.Load() {
					woken = append(woken, p)
				}
			}
		}
		pl.mu.Unlock()
		for _, p := range woken {
			p.wake()
		}
	}
}

// close stops the loop; every parked leg is resumed on a goroutine and
// nothing parks any more.
func (pl *poller) close() {
	pl.closeOnce.Do(func() {
		pl.closed.Store(true)
		_ = pl.file.Close() // ends the loop's wait
		<-pl.done
	})
}

func (pl *poller) wakeAll() {
	pl.mu.Lock()
	all := make([]*pump, 0, len(pl.legs))
	for _, p := range pl.legs {
		all = append(all, p)
	}
	pl.mu.Unlock()
	for _, p := range all {
		p.wake()
	}
}

// parking is a pump's place in the poller.
type parking struct {
	pl       *poller
	id       uint64 // key in pl.legs; 0 until the first park
	ev       unix.EpollEvent
	deadline atomic.Int64 // unix nanoseconds: the read deadline it parked with
	errno    atomic.Int32 // of the last re-arm, from inside Control
	addFn    func(fd uintptr)
	modFn    func(fd uintptr)
	delFn    func(fd uintptr)
	addErr   error // only the pump's running goroutine reads and writes it
}

// park hands p's idle leg to the poller, to resume when it is readable or
// its read deadline (deadline) passes. true: the pump is no longer this
// goroutine's to touch, it must return; false: it could not park (no
// poller, the socket or the poller closed) and carries on here.
func (p *pump) park(pl *poller, deadline time.Time) bool {
	k := &p.pk
	if k.id == 0 {
		// Register and add the socket once, while nothing else can touch
		// the pump: from here on only the constant k.ev is handed to the
		// kernel, so a goroutine resumed early never races with this one.
		pl.mu.Lock()
		if pl.closed.Load() {
			pl.mu.Unlock()
			return false
		}
		pl.next++
		k.pl, k.id = pl, pl.next
		pl.legs[k.id] = p
		pl.mu.Unlock()
		k.ev = unix.EpollEvent{Events: parkEvents, Fd: int32(uint32(k.id)), Pad: int32(uint32(k.id >> 32))}
		k.addFn = k.add
		k.modFn = k.mod
		k.delFn = k.del
		// Added armed: an event before parked is set is dropped by wake,
		// and the re-arm below reports readiness again (level-triggered).
		if err := p.src.rc.Control(k.addFn); err != nil || k.addErr != nil {
			return false
		}
	}
	k.deadline.Store(deadline.UnixNano())
	k.errno.Store(0)
	p.parked.Store(true)
	// A kick or a drain that began after parkable looked: its wake may
	// have found parked still false. Seen here after parked was set, or
	// its wake sees parked, never neither (both sides are atomics).
	if p.ending() {
		return !p.parked.CompareAndSwap(true, false)
	}
	if !pl.closed.Load() {
		err := p.src.rc.Control(k.modFn)
		if err == nil && k.errno.Load() == 0 {
			return true // armed: the poller, or a wake, owns the pump now
		}
	}
	// Not parked after all; unless a wake already took the pump over, it
	// carries on in this goroutine.
	return !p.parked.CompareAndSwap(true, false)
}

func (k *parking) add(fd uintptr) {
	k.addErr = unix.EpollCtl(k.pl.epfd, unix.EPOLL_CTL_ADD, int(fd), &k.ev)
}

func (k *parking) mod(fd uintptr) {
	if err := unix.EpollCtl(k.pl.epfd, unix.EPOLL_CTL_MOD, int(fd), &k.ev); err != nil {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			errno = unix.EINVAL
		}
		k.errno.Store(int32(errno))
	}
}

func (k *parking) del(fd uintptr) {
	_ = unix.EpollCtl(k.pl.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
}

// unpark removes an ended pump from the poller (by its running goroutine).
func (p *pump) unpark() {
	k := &p.pk
	if k.id == 0 {
		return
	}
	// A closed socket left the set by itself; Control then fails.
	_ = p.src.rc.Control(k.delFn)
	k.pl.mu.Lock()
	delete(k.pl.legs, k.id)
	k.pl.mu.Unlock()
	k.id = 0
}

// pollerAvailable reports whether idle legs can park on this platform.
const pollerAvailable = true
