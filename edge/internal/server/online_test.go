package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/edge/internal/auth/authtest"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/testservers"
)

const onlineSecret = "a-forwarding-secret-for-tests"

// onlineConfig is testConfig with every host in online mode against the
// session-server double, with forwarding fwd.
func onlineConfig(backend string, ss *testservers.SessionServer, fwd string) config.Edge {
	cfg := testConfig(backend)
	cfg.Auth.Mode, cfg.Auth.SessionServer, cfg.Auth.Forwarding = config.AuthOnline, ss.URL(), fwd
	if fwd == config.ForwardVelocity || fwd == config.ForwardBungeeGuard {
		cfg.Auth.ForwardingSecret = onlineSecret
	}
	return cfg
}

// velocityInfo is what a Velocity-enforcing backend read from the edge.
type velocityInfo struct {
	version int32
	addr    string
	id      mcproto.UUID
	name    string
	props   []packets.Property
	// versions 2 and 3: the 1.19 profile key; 3: the account it is for
	keyExpiry    int64
	key, keySig  []byte
	keyHolder    mcproto.UUID
	keyHasHolder bool
}

// velocityBackend makes b enforce Velocity modern forwarding as a Paper
// backend does: ask on velocity:player_info for version want, check the
// HMAC with secret (refusing the login with a Disconnect when it does not
// match), and decode the player data with a decoder of the test's own.
func velocityBackend(b *fakeBackend, secret string, want byte, got chan<- velocityInfo) {
	b.beforeSuccess = func(c net.Conn, fr *mcproto.FrameReader, bc *backendConn) error {
		req := mcproto.AppendString(mcproto.AppendVarInt([]byte{0x04}, 9), "velocity:player_info")
		if _, err := c.Write(mcproto.AppendFrame(nil, append(req, want))); err != nil {
			return err
		}
		body, err := fr.Next()
		if err != nil {
			return err
		}
		r := mcproto.NewReader(body)
		if id := r.VarInt(); id != 0x02 {
			return fmt.Errorf("answer id %#x", id)
		}
		if mid := r.VarInt(); mid != 9 || !r.Bool() {
			return errors.New("not a successful answer to message 9")
		}
		data := r.Rest()
		if len(data) < sha256.Size {
			return errors.New("short answer")
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(data[sha256.Size:])
		if !hmac.Equal(mac.Sum(nil), data[:sha256.Size]) {
			refuse := mcproto.AppendString([]byte{0x00}, `{"text":"Unable to verify player details"}`)
			_, _ = c.Write(mcproto.AppendFrame(nil, refuse))
			return errors.New("bad HMAC")
		}
		p := mcproto.NewReader(data[sha256.Size:])
		var v velocityInfo
		v.version, v.addr = p.VarInt(), p.String(64)
		v.id, v.name = p.UUID(), p.String(16)
		for n := p.VarInt(); n > 0 && p.Err() == nil; n-- {
			pr := packets.Property{Name: p.String(32767), Value: p.String(32767)}
			if pr.HasSignature = p.Bool(); pr.HasSignature {
				pr.Signature = p.String(32767)
			}
			v.props = append(v.props, pr)
		}
		if v.version == 2 || v.version == 3 {
			v.keyExpiry, v.key, v.keySig = p.Int64(), p.ByteArray(512), p.ByteArray(4096)
			if v.version == 3 {
				if v.keyHasHolder = p.Bool(); v.keyHasHolder {
					v.keyHolder = p.UUID()
				}
			}
		}
		if err := p.Finish(); err != nil {
			return fmt.Errorf("player data: %w", err)
		}
		got <- v
		return nil
	}
}

// onlineLogin logs account a in through the edge at addr.
func onlineLogin(t *testing.T, addr string, protocol int32, ss *testservers.SessionServer, a *testservers.SessionAccount) (*authtest.Client, packets.LoginSuccess) {
	t.Helper()
	c, err := authtest.Dial(addr, protocol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ls, err := c.Login(ctx, "localhost", ss.URL(), a, true)
	if err != nil {
		t.Fatalf("online login: %v", err)
	}
	return c, ls
}

// onlinePlay takes an online client and its backend leg from Login
// Success to play (configuration first on 1.20.2+; the client already
// acknowledged the login).
func onlinePlay(t *testing.T, c *authtest.Client, bc *backendConn, protocol int32) {
	t.Helper()
	if protocol < mcproto.Protocol1_20_2 {
		return
	}
	table := packets.Lookup(protocol)
	if _, err := bc.fr.Next(); err != nil { // Login Acknowledged
		t.Fatal(err)
	}
	finish := table.ID(mcproto.StateConfiguration, mcproto.Clientbound, packets.KindFinishConfiguration)
	var comp mcproto.Compressor
	bc.Write(comp.AppendFrame(nil, mcproto.AppendVarInt(nil, finish), 256))
	if id, _, err := c.ReadPacket(); err != nil || id != finish {
		t.Fatalf("client got %#x (%v), want finish configuration", id, err)
	}
	if err := c.WritePacket(mcproto.AppendVarInt(nil, table.ID(mcproto.StateConfiguration, mcproto.Serverbound, packets.KindFinishConfiguration))); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.fr.Next(); err != nil {
		t.Fatal(err)
	}
}

// exchangeEncrypted checks the relay both ways in play: the client's
// packet reaches the backend byte for byte, decrypted; the backend's
// reaches the client encrypted (the client decrypts it).
func exchangeEncrypted(t *testing.T, c *authtest.Client, bc *backendConn, protocol int32) {
	t.Helper()
	table := packets.Lookup(protocol)
	look := packets.PlayerLook{Yaw: 12, Pitch: 34}.AppendData(mcproto.AppendVarInt(nil, table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerLook)), protocol)
	var comp mcproto.Compressor
	bc.raw.Reset()
	if err := c.WritePacket(look); err != nil {
		t.Fatal(err)
	}
	_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bc.fr.Next(); err != nil {
		t.Fatal(err)
	}
	if want := comp.AppendFrame(nil, look, 256); !bytes.Equal(bc.raw.Bytes(), want) {
		t.Fatalf("backend got %x, want the client's frame %x", bc.raw.Bytes(), want)
	}
	// A large clientbound packet (compressed on the wire) and a small one.
	chat := table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindPluginMessage)
	big := append(mcproto.AppendString(mcproto.AppendVarInt(nil, chat), "rustguard:test"), bytes.Repeat([]byte("relay "), 2000)...)
	bc.Write(comp.AppendFrame(nil, big, 256))
	id, data, err := c.ReadPacket()
	if err != nil || id != chat || !bytes.Equal(data, big[len(mcproto.AppendVarInt(nil, chat)):]) {
		t.Fatalf("client read %#x (%d bytes, %v), want the backend's packet", id, len(data), err)
	}
}

