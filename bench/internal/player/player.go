// Package player is the synthetic Minecraft 1.8 client of the load tool:
// it logs in, pings, drains bulk streams and measures echo round trips
// through whatever sits between it and the synthetic backend.
//
// Against an online-mode server (LoginOnline) a player does what a vanilla
// client does: it answers Encryption Request, joins the session server
// through a Joiner and encrypts the connection from then on.
//
// Every step checks what comes back (names, UUIDs, echoed payloads, bulk
// frames byte for byte), so a proxy that loses or corrupts traffic makes a
// workload fail instead of looking fast.
package player

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/mc18"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

// Sentinel errors the workloads report.
var (
	// ErrKicked means the server (or the proxy) sent a Disconnect.
	ErrKicked = errors.New("player: disconnected by server")
	// ErrMismatch means an answer did not match the request: a wrong
	// name, UUID, pong or echo, or a corrupted bulk frame.
	ErrMismatch = errors.New("player: answer does not match")
)

// VirtualHost is the server address players put in the handshake.
const VirtualHost = "localhost"

// Session is a logged-in player in the play state.
type Session struct {
	*mcconn.Conn
	Name string
	// lastAnswered is the last keep-alive id we answered on the server's
	// behalf; an answer that comes back echoed is not answered twice.
	lastAnswered int32
}

