package conn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/forwarding"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// verdict is what the relay does with one frame.
type verdict uint8

const (
	forward      verdict = iota
	forwardRaw           // forward, then copy the rest of this leg without framing
	dropFrame            // leave this frame out; keep the connection
	kickFrame            // leave this frame out and kick the player
	rewriteFrame         // relay decision.rewrite (the engine's corrected packet) in its place
	holdFrame            // keep this frame unread until the backend's answer tells what it is
	reparseFrame         // the leg changed state under this frame: read it again (inspect only)
)

// decision is what inspect decides for one frame, with what run needs to
// carry it out. It is returned by value: nothing about one frame outlives
// the frame in the pump. The zero decision relays the frame as it is.
type decision struct {
	verdict verdict
	// kickFrame: the player's message and the reason (a detection, or a
	// backend set up wrong).
	kickMsg string
	kickWhy reason.Reason
	// rewriteFrame: the engine's corrected packet (id + data).
	rewrite []byte
	// holdFrame: the flow's wake-up channel as it was when the frame was
	// held, taken under the flow's lock so that no wake-up is missed.
	learned chan struct{}
}

// only is a decision that needs nothing but its verdict.
func only(v verdict) decision { return decision{verdict: v} }

// pump relays one direction frame by frame.
type pump struct {
	s    *session
	dir  mcproto.Direction
	src  *leg
	dst  net.Conn
	flow *sharedFlow
	// state and threshold (−1: off) are this direction's view of the flow,
	// copied from it whenever this pump changes it: only this pump writes
	// its own direction there, so the copy is never stale.
	state     mcproto.State
	threshold int
	inflater  mcproto.Inflater
	peek      [32]byte
	scratch   []byte // serverbound: reused buffer for full inflates
	idle      time.Duration
	// raw: the leg is copied without framing from here on (spliced, or
	// through the cipher: copyRaw); a pump resumed from the poller
	// carries on there.
	raw bool

	// wf feeds the player's world replica (clientbound only; nil when off).
	wf *worldFeed

	now        time.Time // read once per batch
	deadline   time.Time // the read deadline of this leg in play and configuration
	rwFrame    []byte    // a rewritten packet framed for this leg
	rwComp     mcproto.Compressor
	cbScratch  []byte // clientbound: reused buffer for packets the engine reads whole
	probe      []byte // the engine's probe packet (id + data)
	probeFrame []byte // the probe framed for the client leg
	bufs       net.Buffers
	// sending is the copy of bufs that WriteTo consumes. A field, not a
	// local: WriteTo's pointer receiver would move a local to the heap,
	// an allocation per probe.
	sending net.Buffers

	// An idle pump parks its leg in the handler's poller and gives its
	// goroutine back (poller_linux.go). parked is true while it is there;
	// whoever turns it false (wake) owns the pump and carries it on.
	parked   atomic.Bool
	pk       parking
	resumeFn func()          // carry(true), made once
	onEnd    func(err error) // what the relay does when this direction ends
}

// errParked ends a pump's goroutine, not the pump: its leg waits in the
// poller, and a new goroutine carries on when it is readable.
var errParked = errors.New("parked")

// start runs the pump on a new goroutine.
func (p *pump) start() {
	p.resumeFn = func() { p.carry(true) }
	go p.carry(false)
}

// carry runs the pump until it parks or ends.
func (p *pump) carry(resumed bool) {
	err := p.run(resumed)
	if err == errParked {
		return
	}
	p.unpark()
	p.onEnd(err)
}

// wake carries a parked pump on in a new goroutine: its leg is readable,
// its deadline passed, or the session closed a leg under it.
func (p *pump) wake() {
	if p.parked.CompareAndSwap(true, false) {
		go p.resumeFn()
	}
}