// TestOnlineModeVelocity: the edge authenticates the player against the
// session server, owns the client leg's encryption, and answers the
// backend's velocity:player_info with the account, signed; the backend
// logs the account in and play is relayed through the cipher.
func TestOnlineModeVelocity(t *testing.T) {
	for _, tc := range []struct {
		protocol int32
		version  int32 // what the edge answers a backend asking for 4
	}{{769, 4}, {765, 4}, {759, 1}, {393, 1}} {
		t.Run(fmt.Sprint(tc.protocol), func(t *testing.T) {
			ss := testservers.StartSessionServer(t)
			alice := ss.AddAccount(t, "Alice_Online")
			b := startBackend(t, 256, false)
			got := make(chan velocityInfo, 1)
			velocityBackend(b, onlineSecret, 4, got)
			e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardVelocity))

			// The client claims its name in another case and no UUID of
			// its own: the backend must get the account's.
			c, err := authtest.Dial(e.Addr().String(), tc.protocol)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Claim = &packets.LoginStart{Name: "alice_online"}
			success, err := c.Login(context.Background(), "localhost", ss.URL(), alice, true)
			if err != nil {
				t.Fatal(err)
			}
			bc := b.nextLogin(t)
			v := <-got
			if v.version != tc.version || v.addr != "127.0.0.1" || v.id != mcproto.UUID(alice.ID) || v.name != "Alice_Online" {
				t.Fatalf("forwarded %+v", v)
			}
			if len(v.props) != 1 || v.props[0].Name != "textures" || !v.props[0].HasSignature || v.props[0].Signature != alice.Properties[0].Signature {
				t.Fatalf("forwarded properties %+v, want the signed textures", v.props)
			}
			if bc.host != "localhost" || bc.name != "Alice_Online" {
				t.Fatalf("backend handshake host %q, login name %q", bc.host, bc.name)
			}
			if tc.protocol >= mcproto.Protocol1_19_1 {
				ls, err := packets.DecodeLoginStart(bc.loginStart, tc.protocol)
				if err != nil || !ls.HasUUID || ls.UUID != mcproto.UUID(alice.ID) {
					t.Fatalf("backend's Login Start %+v (%v): want the account's UUID", ls, err)
				}
			}
			if success.Username != "Alice_Online" {
				t.Fatalf("client's Login Success %+v", success)
			}
			onlinePlay(t, c, bc, tc.protocol)
			exchangeEncrypted(t, c, bc, tc.protocol)
			if n := ss.HasJoinedCalls(); n != 1 {
				t.Fatalf("%d hasJoined calls, want 1", n)
			}
		})
	}
}

