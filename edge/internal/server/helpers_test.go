package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/proxyproto"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// fakeBackend is a minimal Minecraft server, the original design's (docs/DESIGN.md) MockServer:
// it answers status, and for a login records what it received, optionally
// turns compression on, sends Login Success and hands the play connection
// to the test.
type fakeBackend struct {
	t           *testing.T
	ln          net.Listener
	threshold   int  // compression threshold to announce; −1 none
	expectProxy bool // a PROXY v2 header precedes the handshake
	// holdSuccess delays Login Success after Set Compression (a slow
	// backend), so a test can act while the backend has not answered.
	holdSuccess atomic.Int64 // nanoseconds
	statusCount atomic.Int32
	statusMu    sync.Mutex
	statusHosts []string // host:port of each status request, as received
	logins      chan *backendConn
	wg          sync.WaitGroup
	// beforeSuccess, when set, runs after Login Start and before Set
	// Compression and Login Success (a forwarding exchange); an error
	// ends the login there.
	beforeSuccess func(c net.Conn, fr *mcproto.FrameReader, bc *backendConn) error
}

// backendConn is one logged-in player as the backend sees it.
type backendConn struct {
	net.Conn
	host       string
	name       string
	loginStart []byte // Login Start's data after the id, as received
	protocol   int32
	proxy      proxyproto.Header
	fr         *mcproto.FrameReader
	raw        bytes.Buffer // every byte received after the handshake
}

func startBackend(t *testing.T, threshold int, expectProxy bool) *fakeBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{t: t, ln: ln, threshold: threshold, expectProxy: expectProxy, logins: make(chan *backendConn, 64)}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Add(1)
			go func() { defer b.wg.Done(); b.serve(c) }()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); b.wg.Wait() })
	return b
}

func (b *fakeBackend) addr() string { return b.ln.Addr().String() }

// recordingReader tees what the framer reads into the connection's record.
type recordingReader struct {
	c   net.Conn
	rec *bytes.Buffer
	mu  *sync.Mutex
}

func (r recordingReader) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	r.mu.Lock()
	r.rec.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (b *fakeBackend) serve(c net.Conn) {
	bc := &backendConn{Conn: c}
	var h proxyproto.Header
	var rest []byte
	if b.expectProxy {
		var err error
		h, rest, err = proxyproto.ReadConn(c, 2*time.Second)
		if err != nil && err != proxyproto.ErrLocal {
			_ = c.Close()
			return
		}
		bc.proxy = h
	}
	fr := mcproto.NewFrameReader(io.MultiReader(bytes.NewReader(rest), c), mcproto.MaxFrameLength)
	body, err := fr.Next()
	if err != nil {
		_ = c.Close()
		return
	}
	r := mcproto.NewReader(body)
	r.VarInt() // id
	bc.protocol = r.VarInt()
	bc.host = r.String(32767) // BungeeCord forwarding makes hosts long (Spigot reads Short.MAX_VALUE)
	port := r.Uint16()
	intent := r.VarInt()
	if intent == mcproto.IntentStatus {
		defer c.Close()
		b.statusCount.Add(1)
		b.statusMu.Lock()
		b.statusHosts = append(b.statusHosts, net.JoinHostPort(bc.host, strconv.Itoa(int(port))))
		b.statusMu.Unlock()
		if _, err := fr.Next(); err != nil {
			return
		}
		js := `{"version":{"name":"fake","protocol":` + strconv.Itoa(int(bc.protocol)) + `},"players":{"max":20,"online":3},"description":{"text":"fake backend"}}`
		_, _ = c.Write(mcproto.AppendFrame(nil, mcproto.AppendString([]byte{0x00}, js)))
		return
	}
	body, err = fr.Next()
	if err != nil {
		_ = c.Close()
		return
	}
	r = mcproto.NewReader(body)
	r.VarInt()
	bc.loginStart = append([]byte(nil), body[1:]...)
	bc.name = r.String(16)
	if b.beforeSuccess != nil {
		if err := b.beforeSuccess(c, fr, bc); err != nil {
			_ = c.Close()
			return
		}
	}
	var out []byte
	thr := mcproto.CompressionOff
	if b.threshold >= 0 {
		out = mcproto.AppendFrame(out, mcproto.AppendVarInt([]byte{0x03}, int32(b.threshold)))
		thr = b.threshold
	}
	var comp mcproto.Compressor
	success := []byte{0x02}
	if bc.protocol < 735 {
		success = mcproto.AppendString(success, "00000000-0000-0000-0000-000000000001")
	} else {
		success = append(success, make([]byte, 16)...)
	}
	success = mcproto.AppendString(success, bc.name)
	if bc.protocol >= 759 {
		success = mcproto.AppendVarInt(success, 0) // no properties
	}
	if bc.protocol >= 766 && bc.protocol <= 767 {
		success = append(success, 1) // strict error handling
	}
	if hold := time.Duration(b.holdSuccess.Load()); hold > 0 && len(out) > 0 {
		if _, err := c.Write(out); err != nil {
			_ = c.Close()
			return
		}
		out = out[:0]
		time.Sleep(hold)
	}
	out = comp.AppendFrame(out, success, thr)
	if _, err := c.Write(out); err != nil {
		_ = c.Close()
		return
	}
	var mu sync.Mutex
	bc.fr = mcproto.NewFrameReader(recordingReader{c: c, rec: &bc.raw, mu: &mu}, mcproto.MaxFrameLength)
	// Any bytes the handshake reader had buffered past Login Start belong
	// to the record too.
	bc.raw.Write(fr.Framer().Buffered())
	bc.fr.Framer().Load(fr.Framer().Buffered())
	b.logins <- bc
}

