package limbo

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Layout of the platform in chunk (0, 0), as gen/gen.js builds it: blocks
// x and z 4..11 at the variant's height.
const (
	platformMin = 4
	platformMax = 12 // first block past the platform
	// spawnMin and spawnMax bound the drawn x and z of the fall: the middle
	// of the platform, so a player drifting in the air (keys held while
	// joining) still lands on it.
	spawnMin, spawnMax = 7.0, 9.0
	// minFallMargin keeps the drawn fall height away from the heights at
	// which the landing tick changes, so a client's rounding cannot move
	// the landing by a tick.
	minFallMargin = 0.1
)

// session is one verification, owned by the goroutine running Run. It holds
// a few hundred bytes plus the framer's buffer.
type session struct {
	l        *Limbo
	c        net.Conn
	w        *protocolWorld
	protocol int32
	table    *packets.Table

	fr      *mcproto.Framer
	inf     mcproto.Inflater // its zlib reader is allocated on the first compressed packet only
	comp    mcproto.Compressor
	scratch []byte // inflated packets
	out     []byte // frames the limbo encodes itself

	in, outState mcproto.State // the client's state as we read it, and as we write to it
	packets      int
	// deadline ends the verification; the linger after a verdict never
	// reads past it (deadlines on an unauthenticated connection only ever
	// get earlier).
	deadline time.Time

	// What the limbo drew for this connection, and what the client has
	// shown so far.
	keepAliveID            int64
	teleportID             int32
	spawnX, spawnY, spawnZ float64
	variant                *variant
	keepAliveEcho          bool
	teleportSent           bool
	confirmed              bool // 1.9+: the teleport id came back
	echoed                 bool // the position answering the teleport came
	brand, settings        bool
	fall                   fall
}

func newSession(l *Limbo, c net.Conn, w *protocolWorld, pending []byte) *session {
	s := &session{
		l:        l,
		c:        c,
		w:        w,
		protocol: w.protocol,
		table:    packets.Lookup(w.protocol),
		fr:       mcproto.NewFramer(l.o.Pool, maxServerboundPacket+mcproto.MaxVarIntLen),
		in:       mcproto.StateLogin,
		outState: mcproto.StateLogin,
	}
	s.fr.Load(pending)

	// Everything a bot would like to know in advance is drawn here, per
	// connection: ids, the platform's height, where and how high the fall
	// starts.
	if s.protocol >= mcproto.Protocol1_12_2 {
		s.keepAliveID = int64(rand.Uint64()|1) & math.MaxInt64 // i64 id; never 0
	} else {
		s.keepAliveID = int64(rand.Int32N(math.MaxInt32) + 1) // VarInt id; never 0 (1.8 sends 0s of its own)
	}
	s.teleportID = rand.Int32N(math.MaxInt32) + 1
	s.variant = &w.variants[rand.IntN(len(w.variants))]
	top := float64(s.variant.platformY + 1)
	ticks := l.o.MinFallTicks + 2 + rand.IntN(extraFallTicks+1)
	lo, hi := fallDistance(ticks-1), fallDistance(ticks)
	height := lo + (hi-lo)*(minFallMargin+(1-2*minFallMargin)*rand.Float64())
	s.spawnX = spawnMin + (spawnMax-spawnMin)*rand.Float64()
	s.spawnZ = spawnMin + (spawnMax-spawnMin)*rand.Float64()
	s.spawnY = top + height
	s.fall = newFall(s.spawnY, top, platformMin, platformMax, platformMin, platformMax, l.o.MinFallTicks)
	return s
}

// errFail carries a verdict out of a packet handler.
type errFail struct {
	reason Reason
	detail string
}

func (e *errFail) Error() string { return e.reason.String() + ": " + e.detail }

func fail(r Reason, format string, args ...any) error {
	return &errFail{reason: r, detail: fmt.Sprintf(format, args...)}
}