// TestOnlineModeVelocityWrongSecret: a backend with another secret refuses
// the forwarded player, and the player sees the backend's reason.
func TestOnlineModeVelocityWrongSecret(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	b := startBackend(t, 256, false)
	velocityBackend(b, "not-the-edge-secret", 1, make(chan velocityInfo, 1))
	e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardVelocity))
	c, err := authtest.Dial(e.Addr().String(), 769)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Login(context.Background(), "localhost", ss.URL(), alice, true)
	var le *authtest.LoginError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "Unable to verify player details") {
		t.Fatalf("login: %v, want the backend's refusal", err)
	}
}

// TestOnlineModeVelocityBackendNotAsking: a backend that never asks for
// Velocity forwarding would take the player by an unverified name; the
// edge refuses it (as Velocity does) and tells the player the server is
// unavailable.
func TestOnlineModeVelocityBackendNotAsking(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	b := startBackend(t, 256, false)
	e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardVelocity))
	c, err := authtest.Dial(e.Addr().String(), 769)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Login(context.Background(), "localhost", ss.URL(), alice, true)
	var le *authtest.LoginError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "not reachable") {
		t.Fatalf("login: %v, want the backend-unavailable message", err)
	}
	waitFor(t, func() bool { return rejected(e, reason.BackendUnavailable) == 1 })
}

// TestOnlineModeVelocityNeeds113: Velocity forwarding rides on login
// plugin messages, so a 1.12.2 client is told to update before anything
// else happens.
func TestOnlineModeVelocityNeeds113(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	b := startBackend(t, 256, false)
	e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardVelocity))
	c, err := authtest.Dial(e.Addr().String(), 340)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Login(context.Background(), "localhost", ss.URL(), alice, true)
	var le *authtest.LoginError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "1.13 or newer") {
		t.Fatalf("login: %v, want the 1.13 message", err)
	}
	if ss.HasJoinedCalls() != 0 || ss.JoinCalls() != 0 {
		t.Fatal("a client that cannot be forwarded reached the session server")
	}
}

// TestOnlineModeBungee: BungeeCord forwarding puts the address, the
// account's UUID and its signed properties in the handshake host, and
// BungeeGuard adds exactly one token; 1.8 clients work (no plugin
// messages needed).
func TestOnlineModeBungee(t *testing.T) {
	for _, fwd := range []string{config.ForwardBungeeCord, config.ForwardBungeeGuard} {
		for _, protocol := range []int32{47, 769} {
			t.Run(fmt.Sprintf("%s/%d", fwd, protocol), func(t *testing.T) {
				ss := testservers.StartSessionServer(t)
				alice := ss.AddAccount(t, "Alice")
				b := startBackend(t, 256, false)
				e := startEdge(t, onlineConfig(b.addr(), ss, fwd))
				c, _ := onlineLogin(t, e.Addr().String(), protocol, ss, alice)
				bc := b.nextLogin(t)
				parts := strings.Split(bc.host, "\x00")
				if len(parts) != 4 || parts[0] != "localhost" || parts[1] != "127.0.0.1" || parts[2] != hex.EncodeToString(alice.ID[:]) {
					t.Fatalf("backend handshake host %q", bc.host)
				}
				var props []map[string]string
				if err := json.Unmarshal([]byte(parts[3]), &props); err != nil {
					t.Fatal(err)
				}
				var tokens []string
				for _, p := range props {
					if p["name"] == "bungeeguard-token" {
						tokens = append(tokens, p["value"])
					}
				}
				if props[0]["name"] != "textures" || props[0]["signature"] != alice.Properties[0].Signature {
					t.Fatalf("properties %v: want the signed textures", props)
				}
				switch {
				case fwd == config.ForwardBungeeGuard && (len(tokens) != 1 || tokens[0] != onlineSecret):
					t.Fatalf("bungeeguard tokens %q", tokens)
				case fwd == config.ForwardBungeeCord && len(tokens) != 0:
					t.Fatalf("bungeecord forwarded a token %q", tokens)
				}
				onlinePlay(t, c, bc, protocol)
				exchangeEncrypted(t, c, bc, protocol)
			})
		}
	}
}

