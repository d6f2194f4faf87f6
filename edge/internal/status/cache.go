// Package status answers server-list pings at the edge. A burst of pings
// (server lists, scanners, a ping flood) costs one backend fetch per backend,
// host and client protocol every TTL; when the backend is down, players see
// the last answer for a while, then a fallback MOTD instead of an error.
//
// Everything a pinger chooses is bounded before it picks a cache entry: the
// protocol (only supported ones get their own entry), the host (only hosts
// the operator named get their own entry, see Options.KnownHost) and the
// number of entries (maxEntries). What the backend is asked never carries
// the pinger's own host or port: one pinger must not decide what the next
// one sees.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
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
	// maxEntries bounds the cache whatever pingers send: at most
	// maxEntries × responseCap bytes (96 MiB; real answers with a favicon
	// are about 10 KiB, so about 10 MiB). The key space is backends × known
	// hosts × supported protocols (about 50), so this holds twenty
	// backend-and-host pairs with every protocol before an entry is evicted.
	maxEntries = 1024
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
	// KnownHost reports whether a routed host (lower-case, without
	// forwarding parts) was named by the operator, by a route or the host
	// allow-list. Such a host gets entries of its own and is what the
	// backend is asked about, since a backend may answer each host
	// differently (forced hosts). Every other host shares the backend's
	// entry, fetched with the backend's own address as the host: hosts are
	// chosen by the client, and a flood of random ones must not grow the
	// cache or cost a fetch each. Nil: no host is known.
	KnownHost func(host string) bool
	Metrics   *telemetry.Metrics
	Log       *slog.Logger
	Now       func() time.Time // for tests; time.Now when nil
}

// Fallback is what a ping shows when no backend answers.
type Fallback struct {
	MOTD        string
	MaxPlayers  int
	VersionName string
}

type key struct {
	backend  string
	host     string // a known routed host, or "" for every other host
	protocol int32
}

type entry struct {
	json    []byte
	fetched time.Time
}

// Cache is a status cache keyed by backend, host and client protocol: a
// backend may answer each protocol differently (ViaVersion-style plugins
// do), and one protocol's answer must never be served to another (gate
// #199); the same holds for hosts (forced hosts).
type Cache struct {
	o Options
	// set holds what SetPolicy may change while the edge runs (the fleet
	// document's status section); o keeps the rest.
	set     atomic.Pointer[Policy]
	sf      singleflight.Group
	mu      sync.Mutex
	entries map[key]entry
}

// New returns a Cache.
func New(o Options) *Cache {
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cache{o: o, entries: make(map[key]entry)}
	c.SetPolicy(Policy{TTL: o.TTL, FetchTimeout: o.FetchTimeout, Fallback: o.Fallback})
	return c
}

// Policy is what SetPolicy changes: how long answers are reused and
// fetched, and what a ping shows when no backend answers.
type Policy struct {
	TTL          time.Duration
	FetchTimeout time.Duration
	Fallback     Fallback
}

// SetPolicy applies p from the next ping on. Cached answers stay; a shorter
// TTL makes them expire sooner.
func (c *Cache) SetPolicy(p Policy) {
	if p.Fallback.VersionName == "" {
		p.Fallback.VersionName = "RustGuard"
	}
	c.set.Store(&p)
}