// relay starts both directions on goroutines of their own and returns, so
// no goroutine stays parked under the login's whole call chain; an idle
// direction then gives its goroutine back too (fillOrPark). When one
// direction ends both legs are closed, and the pump that ends last
// finishes the connection (session.finish).
func (s *session) relay(cl *leg, bl *leg) {
	o := &s.h.o
	f := newFlow(s.hs.Protocol, o.InspectPlay)
	f.online = s.authenticated
	f.velocity = s.authenticated && s.route.Forwarding == forwarding.Velocity
	r := &relayRun{s: s, fl: newSharedFlow(f)}
	r.up = &pump{s: s, dir: mcproto.Serverbound, src: cl, dst: s.backend, flow: r.fl,
		state: mcproto.StateLogin, threshold: mcproto.CompressionOff, idle: o.IdleTimeout}
	r.down = &pump{s: s, dir: mcproto.Clientbound, src: bl,
		dst: s.client, flow: r.fl, state: mcproto.StateLogin, threshold: mcproto.CompressionOff, idle: o.IdleTimeout}
	s.later(r.fl.close)
	s.later(bl.f.Release)
	r.running.Store(2)
	if wf := newWorldFeed(s); wf != nil {
		r.down.wf = wf
		s.later(wf.close)
	}
	r.down.onEnd = r.downEnded
	r.up.onEnd = r.upEnded
	s.pumps.Store(r)
	r.down.start()
	r.up.start()
}

// relayRun is one relay's shared end: which direction ended first and why.
type relayRun struct {
	s        *session
	fl       *sharedFlow
	up, down *pump
	running  atomic.Int32 // pumps still running; the last one finishes

	once     sync.Once
	first    error
	firstDir mcproto.Direction
	broke    error // the client's protocol error, when it was told so
}

// end records how direction d ended (the first one counts) and closes
// both legs, so the other pump ends too.
func (r *relayRun) end(d mcproto.Direction, err error) {
	s := r.s
	r.once.Do(func() { r.first, r.firstDir = err, d })
	r.fl.close() // a held serverbound frame waits no longer
	switch {
	case s.lingering.Load():
		s.closeBackend() // the client leg drains; finish closes it
	case s.backendLingering.Load():
		_ = s.client.Close() // the backend leg drains; drainBackend closes it
		s.wake()
	default:
		s.closeAll()
	}
	if r.running.Add(-1) == 0 {
		// Both pumps are done with the session: what they wrote is read
		// here after the counter's synchronisation.
		s.finish(r.result())
	}
}

func (r *relayRun) downEnded(err error) {
	s := r.s
	if errors.Is(err, io.EOF) && !s.kicked.Load() {
		s.lingerClient() // the backend hung up: its last bytes reach the player
	}
	r.fl.clientboundEnded()
	r.end(mcproto.Clientbound, err)
}

func (r *relayRun) upEnded(upErr error) {
	s := r.s
	if s.lingering.Load() && !errors.Is(upErr, io.EOF) && !isTimeout(upErr) {
		// The client leg lingers (a kick, the backend's hang-up) but this
		// side stopped reading it first (its write to the backend failed):
		// finish drains it, or the close would be a reset.
		s.drainAfter = true
	}
	if upErr != nil && !isClosed(upErr) && !s.kicked.Load() {
		// The client broke the protocol: say so where the client can read it.
		rs := classify(upErr)
		if rs == reason.HandshakeTimeout && r.up.state == mcproto.StatePlay {
			rs = reason.IdleTimeout
		}
		r.once.Do(func() { r.first, r.firstDir = &errReason{r: rs, err: upErr}, mcproto.Serverbound })
		if rs != reason.IdleTimeout && rs != reason.HandshakeTimeout && !s.raw[mcproto.Clientbound].Load() {
			// A kick like any other (the message framed for what the
			// client has received, the backend leg closed), except that
			// nothing reads the client leg any more: finish drains it
			// after counting the rejection, so the close is not a reset.
			s.kickWith(rs, rs.PlayerMessage(s.h.messages()))
			s.drainAfter = true
			r.broke = upErr
		}
	}
	if errors.Is(upErr, io.EOF) && !s.kicked.Load() {
		// The player hung up: its last packets are written to the backend
		// but maybe not yet delivered, and the backend leg holds unread
		// bytes, so it ends as after a kick (FIN, drain, close), not with
		// a reset that would discard them. The hang-up is how the relay
		// ended, whatever the drained leg reports afterwards.
		r.once.Do(func() { r.first, r.firstDir = upErr, mcproto.Serverbound })
		s.lingerBackend(time.Now().Add(kickLinger))
		s.shutBackend()
	}
	r.end(mcproto.Serverbound, upErr)
}