// TestOnlineModeWorldReplica: behind an online-mode edge (the client leg
// encrypted by the edge) the replica is fed as for any player: the
// recorded flying-squid world reaches the client and the edge holds it.
func TestOnlineModeWorldReplica(t *testing.T) {
	for _, tc := range []struct {
		version  string
		protocol int32
	}{{"1.8.8", 47}, {"1.21.4", 769}} {
		t.Run(tc.version, func(t *testing.T) {
			rec := loadSquid(t, tc.version)
			ss := testservers.StartSessionServer(t)
			alice := ss.AddAccount(t, "Alice")
			b := startBackend(t, 256, false)
			e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardBungeeCord))
			c, _ := onlineLogin(t, e.Addr().String(), tc.protocol, ss, alice)
			bc := b.nextLogin(t)
			dim := squidPlayWith(t, playPeer{
				read: func() int32 {
					id, _, err := c.ReadPacket()
					if err != nil {
						t.Fatal(err)
					}
					return id
				},
				write: func(id int32) {
					if err := c.WritePacket(mcproto.AppendVarInt(nil, id)); err != nil {
						t.Fatal(err)
					}
				},
				loggedIn: true, // authtest's Login sends Login Acknowledged
			}, bc, tc.protocol, rec, 256)
			checked := 0
			for _, s := range rec.Samples {
				if got, ok := e.world.Block(dim, s[0], s[1], s[2]); ok {
					checked++
					if int32(got) != s[3] {
						t.Errorf("%d,%d,%d: the replica holds %d, flying-squid %d", s[0], s[1], s[2], got, s[3])
					}
				}
			}
			if checked < len(rec.Samples)/2 {
				t.Fatalf("only %d of %d samples in the replica", checked, len(rec.Samples))
			}
		})
	}
}

// TestOnlineModeNoForwarding: forwarding none tells the backend the
// address only (PROXY v2) and the account's name in Login Start; the
// client's own host parts never reach it.
func TestOnlineModeNoForwarding(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	b := startBackend(t, 256, true)
	cfg := onlineConfig(b.addr(), ss, config.ForwardNone)
	cfg.Proxy.SendProxyProtocol = true
	e := startEdge(t, cfg)
	c, err := authtest.Dial(e.Addr().String(), 769)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A client that types BungeeCord forwarding parts itself.
	forged := "localhost\x00203.0.113.9\x0000000000000000000000000000000001"
	if _, err := c.Login(context.Background(), forged, ss.URL(), alice, true); err != nil {
		t.Fatal(err)
	}
	bc := b.nextLogin(t)
	if bc.host != "localhost" || bc.name != "Alice" || bc.proxy.Source.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("backend saw host %q, name %q, PROXY source %v", bc.host, bc.name, bc.proxy.Source)
	}
}

