package player

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/mc18"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// testTimeout bounds every exchange in these tests; they take milliseconds.
const testTimeout = 10 * time.Second

func startBackend(t *testing.T, threshold int) (*backend.Server, string) {
	t.Helper()
	srv, err := backend.New(backend.Config{Threshold: threshold, BulkPacket: backend.MinBulkPacket})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := srv.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if st := srv.Stats(); st.ProtocolErrors != 0 {
			t.Errorf("backend protocol errors: %d (%s)", st.ProtocolErrors, st.LastError)
		}
	})
	return srv, addr
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestLoginEchoAndStatus(t *testing.T) {
	for _, threshold := range []int{mcproto.CompressionOff, 0, backend.DefaultThreshold} {
		t.Run("threshold "+strconv.Itoa(threshold), func(t *testing.T) {
			srv, addr := startBackend(t, threshold)
			ctx := ctxT(t)
			s, err := Login(ctx, &net.Dialer{}, addr, "rtt00001")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Threshold() != threshold {
				t.Errorf("player threshold %d, backend %d", s.Threshold(), threshold)
			}
			for i, kind := range []EchoKind{EchoKeepAlive, EchoPlugin, EchoKeepAlive} {
				rtt, _, err := s.Echo(kind, int32(i+100), nil)
				if err != nil || rtt <= 0 {
					t.Fatalf("echo %v: %v, %v", kind, rtt, err)
				}
			}
			st, err := StatusPing(ctx, &net.Dialer{}, addr, 424242)
			if err != nil || st.JSON != backend.StatusJSON {
				t.Fatalf("status: %q, %v", st.JSON, err)
			}
			got := srv.Stats()
			if got.Logins != 1 || got.Echoes != 3 || got.StatusPings != 1 {
				t.Errorf("backend stats %+v", got)
			}
		})
	}
}