// result is how the relayed connection ended, once both pumps have.
func (r *relayRun) result() (reason.Reason, error) {
	s := r.s
	first := r.first
	switch {
	case s.kicked.Load():
		return reason.Reason(s.kickReason.Load()), r.broke
	case first == nil || isClosed(first):
		return reason.None, nil
	case r.firstDir == mcproto.Clientbound:
		if isTimeout(first) {
			return reason.IdleTimeout, fmt.Errorf("backend leg: %w", first)
		}
		// The backend broke the protocol or the network did: not the
		// player's doing, so it is logged where operators look.
		s.logger().Warn("backend leg failed", "err", first)
		return reason.None, nil
	}
	rs := classify(first)
	if rs == reason.HandshakeTimeout && r.up.state == mcproto.StatePlay {
		rs = reason.IdleTimeout
	}
	return rs, first
}

// run relays until the leg ends, or parks it (errParked) when it is idle.
// resumed: the pump had parked, and its read deadline stands.
func (p *pump) run(resumed bool) error {
	if p.raw {
		return p.copyRest(resumed)
	}
	f := p.src.f
	m := p.s.h.o.Metrics
	// Bytes may already be buffered (the backend's first answer, read while
	// choosing a backend; a client's bytes pipelined after Login Start):
	// relay them before waiting for more.
	primed := len(f.Buffered()) > 0
	for {
		if p.s.lingering.Load() && p.dir == mcproto.Serverbound {
			// Kicked (or the backend hung up): discard what the client
			// still sends until the linger deadline ends the read.
			p.s.lingerDeadline()
			if err := p.src.discard(); err != nil {
				return err
			}
			continue
		}
		steady := p.state == mcproto.StatePlay || p.state == mcproto.StateConfiguration
		var now time.Time
		if steady && !resumed {
			now = time.Now()
			p.deadline = now.Add(p.idle) // set on the socket before the next read
		}
		if p.backendShut() {
			return errKicked
		}
		if p.dir == mcproto.Serverbound && p.s.lingering.Load() {
			continue // the discard above, with the linger deadline
		}
		if primed {
			primed = false
			if steady {
				_ = p.src.c.SetReadDeadline(p.deadline)
			}
		} else if pl := p.parkable(); pl != nil {
			// The idle deadline run set (steady), or in login the
			// login's, which both legs read under until Login Success
			// (setLoginDeadline, tryBackend).
			deadline := p.deadline
			if !steady {
				deadline = p.s.loginDeadline
			}
			if err := p.fillOrPark(pl, deadline, resumed, now, false); err != nil {
				return err
			}
		} else {
			if steady {
				_ = p.src.c.SetReadDeadline(p.deadline)
			}
			if err := p.src.fill(); err != nil {
				return err
			}
		}
		resumed = false
		p.now = time.Now() // one clock read per batch, not per packet
		mark := f.Mark()
		var frames int
		var ferr error
		toRaw := false
		var held chan struct{} // a frame is held until this is closed
	frames:
		for {
			if p.dir == mcproto.Serverbound && p.state == mcproto.StateLogin {
				// Small until the backend asks for something large: what
				// a client may make the edge hold before it is answered.
				p.flow.mu.Lock()
				f.SetMax(p.flow.f.serverboundCap())
				p.flow.mu.Unlock()
			}
			raw, body, err := f.Next()
			if err != nil {
				ferr = err
				break
			}
			if raw == nil {
				break
			}
			frames++
			d, err := p.inspect(body)
			if err != nil {
				d, ferr = only(dropFrame), err
			}
			switch v := d.verdict; v {
			case forwardRaw:
				toRaw = true
				break frames
			case holdFrame:
				// Forward what came before; this frame and everything
				// after it stay unread until the backend has answered.
				batch := f.Since(mark)
				if err := p.write(batch[:len(batch)-len(raw)], false); err != nil {
					return err
				}
				f.Unread(len(raw))
				mark = f.Mark()
				frames--
				held = d.learned
				break frames
			case dropFrame, kickFrame, rewriteFrame:
				// Forward what came before, leave this frame out.
				batch := f.Since(mark)
				if err := p.write(batch[:len(batch)-len(raw)], false); err != nil {
					return err
				}
				mark = f.Mark()
				if v == rewriteFrame {
					// The corrected packet in its place, framed (and
					// compressed when it reaches the threshold) for this leg.
					p.rwFrame = p.rwComp.AppendFrame(p.rwFrame[:0], d.rewrite, p.threshold)
					if err := p.write(p.rwFrame, false); err != nil {
						return err
					}
					continue
				}
				if v == kickFrame {
					p.s.kickWith(d.kickWhy, d.kickMsg)
					if p.dir == mcproto.Serverbound && p.s.lingering.Load() {
						// Keep reading (and discarding) until the linger
						// deadline, so the close is not a reset.
						f.TakeBuffered()
						mark = f.Mark()
						break frames
					}
					return errKicked
				}
				if ferr != nil {
					break frames
				}
			}
		}
		batch := f.Since(mark)
		if toRaw {
			return p.copyRaw(batch)
		}
		if err := p.write(batch, true); err != nil {
			return err
		}
		m.PacketsProcessed[p.dir].Add(float64(frames))
		if p.dir == mcproto.Serverbound {
			p.publish()
		}
		if ferr != nil {
			return fmt.Errorf("%s %s frame: %w", p.dir, p.state, ferr)
		}
		if held != nil {
			if err := p.awaitBackend(held); err != nil {
				return err
			}
			primed = true // classify the held frame again before reading more
			continue
		}
		f.Release()
	}
}

