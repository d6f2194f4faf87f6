package auth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustguard/rustguard/shared/lru"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

const (
	// DefaultTimeout bounds one hasJoined request, queueing included. A
	// healthy session server answers in a fraction of a second; 5 s lets a
	// slow one through and still ends a stuck login well before the
	// client's own 30 s read timeout, with a message.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxInFlight caps concurrent hasJoined requests per edge. The
	// session server's budget is reported as about one request per second
	// per source address; the gate's login rates in front already keep an
	// edge near that, and this cap stops a burst the gate let through (or
	// a slow session server) from piling up connections to it. At the
	// cap, logins wait for a slot within the same timeout.
	DefaultMaxInFlight = 16
	// maxRemembered caps the remembered logins: an entry is a player the
	// session server confirmed, so the table grows with honest players,
	// not with a flood. About 1 KiB each with a skin's properties, so a
	// full table is about 64 MiB; the least recently seen go first.
	maxRemembered = 1 << 16
	// maxProfileBody caps a hasJoined answer: a profile with its textures
	// property and signature is about 1.5 KiB.
	maxProfileBody = 32 << 10
	// maxProperties / maxPropertyLen: what Login Success can carry
	// (vanilla's String(32767), 1.20.5+ reads at most 16 properties).
	maxProperties  = 16
	maxPropertyLen = 32767
)

// Errors of Authenticate. ErrNotJoined is the player's doing (the client
// did not join the session server for this connection: a cracked client,
// a stolen name); ErrUnavailable is the session server's (down, slow,
// overloaded, or answering nonsense).
var (
	ErrNotJoined   = errors.New("the session server has no join for this player and connection")
	ErrUnavailable = errors.New("the session server is unavailable")
)

// Result labels of rustguard_edge_session_server_requests_total.
const (
	resultJoined    = "joined"
	resultNotJoined = "not_joined"
	resultTimeout   = "timeout"   // no answer within the timeout
	resultStatus    = "status"    // an HTTP status other than 200 and 204
	resultTransport = "transport" // connection refused, reset, DNS, TLS
	resultMalformed = "malformed" // 200 with a body that is not a profile
	resultThrottled = "throttled" // no slot under the in-flight cap in time
)

var allResults = []string{resultJoined, resultNotJoined, resultTimeout, resultStatus, resultTransport, resultMalformed, resultThrottled}

// unavailable is ErrUnavailable with the result label that says why.
type unavailable struct {
	result string
	err    error
}

func (e *unavailable) Error() string   { return "session server " + e.result + ": " + e.err.Error() }
func (e *unavailable) Is(t error) bool { return t == ErrUnavailable }
func (e *unavailable) Unwrap() error   { return e.err }

// Profile is an account as the session server confirmed it.
type Profile struct {
	ID   mcproto.UUID
	Name string // as the account spells it (the client may differ in case)
	// Properties are signed by Mojang (textures: the skin); the backend
	// needs them with their signatures.
	Properties []packets.Property
}