// Status returns the status JSON for a ping with handshake hs served by
// backend. hs.Host should be the routed host; forwarding parts (BungeeCord,
// Forge, TCPShield) are cut here anyway, so none reaches the backend. It
// never fails: the worst case is the fallback MOTD.
func (c *Cache) Status(ctx context.Context, backend string, hs packets.Handshake) []byte {
	// Only supported protocols get their own entry: the protocol number is
	// chosen by the client, and a flood of random numbers must not grow the
	// cache or multiply backend fetches.
	proto := hs.Protocol
	if packets.Lookup(proto) == nil {
		proto = -1
	}
	// The same for hosts: only the ones the operator named.
	host := packets.ParseHost(hs.Host).Host
	if c.o.KnownHost == nil || !c.o.KnownHost(host) {
		host = ""
	}
	k := key{backend: backend, host: host, protocol: proto}
	now := c.o.Now()
	pol := c.set.Load()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < pol.TTL {
		c.o.Metrics.StatusCacheHits.Inc()
		c.o.Metrics.StatusRequests.WithLabelValues("cache").Inc()
		return e.json
	}
	if backend == "" {
		return c.fallback(pol, hs.Protocol)
	}
	v, err, _ := c.sf.Do(backend+"|"+host+"|"+strconv.Itoa(int(proto)), func() (any, error) {
		// A ping that missed above may get here just after another fetch
		// of this entry stored its answer and left the group: without a
		// second look it would fetch again.
		c.mu.Lock()
		e, ok := c.entries[k]
		c.mu.Unlock()
		if ok && c.o.Now().Sub(e.fetched) < pol.TTL {
			return answer{json: e.json, cached: true}, nil
		}
		fetchProto := proto
		if fetchProto < 0 {
			fetchProto = packets.MaxProtocol
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pol.FetchTimeout)
		defer cancel()
		fetchHS, err := fetchHandshake(backend, host, fetchProto)
		if err != nil {
			return nil, err
		}
		js, err := c.fetch(ctx, backend, fetchHS)
		if err != nil {
			return nil, err
		}
		c.store(k, entry{json: js, fetched: c.o.Now()})
		return answer{json: js}, nil
	})
	if err == nil {
		a := v.(answer)
		if a.cached {
			c.o.Metrics.StatusCacheHits.Inc()
			c.o.Metrics.StatusRequests.WithLabelValues("cache").Inc()
		} else {
			c.o.Metrics.StatusRequests.WithLabelValues("fetch").Inc()
		}
		return a.json
	}
	c.o.Log.Debug("status fetch failed", "backend", backend, "err", err)
	if ok && now.Sub(e.fetched) < staleFor {
		c.o.Metrics.StatusRequests.WithLabelValues("stale").Inc()
		return e.json
	}
	return c.fallback(pol, hs.Protocol)
}

// answer is what one fetch's callers share: the status, and whether it
// came from the cache after all (for the metrics).
type answer struct {
	json   []byte
	cached bool
}

// fetchHandshake is what the edge sends a backend to ask for its status:
// the known host, or the backend's own host when the ping's host is not
// known, and the backend's port. Nothing in it comes from the pinger
// except, through the cache key, the choice among known hosts and
// supported protocols.
func fetchHandshake(backend, host string, protocol int32) (packets.Handshake, error) {
	bhost, bport, err := net.SplitHostPort(backend)
	if err != nil {
		return packets.Handshake{}, fmt.Errorf("backend address %q: %w", backend, err)
	}
	port, err := strconv.ParseUint(bport, 10, 16)
	if err != nil {
		return packets.Handshake{}, fmt.Errorf("backend address %q: port: %w", backend, err)
	}
	if host == "" {
		host = bhost
	}
	return packets.Handshake{Protocol: protocol, Host: host, Port: uint16(port), Intent: mcproto.IntentStatus}, nil
}

// store adds an entry, first making room when the cache is full: entries
// too old even to be served stale go first, then the oldest.
func (c *Cache) store(k key, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= maxEntries {
		now := c.o.Now()
		var oldest key
		var oldestAt time.Time
		for ek, ee := range c.entries {
			if now.Sub(ee.fetched) >= staleFor {
				delete(c.entries, ek)
				continue
			}
			if oldestAt.IsZero() || ee.fetched.Before(oldestAt) {
				oldest, oldestAt = ek, ee.fetched
			}
		}
		if len(c.entries) >= maxEntries {
			delete(c.entries, oldest)
		}
	}
	c.entries[k] = e
}

func (c *Cache) fallback(pol *Policy, protocol int32) []byte {
	c.o.Metrics.StatusRequests.WithLabelValues("fallback").Inc()
	js, _ := json.Marshal(map[string]any{
		"version":     map[string]any{"name": pol.Fallback.VersionName, "protocol": protocol},
		"players":     map[string]any{"max": pol.Fallback.MaxPlayers, "online": 0},
		"description": map[string]any{"text": pol.Fallback.MOTD},
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
	// Mods append data after the JSON (docs/PROTOCOL.md, Framing): tolerated here.
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("status response from %s: %w", backend, err)
	}
	if !json.Valid(js) {
		return nil, fmt.Errorf("status response from %s: invalid json", backend)
	}
	return append([]byte(nil), js...), nil
}