// parkAfter is how long a leg waits for bytes on its goroutine before it
// parks in the poller: two game ticks. A player who plays sends a packet
// every tick (50 ms) and the server sends every tick, so an active leg
// does not park and pays no extra wake-up (a woken leg's first packet
// takes one more scheduling hop, about 0.1 ms in rgload's echo); a leg
// quiet for longer is idle, and gives its goroutine back. Longer would
// keep more goroutines alive through a burst of logins, and their stacks
// count in the edge's memory until the runtime returns them.
const parkAfter = 100 * time.Millisecond

// parkable returns the poller when this leg can park: a socket, a poller,
// no kick under way.
func (p *pump) parkable() *poller {
	if p.src.rc == nil || p.ending() {
		return nil
	}
	return p.s.h.poller()
}

// fillOrPark reads the next bytes: on this goroutine for up to parkAfter,
// then, still with nothing, by parking the leg (errParked). It honours the
// leg's read deadline (deadline), and the poller resumes the pump when it
// passes. resumed: the pump was just woken, so it does not wait again.
// peek: a spliced leg, whose bytes are waited for but not read (leg.wait).
func (p *pump) fillOrPark(pl *poller, deadline time.Time, resumed bool, now time.Time, peek bool) error {
	if deadline.IsZero() {
		return p.src.wait(peek)
	}
	if !resumed {
		if now.IsZero() {
			now = time.Now()
		}
		wait := now.Add(parkAfter)
		if !wait.Before(deadline) {
			// The leg's own deadline comes first.
			_ = p.src.c.SetReadDeadline(deadline)
			return p.src.wait(peek)
		}
		_ = p.src.c.SetReadDeadline(wait)
		err := p.src.wait(peek)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || p.ending() {
			return err
		}
		_ = p.src.c.SetReadDeadline(deadline)
	}
	got, err := p.src.try(peek)
	if err != nil || got {
		return err
	}
	if p.park(pl, deadline) {
		return errParked
	}
	// Not parked. When a kick or a drain is why, a deadline set above may
	// have replaced the one it set: the backend leg ends now (drainBackend
	// reads it), the client leg is read until its linger deadline.
	if p.backendShut() {
		return errKicked
	}
	if p.dir == mcproto.Serverbound && p.s.lingering.Load() {
		p.s.lingerDeadline()
	}
	return p.src.wait(peek)
}

