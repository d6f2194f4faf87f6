// Package backend is the synthetic Minecraft 1.8 server every benchmark
// target forwards to. It speaks just enough of protocol 47 for a proxy that
// parses the protocol to accept it: handshake, status with ping, login with
// optional Set Compression, Login Success, Join Game and then play.
//
// What a connection does in play is chosen by the player's name, because the
// name is the only thing a login-forwarding proxy passes through unchanged:
// names starting with BulkPrefix receive an endless stream of chunk-sized
// frames; names starting with PlayersPrefix are moving players, who get a
// mixed stream (entity moves, chunks, chat) every tick and whose movements
// are checked (players.go); every connection echoes serverbound keep-alives and plugin
// messages straight back (the latency workload); anything else sits idle.
//
// The bulk frames are built and compressed once in New and the same bytes
// are written again and again, so the backend costs one write syscall per
// batch and is not what limits throughput.
package backend

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rustguard/rustguard/bench/internal/mc18"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// BulkPrefix starts the name of a player that wants the bulk stream.
const BulkPrefix = "bulk"

// EchoChannel is the plugin-message channel the backend echoes.
const EchoChannel = "rg:echo"

// StatusJSON is the status answer: a 1.8 server with room for the idle
// workload's connections.
const StatusJSON = `{"version":{"name":"1.8.9","protocol":47},` +
	`"players":{"max":20000,"online":0,"sample":[]},` +
	`"description":{"text":"rgload synthetic backend"}}`

const (
	// DefaultThreshold is the compression threshold Velocity, gate and the
	// edge default to (docs/PROTOCOL.md, Compression).
	DefaultThreshold = 256
	// DefaultBulkPacket bounds the uncompressed size of one bulk packet:
	// the chunk that fits is one section with its light and the biomes,
	// 12,556 bytes (a 1.8 chunk of a few sections is 12–64 KiB).
	DefaultBulkPacket = 16 << 10
	// MinBulkPacket is the smallest bound a well-formed chunk fits in.
	MinBulkPacket = chunkHeader + 3 + chunkSection + chunkBiomes
	// MaxBulkPacket keeps a bulk packet under the 2 MiB frame limit
	// even uncompressed.
	MaxBulkPacket = 1 << 20
	// bulkBatchBytes is how many bytes of repeated frames one write hands
	// the kernel: large enough that syscall cost vanishes, small enough to
	// stay in cache.
	bulkBatchBytes = 128 << 10
	// handshakeTimeout bounds handshake, status and login: a proxy or tool
	// that stalls there is broken, and the backend must not hold its
	// goroutine forever.
	handshakeTimeout = 10 * time.Second
	// acceptRetryDelay is the pause after a temporary accept error (EMFILE
	// while the idle workload holds thousands of sockets) before retrying.
	acceptRetryDelay = 10 * time.Millisecond
	// bulkSeed seeds the bulk payload so every run sends the same bytes.
	bulkSeed = 47
)

// Config configures a Server.
type Config struct {
	// Threshold is the compression threshold sent in Set Compression, or
	// mcproto.CompressionOff to skip Set Compression.
	Threshold int
	// BulkPacket is the uncompressed size of one bulk chunk packet.
	BulkPacket int
	// Mix is the stream moving players (PlayersPrefix) receive.
	Mix Mix
	// Logger receives per-connection failures at debug level; nil discards.
	Logger *slog.Logger
}

// Stats counts what the backend saw. ProtocolErrors are malformed or
// unexpected packets, never plain disconnects: a proxy that corrupts the
// stream shows up there.
type Stats struct {
	Logins         int64
	StatusPings    int64
	Echoes         int64
	Moves          int64 // movements of moving players, checked against Walk
	ProtocolErrors int64
	LastError      string
}

// Server is a running synthetic backend.
type Server struct {
	cfg       Config
	log       *slog.Logger
	bulkFrame []byte // one bulk frame as it goes on the wire
	bulkBatch []byte // bulkFrame repeated up to bulkBatchBytes

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	closed  bool
	lastErr string

	wg          sync.WaitGroup
	logins      atomic.Int64
	statusPings atomic.Int64
	echoes      atomic.Int64
	protoErrs   atomic.Int64
	moves       atomic.Int64
	nextEntity  atomic.Int32
	moveObs     atomic.Pointer[moveHook]
}

