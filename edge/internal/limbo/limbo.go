package limbo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Defaults of Options, from Sonar's verification defaults (docs/DETECTIONS.md,
// "Verification limbo").
const (
	// DefaultTimeout bounds a whole verification, first byte to verdict.
	// Sonar reads with an 8 s and writes with a 10 s timeout; an honest
	// client needs 1–3 s (login, configuration, a fall of under a second).
	DefaultTimeout = 10 * time.Second
	// DefaultMaxPackets is Sonar's packet budget for one verification. An
	// honest client sends about 30.
	DefaultMaxPackets = 325
	// DefaultMinFallTicks is the fewest falling ticks before the landing
	// (Sonar's max-movement-ticks, default 8, allowed 2–100).
	DefaultMinFallTicks = 8
	// DefaultReconnectMessage is what a verified client older than 1.20.5
	// reads when the limbo lets it go; it must join again to play.
	DefaultReconnectMessage = "Verified, please reconnect."
	// DefaultFailMessage is what a client reads when it failed. It names no
	// check: a bot author learns nothing from it.
	DefaultFailMessage = "Verification failed. Please reconnect."
)

// Bounds that are not options.
const (
	// compressionThreshold is the threshold the limbo announces: vanilla's
	// default network-compression-threshold. world.bin is framed for it.
	compressionThreshold = 256
	// maxServerboundPacket caps one client packet, compressed or not: a
	// plugin message of vanilla's 32767-byte payload limit plus its channel
	// name. Nothing else a client sends to the limbo comes close.
	maxServerboundPacket = 32767 + 1024
	// lingerTimeout is how long the limbo waits, after its last packet,
	// for the client to close first. Closing a socket with unread input
	// makes the kernel send a reset, which can destroy the last packet
	// before the client reads it.
	lingerTimeout = time.Second
	// maxLingerBytes caps what is read and discarded while lingering.
	maxLingerBytes = 64 << 10
	// maxTransferHost is the longest transfer host accepted: the handshake
	// host limit the client will write when it reconnects (docs/PROTOCOL.md, Handshake).
	maxTransferHost = 255
	// minFallTicksLimit and maxFallTicksLimit bound MinFallTicks (Sonar's
	// allowed range).
	minFallTicksLimit, maxFallTicksLimit = 2, 100
	// extraFallTicks is how many more ticks than MinFallTicks a fall may
	// take: the fall height is drawn per connection so that a fall lasts
	// MinFallTicks+2 to MinFallTicks+2+extraFallTicks ticks.
	extraFallTicks = 4
)

// ErrUnsupported is returned by Run for a protocol the limbo has no world
// for; call Supports first.
var ErrUnsupported = errors.New("limbo: protocol not supported")

// Options configure a Limbo. Zero values take the defaults above.
type Options struct {
	Timeout          time.Duration
	MaxPackets       int
	MinFallTicks     int
	ReconnectMessage string
	FailMessage      string
	// Pool supplies the read buffers of the client leg; pass the listener's
	// pool to share buffers with the relay. Nil: the Limbo makes its own.
	Pool *mcproto.BufferPool
}

// Limbo runs verifications. It holds only immutable data (the world for
// every protocol) and is safe for concurrent use by any number of
// connections.
type Limbo struct {
	o     Options
	world *world
}

// New returns a Limbo with the embedded world.
func New(o Options) (*Limbo, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxPackets <= 0 {
		o.MaxPackets = DefaultMaxPackets
	}
	if o.MinFallTicks == 0 {
		o.MinFallTicks = DefaultMinFallTicks
	}
	if o.MinFallTicks < minFallTicksLimit || o.MinFallTicks > maxFallTicksLimit {
		return nil, fmt.Errorf("limbo: min fall ticks %d outside %d..%d", o.MinFallTicks, minFallTicksLimit, maxFallTicksLimit)
	}
	if o.ReconnectMessage == "" {
		o.ReconnectMessage = DefaultReconnectMessage
	}
	if o.FailMessage == "" {
		o.FailMessage = DefaultFailMessage
	}
	if o.Pool == nil {
		o.Pool = mcproto.NewBufferPool(0)
	}
	w, err := parseWorld(worldData)
	if err != nil {
		return nil, err
	}
	if w.threshold != compressionThreshold {
		return nil, fmt.Errorf("limbo: world data framed for threshold %d, want %d: %w", w.threshold, compressionThreshold, errWorld)
	}
	return &Limbo{o: o, world: w}, nil
}

// Supports reports whether the limbo can verify clients of a protocol.
func (l *Limbo) Supports(protocol int32) bool { return l.world.lookup(protocol) != nil }

// Protocols lists the supported protocols, ascending.
func (l *Limbo) Protocols() []int32 { return slices.Clone(l.world.protocols) }

// Run plays the limbo on an accepted client connection whose handshake and
// Login Start were already read; pending holds the bytes read past Login
// Start. It answers as the server: Set Compression, Login Success (the
// given UUID, or the offline UUID of name when uuid is zero), the
// configuration (1.20.2+), then a tiny world in which the client falls onto
// a platform. It never touches a backend.
//
// The Result says whether the client passed, and otherwise why not. A
// client that passed is sent away to log in again: clients from 1.20.5 get
// a Transfer to transferHost:transferPort (the edge's public address) when
// transferHost is set, older ones a disconnect with the reconnect message.
// A client that failed gets the failure message.
//
// The error is nil for a verdict (passed or failed). It is set when there
// was none: ErrUnsupported, a closed or reset connection, or ctx ending;
// Result.Reason is then Unsupported or Closed. Run sets deadlines on c and
// leaves it open: the caller closes it.
func (l *Limbo) Run(ctx context.Context, c net.Conn, pending []byte, protocol int32, name string, uuid mcproto.UUID, transferHost string, transferPort int) (Result, error) {
	w := l.world.lookup(protocol)
	if w == nil {
		return Result{Reason: Unsupported}, fmt.Errorf("protocol %d: %w", protocol, ErrUnsupported)
	}
	if len(transferHost) > maxTransferHost || transferPort < 0 || transferPort > 65535 {
		return Result{Reason: Closed}, fmt.Errorf("limbo: transfer target %q:%d invalid", transferHost, transferPort)
	}
	if uuid == (mcproto.UUID{}) {
		uuid = mcproto.OfflineUUID(name)
	}
	deadline := time.Now().Add(l.o.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetDeadline(deadline)
	// Ending ctx unblocks any read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	s := newSession(l, c, w, pending)
	s.deadline = deadline
	defer s.fr.Release()
	res, err := s.run(name, uuid, transferHost, transferPort)
	if !res.Passed && ctx.Err() != nil {
		// The deadline that ended the verification was ours, not the
		// client's slowness.
		return Result{Reason: Closed, Detail: res.Detail}, fmt.Errorf("limbo: %w", ctx.Err())
	}
	return res, err
}

// classifyIO turns a read or write error into a Result: a deadline is the
// client being too slow (a failure), anything else the connection ending.
func classifyIO(err error, what string) (Result, error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return Result{Reason: Timeout, Detail: what + ": deadline"}, nil
	}
	return Result{Reason: Closed, Detail: what}, fmt.Errorf("limbo: %s: %w", what, err)
}