// Options configure an Authenticator.
type Options struct {
	// SessionServer is the base URL (config auth.session_server).
	SessionServer string
	// Timeout bounds one request, waiting for a slot included; 0:
	// DefaultTimeout.
	Timeout time.Duration
	// MaxInFlight caps concurrent requests; 0: DefaultMaxInFlight.
	MaxInFlight int
	// RememberTTL is how long a confirmed login is remembered (config
	// auth.remember_ttl); 0 remembers nothing.
	RememberTTL time.Duration
	// Client makes the requests; nil: a client of the Authenticator's own.
	Client *http.Client
	// Registerer receives the rustguard_edge_session_server_* metrics;
	// nil: not registered.
	Registerer prometheus.Registerer
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives operator events (the session server failing and
	// recovering); nil: slog.Default().
	Log *slog.Logger
}

// Authenticator asks the session server whether a player joined, within
// the cap and timeout, and remembers the answers. Safe for concurrent use;
// it owns no goroutines.
type Authenticator struct {
	base    string // without a trailing slash
	timeout time.Duration
	ttl     time.Duration
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	slots   chan struct{}
	failing atomic.Bool

	mu         sync.Mutex
	remembered *lru.Table[rememberKey, remembered]

	requests   map[string]prometheus.Counter
	latency    prometheus.Histogram
	inFlight   prometheus.Gauge
	fromMemory prometheus.Counter
}

// rememberKey is a login the session server confirmed: the name as the
// client typed it, lower-cased, and the exact address it came from (not
// the /64: a remembered login skips authentication, so it is kept to the
// one address that authenticated).
type rememberKey struct {
	name string
	addr netip.Addr
}

type remembered struct {
	profile Profile
	expires time.Time
}

// New returns an Authenticator.
func New(o Options) (*Authenticator, error) {
	u, err := url.Parse(o.SessionServer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("session server %q: want an http or https base URL", o.SessionServer)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: o.Timeout,
			MaxIdleConnsPerHost: o.MaxInFlight,
			MaxConnsPerHost:     o.MaxInFlight,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		}}
	}
	a := &Authenticator{
		base: strings.TrimRight(o.SessionServer, "/"), timeout: o.Timeout, ttl: o.RememberTTL,
		client: o.Client, now: o.Now, log: o.Log, slots: make(chan struct{}, o.MaxInFlight),
		remembered: lru.New[rememberKey, remembered](maxRemembered),
		requests:   make(map[string]prometheus.Counter, len(allResults)),
	}
	if err := a.metrics(o.Registerer); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Authenticator) metrics(reg prometheus.Registerer) error {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_session_server_requests_total",
		Help: "hasJoined requests to the session server by result: joined, not_joined, timeout, status, transport, malformed, throttled (no slot under the edge's in-flight cap in time).",
	}, []string{"result"})
	for _, r := range allResults {
		a.requests[r] = requests.WithLabelValues(r)
	}
	a.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rustguard_edge_session_server_request_seconds",
		Help:    "Time from sending hasJoined to its answer (or the timeout).",
		Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10},
	})
	a.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_session_server_in_flight",
		Help: "hasJoined requests in flight now.",
	})
	a.fromMemory = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_session_server_remembered_total",
		Help: "Logins under attack mode answered from a remembered confirmation instead of a request.",
	})
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{requests, a.latency, a.inFlight, a.fromMemory} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("session server metrics: %w", err)
		}
	}
	return nil
}

// Login is one authentication to ask about.
type Login struct {
	Name     string     // from Login Start
	Addr     netip.Addr // the player's address
	ServerID string     // Handshake.ServerID
	// SendIP passes Addr to the session server, which then refuses a join
	// made from another address (auth.prevent_proxy_connections).
	SendIP bool
	// UnderAttack lets a confirmation remembered for this name and
	// address stand in for a request.
	UnderAttack bool
}