// dial opens a TCP connection with the context's deadline.
func dial(ctx context.Context, d *net.Dialer, addr string) (net.Conn, uint16, error) {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("target address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("target port %q: %w", portStr, err)
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, fmt.Errorf("dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	return nc, uint16(port), nil
}

// Joiner is the client's call to the session server in online mode: it
// tells it that the account called name joins the server whose id hash
// (mcproto.ServerIDHash) is serverID.
type Joiner interface {
	Join(ctx context.Context, name, serverID string) error
}

// Login connects to addr and logs name in with protocol 47, following Set
// Compression when the server sends it, up to Join Game. ctx bounds the
// whole login; the returned session has no deadline set. A server that
// asks for encryption fails the login: that needs LoginOnline.
func Login(ctx context.Context, d *net.Dialer, addr, name string) (*Session, error) {
	return LoginOnline(ctx, d, addr, name, nil)
}

// LoginOnline is Login against a server that may be in online mode: an
// Encryption Request is answered as a vanilla client does, joining the
// session server through j first. With a nil j it is Login.
func LoginOnline(ctx context.Context, d *net.Dialer, addr, name string, j Joiner) (*Session, error) {
	nc, port, err := dial(ctx, d, addr)
	if err != nil {
		return nil, err
	}
	s, err := login(ctx, nc, port, name, j)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("login %s via %s: %w", name, addr, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return s, nil
}

func login(ctx context.Context, nc net.Conn, port uint16, name string, j Joiner) (*Session, error) {
	c := mcconn.New(nc, mcproto.Clientbound)
	var b []byte
	b = mc18.AppendHandshake(b, mc18.Protocol, VirtualHost, port, mcproto.IntentLogin)
	if err := c.WritePacket(b); err != nil {
		return nil, err
	}
	if err := c.WritePacket(mc18.AppendLoginStart(b[:0], name)); err != nil {
		return nil, err
	}
	s := &Session{Conn: c, Name: name, lastAnswered: -1}
	for loggedIn := false; ; {
		id, data, err := c.ReadPacket()
		if err != nil {
			return nil, fmt.Errorf("read login reply: %w", err)
		}
		switch {
		case !loggedIn && id == mc18.SetCompressionID:
			t, err := mc18.ParseSetCompression(data)
			if err != nil {
				return nil, err
			}
			c.SetThreshold(int(t))
		case !loggedIn && id == mc18.LoginSuccessID:
			uuid, got, err := mc18.ParseLoginSuccess(data)
			if err != nil {
				return nil, err
			}
			if got != name || uuid != mc18.OfflineUUID(name).String() {
				return nil, fmt.Errorf("login success for %q %s: %w", got, uuid, ErrMismatch)
			}
			loggedIn = true
		case !loggedIn && id == mc18.EncryptionRequestID && !c.Encrypted():
			if j == nil {
				return nil, fmt.Errorf("the server asks for encryption (online mode) and the player has no account: %w", mcconn.ErrUnexpectedPacket)
			}
			if err := answerEncryption(ctx, c, data, name, j); err != nil {
				return nil, err
			}
		case !loggedIn && id == mc18.LoginDisconnectID:
			reason, _ := mc18.ParseDisconnect(data)
			return nil, fmt.Errorf("%s: %w", reason, ErrKicked)
		case loggedIn && id == mc18.JoinGameID:
			return s, nil
		case loggedIn:
			if err := s.handleOther(id, data); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("login packet %#x: %w", id, mcconn.ErrUnexpectedPacket)
		}
	}
}

// answerEncryption is the client's half of the online-mode exchange
// (docs/PROTOCOL.md, "Online mode"): pick a 16-byte secret, join the
// session server with the server id hash, send the secret and the verify
// token encrypted with the server's key (RSA PKCS#1 v1.5), and encrypt the
// connection from the next byte on.
func answerEncryption(ctx context.Context, c *mcconn.Conn, data []byte, name string, j Joiner) error {
	req, err := mc18.ParseEncryptionRequest(data)
	if err != nil {
		return err
	}
	k, err := x509.ParsePKIXPublicKey(req.PublicKey)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("server key is a %T, not RSA: %w", k, ErrMismatch)
	}
	secret := make([]byte, cfb8.KeySize)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("shared secret: %w", err)
	}
	if err := j.Join(ctx, name, mcproto.ServerIDHash(req.ServerID, secret, req.PublicKey)); err != nil {
		return fmt.Errorf("session server: %w", err)
	}
	encSecret, err := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
	if err != nil {
		return fmt.Errorf("encrypt shared secret: %w", err)
	}
	encToken, err := rsa.EncryptPKCS1v15(rand.Reader, pub, req.VerifyToken)
	if err != nil {
		return fmt.Errorf("encrypt verify token: %w", err)
	}
	if err := c.WritePacket(mc18.AppendEncryptionResponse(nil, encSecret, encToken)); err != nil {
		return err
	}
	return c.EnableEncryption(secret)
}

// handleOther deals with play packets a workload did not ask for: a
// keep-alive a proxy sends on its own is answered as a vanilla client
// would, a disconnect ends the session, anything else is ignored.
func (s *Session) handleOther(id int32, data []byte) error {
	switch id {
	case mc18.KeepAliveClientboundID:
		kid, err := mc18.ParseKeepAlive(data)
		if err != nil {
			return err
		}
		if kid == s.lastAnswered {
			return nil
		}
		s.lastAnswered = kid
		return s.WritePacket(mc18.AppendKeepAlive(nil, mc18.KeepAliveServerboundID, kid))
	case mc18.PlayDisconnectID:
		reason, _ := mc18.ParseDisconnect(data)
		return fmt.Errorf("%s: %w", reason, ErrKicked)
	}
	return nil
}

// Status is one status exchange's result.
type Status struct {
	JSON string
	RTT  time.Duration // ping → pong
}

// statusReply is the part of the status JSON a ping checks.
type statusReply struct {
	Version struct {
		Protocol int32 `json:"protocol"`
	} `json:"version"`
}

// StatusPing does what a server-list refresh does: handshake with intent 1,
// status request, status response, ping, pong, close.
func StatusPing(ctx context.Context, d *net.Dialer, addr string, payload int64) (Status, error) {
	nc, port, err := dial(ctx, d, addr)
	if err != nil {
		return Status{}, err
	}
	defer nc.Close()
	st, err := statusPing(nc, port, payload)
	if err != nil {
		return Status{}, fmt.Errorf("status ping via %s: %w", addr, err)
	}
	return st, nil
}

func statusPing(nc net.Conn, port uint16, payload int64) (Status, error) {
	c := mcconn.New(nc, mcproto.Clientbound)
	var b []byte
	b = mc18.AppendHandshake(b, mc18.Protocol, VirtualHost, port, mcproto.IntentStatus)
	// Handshake and request leave together, as a client's do.
	b = mcproto.AppendFrame(nil, b)
	b = mcproto.AppendFrame(b, mc18.AppendStatusRequest(nil))
	if _, err := nc.Write(b); err != nil {
		return Status{}, fmt.Errorf("write status request: %w", err)
	}
	data, err := c.Expect(mc18.StatusResponseID)
	if err != nil {
		return Status{}, fmt.Errorf("status response: %w", err)
	}
	js, err := mc18.ParseStatusResponse(data)
	if err != nil {
		return Status{}, err
	}
	var reply statusReply
	if err := json.Unmarshal([]byte(js), &reply); err != nil {
		return Status{}, fmt.Errorf("status json: %w: %w", ErrMismatch, err)
	}
	if reply.Version.Protocol <= 0 {
		return Status{}, fmt.Errorf("status json without version.protocol: %w", ErrMismatch)
	}
	start := time.Now()
	if err := c.WritePacket(mc18.AppendPing(nil, mc18.StatusPingID, payload)); err != nil {
		return Status{}, err
	}
	data, err = c.Expect(mc18.StatusPongID)
	if err != nil {
		return Status{}, fmt.Errorf("pong: %w", err)
	}
	got, err := mc18.ParsePing(data)
	if err != nil {
		return Status{}, err
	}
	if got != payload {
		return Status{}, fmt.Errorf("pong %d for ping %d: %w", got, payload, ErrMismatch)
	}
	return Status{JSON: js, RTT: time.Since(start)}, nil
}

// ReceiveBulk reads the bulk stream until ctx ends, checking every frame
// against want (the backend's frame, byte for byte) and adding each frame's
// wire size to *received as it arrives. It returns nil when ctx ended the
// stream and an error if the stream broke or carried something else.
func (s *Session) ReceiveBulk(ctx context.Context, want []byte, add func(n int)) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for {
		raw, body, err := s.NextFrame()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("bulk stream of %s: %w", s.Name, err)
		}
		if bytes.Equal(raw, want) {
			add(len(raw))
			continue
		}
		// Not a bulk frame: a keep-alive or kick a proxy slipped in.
		id, data, err := s.Decode(body)
		if err != nil {
			return fmt.Errorf("bulk stream of %s: %w", s.Name, err)
		}
		if id == mc18.ChunkDataID {
			return fmt.Errorf("bulk frame of %d bytes differs from the backend's %d: %w", len(raw), len(want), ErrMismatch)
		}
		if err := s.handleOther(id, data); err != nil {
			return fmt.Errorf("bulk stream of %s: %w", s.Name, err)
		}
		add(len(raw))
	}
}