// awaitBackend waits, for a held serverbound login frame, until the
// clientbound leg has learned more (learned is closed), the relay ends, or
// the login deadline passes (a hold never extends the deadline).
func (p *pump) awaitBackend(learned chan struct{}) error {
	wait := time.Until(p.s.loginDeadline)
	if wait <= 0 {
		return fmt.Errorf("serverbound login frame held: %w", os.ErrDeadlineExceeded)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-learned:
		return nil
	case <-p.flow.stop:
		return net.ErrClosed
	case <-t.C:
		return fmt.Errorf("serverbound login frame held: %w", os.ErrDeadlineExceeded)
	}
}

// backendShut reports, for the clientbound pump, that a kick (or the
// player's hang-up) half-closed the backend leg: nothing more is relayed
// to the player, and the relay drains the leg (drainBackend).
func (p *pump) backendShut() bool {
	return p.dir == mcproto.Clientbound && p.s.backendLingering.Load()
}

// ending reports that this pump's leg is on its way out (a kick, a
// drain): it must not park, since the drain is read on a goroutine.
func (p *pump) ending() bool {
	return p.s.kicked.Load() || p.backendShut() || (p.dir == mcproto.Serverbound && p.s.lingering.Load())
}

// errKicked ends a pump after the engine kicked the player.
var errKicked = errors.New("kicked by a check")

// write forwards a batch of whole frames. On the client leg, when the
// detection engine has a probe due, the probe frame goes out in the same
// writev after the batch.
func (p *pump) write(b []byte, probe bool) error {
	if p.dir == mcproto.Clientbound {
		// State is published under the same lock as the write, so a kick
		// always frames its disconnect for what the client has received.
		p.s.clientMu.Lock()
		defer p.s.clientMu.Unlock()
		// The deadline first, then kicked: a kick that is not seen here
		// shortens the deadline after this (see kickWith).
		_ = p.dst.SetWriteDeadline(time.Now().Add(p.idle))
		if p.s.kicked.Load() {
			return net.ErrClosed
		}
		p.publish()
		if probe && p.s.det != nil {
			p.s.detMu.Lock()
			p.probe = p.s.det.Probe(p.now, p.probe[:0])
			p.s.detMu.Unlock()
			if len(p.probe) > 0 {
				p.probeFrame = p.s.comp.AppendFrame(p.probeFrame[:0], p.probe, p.threshold)
				if len(b) == 0 {
					b = p.probeFrame
				} else {
					p.bufs = append(p.bufs[:0], b, p.probeFrame)
					return p.writeBuffers()
				}
			}
		}
	}
	if len(b) == 0 {
		return nil
	}
	if p.dir == mcproto.Serverbound {
		if p.s.authenticated {
			p.s.backendWriteMu.Lock()
			defer p.s.backendWriteMu.Unlock()
		}
		_ = p.dst.SetWriteDeadline(time.Now().Add(p.idle))
	} else {
		p.s.encryptLocked(b) // under clientMu, in write order
	}
	n, err := p.dst.Write(b)
	p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(n))
	if err != nil {
		return fmt.Errorf("write %s: %w", p.dir, err)
	}
	return nil
}

// writeBuffers writes p.bufs with one writev (clientbound, under clientMu).
func (p *pump) writeBuffers() error {
	for _, b := range p.bufs {
		p.s.encryptLocked(b) // in the order they are written
	}
	p.sending = p.bufs // WriteTo consumes the slice header it is given
	n, err := p.sending.WriteTo(p.dst)
	p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(n))
	if err != nil {
		return fmt.Errorf("write %s: %w", p.dir, err)
	}
	return nil
}

// publish makes this direction's state visible to kicks and the other leg.
func (p *pump) publish() {
	p.s.state[p.dir].Store(uint32(p.state))
	p.s.threshold[p.dir].Store(int32(p.threshold))
}

// copyRaw writes the last framed batch and everything already buffered, then
// copies the rest of the leg unframed (copyRest). Between two TCP sockets
// that is splice(2): the bytes never enter user space.
func (p *pump) copyRaw(batch []byte) error {
	f := p.src.f
	if p.dir == mcproto.Clientbound {
		p.s.clientMu.Lock()
		p.s.raw[p.dir].Store(true)
		p.s.clientMu.Unlock()
	} else {
		p.s.raw[p.dir].Store(true)
	}
	p.publish()
	if err := p.write(batch, false); err != nil {
		return err
	}
	if err := p.write(f.TakeBuffered(), false); err != nil {
		return err
	}
	f.Release()
	p.raw = true
	if p.s.enc == nil {
		p.s.h.o.Metrics.SplicedConns.Inc()
	}
	return p.copyRest(false)
}