// New builds a Server and its bulk frames.
func New(cfg Config) (*Server, error) {
	if cfg.BulkPacket < MinBulkPacket || cfg.BulkPacket > MaxBulkPacket {
		return nil, fmt.Errorf("bulk packet size %d outside %d..%d", cfg.BulkPacket, MinBulkPacket, MaxBulkPacket)
	}
	for name, v := range map[string]int{"entity moves": cfg.Mix.EntityMoves, "chunks": cfg.Mix.Chunks, "chat": cfg.Mix.Chat} {
		if v < 0 || v > MaxMixRate {
			return nil, fmt.Errorf("%s per second %d outside 0..%d", name, v, MaxMixRate)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, conns: make(map[net.Conn]struct{})}
	s.bulkFrame = BulkFrame(cfg.Threshold, cfg.BulkPacket)
	for len(s.bulkBatch)+len(s.bulkFrame) <= max(bulkBatchBytes, len(s.bulkFrame)) {
		s.bulkBatch = append(s.bulkBatch, s.bulkFrame...)
	}
	return s, nil
}

// BulkFrame returns the bulk frame a Server with this threshold and packet
// size bound streams, so a player can check what it receives byte for
// byte. It is a well-formed 1.8 Chunk Data packet: the edge keeps a replica
// of the world its players see (edge/internal/world) and closes a backend
// that sends a malformed chunk, so a junk payload would measure a refusal.
// It holds as many full sections (blocks, block light, sky light) as fit in
// size, up to a column's 16, and the biomes.
func BulkFrame(threshold, size int) []byte {
	n := min(max((size-chunkHeader-3-chunkBiomes)/chunkSection, 1), 16)
	data := make([]byte, n*chunkSection+chunkBiomes)
	// Sixteen symbols: zlib shrinks them to a bit over half, so frames on
	// a compressed leg are chunk-sized rather than trivially small. As
	// block states they are whatever blocks: the replica stores any id.
	rng := rand.New(rand.NewPCG(bulkSeed, bulkSeed))
	for i := range data {
		data[i] = byte(rng.IntN(16))
	}
	pkt := mc18.AppendChunkData(nil, 3, -7, uint16(1<<n-1), data)
	var comp mcproto.Compressor
	return comp.AppendFrame(nil, pkt, threshold)
}

// A 1.8 Chunk Data packet: id, x, z, ground-up, bitmask, then the data's
// VarInt length (at most 3 bytes here); per section 4096 two-byte block
// states, 2048 bytes of block light and 2048 of sky light; 256 biome bytes.
const (
	chunkHeader  = 1 + 4 + 4 + 1 + 2
	chunkSection = 4096*2 + 2048 + 2048
	chunkBiomes  = 256
)

// ListenLocal serves on a free port of 127.0.0.1 in the background. It
// returns the address, and stop, which closes the server and returns once
// Serve has, with what either reported.
func (s *Server) ListenLocal() (addr string, stop func() error, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("backend listen: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	return ln.Addr().String(), func() error {
		cerr := s.Close()
		return errors.Join(cerr, <-done)
	}, nil
}

// Serve accepts connections on ln until Close. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if isTemporary(err) {
				s.log.Warn("backend accept", "err", err)
				time.Sleep(acceptRetryDelay)
				continue
			}
			return fmt.Errorf("backend accept: %w", err)
		}
		if !s.track(nc) {
			nc.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(nc)
			s.handle(nc)
		}()
	}
}

// isTemporary reports accept errors worth retrying: descriptor or buffer
// exhaustion while the idle workload holds thousands of sockets.
func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	last := s.lastErr
	s.mu.Unlock()
	return Stats{
		Logins:         s.logins.Load(),
		StatusPings:    s.statusPings.Load(),
		Echoes:         s.echoes.Load(),
		Moves:          s.moves.Load(),
		ProtocolErrors: s.protoErrs.Load(),
		LastError:      last,
	}
}

// fail records a protocol error unless err is an ordinary disconnect.
func (s *Server) fail(remote net.Addr, err error) {
	if isDisconnect(err) || s.isClosed() {
		s.log.Debug("backend conn closed", "remote", remote, "err", err)
		return
	}
	s.protoErrs.Add(1)
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
	s.log.Debug("backend protocol error", "remote", remote, "err", err)
}

// isDisconnect reports errors that only mean the peer went away.
func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (s *Server) handle(nc net.Conn) {
	c := mcconn.New(nc, mcproto.Serverbound)
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	data, err := c.Expect(mc18.HandshakeID)
	if err != nil {
		// Health probes (HAProxy checks, the edge's readiness dial)
		// connect and close without a byte: not an error.
		s.fail(nc.RemoteAddr(), fmt.Errorf("handshake: %w", err))
		return
	}
	h, err := mc18.ParseHandshake(data)
	if err != nil {
		s.fail(nc.RemoteAddr(), err)
		return
	}
	switch h.Intent {
	case mcproto.IntentStatus:
		err = s.status(c)
	case mcproto.IntentLogin:
		err = s.login(c, h)
	default:
		err = fmt.Errorf("handshake intent %d: %w", h.Intent, mcconn.ErrUnexpectedPacket)
	}
	if err != nil {
		s.fail(nc.RemoteAddr(), err)
	}
}