// TestOnlineModeRefusals: what a broken, cracked or hostile client gets,
// and a session server that is down or slow: each refused with vanilla's
// message where the client can still read one, none reaching the backend.
func TestOnlineModeRefusals(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	b := startBackend(t, 256, false)
	cfg := onlineConfig(b.addr(), ss, config.ForwardBungeeCord)
	// Bounds the slow session server. Not shorter: every other case here
	// must finish its login (an RSA decryption, a session server round
	// trip, under -race on a loaded machine) well within it, or the edge
	// rightly counts a handshake timeout instead of the refusal under test.
	cfg.Proxy.LoginTimeout = config.Duration(5 * time.Second)
	e := startEdge(t, cfg)
	addr := e.Addr().String()

	// start logs in up to the Encryption Request and returns it.
	start := func(t *testing.T) (*authtest.Client, packets.EncryptionRequest) {
		c, err := authtest.Dial(addr, 769)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.Conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.Start("localhost", packets.LoginStart{Name: "Alice", HasUUID: true, UUID: alice.ID}); err != nil {
			t.Fatal(err)
		}
		id, data, err := c.ReadPacket()
		if err != nil || id != 0x01 {
			t.Fatalf("want Encryption Request, got %#x (%v)", id, err)
		}
		req, err := packets.DecodeEncryptionRequest(data, 769)
		if err != nil {
			t.Fatal(err)
		}
		return c, req
	}
	// refusal reads what the edge sends until it closes: the disconnect's
	// text when there is one.
	refusal := func(t *testing.T, c *authtest.Client) string {
		t.Helper()
		var text string
		for {
			id, data, err := c.ReadPacket()
			if err != nil {
				return text
			}
			if id == 0x00 {
				d, _ := packets.DecodeLoginDisconnect(data, 769)
				text = d.Reason
			}
		}
	}
	secret := [auth.SecretLen]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	const failed, down = "Failed to verify username!", "Authentication servers are down"

	// counted waits until the edge has counted the refusal the client just
	// read: the edge counts when the session ends, which can be after the
	// client saw the connection close, and the next case reads the
	// counter as its own "before".
	counted := func(t *testing.T, before float64) {
		t.Helper()
		pollUntil(t, waitForLimit, "one more auth_failed rejection", func() bool { return rejected(e, reason.AuthFailed) == before+1 },
			func() string { return fmt.Sprintf("auth_failed was %v; rejections now: %s", before, rejections(e)) })
	}

	t.Run("not joined", func(t *testing.T) {
		before := rejected(e, reason.AuthFailed)
		c, err := authtest.Dial(addr, 769)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Login(context.Background(), "localhost", ss.URL(), alice, false)
		var le *authtest.LoginError
		if !errors.As(err, &le) || !strings.Contains(le.Reason, failed) {
			t.Fatalf("login without joining: %v", err)
		}
		counted(t, before)
	})
	t.Run("bad verify token", func(t *testing.T) {
		before := rejected(e, reason.AuthFailed)
		c, req := start(t)
		bad := req
		bad.VerifyToken = []byte{0, 0, 0, 0}
		resp, _ := authtest.Respond(bad, secret[:])
		c.WritePacket(resp.AppendTo(nil, 769))
		if got := refusal(t, c); !strings.Contains(got, failed) {
			t.Fatalf("refusal %q", got)
		}
		counted(t, before)
	})
	t.Run("wrong shared secret length", func(t *testing.T) {
		c, req := start(t)
		_ = authtest.Join(context.Background(), ss.URL(), alice, authtest.ServerID(req, secret[:15]))
		resp, _ := authtest.Respond(req, secret[:15])
		// Counted before the response is sent: the edge may refuse it
		// before this goroutine reads the counters again.
		before, calls := rejected(e, reason.AuthFailed), ss.HasJoinedCalls()
		c.WritePacket(resp.AppendTo(nil, 769))
		// The edge cannot tell (no padding oracle): it keys the cipher with
		// a random secret and the session server denies the join. The
		// refusal is encrypted with a key the client does not have.
		c.Encrypt(secret)
		refusal(t, c)
		counted(t, before)
		if ss.HasJoinedCalls() != calls+1 {
			t.Fatal("the session server was not asked (and did not refuse) the login")
		}
	})
	t.Run("replayed encryption response", func(t *testing.T) {
		c, req := start(t)
		if err := authtest.Join(context.Background(), ss.URL(), alice, authtest.ServerID(req, secret[:])); err != nil {
			t.Fatal(err)
		}
		resp, _ := authtest.Respond(req, secret[:])
		captured := resp.AppendTo(nil, 769)
		// Replayed on a new connection: this connection's token differs.
		c2, _ := start(t)
		c2.WritePacket(captured)
		if got := refusal(t, c2); !strings.Contains(got, failed) {
			t.Fatalf("replay on a new connection: refusal %q", got)
		}
		c.Close()
	})
	t.Run("session server down", func(t *testing.T) {
		ss.Down(true)
		defer ss.Down(false)
		c, err := authtest.Dial(addr, 769)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Login(context.Background(), "localhost", ss.URL(), alice, false)
		var le *authtest.LoginError
		if !errors.As(err, &le) || !strings.Contains(le.Reason, down) {
			t.Fatalf("login while the session server is down: %v", err)
		}
	})
	t.Run("session server slow", func(t *testing.T) {
		ss.Delay(time.Minute)
		defer ss.Delay(0)
		c, err := authtest.Dial(addr, 769)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err = c.Login(ctx, "localhost", ss.URL(), alice, true)
		var le *authtest.LoginError
		if !errors.As(err, &le) || !strings.Contains(le.Reason, down) {
			t.Fatalf("login while the session server hangs: %v, want the message within proxy.login_timeout", err)
		}
	})
	for _, r := range []reason.Reason{reason.AuthFailed, reason.AuthUnavailable} {
		if rejected(e, r) == 0 {
			t.Errorf("no %s rejection counted", r)
		}
	}
	select {
	case bc := <-b.logins:
		t.Fatalf("a refused login reached the backend: %q", bc.name)
	default:
	}
}