// copyRest copies the rest of a raw leg until it ends, or parks it
// (errParked) when it is idle, like a framed one. resumed: the pump had
// parked, and its read deadline stands.
func (p *pump) copyRest(resumed bool) error {
	if p.s.enc != nil {
		// The edge encrypts the client leg: splicing would pass
		// ciphertext to the backend and plaintext to the client.
		return p.copyCipher(resumed)
	}
	switch err := p.spliceCopy(resumed); {
	case err == errParked:
		return err
	case err != nil:
		return fmt.Errorf("copy %s: %w", p.dir, err)
	}
	return io.EOF
}

// copyCipher copies the rest of an online-mode leg without framing: the
// client's bytes decrypted as they are read (the client leg decrypts in
// fill), the backend's encrypted as they are written (write), with the
// idle deadline as on any leg.
func (p *pump) copyCipher(resumed bool) error {
	f := p.src.f
	for {
		if err := p.awaitRaw(resumed, false); err != nil {
			switch {
			case err == errParked || err == errKicked:
				return err
			case isClosed(err):
				return io.EOF
			}
			return fmt.Errorf("copy %s: %w", p.dir, err)
		}
		resumed = false
		if err := p.write(f.TakeBuffered(), false); err != nil {
			return err
		}
		f.Release()
	}
}

// awaitRaw waits for the next bytes of a raw leg (copyRest): read into the
// framer, or with peek (a spliced leg) only counted (leg.wait). Like a
// framed leg it waits on its goroutine for parkAfter, then parks
// (errParked), under the idle deadline, which each read moves. A leg on
// its way out never parks: the backend leg after shutBackend ends here
// (errKicked; finish drains it), and the client leg after a kick or the
// backend's hang-up is read until its linger deadline, as before the
// relay went raw. resumed: the pump had parked, and its deadline stands.
func (p *pump) awaitRaw(resumed, peek bool) error {
	for {
		var now time.Time
		if !resumed {
			now = time.Now()
			p.deadline = now.Add(p.idle)
		}
		if p.backendShut() {
			return errKicked
		}
		if p.dir == mcproto.Serverbound && p.s.lingering.Load() {
			p.s.lingerDeadline()
			return p.src.wait(peek)
		}
		if pl := p.parkable(); pl != nil {
			err := p.fillOrPark(pl, p.deadline, resumed, now, peek)
			if !resumed && p.ending() && errors.Is(err, os.ErrDeadlineExceeded) {
				// A kick came while the leg waited to park, and the
				// wait's own deadline may have replaced the kick's: look
				// again.
				continue
			}
			return err
		}
		// No poller, or on its way out: wait here. The deadline first,
		// then backendShut again: shutBackend's deadline, set after it
		// marked the leg, is never overwritten.
		_ = p.src.c.SetReadDeadline(p.deadline)
		if p.backendShut() {
			return errKicked
		}
		return p.src.wait(peek)
	}
}