// run drives the verification to a verdict.
func (s *session) run(name string, uuid mcproto.UUID, transferHost string, transferPort int) (Result, error) {
	// Set Compression goes out uncompressed; everything after it in both
	// directions is framed for the threshold.
	s.out = mcproto.AppendFrame(s.out, packets.SetCompression{Threshold: compressionThreshold}.AppendTo(nil, s.protocol))
	s.appendPacket(packets.LoginSuccess{UUID: uuid, Username: name}.AppendTo(nil, s.protocol))
	if s.protocol >= mcproto.Protocol1_20_2 {
		// The client answers with Login Acknowledged. It reads
		// configuration packets from the moment it has read Login Success,
		// so that is the state anything we send from now on is in.
		if err := s.write(nil, nil); err != nil {
			return classifyIO(err, "write login success")
		}
		s.outState = mcproto.StateConfiguration
	} else {
		s.in, s.outState = mcproto.StatePlay, mcproto.StatePlay
		if err := s.writePlay(); err != nil {
			return classifyIO(err, "write world")
		}
	}

	for {
		id, body, err := s.next()
		if err != nil {
			var f *errFail
			switch {
			case errors.As(err, &f):
				return s.reject(f)
			case errors.Is(err, os.ErrDeadlineExceeded):
				return s.reject(s.timeout())
			}
			return Result{Reason: Closed, Detail: "read"}, fmt.Errorf("limbo: read: %w", err)
		}
		s.packets++
		if s.packets > s.l.o.MaxPackets {
			return s.reject(&errFail{reason: Budget, detail: fmt.Sprintf("more than %d packets", s.l.o.MaxPackets)})
		}
		if err := s.handle(id, body); err != nil {
			var f *errFail
			if errors.As(err, &f) {
				return s.reject(f)
			}
			return classifyIO(err, "write")
		}
		if s.passed() {
			return s.pass(transferHost, transferPort)
		}
	}
}

// passed reports whether every check is satisfied.
func (s *session) passed() bool {
	return s.keepAliveEcho && s.fall.landed && s.brand && s.settings &&
		(s.confirmed || s.protocol < mcproto.Protocol1_9)
}

// timeout names what was still missing when time ran out: once the client
// has landed, the one thing it never sent is the more useful reason.
func (s *session) timeout() *errFail {
	switch {
	case s.fall.landed && !s.keepAliveEcho:
		return &errFail{reason: KeepAlive, detail: "never echoed"}
	case s.fall.landed && !s.brand:
		return &errFail{reason: Brand, detail: "never sent"}
	case s.fall.landed && !s.settings:
		return &errFail{reason: Settings, detail: "never sent"}
	}
	return &errFail{reason: Timeout, detail: fmt.Sprintf("state %s, %d packets, %d ticks fallen", s.in, s.packets, s.fall.ticks)}
}

// handle checks one client packet. It returns an *errFail for a verdict and
// any other error for a failed write.
func (s *session) handle(id int32, body []byte) error {
	switch s.in {
	case mcproto.StateLogin:
		if s.table.Kind(mcproto.StateLogin, mcproto.Serverbound, id) != packets.KindLoginAcknowledged {
			return fail(Protocol, "login packet %#x after login success", id)
		}
		if _, err := packets.DecodeLoginAcknowledged(body, s.protocol); err != nil {
			return fail(Protocol, "%v", err)
		}
		s.in = mcproto.StateConfiguration
		return s.writeConfiguration()
	case mcproto.StateConfiguration:
		switch s.table.Kind(mcproto.StateConfiguration, mcproto.Serverbound, id) {
		case packets.KindFinishConfiguration:
			if _, err := packets.DecodeFinishConfiguration(body, s.protocol); err != nil {
				return fail(Protocol, "%v", err)
			}
			s.in = mcproto.StatePlay
			return s.writePlay()
		case packets.KindKeepAlive:
			return s.onKeepAlive(body)
		case packets.KindClientSettings:
			return s.onSettings(body)
		case packets.KindPluginMessage:
			return s.onPluginMessage(body)
		}
		return nil // pongs, resource pack answers and the like: counted, not needed
	}
	switch s.table.Kind(mcproto.StatePlay, mcproto.Serverbound, id) {
	case packets.KindTeleportConfirm:
		t, err := packets.DecodeTeleportConfirm(body, s.protocol)
		if err != nil {
			return fail(Teleport, "%v", err)
		}
		return s.onConfirm(t.TeleportID)
	case packets.KindPlayerPosition:
		p, err := packets.DecodePlayerPosition(body, s.protocol)
		if err != nil {
			return fail(Gravity, "%v", err)
		}
		return s.onMove(p.X, p.Y, p.Z, p.OnGround(), false)
	case packets.KindPlayerPositionLook:
		p, err := packets.DecodePlayerPositionLook(body, s.protocol)
		if err != nil {
			return fail(Gravity, "%v", err)
		}
		return s.onMove(p.X, p.Y, p.Z, p.OnGround(), true)
	case packets.KindKeepAlive:
		return s.onKeepAlive(body)
	case packets.KindClientSettings:
		return s.onSettings(body)
	case packets.KindPluginMessage:
		return s.onPluginMessage(body)
	}
	// Rotation-only and on-ground-only movement, tick ends, chunk batch
	// acknowledgements: counted against the budget, nothing to check.
	return nil
}

