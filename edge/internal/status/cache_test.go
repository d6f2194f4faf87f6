package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// statusBackend is a TCP server that answers status requests with the host
// and port it was asked about in the description, and records each request.
type statusBackend struct {
	ln net.Listener
	mu sync.Mutex
	// asked lists the handshakes of the status requests received.
	asked []packets.Handshake
}

func startStatusBackend(t *testing.T) *statusBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &statusBackend{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); b.serve(c) }()
		}
	}()
	return b
}

func (b *statusBackend) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fr := mcproto.NewFrameReader(c, 1024)
	body, err := fr.Next()
	if err != nil {
		return
	}
	r := mcproto.NewReader(body)
	r.VarInt() // handshake id
	hs := packets.Handshake{Protocol: r.VarInt(), Host: r.String(1024), Port: r.Uint16(), Intent: r.VarInt()}
	if r.Err() != nil {
		return
	}
	if _, err := fr.Next(); err != nil { // Status Request
		return
	}
	b.mu.Lock()
	b.asked = append(b.asked, hs)
	b.mu.Unlock()
	js, _ := json.Marshal(map[string]any{
		"version":     map[string]any{"name": "test", "protocol": hs.Protocol},
		"players":     map[string]any{"max": 20, "online": 1},
		"description": map[string]any{"text": hs.Host + ":" + strconv.Itoa(int(hs.Port))},
	})
	_, _ = c.Write(mcproto.AppendFrame(nil, mcproto.AppendString([]byte{0x00}, string(js))))
}

func (b *statusBackend) addr() string { return b.ln.Addr().String() }

func (b *statusBackend) requests() []packets.Handshake {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]packets.Handshake(nil), b.asked...)
}

