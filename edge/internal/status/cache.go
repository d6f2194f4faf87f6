// Package status answers server-list pings at the edge. A burst of pings
// (server lists, scanners, a ping flood) costs one backend fetch per backend
// and client protocol every TTL; when the backend is down, players see the
// last answer for a while, then a fallback MOTD instead of an error.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

const (
	// staleFor is how long an old answer is served while the backend does
	// not answer, before the fallback MOTD takes over: long enough to ride
	// out a backend restart, short enough that a dead server stops looking
	// alive.
	staleFor = 2 * time.Minute
	// responseCap is the largest status frame accepted from a backend: a
	// String(32767) at up to 3 bytes a char, plus id and length.
	responseCap = 32767*3 + 8
)

// Options configure a Cache.
type Options struct {
	TTL          time.Duration
	FetchTimeout time.Duration
	Fallback     Fallback
	// Dial opens a connection to a backend.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Preamble, when set, returns bytes to send before the handshake (a
	// PROXY v2 LOCAL header when backends expect PROXY headers).
	Preamble func() []byte
	Metrics  *telemetry.Metrics
	Log      *slog.Logger
	Now      func() time.Time // for tests; time.Now when nil
}

// Fallback is what a ping shows when no backend answers.
type Fallback struct {
	MOTD        string
	MaxPlayers  int
	VersionName string
}

type key struct {
	backend  string
	protocol int32
}

type entry struct {
	json    []byte
	fetched time.Time
}

// Cache is a status cache keyed by backend and client protocol: a backend
// may answer each protocol differently (ViaVersion-style plugins do), and
// one protocol's answer must never be served to another (gate #199).
type Cache struct {
	o       Options
	sf      singleflight.Group
	mu      sync.Mutex
	entries map[key]entry
}

// New returns a Cache.
func New(o Options) *Cache {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Fallback.VersionName == "" {
		o.Fallback.VersionName = "RustGuard"
	}
	return &Cache{o: o, entries: make(map[key]entry)}
}

// Status returns the status JSON for a ping with handshake hs served by
// backend. It never fails: the worst case is the fallback MOTD.
func (c *Cache) Status(ctx context.Context, backend string, hs packets.Handshake) []byte {
	// Only supported protocols get their own entry: the protocol number is
	// chosen by the client, and a flood of random numbers must not grow the
	// cache or multiply backend fetches.
	proto := hs.Protocol
	if packets.Lookup(proto) == nil {
		proto = -1
	}
	k := key{backend: backend, protocol: proto}
	now := c.o.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < c.o.TTL {
		c.o.Metrics.StatusCacheHits.Inc()
		c.o.Metrics.StatusRequests.WithLabelValues("cache").Inc()
		return e.json
	}
	if backend == "" {
		return c.fallback(hs.Protocol)
	}
	v, err, _ := c.sf.Do(backend+"|"+strconv.Itoa(int(proto)), func() (any, error) {
		fetchProto := proto
		if fetchProto < 0 {
			fetchProto = packets.MaxProtocol
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.FetchTimeout)
		defer cancel()
		js, err := c.fetch(ctx, backend, packets.Handshake{Protocol: fetchProto, Host: hs.Host, Port: hs.Port, Intent: mcproto.IntentStatus})
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.entries[k] = entry{json: js, fetched: c.o.Now()}
		c.mu.Unlock()
		return js, nil
	})
	if err == nil {
		c.o.Metrics.StatusRequests.WithLabelValues("fetch").Inc()
		return v.([]byte)
	}
	c.o.Log.Debug("status fetch failed", "backend", backend, "err", err)
	if ok && now.Sub(e.fetched) < staleFor {
		c.o.Metrics.StatusRequests.WithLabelValues("stale").Inc()
		return e.json
	}
	return c.fallback(hs.Protocol)
}

func (c *Cache) fallback(protocol int32) []byte {
	c.o.Metrics.StatusRequests.WithLabelValues("fallback").Inc()
	js, _ := json.Marshal(map[string]any{
		"version":     map[string]any{"name": c.o.Fallback.VersionName, "protocol": protocol},
		"players":     map[string]any{"max": c.o.Fallback.MaxPlayers, "online": 0},
		"description": map[string]any{"text": c.o.Fallback.MOTD},
	})
	return js
}

// fetch asks a backend for its status as a client with hs would.
func (c *Cache) fetch(ctx context.Context, backend string, hs packets.Handshake) ([]byte, error) {
	conn, err := c.o.Dial(ctx, backend)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", backend, err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	var out []byte
	if c.o.Preamble != nil {
		out = append(out, c.o.Preamble()...)
	}
	out = mcproto.AppendFrame(out, hs.AppendTo(nil, hs.Protocol))
	out = mcproto.AppendFrame(out, []byte{0x00}) // Status Request
	if _, err := conn.Write(out); err != nil {
		return nil, fmt.Errorf("write status request to %s: %w", backend, err)
	}
	body, err := mcproto.NewFrameReader(conn, responseCap).Next()
	if err != nil {
		return nil, fmt.Errorf("read status response from %s: %w", backend, err)
	}
	r := mcproto.NewReader(body)
	if id := r.VarInt(); id != 0x00 {
		return nil, fmt.Errorf("status response from %s: packet id %#x", backend, id)
	}
	js := r.StringBytes(32767)
	// Mods append data after the JSON (protocol.md §1): tolerated here.
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("status response from %s: %w", backend, err)
	}
	if !json.Valid(js) {
		return nil, fmt.Errorf("status response from %s: invalid json", backend)
	}
	return append([]byte(nil), js...), nil
}