func TestReceiveBulkCountsVerifiedFrames(t *testing.T) {
	_, addr := startBackend(t, backend.DefaultThreshold)
	s, err := Login(ctxT(t), &net.Dialer{}, addr, backend.BulkPrefix+"1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := backend.BulkFrame(backend.DefaultThreshold, backend.MinBulkPacket)
	ctx, cancel := context.WithCancel(context.Background())
	var n, frames atomic.Int64
	add := func(k int) {
		frames.Add(1)
		if n.Add(int64(k)) >= 1<<20 {
			cancel() // enough: the stream must now end without an error
		}
	}
	if err := s.ReceiveBulk(ctx, want, add); err != nil {
		t.Fatal(err)
	}
	if n.Load() != frames.Load()*int64(len(want)) {
		t.Fatalf("%d bytes in %d frames of %d", n.Load(), frames.Load(), len(want))
	}
}

// fakeServer logs a player in by hand and then runs script, for answers the
// real backend never gives.
func fakeServer(t *testing.T, script func(c *mcconn.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		c := mcconn.New(nc, mcproto.Serverbound)
		_, _ = c.Expect(mc18.HandshakeID)
		script(c)
		_, _, _ = c.ReadPacket() // wait for the player to go
	}()
	return ln.Addr().String()
}

func loginReply(c *mcconn.Conn, name string) {
	_, _ = c.Expect(mc18.LoginStartID)
	_ = c.WritePacket(mc18.AppendLoginSuccess(nil, mc18.OfflineUUID(name), name))
	_ = c.WritePacket(mc18.AppendJoinGame(nil, 1))
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name   string
		script func(c *mcconn.Conn)
		act    func(ctx context.Context, addr string) error
		want   error
	}{
		{"login kicked", func(c *mcconn.Conn) {
			_, _ = c.Expect(mc18.LoginStartID)
			_ = c.WritePacket(mc18.AppendDisconnect(nil, mc18.LoginDisconnectID, `{"text":"full"}`))
		}, func(ctx context.Context, addr string) error {
			_, err := Login(ctx, &net.Dialer{}, addr, "idle1")
			return err
		}, ErrKicked},
		{"login success for another name", func(c *mcconn.Conn) {
			loginReply(c, "someoneelse")
		}, func(ctx context.Context, addr string) error {
			_, err := Login(ctx, &net.Dialer{}, addr, "idle1")
			return err
		}, ErrMismatch},
		{"wrong pong", func(c *mcconn.Conn) {
			_, _ = c.Expect(mc18.StatusRequestID)
			_ = c.WritePacket(mc18.AppendStatusResponse(nil, backend.StatusJSON))
			_, _ = c.Expect(mc18.StatusPingID)
			_ = c.WritePacket(mc18.AppendPing(nil, mc18.StatusPongID, 1))
		}, func(ctx context.Context, addr string) error {
			_, err := StatusPing(ctx, &net.Dialer{}, addr, 2)
			return err
		}, ErrMismatch},
		{"status without version", func(c *mcconn.Conn) {
			_, _ = c.Expect(mc18.StatusRequestID)
			_ = c.WritePacket(mc18.AppendStatusResponse(nil, `{"description":"x"}`))
		}, func(ctx context.Context, addr string) error {
			_, err := StatusPing(ctx, &net.Dialer{}, addr, 2)
			return err
		}, ErrMismatch},
		{"corrupted bulk frame", func(c *mcconn.Conn) {
			loginReply(c, "bulk1")
			f := backend.BulkFrame(mcproto.CompressionOff, backend.MinBulkPacket)
			f[len(f)-1] ^= 0xff // one biome byte off
			_, _ = c.Write(f)
		}, func(ctx context.Context, addr string) error {
			s, err := Login(ctx, &net.Dialer{}, addr, "bulk1")
			if err != nil {
				return err
			}
			defer s.Close()
			return s.ReceiveBulk(ctx, backend.BulkFrame(mcproto.CompressionOff, backend.MinBulkPacket), func(int) {})
		}, ErrMismatch},
		{"kicked during echo", func(c *mcconn.Conn) {
			loginReply(c, "rtt1")
			_, _, _ = c.ReadPacket()
			_ = c.WritePacket(mc18.AppendDisconnect(nil, mc18.PlayDisconnectID, `{"text":"bad packet"}`))
		}, func(ctx context.Context, addr string) error {
			s, err := Login(ctx, &net.Dialer{}, addr, "rtt1")
			if err != nil {
				return err
			}
			defer s.Close()
			_, _, err = s.Echo(EchoKeepAlive, 7, nil)
			return err
		}, ErrKicked},
		{"wrong plugin echo", func(c *mcconn.Conn) {
			loginReply(c, "rtt1")
			_, _, _ = c.ReadPacket()
			_ = c.WritePacket(mc18.AppendPluginMessage(nil, mc18.PluginMessageClientboundID, backend.EchoChannel, []byte{0, 0, 0, 0, 0, 0, 0, 9}))
		}, func(ctx context.Context, addr string) error {
			s, err := Login(ctx, &net.Dialer{}, addr, "rtt1")
			if err != nil {
				return err
			}
			defer s.Close()
			_, _, err = s.Echo(EchoPlugin, 7, nil)
			return err
		}, ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, tt.script)
			if err := tt.act(ctxT(t), addr); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// A proxy may send keep-alives of its own; the player answers each once,
// like a vanilla client, and still gets its echo.
func TestEchoAnswersInjectedKeepAlive(t *testing.T) {
	answered := make(chan int32, 1)
	addr := fakeServer(t, func(c *mcconn.Conn) {
		loginReply(c, "rtt1")
		_, data, _ := c.ReadPacket() // the player's echo request
		seq, _ := mc18.ParseKeepAlive(data)
		_ = c.WritePacket(mc18.AppendKeepAlive(nil, mc18.KeepAliveClientboundID, 999))
		_, data, _ = c.ReadPacket()
		got, _ := mc18.ParseKeepAlive(data)
		answered <- got
		_ = c.WritePacket(mc18.AppendKeepAlive(nil, mc18.KeepAliveClientboundID, seq))
	})
	s, err := Login(ctxT(t), &net.Dialer{}, addr, "rtt1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Echo(EchoKeepAlive, 5, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-answered; got != 999 {
		t.Fatalf("answered keep-alive %d, want 999", got)
	}
}

func TestParseEchoKind(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want EchoKind
		ok   bool
	}{{"keepalive", EchoKeepAlive, true}, {"plugin", EchoPlugin, true}, {"chat", 0, false}} {
		got, err := ParseEchoKind(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseEchoKind(%q) = %v, %v", tt.in, got, err)
		}
	}
}