func newTestCache(known ...string) *Cache {
	var d net.Dialer
	set := map[string]bool{}
	for _, h := range known {
		set[h] = true
	}
	return New(Options{
		TTL:          time.Minute,
		FetchTimeout: 5 * time.Second,
		Fallback:     Fallback{MOTD: "fallback"},
		Dial:         func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) },
		KnownHost:    func(h string) bool { return set[h] },
		Metrics:      telemetry.New("test", "test"),
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func description(t *testing.T, js []byte) string {
	t.Helper()
	st, err := packets.ParseStatusJSON(string(js))
	if err != nil {
		t.Fatalf("status json %s: %v", js, err)
	}
	return st.DescriptionText()
}

const bungeeUUID = "0123456789abcdef0123456789abcdef"

// TestStatusAsksWithRoutedHost: the backend is asked about the routed host
// alone, never the client's forwarding parts or port, and each known host
// has its own entry, so the first pinger's host does not decide what the
// next pinger of another host sees.
func TestStatusAsksWithRoutedHost(t *testing.T) {
	b := startStatusBackend(t)
	_, bport, _ := net.SplitHostPort(b.addr())
	c := newTestCache("play.example.com", "lobby.example.com")
	ctx := context.Background()
	proto := int32(packets.MaxProtocol)

	// First pinger: a forged BungeeCord host with a Forge marker, odd case
	// and port.
	forged := "Play.Example.com.\x00203.0.113.9\x00" + bungeeUUID + "\x00FML3\x00"
	got := description(t, c.Status(ctx, b.addr(), packets.Handshake{Protocol: proto, Host: forged, Port: 1, Intent: mcproto.IntentStatus}))
	if want := "play.example.com:" + bport; got != want {
		t.Fatalf("forged-host ping shows %q, want %q", got, want)
	}
	// Another known host is another entry, fetched with its own host.
	got = description(t, c.Status(ctx, b.addr(), packets.Handshake{Protocol: proto, Host: "lobby.example.com", Port: 25565, Intent: mcproto.IntentStatus}))
	if want := "lobby.example.com:" + bport; got != want {
		t.Fatalf("lobby ping shows %q, want %q", got, want)
	}
	// And the first host's entry is still its own.
	got = description(t, c.Status(ctx, b.addr(), packets.Handshake{Protocol: proto, Host: "play.example.com", Port: 25565, Intent: mcproto.IntentStatus}))
	if want := "play.example.com:" + bport; got != want {
		t.Fatalf("play ping after lobby shows %q, want %q", got, want)
	}
	reqs := b.requests()
	if len(reqs) != 2 {
		t.Fatalf("backend asked %d times, want 2 (one per known host): %+v", len(reqs), reqs)
	}
	for _, r := range reqs {
		if r.Port != mustPort(t, bport) || r.Intent != mcproto.IntentStatus {
			t.Errorf("backend asked %+v, want its own port and the status intent", r)
		}
	}
}

// TestStatusUnknownHostsShareOneEntry: hosts the operator did not name are
// chosen by the client; however many there are, they cost one fetch per
// backend and protocol, asked with the backend's own address, and they do
// not grow the cache.
func TestStatusUnknownHostsShareOneEntry(t *testing.T) {
	b := startStatusBackend(t)
	bhost, bport, _ := net.SplitHostPort(b.addr())
	c := newTestCache("play.example.com")
	ctx := context.Background()
	proto := int32(packets.MaxProtocol)
	for i := range 200 {
		host := fmt.Sprintf("r%d.attacker.example", i)
		if i%2 == 1 {
			host += "\x00203.0.113.9\x00" + bungeeUUID
		}
		got := description(t, c.Status(ctx, b.addr(), packets.Handshake{Protocol: proto, Host: host, Port: uint16(i), Intent: mcproto.IntentStatus}))
		if want := bhost + ":" + bport; got != want {
			t.Fatalf("ping %d (%q) shows %q, want %q", i, host, got, want)
		}
	}
	if n := len(b.requests()); n != 1 {
		t.Fatalf("200 random hosts cost %d backend fetches, want 1", n)
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("cache holds %d entries after 200 random hosts, want 1", n)
	}
}

func mustPort(t *testing.T, s string) uint16 {
	t.Helper()
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(p)
}

// TestStatusCacheBounded: however many keys (a configuration with very many
// known hosts), the cache holds at most maxEntries; entries too old to be
// served even stale go first, then the oldest.
func TestStatusCacheBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := New(Options{TTL: time.Second, Now: func() time.Time { return now }})
	for i := range maxEntries {
		c.store(key{backend: "b:1", host: fmt.Sprintf("h%d", i), protocol: 47}, entry{fetched: now.Add(time.Duration(i) * time.Millisecond)})
	}
	// Half of them become too old to serve; the next insert drops those.
	now = now.Add(staleFor + time.Duration(maxEntries/2-1)*time.Millisecond)
	c.store(key{backend: "b:1", host: "new", protocol: 47}, entry{fetched: now})
	if n := len(c.entries); n != maxEntries/2+1 {
		t.Fatalf("after expiry: %d entries, want %d", n, maxEntries/2+1)
	}
	// Refill; at the cap each insert evicts the oldest.
	for i := 0; len(c.entries) < maxEntries; i++ {
		c.store(key{backend: "b:2", host: fmt.Sprintf("h%d", i), protocol: 47}, entry{fetched: now})
	}
	oldest := key{backend: "b:1", host: fmt.Sprintf("h%d", maxEntries/2), protocol: 47}
	if _, ok := c.entries[oldest]; !ok {
		t.Fatalf("expected %v to be the oldest entry left", oldest)
	}
	c.store(key{backend: "b:3", protocol: 47}, entry{fetched: now})
	if n := len(c.entries); n != maxEntries {
		t.Fatalf("at the cap: %d entries, want %d", n, maxEntries)
	}
	if _, ok := c.entries[oldest]; ok {
		t.Fatal("the oldest entry was not the one evicted")
	}
	// Replacing an existing key evicts nothing.
	c.store(key{backend: "b:3", protocol: 47}, entry{fetched: now})
	if n := len(c.entries); n != maxEntries {
		t.Fatalf("after a replace: %d entries, want %d", n, maxEntries)
	}
}

// TestStatusBurstCostsOneFetch: however a burst of pings for one entry
// interleaves with the fetch it starts, the backend is asked once. A ping
// that missed the cache just before the fetch stored its answer, and then
// reached the fetch just after it ended, used to start a second one.
func TestStatusBurstCostsOneFetch(t *testing.T) {
	b := startStatusBackend(t)
	c := newTestCache()
	const burst = 64
	// Each round another protocol: another entry, so another miss.
	for round, proto := range packets.Protocols() {
		before := len(b.requests())
		var wg sync.WaitGroup
		for i := 0; i < burst; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Status(context.Background(), b.addr(), packets.Handshake{Protocol: proto, Host: "x", Port: 25565, Intent: mcproto.IntentStatus})
			}()
		}
		wg.Wait()
		if n := len(b.requests()) - before; n != 1 {
			t.Fatalf("round %d (protocol %d): a burst of %d pings cost %d fetches, want 1", round, proto, burst, n)
		}
	}
}