// EchoKind picks the packet the latency workload bounces off the backend.
type EchoKind int

const (
	// EchoKeepAlive sends serverbound Keep Alive (0x00, VarInt id); the
	// backend answers with a clientbound Keep Alive of the same id.
	EchoKeepAlive EchoKind = iota
	// EchoPlugin sends a Plugin Message on backend.EchoChannel with an
	// 8-byte sequence number; the backend sends it back.
	EchoPlugin
)

// ParseEchoKind maps a flag value to an EchoKind.
func ParseEchoKind(s string) (EchoKind, error) {
	switch s {
	case "keepalive":
		return EchoKeepAlive, nil
	case "plugin":
		return EchoPlugin, nil
	}
	return 0, fmt.Errorf("echo packet %q: want keepalive or plugin", s)
}

func (k EchoKind) String() string {
	if k == EchoPlugin {
		return "plugin"
	}
	return "keepalive"
}

// echoTimeout bounds one round trip: far beyond any latency worth
// measuring, short enough that a lost echo fails the run quickly.
const echoTimeout = 10 * time.Second

// Echo sends one echo packet with sequence number seq and waits for it to
// come back, answering anything a proxy slips in. It returns the round
// trip time.
func (s *Session) Echo(kind EchoKind, seq int32, buf []byte) (time.Duration, []byte, error) {
	buf = buf[:0]
	if kind == EchoPlugin {
		var p [8]byte
		binary.BigEndian.PutUint64(p[:], uint64(seq))
		buf = mc18.AppendPluginMessage(buf, mc18.PluginMessageServerboundID, backend.EchoChannel, p[:])
	} else {
		buf = mc18.AppendKeepAlive(buf, mc18.KeepAliveServerboundID, seq)
	}
	start := time.Now()
	_ = s.SetReadDeadline(start.Add(echoTimeout))
	if err := s.WritePacket(buf); err != nil {
		return 0, buf, err
	}
	for {
		id, data, err := s.ReadPacket()
		if err != nil {
			return 0, buf, fmt.Errorf("echo %d of %s: %w", seq, s.Name, err)
		}
		switch {
		case kind == EchoKeepAlive && id == mc18.KeepAliveClientboundID:
			got, err := mc18.ParseKeepAlive(data)
			if err != nil {
				return 0, buf, err
			}
			if got == seq {
				return time.Since(start), buf, nil
			}
		case kind == EchoPlugin && id == mc18.PluginMessageClientboundID:
			ch, p, err := mc18.ParsePluginMessage(data)
			if err != nil {
				return 0, buf, err
			}
			if ch != backend.EchoChannel || len(p) != 8 || int32(binary.BigEndian.Uint64(p)) != seq {
				return 0, buf, fmt.Errorf("echo %d of %s came back as %q %x: %w", seq, s.Name, ch, p, ErrMismatch)
			}
			return time.Since(start), buf, nil
		}
		if err := s.handleOther(id, data); err != nil {
			return 0, buf, fmt.Errorf("echo %d of %s: %w", seq, s.Name, err)
		}
	}
}