func (b *fakeBackend) nextLogin(t *testing.T) *backendConn {
	t.Helper()
	select {
	case bc := <-b.logins:
		t.Cleanup(func() { _ = bc.Close() })
		return bc
	case <-time.After(10 * time.Second):
		t.Fatal("backend saw no login")
		return nil
	}
}

// testConfig is the default configuration on loopback ports with short
// timeouts, pointed at backend.
func testConfig(backend string) config.Edge {
	cfg := config.DefaultEdge()
	cfg.Proxy.ListenAddress = "127.0.0.1:0"
	cfg.Admin.ListenAddress = "127.0.0.1:0"
	cfg.Proxy.ServerAddress = backend
	cfg.Proxy.HandshakeTimeout = config.Duration(2 * time.Second)
	cfg.Proxy.ShutdownTimeout = config.Duration(2 * time.Second)
	cfg.Proxy.DialTimeout = config.Duration(time.Second)
	cfg.Status.FetchTimeout = config.Duration(time.Second)
	// These tests assert the relay byte for byte; the detection engine
	// injects probes into the client stream, so its own tests turn it on.
	cfg.Detection.Enabled = false
	// Every test player comes from 127.0.0.1: the gate's per-address limits
	// would refuse most of them, so its own tests turn it back on.
	openGate(&cfg)
	return cfg
}

func startEdge(t *testing.T, cfg config.Edge) *Edge {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config invalid: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("RUSTGUARD_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	e, err := New(cfg, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	t.Cleanup(e.Shutdown)
	return e
}

// client is a hand-written Minecraft client: independent of the edge's own
// encoders, so a mistake there cannot cancel out in the tests.
type client struct {
	net.Conn
	fr        *mcproto.FrameReader
	threshold int
	inflater  mcproto.Inflater
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{Conn: c, fr: mcproto.NewFrameReader(c, mcproto.MaxFrameLength), threshold: -1}
}

func handshake(protocol int32, host string, port uint16, intent int32) []byte {
	b := []byte{0x00}
	b = mcproto.AppendVarInt(b, protocol)
	b = mcproto.AppendString(b, host)
	b = binary.BigEndian.AppendUint16(b, port)
	b = mcproto.AppendVarInt(b, intent)
	return mcproto.AppendFrame(nil, b)
}

func loginStart(protocol int32, name string) []byte {
	b := mcproto.AppendString([]byte{0x00}, name)
	switch {
	case protocol >= 764:
		b = append(b, make([]byte, 16)...)
	case protocol >= 761:
		b = append(b, 0) // no uuid
	case protocol >= 759:
		b = append(b, 0) // no signature
		if protocol == 760 {
			b = append(b, 0)
		}
	}
	return mcproto.AppendFrame(nil, b)
}

// packet reads the next frame and returns its id and data, decompressing
// when the client has compression on.
func (c *client) packet(t *testing.T) (int32, []byte) {
	t.Helper()
	body, err := c.fr.Next()
	if err != nil {
		t.Fatalf("read packet: %v", err)
	}
	return c.decode(t, body)
}

func (c *client) decode(t *testing.T, body []byte) (int32, []byte) {
	t.Helper()
	pkt := body
	if c.threshold >= 0 {
		dl, payload, err := mcproto.SplitCompressed(body, c.threshold, mcproto.MaxClientboundInflate, false)
		if err != nil {
			t.Fatalf("compressed frame: %v", err)
		}
		pkt = payload
		if dl > 0 {
			if pkt, err = c.inflater.Inflate(nil, payload, dl); err != nil {
				t.Fatal(err)
			}
		}
	}
	id, n, err := mcproto.ReadVarInt(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return id, append([]byte(nil), pkt[n:]...)
}

// login runs handshake + Login Start and reads up to Login Success.
func (c *client) login(t *testing.T, protocol int32, name string) {
	t.Helper()
	if _, err := c.Write(append(handshake(protocol, "localhost", 25565, 2), loginStart(protocol, name)...)); err != nil {
		t.Fatal(err)
	}
	for {
		id, data := c.packet(t)
		switch id {
		case 0x03:
			th, _, _ := mcproto.ReadVarInt(data)
			c.threshold = int(th)
		case 0x02:
			return
		case 0x00:
			t.Fatalf("disconnected during login: %s", data)
		default:
			t.Fatalf("unexpected login packet %#x", id)
		}
	}
}

// disconnectText reads until the edge closes and returns the text of the
// last packet (a login or play disconnect) it sent.
func (c *client) expectClosed(t *testing.T) []byte {
	t.Helper()
	var last []byte
	for {
		body, err := c.fr.Next()
		if err != nil {
			return last
		}
		_, last = c.decode(t, body)
	}
}

// openGate turns off the gate's per-address limits and attack mode.
func openGate(cfg *config.Edge) {
	g := &cfg.Gate
	g.ConnAddrRate, g.ConnPrefixRate, g.LoginAddrRate, g.LoginPrefixRate = 0, 0, 0, 0
	g.MaxLoginsInFlight, g.MaxAccountsPerAddr = 0, 0
	g.AttackMode = "off"
}
