package bans

import (
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client defaults for a Redis the edge consults on the connection path
// (docs/FLEET.md, Redis timeouts and failing open). Per-call contexts carry the real budgets (tens
// of milliseconds on logins, seconds in the background loops); these only
// keep a misbehaving socket from outliving them. A value given in the URL's
// query (dial_timeout=…, max_retries=…) wins.
const (
	// clientDialTimeout bounds one dial attempt. A fresh connection inside
	// a region takes a millisecond; a second covers a cross-region Redis
	// for the background loops and the CLI.
	clientDialTimeout = time.Second
	// clientIOTimeout bounds a socket read or write when a call has no
	// deadline of its own; go-redis's own default is 5 s.
	clientIOTimeout = 500 * time.Millisecond
	// clientPoolTimeout is how long a call waits for a free pooled
	// connection before failing (default read timeout + 1 s).
	clientPoolTimeout = 250 * time.Millisecond
	// clientMaxRetries: one retry replaces a pooled connection that died
	// with a Redis restart; more only eat the caller's deadline.
	clientMaxRetries = 1
	// clientDialAttempts: go-redis dials up to 5 times per connection by
	// default with 100 ms pauses; our loops back off on their own.
	clientDialAttempts = 1
)

// NewClient opens a Redis client for RUSTGUARD_REDIS_URL. Accepted forms:
//
//	redis://[user:password@]host:port[/db][?option=value…]
//	rediss://…                                (TLS)
//	redis+cluster://host:port[?addr=host2:port&addr=…]   (Redis Cluster seeds)
//	rediss+cluster://…                        (Redis Cluster over TLS)
//
// The result is a go-redis UniversalClient: a single-node client or a
// cluster client. Every key this package and package limits use is laid out
// so that multi-key commands and scripts stay in one cluster slot.
//
// The client is shared by bans and limits; it belongs here only because
// bans was the first user. Move it to its own package if a third appears.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	return NewClientWith(rawURL, EdgeClientDefaults())
}

// ClientDefaults are the client settings NewClientWith applies where the
// URL's query sets none.
type ClientDefaults struct {
	DialTimeout time.Duration
	// IOTimeout bounds a socket read or write when a call has no deadline
	// of its own (and caps the call's deadline when it has one).
	IOTimeout    time.Duration
	PoolTimeout  time.Duration
	MaxRetries   int
	DialAttempts int
}

// EdgeClientDefaults are NewClient's: budgets for a Redis consulted on
// the connection path (the constants above say why).
func EdgeClientDefaults() ClientDefaults {
	return ClientDefaults{DialTimeout: clientDialTimeout, IOTimeout: clientIOTimeout, PoolTimeout: clientPoolTimeout,
		MaxRetries: clientMaxRetries, DialAttempts: clientDialAttempts}
}

// NewClientWith is NewClient with other defaults: central, whose Lua
// scripts write a whole batch, waits longer for an answer than an edge
// may on a login.
func NewClientWith(rawURL string, d ClientDefaults) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redis url: missing scheme (want redis://, rediss:// or redis+cluster://)")
	}
	switch scheme {
	case "redis", "rediss":
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		applyClientDefaults(d, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries, &o.DialerRetries)
		o.ContextTimeoutEnabled = true
		return redis.NewClient(o), nil
	case "redis+cluster", "rediss+cluster":
		o, err := redis.ParseClusterURL(strings.TrimSuffix(scheme, "+cluster") + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		applyClientDefaults(d, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries, &o.DialerRetries)
		o.ContextTimeoutEnabled = true
		return redis.NewClusterClient(o), nil
	}
	return nil, fmt.Errorf("redis url: unsupported scheme %q (want redis, rediss, redis+cluster or rediss+cluster)", scheme)
}

func applyClientDefaults(d ClientDefaults, dial, read, write, pool *time.Duration, retries, dialAttempts *int) {
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setDur(dial, d.DialTimeout)
	setDur(read, d.IOTimeout)
	setDur(write, d.IOTimeout)
	setDur(pool, d.PoolTimeout)
	if *retries == 0 {
		*retries = d.MaxRetries
	}
	if *dialAttempts == 0 {
		*dialAttempts = d.DialAttempts
	}
}