// inspect follows the protocol state through one frame and says what to do
// with it. It decodes only the packet id (inflating a few bytes at most for a
// compressed frame) and the fields that change the connection's state.
func (p *pump) inspect(body []byte) (decision, error) {
	if len(body) == 0 {
		return decision{}, nil // empty frames carry nothing; the framer caps runs
	}
	if p.dir == mcproto.Serverbound && p.state == mcproto.StateLogin {
		p.flow.mu.Lock()
		p.state, p.threshold = p.flow.f.serverboundView()
		p.flow.mu.Unlock()
		p.leftLogin()
		if p.state == mcproto.StatePlay && !p.s.h.o.InspectPlay {
			return only(forwardRaw), nil
		}
	}
	pkt := body
	inflated := 0
	var payload []byte
	if p.threshold >= 0 {
		var dataLen int
		var err error
		dataLen, payload, err = mcproto.SplitCompressed(body, p.threshold, mcproto.MaxInflate(p.dir), p.dir == mcproto.Serverbound)
		if err != nil {
			return decision{}, err
		}
		pkt = payload
		inflated = dataLen
		switch {
		case dataLen == 0:
		case p.dir == mcproto.Serverbound:
			// Client frames are inflated whole, within the 2 MiB cap and
			// with the exact-size check, so a bomb or a lying Data Length
			// never reaches the backend. Vanilla clients compress only the
			// rare packets at or above the threshold, so this is cheap.
			if p.scratch, err = p.inflater.Inflate(p.scratch[:0], payload, dataLen); err != nil {
				return decision{}, err
			}
			pkt = p.scratch
			if cap(p.scratch) > maxKeptScratch {
				p.scratch = nil // do not pin a large buffer for the session
			}
		default:
			// Backend frames (chunks, up to 8 MiB inflated) are relayed as
			// they are: a few inflated bytes reveal the id.
			if pkt, err = p.inflater.Peek(p.peek[:], payload, dataLen); err != nil {
				return decision{}, err
			}
		}
	}
	id, n, err := mcproto.ReadVarInt(pkt)
	if err != nil {
		return decision{}, fmt.Errorf("packet id: %w", err)
	}
	kind := p.s.table.Kind(p.state, p.dir, id)
	if det := p.s.det; det != nil && (p.state == mcproto.StatePlay || p.state == mcproto.StateConfiguration) {
		if d, err := p.detect(kind, pkt, n, payload, inflated); d.verdict != forward || err != nil {
			return d, err
		}
	}
	if p.wf != nil && isWorldKind(kind) && (p.state == mcproto.StatePlay || p.state == mcproto.StateConfiguration) {
		if d, err := p.feedWorld(kind, pkt, n, payload, inflated); d.verdict != forward || err != nil {
			return d, err
		}
	}
	if p.dir == mcproto.Clientbound {
		return p.clientbound(kind, pkt[n:])
	}
	d, err := p.serverbound(kind, pkt[n:])
	if d.verdict == reparseFrame {
		// The leg left login (a pre-1.20.2 client in play): the same
		// bytes read again in the new state, detection included.
		return p.inspect(body)
	}
	return d, err
}

// detect hands one packet to the detection engine. pkt is the packet as far
// as it was decoded (whole, except for peeked clientbound frames), n the
// length of its id, payload/inflated the compressed form when it had one.
func (p *pump) detect(kind packets.Kind, pkt []byte, n int, payload []byte, inflated int) (decision, error) {
	det := p.s.det
	if p.dir == mcproto.Clientbound {
		p.s.detMu.Lock()
		want := det.WantClientbound(p.state, kind)
		p.s.detMu.Unlock()
		if !want {
			return decision{}, nil
		}
		if inflated > 0 {
			// Only peeked so far: the engine needs the whole packet.
			var err error
			if p.cbScratch, err = p.inflater.Inflate(p.cbScratch[:0], payload, inflated); err != nil {
				return decision{}, err
			}
			pkt = p.cbScratch
			if cap(p.cbScratch) > maxKeptScratch {
				p.cbScratch = nil
			}
		}
		p.s.detMu.Lock()
		v := det.Clientbound(p.state, kind, pkt[n:], p.now)
		p.s.detMu.Unlock()
		if v.Outcome == detect.Kick {
			return decision{verdict: kickFrame, kickMsg: v.Reason, kickWhy: reason.Detection}, nil
		}
		return decision{}, nil
	}
	p.s.detMu.Lock()
	v := det.Serverbound(p.state, kind, pkt[n:], inflated, p.now)
	p.s.detMu.Unlock()
	switch v.Outcome {
	case detect.Rewrite:
		if v.Packet == nil {
			return decision{}, nil
		}
		return decision{verdict: rewriteFrame, rewrite: v.Packet}, nil
	case detect.Drop:
		return only(dropFrame), nil
	case detect.Setback:
		// The edge's own teleport goes to the client; the move does not
		// go to the backend (detect/setback.go).
		if err := p.s.injectClient(v.Packet, p.idle); err != nil {
			return decision{}, err
		}
		return only(dropFrame), nil
	case detect.Kick:
		return decision{verdict: kickFrame, kickMsg: v.Reason, kickWhy: reason.Detection}, nil
	}
	return decision{}, nil
}