// status answers one status request and echoes the ping, then closes as
// the vanilla server does after the pong. A status fetch that stops after
// the response (a proxy's cache refresh) is fine.
func (s *Server) status(c *mcconn.Conn) error {
	if _, err := c.Expect(mc18.StatusRequestID); err != nil {
		return fmt.Errorf("status request: %w", err)
	}
	if err := c.WritePacket(mc18.AppendStatusResponse(nil, StatusJSON)); err != nil {
		return err
	}
	data, err := c.Expect(mc18.StatusPingID)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("status ping: %w", err)
	}
	v, err := mc18.ParsePing(data)
	if err != nil {
		return err
	}
	// Counted before the pong goes out: a client that has read the pong
	// must already see it in Stats.
	s.statusPings.Add(1)
	return c.WritePacket(mc18.AppendPing(nil, mc18.StatusPongID, v))
}

func (s *Server) login(c *mcconn.Conn, h mc18.Handshake) error {
	data, err := c.Expect(mc18.LoginStartID)
	if err != nil {
		return fmt.Errorf("login start: %w", err)
	}
	name, err := mc18.ParseLoginStart(data)
	if err != nil {
		return err
	}
	if h.Protocol != mc18.Protocol {
		_ = c.WritePacket(mc18.AppendDisconnect(nil, mc18.LoginDisconnectID, `{"text":"rgload speaks 1.8 only"}`))
		return fmt.Errorf("login with protocol %d: %w", h.Protocol, mcconn.ErrUnexpectedPacket)
	}
	if s.cfg.Threshold >= 0 {
		if err := c.WritePacket(mc18.AppendSetCompression(nil, int32(s.cfg.Threshold))); err != nil {
			return err
		}
		c.SetThreshold(s.cfg.Threshold)
	}
	var pkt []byte
	pkt = mc18.AppendLoginSuccess(pkt, mc18.OfflineUUID(name), name)
	if err := c.WritePacket(pkt); err != nil {
		return err
	}
	s.logins.Add(1) // before Join Game, for the same reason as the echoes
	if err := c.WritePacket(mc18.AppendJoinGame(pkt[:0], s.nextEntity.Add(1))); err != nil {
		return err
	}
	_ = c.SetDeadline(time.Time{})

	var wmu sync.Mutex // the bulk or mix writer and the echo share the socket
	var w *walker
	switch {
	case strings.HasPrefix(name, BulkPrefix):
		go s.stream(c, &wmu)
	case strings.HasPrefix(name, PlayersPrefix):
		ents, err := s.spawnAround(c)
		if err != nil {
			return err
		}
		done := make(chan struct{})
		defer close(done)
		go s.mix(c, &wmu, ents, done)
		w = &walker{name: name}
	}
	c.ReleaseBuffers()
	return s.play(c, &wmu, w)
}

// stream writes the bulk batch until the connection fails; the reader in
// play closes the connection when the player leaves, which ends it.
func (s *Server) stream(c *mcconn.Conn, wmu *sync.Mutex) {
	for {
		wmu.Lock()
		_, err := c.Conn.Write(s.bulkBatch)
		wmu.Unlock()
		if err != nil {
			c.Close()
			return
		}
	}
}

// play reads serverbound packets until the player leaves, echoing
// keep-alives and echo-channel plugin messages at once and, for a moving
// player (w not nil), checking its movements.
func (s *Server) play(c *mcconn.Conn, wmu *sync.Mutex, w *walker) error {
	var out []byte
	for {
		id, data, err := c.ReadPacket()
		if err != nil {
			return fmt.Errorf("play: %w", err)
		}
		out = out[:0]
		switch id {
		case mc18.KeepAliveServerboundID:
			kid, err := mc18.ParseKeepAlive(data)
			if err != nil {
				return err
			}
			out = mc18.AppendKeepAlive(out, mc18.KeepAliveClientboundID, kid)
		case mc18.PluginMessageServerboundID:
			ch, payload, err := mc18.ParsePluginMessage(data)
			if err != nil {
				return err
			}
			if ch != EchoChannel {
				continue
			}
			out = mc18.AppendPluginMessage(out, mc18.PluginMessageClientboundID, ch, payload)
		case mc18.PlayerPositionLookID:
			if w == nil {
				continue
			}
			if err := s.move(w, data); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		// Counted before the reply is written: the player may read the
		// reply and look at Stats before this goroutine runs again.
		s.echoes.Add(1)
		wmu.Lock()
		err = c.WritePacket(out)
		wmu.Unlock()
		if err != nil {
			return err
		}
	}
}