// TestOnlineModeClientMisbehavesAfterEncryption: a second Encryption
// Response in the encrypted stream, or plaintext where ciphertext belongs,
// is a broken client: closed, and nothing of it reaches the backend.
func TestOnlineModeClientMisbehavesAfterEncryption(t *testing.T) {
	for _, tc := range []string{"second encryption response", "plaintext after encryption"} {
		t.Run(tc, func(t *testing.T) {
			ss := testservers.StartSessionServer(t)
			alice := ss.AddAccount(t, "Alice")
			b := startBackend(t, 256, false)
			e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardBungeeCord))
			c, err := authtest.Dial(e.Addr().String(), 765)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.Conn.SetDeadline(time.Now().Add(10 * time.Second))
			if err := c.Start("localhost", packets.LoginStart{Name: "Alice", HasUUID: true, UUID: alice.ID}); err != nil {
				t.Fatal(err)
			}
			_, data, err := c.ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			req, _ := packets.DecodeEncryptionRequest(data, 765)
			secret := [auth.SecretLen]byte{9, 8, 7}
			if err := authtest.Join(context.Background(), ss.URL(), alice, authtest.ServerID(req, secret[:])); err != nil {
				t.Fatal(err)
			}
			resp, _ := authtest.Respond(req, secret[:])
			frame := mcproto.AppendFrame(nil, resp.AppendTo(nil, 765))
			c.WriteRaw(frame)
			c.Encrypt(secret)
			if tc == "second encryption response" {
				c.WriteRaw(frame) // encrypted, well-formed, unasked
			} else {
				// Plaintext packets where ciphertext belongs: decrypted, they
				// are noise that cannot frame as a legal packet for long.
				var plain []byte
				for range 64 {
					plain = append(plain, mcproto.AppendFrame(nil, append([]byte{0x03}, bytes.Repeat([]byte{0x41}, 60)...))...)
				}
				c.Conn.Write(plain)
			}
			bc := b.nextLogin(t) // the login itself is fine; bc.raw holds what followed Login Start
			for {
				if _, _, err := c.ReadPacket(); err != nil {
					break // the edge closed the connection
				}
			}
			_ = bc.SetReadDeadline(time.Now().Add(time.Second))
			bc.fr.Next()
			if bc.raw.Len() != 0 {
				t.Fatalf("the backend received %x from a misbehaving client", bc.raw.Bytes())
			}
			waitFor(t, func() bool { return rejected(e, reason.Malformed)+rejected(e, reason.FrameTooLarge) == 1 })
		})
	}
}