func (s *session) onKeepAlive(body []byte) error {
	k, err := packets.DecodeKeepAlive(body, s.protocol)
	switch {
	case err != nil:
		return fail(KeepAlive, "%v", err)
	case k.ID == s.keepAliveID && !s.keepAliveEcho:
		s.keepAliveEcho = true
		return nil
	case k.ID == 0 && s.protocol < mcproto.Protocol1_9:
		// 1.8 sends keep-alives with id 0 on its own while it shows
		// "Downloading terrain" (Sonar's LoginHandler notes the same).
		return nil
	case k.ID == s.keepAliveID:
		return fail(KeepAlive, "echoed twice")
	}
	return fail(KeepAlive, "id %d, sent %d", k.ID, s.keepAliveID)
}

func (s *session) onSettings(body []byte) error {
	cs, err := packets.DecodeClientSettings(body, s.protocol)
	if err != nil {
		return fail(Settings, "%v", err)
	}
	if cs.ViewDistance < packets.MinViewDistance { // vanilla's smallest; less is a crafted packet
		return fail(Settings, "view distance %d", cs.ViewDistance)
	}
	s.settings = true // vanilla may send them again (configuration, then play): fine
	return nil
}

func (s *session) onPluginMessage(body []byte) error {
	m, err := packets.DecodePluginMessage(body, s.protocol)
	if err != nil {
		return fail(Protocol, "%v", err)
	}
	if !packets.IsBrandChannel(m.Channel, s.protocol) {
		return nil // channel registrations and mod handshakes: not ours to judge
	}
	if s.brand {
		return fail(Brand, "sent twice")
	}
	if _, err := packets.DecodeBrand(m.Data); err != nil {
		return fail(Brand, "%v", err)
	}
	s.brand = true
	return nil
}

func (s *session) onConfirm(id int32) error {
	switch {
	case !s.teleportSent:
		return fail(Teleport, "confirm before any teleport")
	case s.confirmed:
		return fail(Teleport, "confirmed twice")
	case id != s.teleportID:
		return fail(Teleport, "id %d, sent %d", id, s.teleportID)
	}
	s.confirmed = true
	return nil
}

// onMove takes a reported position. Before the client has answered the
// teleport, positions are from before it and are ignored; its answer is a
// position-and-rotation packet exactly at the teleport target (sent right
// after the confirm, or on 1.21.2+ right before it); after that every
// position goes to the gravity check.
func (s *session) onMove(x, y, z float64, onGround, look bool) error {
	if !s.echoed {
		if look && !onGround && x == s.spawnX && y == s.spawnY && z == s.spawnZ && s.teleportSent {
			s.echoed = true
			return nil
		}
		if s.confirmed {
			return fail(Teleport, "moved to %v/%v/%v instead of answering the teleport", x, y, z)
		}
		return nil
	}
	if !s.confirmed && s.protocol >= mcproto.Protocol1_9 {
		return fail(Teleport, "moved before confirming the teleport")
	}
	if err := s.fall.move(x, y, z, onGround); err != nil {
		return fail(Gravity, "%v", err)
	}
	return nil
}

// --- writing -----------------------------------------------------------------

// appendPacket frames packet (id and data) for the compressed leg into s.out.
func (s *session) appendPacket(packet []byte) {
	s.out = s.comp.AppendFrame(s.out, packet, compressionThreshold)
}

// write sends s.out, then the precomputed frames of seqs, then tail (a
// part of s.out built after the head), in one batch, and empties s.out.
func (s *session) write(tail []byte, seqs ...[][]byte) error {
	n := 2
	for _, q := range seqs {
		n += len(q)
	}
	bufs := make(net.Buffers, 0, n)
	if len(s.out) > 0 {
		bufs = append(bufs, s.out)
	}
	for _, q := range seqs {
		bufs = append(bufs, q...)
	}
	if len(tail) > 0 {
		bufs = append(bufs, tail)
	}
	_, err := bufs.WriteTo(s.c)
	s.out = s.out[:0]
	return err
}

