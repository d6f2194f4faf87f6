package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/proxyproto"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func ping(t *testing.T, addr string, protocol int32) map[string]any {
	t.Helper()
	c := dial(t, addr)
	out := handshake(protocol, "localhost", 25565, 1)
	out = append(out, mcproto.AppendFrame(nil, []byte{0x00})...)
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	id, data := c.packet(t)
	if id != 0x00 {
		t.Fatalf("status response id %#x", id)
	}
	r := mcproto.NewReader(data)
	js := r.String(32767)
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("status json %q: %v", js, err)
	}
	// The ping is answered by the edge with the same payload.
	payload := mcproto.AppendInt64([]byte{0x01}, 0x1122334455667788)
	if _, err := c.Write(mcproto.AppendFrame(nil, payload)); err != nil {
		t.Fatal(err)
	}
	if id, data := c.packet(t); id != 0x01 || !bytes.Equal(data, payload[1:]) {
		t.Fatalf("pong = %#x %x, want the ping's payload", id, data)
	}
	return v
}

func description(v map[string]any) string {
	d, _ := v["description"].(map[string]any)
	s, _ := d["text"].(string)
	return s
}

func TestStatusIsCachedPerProtocolAndCollapsed(t *testing.T) {
	b := startBackend(t, -1, false)
	e := startEdge(t, testConfig(b.addr()))
	addr := e.Addr().String()

	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := description(ping(t, addr, 765)); got != "fake backend" {
				t.Errorf("description = %q", got)
			}
		}()
	}
	wg.Wait()
	if n := b.statusCount.Load(); n != 1 {
		t.Errorf("backend answered %d status requests for one burst, want 1", n)
	}
	// Another protocol is another cache entry: the backend may answer it
	// differently.
	v := ping(t, addr, 47)
	if proto := v["version"].(map[string]any)["protocol"].(float64); proto != 47 {
		t.Errorf("protocol 47 got the answer for protocol %v", proto)
	}
	if n := b.statusCount.Load(); n != 2 {
		t.Errorf("backend status requests = %d, want 2", n)
	}
	// Within the TTL the next ping is a cache hit (the burst itself was
	// collapsed into the one fetch).
	ping(t, addr, 765)
	if hits := testutil.ToFloat64(e.Metrics.StatusCacheHits); hits < 1 {
		t.Errorf("status cache hits = %v, want ≥ 1", hits)
	}
	// Random unsupported protocol numbers share one entry.
	for p := int32(10000); p < 10020; p++ {
		ping(t, addr, p)
	}
	if n := b.statusCount.Load(); n != 3 {
		t.Errorf("20 unsupported protocols cost %d backend fetches, want 1", n-2)
	}
}

// TestStatusAsksBackendWithRoutedHost: a ping's forwarding parts
// (BungeeCord's ip and uuid, a Forge marker) and port never reach the
// backend; a host the operator named (gate.allowed_hosts) is asked about by
// name and cached apart from the rest, every other host shares one entry
// asked with the backend's own address.
func TestStatusAsksBackendWithRoutedHost(t *testing.T) {
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Gate.AllowedHosts = []string{"play.example.com", "*.example.net"}
	e := startEdge(t, cfg)
	pingHost := func(host string) {
		t.Helper()
		c := dial(t, e.Addr().String())
		if _, err := c.Write(append(handshake(765, host, 1234, 1), mcproto.AppendFrame(nil, []byte{0x00})...)); err != nil {
			t.Fatal(err)
		}
		if id, _ := c.packet(t); id != 0x00 {
			t.Fatalf("status response id %#x", id)
		}
	}
	pingHost("Play.Example.com\x00203.0.113.9\x000123456789abcdef0123456789abcdef\x00FML3\x00")
	pingHost("play.example.com")
	pingHost("random1.example.net") // a wildcard names no host in particular
	pingHost("random2.example.net\x00203.0.113.9\x000123456789abcdef0123456789abcdef")
	pingHost("127.0.0.1")
	// A 1.6 legacy ping carries a host too; the edge asks as the newest
	// client would, another protocol and so another entry.
	lc := dial(t, e.Addr().String())
	if _, err := lc.Write(legacyPing16("Play.Example.com\x00203.0.113.9\x000123456789abcdef0123456789abcdef", 4321)); err != nil {
		t.Fatal(err)
	}
	if resp, _ := io.ReadAll(lc.Conn); len(resp) < 3 || resp[0] != 0xFF {
		t.Fatalf("legacy ping: response %x", resp)
	}
	bhost, bport, _ := net.SplitHostPort(b.addr())
	b.statusMu.Lock()
	got := append([]string(nil), b.statusHosts...)
	b.statusMu.Unlock()
	play := net.JoinHostPort("play.example.com", bport)
	want := []string{play, net.JoinHostPort(bhost, bport), play}
	if !slices.Equal(got, want) {
		t.Fatalf("backend was asked %q, want %q", got, want)
	}
}