// TestOnlineModeIdentity: an authenticated player is its account
// everywhere: bans of the UUID refuse it after authentication (not before,
// when the name is a claim) and kick it when issued online, and a
// detection's ban action bans the account, not the address.
func TestOnlineModeIdentity(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	mallory := ss.AddAccount(t, "Mallory")
	b := startBackend(t, 256, false)
	cfg := onlineConfig(b.addr(), ss, config.ForwardBungeeCord)
	cfg.Detection.Enabled = true
	cfg.Detection.Checks = map[string]config.CheckOverride{"badpackets.invalid_pitch": {Action: "ban"}}
	e := startEdge(t, cfg)
	local := e.localBans

	// A ban on Mallory's account refuses Mallory after authentication.
	local.Add(bans.Ban{Kind: bans.KindUUID, Value: mcproto.UUID(mallory.ID).String(), Reason: "test", Created: time.Now()})
	c, err := authtest.Dial(e.Addr().String(), 769)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Login(context.Background(), "localhost", ss.URL(), mallory, true)
	var le *authtest.LoginError
	if !errors.As(err, &le) {
		t.Fatalf("banned account: %v, want a refusal", err)
	}
	c.Close()
	if ss.HasJoinedCalls() != 1 {
		t.Fatalf("%d hasJoined calls: the account's ban applies once it is proven", ss.HasJoinedCalls())
	}

	// Alice plays, cheats, and the ban action bans her account.
	c, _ = onlineLogin(t, e.Addr().String(), 769, ss, alice)
	bc := b.nextLogin(t)
	onlinePlay(t, c, bc, 769)
	table := packets.Lookup(769)
	look := packets.PlayerLook{Yaw: 1, Pitch: -300}.AppendData(mcproto.AppendVarInt(nil, table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerLook)), 769)
	for i := 0; i < 5; i++ {
		_ = c.WritePacket(look)
	}
	for {
		if _, _, err := c.ReadPacket(); err != nil {
			break
		}
	}
	waitFor(t, func() bool {
		_, ok := local.Table().Match(netip.MustParseAddr("198.51.100.1"), "", mcproto.UUID(alice.ID), time.Now())
		return ok
	})
	if _, ok := local.Table().MatchAddr(netip.MustParseAddr("127.0.0.1"), time.Now()); ok {
		t.Fatal("an authenticated player's detection ban banned the address")
	}
	waitFor(t, func() bool { return rejected(e, reason.Detection)+rejected(e, reason.Banned) == 1 })
}

// TestOnlineModeKickByAccount: a ban on an account issued while the player
// is online kicks that player, found by the authenticated UUID, with the
// disconnect encrypted like everything else.
func TestOnlineModeKickByAccount(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	b := startBackend(t, 256, false)
	e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardBungeeCord))
	c, _ := onlineLogin(t, e.Addr().String(), 769, ss, alice)
	bc := b.nextLogin(t)
	onlinePlay(t, c, bc, 769)
	e.localBans.Add(bans.Ban{Kind: bans.KindUUID, Value: mcproto.UUID(alice.ID).String(), Reason: "cheating", Created: time.Now()})
	var last []byte
	for {
		_, data, err := c.ReadPacket()
		if err != nil {
			break
		}
		last = append(last[:0], data...)
	}
	if !bytes.Contains(last, []byte("cheating")) {
		t.Fatalf("last packet %q, want the ban's disconnect", last)
	}
}

// TestOnlineModeVerification: in attack mode an online player is verified
// in the limbo on the encrypted connection, as its account; a passed
// verification is remembered for the account, and so is the session
// server's confirmation, which stands in for it when the session server is
// down during the attack.
func TestOnlineModeVerification(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	alice := ss.AddAccount(t, "Alice")
	b := startBackend(t, 256, false)
	cfg := onlineConfig(b.addr(), ss, config.ForwardBungeeCord)
	cfg.Gate.VerifyAlways = true
	e := startEdge(t, cfg)

	// The limbo answers the login itself, through the cipher, with the
	// account's UUID (its Login Success).
	c, success := onlineLogin(t, e.Addr().String(), 765, ss, alice)
	if success.UUID != mcproto.UUID(alice.ID) || success.Username != "Alice" {
		t.Fatalf("limbo's Login Success %+v, want the account", success)
	}
	c.Close()
	select {
	case <-b.logins:
		t.Fatal("an unverified player reached the backend")
	case <-time.After(100 * time.Millisecond):
	}

	// Passing is remembered for the account from this address (the
	// limbo's own tests cover passing it).
	e.Gate.Verified(netip.MustParseAddr("127.0.0.1"), mcproto.UUID(alice.ID).String())
	c, _ = onlineLogin(t, e.Addr().String(), 765, ss, alice)
	b.nextLogin(t)
	c.Close()

	// Under attack, the confirmation remembered from the last login
	// stands in for the session server (whose hasJoined now hangs, as when
	// it throttles the edge's address; clients still join it).
	ss.Delay(time.Minute)
	c, _ = onlineLogin(t, e.Addr().String(), 765, ss, alice)
	b.nextLogin(t)
	c.Close()
}