// writeConfiguration sends the registries and tags, a keep-alive and
// Finish Configuration (1.20.2+).
func (s *session) writeConfiguration() error {
	head := len(s.out)
	s.appendPacket(appendKeepAlive(nil, s.protocol, mcproto.StateConfiguration, s.keepAliveID))
	s.appendPacket(packets.FinishConfiguration{}.AppendTo(nil, s.protocol))
	tail := s.out[head:]
	s.out = s.out[:head]
	if err := s.write(tail, s.w.configuration); err != nil {
		return err
	}
	// The client switches to play as it reads Finish Configuration, before
	// it acknowledges: whatever we send after it must be a play packet.
	s.outState = mcproto.StatePlay
	return nil
}

// writePlay sends the world: Join Game and its companions, the chunk with
// the platform, the teleport into the air above it and, before 1.20.2 (where
// configuration had none), the keep-alive. The chunk goes before the
// teleport, in the same write: a 1.8 client in an unloaded chunk does not
// fall by gravity but at a constant 0.098 blocks a tick
// (EntityLivingBase.moveEntityWithHeading), which the check would reject.
func (s *session) writePlay() error {
	head := len(s.out)
	s.appendPacket(appendTeleport(nil, s.protocol, s.teleportID, s.spawnX, s.spawnY, s.spawnZ))
	if s.protocol < mcproto.Protocol1_20_2 {
		s.appendPacket(appendKeepAlive(nil, s.protocol, mcproto.StatePlay, s.keepAliveID))
	}
	// Carve head and tail only now: appends above may have moved s.out.
	buf := s.out
	s.out = buf[:head]
	tail := buf[head:]
	s.teleportSent = true
	return s.write(tail, s.w.join, s.variant.chunk)
}

// pass sends the verified client away and lingers until it goes.
func (s *session) pass(transferHost string, transferPort int) (Result, error) {
	if s.protocol >= mcproto.Protocol1_20_5 && transferHost != "" {
		s.appendPacket(appendTransfer(nil, s.protocol, transferHost, transferPort))
	} else {
		s.appendPacket(packets.AppendDisconnect(nil, s.outState, s.protocol, s.l.o.ReconnectMessage))
	}
	// The verdict stands even if the farewell cannot be written: the gate
	// remembers the player, and its next login passes.
	if err := s.write(nil); err == nil {
		s.linger()
	}
	return Result{Passed: true}, nil
}

// reject tells the client it failed (in the state it is in) and returns the
// verdict. The message is best effort: a bot may not be reading.
func (s *session) reject(f *errFail) (Result, error) {
	s.out = s.out[:0]
	s.appendPacket(packets.AppendDisconnect(nil, s.outState, s.protocol, s.l.o.FailMessage))
	_ = s.c.SetWriteDeadline(time.Now().Add(lingerTimeout))
	if err := s.write(nil); err == nil {
		s.linger()
	}
	return Result{Reason: f.reason, Detail: f.detail}, nil
}

// linger half-closes the connection and reads until the client closes its
// side, for at most lingerTimeout and maxLingerBytes, so the last packet
// is not lost to a reset.
func (s *session) linger() {
	if cw, ok := s.c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	until := time.Now().Add(lingerTimeout)
	if !s.deadline.IsZero() && s.deadline.Before(until) {
		until = s.deadline
	}
	_ = s.c.SetReadDeadline(until)
	_, _ = io.Copy(io.Discard, io.LimitReader(s.c, maxLingerBytes))
}

// --- reading -----------------------------------------------------------------

// next returns the id and body of the next client packet. The body aliases
// the framer or the inflate buffer and is valid until the next call.
func (s *session) next() (int32, []byte, error) {
	for {
		raw, body, err := s.fr.Next()
		if err != nil {
			return 0, nil, fail(Protocol, "%v", err)
		}
		if raw != nil {
			return s.decompress(body)
		}
		s.fr.Release()
		n, err := s.c.Read(s.fr.Space())
		s.fr.Commit(n)
		if err != nil && n == 0 {
			return 0, nil, err
		}
	}
}

func (s *session) decompress(body []byte) (int32, []byte, error) {
	dataLen, payload, err := mcproto.SplitCompressed(body, compressionThreshold, maxServerboundPacket, false)
	if err != nil {
		return 0, nil, fail(Protocol, "%v", err)
	}
	if dataLen > 0 {
		s.scratch, err = s.inf.Inflate(s.scratch[:0], payload, dataLen)
		if err != nil {
			return 0, nil, fail(Protocol, "%v", err)
		}
		payload = s.scratch
	}
	id, n, err := mcproto.ReadVarInt(payload)
	if err != nil {
		return 0, nil, fail(Protocol, "packet id: %v", err)
	}
	return id, payload[n:], nil
}