// Authenticate asks the session server whether l.Name joined with this
// connection's server id, and returns the account's profile. Errors:
// ErrNotJoined, or one that Is ErrUnavailable.
func (a *Authenticator) Authenticate(ctx context.Context, l Login) (Profile, error) {
	key := rememberKey{name: strings.ToLower(l.Name), addr: l.Addr.Unmap()}
	if l.UnderAttack {
		if p, ok := a.recall(key); ok {
			a.fromMemory.Inc()
			return p, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		a.requests[resultThrottled].Inc()
		return Profile{}, &unavailable{result: resultThrottled, err: fmt.Errorf("no request slot free in time (%d in flight): %w", cap(a.slots), ctx.Err())}
	}
	a.inFlight.Inc()
	start := a.now()
	p, result, err := a.hasJoined(ctx, l)
	a.latency.Observe(a.now().Sub(start).Seconds())
	a.inFlight.Dec()
	<-a.slots
	a.requests[result].Inc()
	a.health(result, err)
	if err != nil {
		return Profile{}, err
	}
	if a.ttl > 0 {
		a.remember(key, p)
	}
	return p, nil
}

// health logs the session server failing and recovering once each, not
// per login: under attack every login would fail the same way.
func (a *Authenticator) health(result string, err error) {
	switch {
	case errors.Is(err, ErrUnavailable) && result != resultThrottled:
		if a.failing.CompareAndSwap(false, true) {
			a.log.Warn("session server failing: online-mode logins are refused until it answers", "result", result, "err", err)
		}
	case err == nil || errors.Is(err, ErrNotJoined):
		if a.failing.CompareAndSwap(true, false) {
			a.log.Info("session server answering again")
		}
	}
}

func (a *Authenticator) hasJoined(ctx context.Context, l Login) (Profile, string, error) {
	q := url.Values{}
	q.Set("username", l.Name)
	q.Set("serverId", l.ServerID)
	if l.SendIP && l.Addr.IsValid() {
		q.Set("ip", l.Addr.Unmap().String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/session/minecraft/hasJoined?"+q.Encode(), nil)
	if err != nil {
		return Profile{}, resultTransport, &unavailable{result: resultTransport, err: err}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Profile{}, resultTimeout, &unavailable{result: resultTimeout, err: fmt.Errorf("no answer within %s: %w", a.timeout, err)}
		}
		return Profile{}, resultTransport, &unavailable{result: resultTransport, err: err}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNoContent:
		return Profile{}, resultNotJoined, ErrNotJoined
	default:
		return Profile{}, resultStatus, &unavailable{result: resultStatus, err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProfileBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return Profile{}, resultTimeout, &unavailable{result: resultTimeout, err: err}
		}
		return Profile{}, resultTransport, &unavailable{result: resultTransport, err: err}
	}
	p, err := parseProfile(body, l.Name)
	if err != nil {
		return Profile{}, resultMalformed, &unavailable{result: resultMalformed, err: err}
	}
	return p, resultJoined, nil
}

// profileJSON is hasJoined's answer.
type profileJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties []struct {
		Name      string  `json:"name"`
		Value     string  `json:"value"`
		Signature *string `json:"signature"`
	} `json:"properties"`
}

// parseProfile decodes and checks a hasJoined answer for name.
func parseProfile(body []byte, name string) (Profile, error) {
	if len(body) > maxProfileBody {
		return Profile{}, fmt.Errorf("profile larger than %d bytes", maxProfileBody)
	}
	var pj profileJSON
	if err := json.Unmarshal(body, &pj); err != nil {
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	id, err := parseUUID(pj.ID)
	if err != nil {
		return Profile{}, fmt.Errorf("profile id %q: %w", pj.ID, err)
	}
	// The session server matched the name itself; an answer for another
	// name is not an answer to this question.
	if !strings.EqualFold(pj.Name, name) || len(pj.Name) > packets.MaxUsernameLen {
		return Profile{}, fmt.Errorf("profile for %q, asked for %q", pj.Name, name)
	}
	if len(pj.Properties) > maxProperties {
		return Profile{}, fmt.Errorf("%d profile properties, at most %d", len(pj.Properties), maxProperties)
	}
	p := Profile{ID: id, Name: pj.Name, Properties: make([]packets.Property, 0, len(pj.Properties))}
	for _, pr := range pj.Properties {
		prop := packets.Property{Name: pr.Name, Value: pr.Value}
		if pr.Signature != nil {
			prop.HasSignature, prop.Signature = true, *pr.Signature
		}
		if len(prop.Name) > maxPropertyLen || len(prop.Value) > maxPropertyLen || len(prop.Signature) > maxPropertyLen || prop.Name == "" {
			return Profile{}, fmt.Errorf("profile property %.32q: empty name or a field over %d bytes", prop.Name, maxPropertyLen)
		}
		p.Properties = append(p.Properties, prop)
	}
	return p, nil
}

// parseUUID reads a UUID with or without dashes (the session server sends
// it without).
func parseUUID(s string) (mcproto.UUID, error) {
	var u mcproto.UUID
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return u, errors.New("not 32 hex digits")
	}
	if _, err := hex.Decode(u[:], []byte(s)); err != nil {
		return u, err
	}
	if u == (mcproto.UUID{}) {
		return u, errors.New("the nil UUID")
	}
	return u, nil
}

func (a *Authenticator) remember(k rememberKey, p Profile) {
	a.mu.Lock()
	v, _ := a.remembered.Put(rememberKey{name: strings.Clone(k.name), addr: k.addr})
	*v = remembered{profile: p, expires: a.now().Add(a.ttl)}
	a.mu.Unlock()
}

func (a *Authenticator) recall(k rememberKey) (Profile, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.remembered.Get(k)
	if v == nil {
		return Profile{}, false
	}
	if !a.now().Before(v.expires) {
		a.remembered.Remove(k)
		return Profile{}, false
	}
	return v.profile, true
}