// TestOnlineModeWithoutPlayInspection: with play inspection off, a
// passthrough leg would be spliced; an encrypted client leg cannot be, so
// play is copied through the cipher instead, both ways.
func TestOnlineModeWithoutPlayInspection(t *testing.T) {
	for _, protocol := range []int32{47, 769} {
		t.Run(fmt.Sprint(protocol), func(t *testing.T) {
			ss := testservers.StartSessionServer(t)
			alice := ss.AddAccount(t, "Alice")
			b := startBackend(t, 256, false)
			cfg := onlineConfig(b.addr(), ss, config.ForwardBungeeCord)
			cfg.Proxy.InspectPlay = false
			e := startEdge(t, cfg)
			c, _ := onlineLogin(t, e.Addr().String(), protocol, ss, alice)
			bc := b.nextLogin(t)
			onlinePlay(t, c, bc, protocol)
			exchangeEncrypted(t, c, bc, protocol)
			exchangeEncrypted(t, c, bc, protocol)
			if n := testutil.ToFloat64(e.Metrics.SplicedConns); n != 0 {
				t.Fatalf("%v legs spliced: an encrypted leg must never be", n)
			}
		})
	}
}

// TestOnlineModeProfileKey: a 1.19–1.19.2 client with a chat-signing key
// answers Encryption Request in the signed form; the edge checks it and
// forwards the key (Velocity version 3 for 1.19.1–1.19.2, 2 for 1.19) so
// the backend can check Mojang's signature on it and verify signed chat.
func TestOnlineModeProfileKey(t *testing.T) {
	for _, tc := range []struct {
		protocol int32
		version  int32
	}{{mcproto.Protocol1_19_1, 3}, {mcproto.Protocol1_19, 2}} {
		t.Run(fmt.Sprint(tc.protocol), func(t *testing.T) {
			ss := testservers.StartSessionServer(t)
			alice := ss.AddAccount(t, "Alice")
			b := startBackend(t, 256, false)
			got := make(chan velocityInfo, 1)
			velocityBackend(b, onlineSecret, 4, got)
			e := startEdge(t, onlineConfig(b.addr(), ss, config.ForwardVelocity))
			key, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				t.Fatal(err)
			}
			c, err := authtest.Dial(e.Addr().String(), tc.protocol)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.ProfileKey, c.KeySignature, c.KeyExpiry = key, []byte("mojang's signature"), 1_900_000_000_000
			if _, err := c.Login(context.Background(), "localhost", ss.URL(), alice, true); err != nil {
				t.Fatal(err)
			}
			v := <-got
			der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
			if v.version != tc.version || !bytes.Equal(v.key, der) || string(v.keySig) != "mojang's signature" || v.keyExpiry != 1_900_000_000_000 {
				t.Fatalf("forwarded version %d key %x sig %q expiry %d", v.version, v.key, v.keySig, v.keyExpiry)
			}
			if tc.version == 3 && (!v.keyHasHolder || v.keyHolder != mcproto.UUID(alice.ID)) {
				t.Fatalf("key linked to %v (%v), want the account", v.keyHolder, v.keyHasHolder)
			}
			// The backend's Login Start carries the key too, as the client sent it.
			bc := b.nextLogin(t)
			ls, err := packets.DecodeLoginStart(bc.loginStart, tc.protocol)
			if err != nil || !ls.HasKey || !bytes.Equal(ls.PublicKey, der) {
				t.Fatalf("backend's Login Start %+v, %v", ls, err)
			}
		})
	}
}