// legacyPing16 is a 1.6 server-list ping (0xFE 0x01 0xFA "MC|PingHost"),
// written here independently of the edge's parser.
func legacyPing16(host string, port int32) []byte {
	utf16be := func(s string) []byte {
		var out []byte
		for _, u := range utf16.Encode([]rune(s)) {
			out = binary.BigEndian.AppendUint16(out, u)
		}
		return out
	}
	const channel = "MC|PingHost"
	out := []byte{0xFE, 0x01, 0xFA}
	out = binary.BigEndian.AppendUint16(out, uint16(len(channel)))
	out = append(out, utf16be(channel)...)
	h := utf16be(host)
	out = binary.BigEndian.AppendUint16(out, uint16(1+2+len(h)+4))
	out = append(out, 78) // 1.6.4
	out = binary.BigEndian.AppendUint16(out, uint16(len(h)/2))
	out = append(out, h...)
	return binary.BigEndian.AppendUint32(out, uint32(port))
}

func TestStatusFallbackWhenBackendDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	cfg := testConfig(dead)
	cfg.Status.FallbackMOTD = "back soon"
	e := startEdge(t, cfg)
	v := ping(t, e.Addr().String(), 765)
	if got := description(v); got != "back soon" {
		t.Errorf("fallback description = %q", got)
	}
	// And a login is told why instead of hanging.
	c := dial(t, e.Addr().String())
	c.Write(append(handshake(765, "localhost", 25565, 2), loginStart(765, "Steve")...))
	id, data := c.packet(t)
	if id != 0x00 || !strings.Contains(string(data), cfg.Messages.BackendUnavailable) {
		t.Errorf("login got %#x %q, want a disconnect with %q", id, data, cfg.Messages.BackendUnavailable)
	}
	waitFor(t, func() bool {
		return testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues(reason.BackendUnavailable.String())) == 1
	})
	// /readyz says not ready.
	resp, err := http.Get("http://" + e.AdminAddr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"server_reachable":false`) {
		t.Errorf("/readyz = %d %s, want 503 with server_reachable false", resp.StatusCode, body)
	}
}

// readyz returns the admin /readyz status code and body.
func readyz(t *testing.T, e *Edge) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + e.AdminAddr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestReadyzIgnoresOneDroppedLogin: a backend that accepts connections but
// drops a login without answering costs that player the login; readiness
// follows the health probe, so the edge stays in its load balancer.
func TestReadyzIgnoresOneDroppedLogin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close() // the probe's connect succeeds; a login gets no answer
		}
	}()
	cfg := testConfig(ln.Addr().String())
	e := startEdge(t, cfg)
	waitFor(t, func() bool { code, _ := readyz(t, e); return code == http.StatusOK })

	c := dial(t, e.Addr().String())
	c.Write(append(handshake(765, "localhost", 25565, 2), loginStart(765, "Steve")...))
	if id, data := c.packet(t); id != 0x00 || !strings.Contains(string(data), cfg.Messages.BackendUnavailable) {
		t.Fatalf("login got %#x %q, want a disconnect with %q", id, data, cfg.Messages.BackendUnavailable)
	}
	waitFor(t, func() bool {
		return testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues(reason.BackendUnavailable.String())) == 1
	})
	if code, body := readyz(t, e); code != http.StatusOK {
		t.Errorf("/readyz after one dropped login = %d %s, want 200", code, body)
	}
}

func TestRelayIsByteForByteWithCompression(t *testing.T) {
	for _, protocol := range []int32{47, 340, 754, 765, 767, 774} {
		t.Run(fmt.Sprint(protocol), func(t *testing.T) {
			b := startBackend(t, 256, false)
			e := startEdge(t, testConfig(b.addr()))
			c := dial(t, e.Addr().String())
			c.login(t, protocol, "Alex")
			bc := b.nextLogin(t)
			if bc.name != "Alex" || bc.protocol != protocol {
				t.Fatalf("backend saw %q protocol %d", bc.name, bc.protocol)
			}
			table := packets.Lookup(protocol)
			if protocol >= 764 {
				// Login Acknowledged, then the backend finishes configuration.
				c.Write(frameRaw(0x03, nil))
				bc.fr.Next()
				finish := table.ID(mcproto.StateConfiguration, mcproto.Clientbound, packets.KindFinishConfiguration)
				bc.Write(frameRaw(finish, nil))
				if id, _ := c.packet(t); id != finish {
					t.Fatalf("client got %#x, want finish configuration %#x", id, finish)
				}
				ack := table.ID(mcproto.StateConfiguration, mcproto.Serverbound, packets.KindFinishConfiguration)
				c.Write(frameRaw(ack, nil))
				bc.fr.Next()
			}
			bc.raw.Reset()

			// Serverbound: small raw and large compressed frames arrive unchanged.
			var comp mcproto.Compressor
			var sent []byte
			keepAlive := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindKeepAlive)
			plugin := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPluginMessage)
			sent = comp.AppendFrame(sent, mcproto.AppendInt64(mcproto.AppendVarInt(nil, keepAlive), 42), 256)
			big := mcproto.AppendVarInt(nil, plugin)
			big = mcproto.AppendString(big, "test:big")
			big = append(big, bytes.Repeat([]byte("rustguard"), 2000)...)
			sent = comp.AppendFrame(sent, big, 256)
			if _, err := c.Write(sent); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if _, err := bc.fr.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(bc.raw.Bytes(), sent) {
				t.Errorf("backend received %d bytes that differ from the %d the client sent", bc.raw.Len(), len(sent))
			}

			// Clientbound: a large compressed frame (chunk-like) arrives unchanged.
			chunk := mcproto.AppendVarInt(nil, 0x21)
			chunk = append(chunk, bytes.Repeat([]byte{7, 0, 1}, 100_000)...)
			down := comp.AppendFrame(nil, chunk, 256)
			if _, err := bc.Write(down); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(down))
			if _, err := io.ReadFull(c.Conn, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, down) {
				t.Error("client received different bytes than the backend sent")
			}
			waitFor(t, func() bool {
				return testutil.ToFloat64(e.Metrics.PacketsProcessed[mcproto.Serverbound]) >= 2 &&
					testutil.ToFloat64(e.Metrics.BytesForwarded[mcproto.Clientbound]) >= float64(len(down))
			})
		})
	}
}

func frameRaw(id int32, data []byte) []byte {
	// With compression on and a body under the threshold: Data Length 0.
	b := mcproto.AppendVarInt([]byte{0x00}, id)
	return mcproto.AppendFrame(nil, append(b, data...))
}

func TestHandshakeHostIsCleanedForTheBackend(t *testing.T) {
	cases := []struct{ host, want string }{
		{"play.example.com.", "play.example.com"},
		{"play.example.com\x00FML\x00", "play.example.com\x00FML\x00"},
		{"play.example.com\x00203.0.113.9\x00" + strings.Repeat("a", 32), "play.example.com"},
		{"play.example.com///203.0.113.9:1234///1700000000///sig", "play.example.com"},
	}
	b := startBackend(t, -1, false)
	e := startEdge(t, testConfig(b.addr()))
	for _, tc := range cases {
		c := dial(t, e.Addr().String())
		c.Write(append(handshake(47, tc.host, 25565, 2), loginStart(47, "Steve")...))
		bc := b.nextLogin(t)
		if bc.host != tc.want {
			t.Errorf("client host %q reached the backend as %q, want %q", tc.host, bc.host, tc.want)
		}
	}
}

func TestServerFullAndUnsupportedVersion(t *testing.T) {
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Proxy.MaxConnections = 1
	cfg.Messages.ServerFull = "full up"
	e := startEdge(t, cfg)

	first := dial(t, e.Addr().String())
	first.login(t, 47, "First")
	b.nextLogin(t)
	second := dial(t, e.Addr().String())
	second.Write(append(handshake(47, "localhost", 25565, 2), loginStart(47, "Second")...))
	if msg := second.expectClosed(t); !strings.Contains(string(msg), "full up") {
		t.Errorf("second player got %q, want the server-full message", msg)
	}
	// Pings are still answered when full.
	if d := description(ping(t, e.Addr().String(), 47)); d != "fake backend" {
		t.Errorf("ping while full: %q", d)
	}
	first.Close()
	waitFor(t, func() bool { return e.ln.Active() == 0 })

	old := dial(t, e.Addr().String())
	old.Write(append(handshake(5, "localhost", 25565, 2), loginStart(5, "Old")...))
	if msg := old.expectClosed(t); !strings.Contains(string(msg), cfg.Messages.UnsupportedVersion) {
		t.Errorf("1.7 client got %q, want the unsupported-version message", msg)
	}
	if got := testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues("unsupported_version")); got != 1 {
		t.Errorf("unsupported_version rejections = %v", got)
	}
}

func TestLegacyPing(t *testing.T) {
	b := startBackend(t, -1, false)
	e := startEdge(t, testConfig(b.addr()))
	for _, in := range [][]byte{{0xFE}, {0xFE, 0x01}} {
		c := dial(t, e.Addr().String())
		c.Write(in)
		resp, _ := io.ReadAll(c.Conn)
		if len(resp) < 3 || resp[0] != 0xFF {
			t.Fatalf("legacy ping %x: response %x", in, resp)
		}
		n := int(binary.BigEndian.Uint16(resp[1:]))
		if len(resp) != 3+2*n {
			t.Errorf("legacy kick length %d does not match %d units", len(resp), n)
		}
		if text := utf16be(resp[3:]); !strings.Contains(text, "fake backend") {
			t.Errorf("legacy ping %x: text %q lacks the MOTD", in, text)
		}
	}
	// A pre-1.7 login is refused with a legacy kick.
	c := dial(t, e.Addr().String())
	c.Write([]byte{0x02, 0x4E, 0x00, 0x05})
	resp, _ := io.ReadAll(c.Conn)
	if len(resp) < 3 || resp[0] != 0xFF || !strings.Contains(utf16be(resp[3:]), "Outdated") {
		t.Errorf("pre-1.7 login got %x", resp)
	}
}

func utf16be(b []byte) string {
	var sb strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		sb.WriteRune(rune(binary.BigEndian.Uint16(b[i:])))
	}
	return sb.String()
}

func TestProxyProtocolTrustBoundary(t *testing.T) {
	b := startBackend(t, -1, true)
	cfg := testConfig(b.addr())
	cfg.Proxy.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	cfg.Proxy.SendProxyProtocol = true
	e := startEdge(t, cfg)

	player := netip.MustParseAddrPort("203.0.113.7:40000")
	c := dial(t, e.Addr().String())
	hdr := proxyproto.AppendV2(nil, player, netip.MustParseAddrPort("198.51.100.1:25565"))
	c.Write(append(hdr, append(handshake(47, "localhost", 25565, 2), loginStart(47, "Steve")...)...))
	bc := b.nextLogin(t)
	if bc.proxy.Source != player {
		t.Errorf("backend saw client %v, want %v from the trusted PROXY header", bc.proxy.Source, player)
	}

	// The same header from a peer outside the trusted ranges is not
	// believed: the connection fails as malformed Minecraft.
	cfg2 := testConfig(b.addr())
	cfg2.Proxy.SendProxyProtocol = true
	e2 := startEdge(t, cfg2)
	c2 := dial(t, e2.Addr().String())
	c2.Write(append(hdr, append(handshake(47, "localhost", 25565, 2), loginStart(47, "Mallory")...)...))
	c2.expectClosed(t)
	select {
	case bc := <-b.logins:
		t.Errorf("untrusted PROXY header reached the backend as %v", bc.proxy.Source)
	case <-time.After(200 * time.Millisecond):
	}
	// A trusted peer without a header is refused.
	c3 := dial(t, e.Addr().String())
	c3.Write(append(handshake(47, "localhost", 25565, 2), loginStart(47, "NoHeader")...))
	c3.expectClosed(t)
	waitFor(t, func() bool { return testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues("proxy_header")) == 1 })
}

func TestShutdownTellsPlayersWhy(t *testing.T) {
	for _, protocol := range []int32{47, 765} {
		t.Run(fmt.Sprint(protocol), func(t *testing.T) {
			b := startBackend(t, 256, false)
			cfg := testConfig(b.addr())
			cfg.Messages.Shutdown = "restarting for an update"
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			c.login(t, protocol, "Steve")
			bc := b.nextLogin(t)
			state := mcproto.StatePlay
			if protocol >= 764 {
				state = mcproto.StateConfiguration
				c.Write(frameRaw(0x03, nil))
				bc.fr.Next()
			}
			// Let the relay publish its state, then stop the edge.
			waitFor(t, func() bool {
				return e.handler.Sessions() == 1 && testutil.ToFloat64(e.Metrics.PacketsProcessed[mcproto.Clientbound]) >= 1
			})
			go e.Shutdown()
			body, err := c.fr.Next()
			if err != nil {
				t.Fatalf("no disconnect before close: %v", err)
			}
			id, data := c.decode(t, body)
			want := packets.Lookup(protocol).ID(state, mcproto.Clientbound, packets.KindDisconnect)
			if id != want || !bytes.Contains(data, []byte("restarting for an update")) {
				t.Errorf("got packet %#x %q, want disconnect %#x with the shutdown message", id, data, want)
			}
		})
	}
}

// waitForLimit bounds waitFor: the effects waited for take milliseconds,
// but a CI machine running the race detector under load can stall for
// seconds; passing tests never wait that long.
const waitForLimit = 15 * time.Second

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitForLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", waitForLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = config.Duration(0)