// clientbound follows the protocol state through a backend packet the edge
// is about to relay to the client.
func (p *pump) clientbound(kind packets.Kind, data []byte) (decision, error) {
	if !clientboundMatters(p.state, kind) {
		return decision{}, nil
	}
	fl := p.flow
	fl.mu.Lock()
	login := p.state == mcproto.StateLogin
	v, err := fl.f.clientbound(kind, data)
	p.state, p.threshold = fl.f.state[p.dir], fl.f.threshold[p.dir]
	if login {
		fl.wakeLocked() // a held serverbound frame may be explained now
	}
	fl.mu.Unlock()
	if errors.Is(err, errBackendSetup) {
		// The backend's operator's mistake, not the player's: said where
		// operators look, and the player hears the server is unavailable.
		p.s.logger().Warn("backend refused for this route", "route_forwarding", p.s.route.Forwarding.String(), "err", err)
		return decision{verdict: kickFrame, kickMsg: reason.BackendUnavailable.PlayerMessage(p.s.h.messages()),
			kickWhy: reason.BackendUnavailable}, nil
	}
	if err != nil {
		return decision{}, err
	}
	if kind == packets.KindLoginSuccess && login && p.s.ticket != nil {
		p.s.ticket.LoggedIn() // frees the login-in-flight slot
	}
	switch v {
	case cbOpaque:
		return only(forwardRaw), nil
	case cbAnswer:
		// The edge's own answer goes to the backend; the request never
		// reaches the client, which could not answer it truthfully.
		if err := p.answerVelocity(data); err != nil {
			return decision{}, err
		}
		return only(dropFrame), nil
	}
	return decision{}, nil
}

// answerVelocity answers the backend's velocity:player_info request (data:
// after the packet id) with the authenticated player, signed with the
// route's secret, at the highest version both the backend and the client
// support. It is framed for the backend leg's compression as the backend
// announced it (p.threshold: this clientbound pump follows Set Compression
// in stream order).
func (p *pump) answerVelocity(data []byte) error {
	s := p.s
	req, err := packets.DecodeLoginPluginRequest(data, s.hs.Protocol)
	if err != nil {
		return fmt.Errorf("velocity request: %w", err)
	}
	v := forwarding.VelocityVersion(forwarding.RequestedVersion(req.Data), s.fwd)
	resp := packets.LoginPluginResponse{MessageID: req.MessageID, Success: true,
		Data: forwarding.AppendVelocityResponse(nil, s.route.Secret, v, s.fwd)}
	frame := p.rwComp.AppendFrame(nil, resp.AppendTo(nil, s.hs.Protocol), p.threshold)
	s.backendWriteMu.Lock()
	defer s.backendWriteMu.Unlock()
	_ = s.backend.SetWriteDeadline(time.Now().Add(p.idle))
	if _, err := s.backend.Write(frame); err != nil {
		return fmt.Errorf("write velocity forwarding: %w", err)
	}
	return nil
}

// serverbound follows the protocol state through a client packet; a packet
// that moves the client's leg is checked against what the edge relayed.
func (p *pump) serverbound(kind packets.Kind, data []byte) (decision, error) {
	if !serverboundMatters(p.state, kind) {
		return decision{}, nil
	}
	fl := p.flow
	fl.mu.Lock()
	v, err := fl.f.serverbound(kind, data)
	p.state, p.threshold = fl.f.state[p.dir], fl.f.threshold[p.dir]
	learned := fl.learned // under the lock: a wake-up after it closes this one
	fl.mu.Unlock()
	p.leftLogin()
	if err != nil {
		return decision{}, err
	}
	switch v {
	case sbOpaque:
		return only(forwardRaw), nil
	case sbHold:
		return decision{verdict: holdFrame, learned: learned}, nil
	case sbReparse:
		return only(reparseFrame), nil
	}
	return decision{}, nil
}

// leftLogin lifts the serverbound frame cap once the client's leg is out of
// login: from configuration on, frames may be as large as the protocol allows.
func (p *pump) leftLogin() {
	if p.state != mcproto.StateLogin {
		p.src.f.SetMax(mcproto.MaxFrameLength)
	}
}
