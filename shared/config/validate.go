package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds checked by Validate. Each says where it comes from.
const (
	// MinBufferSize: a handshake plus login start from a real client is a
	// few hundred bytes; a smaller buffer only multiplies read calls.
	MinBufferSize = 512
	// MaxBufferSize: the buffer is per direction per connection, so this
	// times 2 × max_connections is the edge's worst-case buffer memory.
	MaxBufferSize = 1 << 20
	// MaxConnectionsLimit is half of LimitNOFILE=1048576 from the edge's
	// systemd unit (docs/FLEET.md, File descriptors): each player holds two sockets.
	MaxConnectionsLimit = 1 << 19
	// MaxMessageLen is the longest player-facing text, in characters:
	// vanilla's chat line limit, and about what a disconnect screen shows.
	MaxMessageLen = 256
	// maxRegionLen keeps region names short: they are metric labels, log
	// fields and Consul service meta values.
	maxRegionLen = 64
	// maxTrustedProxies bounds the list checked on every accept; real
	// deployments name a handful of load balancer ranges.
	maxTrustedProxies = 1024
	// maxFallbackPlayers: the vanilla client reads the status "max" count
	// into a Java int.
	maxFallbackPlayers = math.MaxInt32
	// maxShownValue is how much of a bad value a FieldError repeats.
	maxShownValue = 64
	// MinRecordMaxBytes is the smallest useful recording file: the header
	// and a few seconds of play (edge/internal/record has the same floor).
	MinRecordMaxBytes = 64 << 10
	// MinWorldBudget is the smallest world replica budget other than 0
	// (off): a few hundred columns, so that a budget given in the wrong
	// unit (256 meant as MiB) is refused rather than admitting nobody.
	MinWorldBudget = 1 << 20
)

// Upper bounds on durations. Past these a value is a typo (a unit
// forgotten, 30000 meant as milliseconds) rather than a choice.
const (
	// maxIdleTimeout: the vanilla server drops a client silent for 30 s;
	// minutes of idleness only keep dead sockets open.
	maxIdleTimeout = 10 * time.Minute
	// minKeepaliveInterval: the kernel counts TCP keepalive idle time in
	// whole seconds.
	minKeepaliveInterval = time.Second
	// maxKeepaliveInterval is Linux's default tcp_keepalive_time (7200 s);
	// probing less often than the default is pointless.
	maxKeepaliveInterval = 2 * time.Hour
	// maxHandshakeTimeout: a client sends its handshake and next packet
	// in one round trip.
	maxHandshakeTimeout = time.Minute
	// maxLoginTimeout covers online-mode authentication and the
	// configuration phase, where 1.20.2+ clients download resource packs.
	maxLoginTimeout = 10 * time.Minute
	// maxDialTimeout: a backend that needs longer to accept is down.
	maxDialTimeout = time.Minute
	// maxShutdownTimeout: orchestrators kill a process long before this
	// (systemd's default stop timeout is 90 s).
	maxShutdownTimeout = 15 * time.Minute
	// maxLimitsTimeout: every login waits for the fleet limits' answer;
	// seconds would be a Redis in another continent, or down.
	maxLimitsTimeout = 2 * time.Second
	// maxProxyProtocolTimeout: a load balancer sends the header at once.
	maxProxyProtocolTimeout = time.Minute
	// maxStatusCacheTTL: older answers show player counts that are stale.
	maxStatusCacheTTL = 10 * time.Minute
	// maxStatusFetchTimeout: the client's server list gives up on a ping
	// well before this.
	maxStatusFetchTimeout = time.Minute
)

// FieldError is one invalid setting. Validate returns them joined.
type FieldError struct {
	Field  string // dotted YAML path, e.g. "proxy.max_connections"
	Value  string // the offending value as written, shortened if long
	Reason string // what a valid value looks like
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s = %q: %s", e.Field, e.Value, e.Reason)
}

// problems collects FieldErrors in field order.
type problems []error

func (p *problems) add(field string, value any, reason string) {
	v := fmt.Sprint(value)
	if s, ok := value.(fmt.Stringer); ok {
		v = s.String()
	}
	if utf8.RuneCountInString(v) > maxShownValue {
		v = string([]rune(v)[:maxShownValue]) + "…"
	}
	*p = append(*p, &FieldError{Field: field, Value: v, Reason: reason})
}

// Validate checks every setting and returns all problems at once, joined,
// each a *FieldError (use errors.As to pick them out).
func (e Edge) Validate() error {
	var p problems

	checkRegion(&p, "region", e.Region)

	px := e.Proxy
	checkHostPort(&p, "proxy.listen_address", px.ListenAddress, true)
	checkHostPort(&p, "proxy.server_address", px.ServerAddress, false)
	checkDuration(&p, "proxy.timeout", px.Timeout, 0, maxIdleTimeout)
	checkIntRange(&p, "proxy.max_connections", px.MaxConnections, 1, MaxConnectionsLimit)
	checkIntRange(&p, "proxy.buffer_size", px.BufferSize, MinBufferSize, MaxBufferSize)
	checkDuration(&p, "proxy.keepalive_interval", px.KeepaliveInterval, minKeepaliveInterval, maxKeepaliveInterval)
	checkDuration(&p, "proxy.handshake_timeout", px.HandshakeTimeout, 0, maxHandshakeTimeout)
	checkDuration(&p, "proxy.login_timeout", px.LoginTimeout, 0, maxLoginTimeout)
	checkDuration(&p, "proxy.dial_timeout", px.DialTimeout, 0, maxDialTimeout)
	checkDuration(&p, "proxy.shutdown_timeout", px.ShutdownTimeout, 0, maxShutdownTimeout)
	checkPrefixes(&p, "proxy.trusted_proxies", px.TrustedProxies)
	checkDuration(&p, "proxy.proxy_protocol_timeout", px.ProxyProtocolTimeout, 0, maxProxyProtocolTimeout)

	st := e.Status
	checkDuration(&p, "status.cache_ttl", st.CacheTTL, 0, maxStatusCacheTTL)
	checkDuration(&p, "status.fetch_timeout", st.FetchTimeout, 0, maxStatusFetchTimeout)
	checkText(&p, "status.fallback_motd", st.FallbackMOTD)
	checkIntRange(&p, "status.fallback_max_players", st.FallbackMaxPlayers, 0, maxFallbackPlayers)

	checkDuration(&p, "redis.limits_timeout", e.Redis.LimitsTimeout, time.Millisecond, maxLimitsTimeout)

	checkDuration(&p, "detection.ban_duration", e.Detection.BanDuration, 0, maxBanDuration)
	if d := e.Detection; d.RecordMaxBytes < MinRecordMaxBytes {
		p.add("detection.record_max_bytes", d.RecordMaxBytes, fmt.Sprintf("must be at least %d", MinRecordMaxBytes))
	} else if d.RecordTotalMaxBytes < d.RecordMaxBytes {
		p.add("detection.record_total_max_bytes", d.RecordTotalMaxBytes,
			fmt.Sprintf("must be at least detection.record_max_bytes (%d): the directory must hold one whole recording", d.RecordMaxBytes))
	}
	checkDetectionChecks(&p, e.Detection.Checks)
	if b := e.World.BudgetBytes; b != 0 && b < MinWorldBudget {
		p.add("world.budget_bytes", b, fmt.Sprintf("must be 0 (replica off) or at least %d", MinWorldBudget))
	}
	checkGate(&p, e.Gate)

	if e.Discovery.BackendService == "" && len(e.Discovery.Routes) == 0 {
		p.add("discovery.backend_service", "", "must name a Consul service unless discovery.routes covers every host")
	}
	for host, svc := range e.Discovery.Routes {
		if host == "" || svc == "" {
			p.add("discovery.routes."+host, svc, "host and service must both be non-empty")
		}
	}
	checkClaimName(&p, "discovery.host_claim_prefix", e.Discovery.HostClaimPrefix, maxClaimPrefixLen, "")
	checkClaimName(&p, "discovery.host_claim_tag", e.Discovery.HostClaimTag, maxClaimTagLen, ":=/")
	checkIntRange(&p, "discovery.failover_nearest", e.Discovery.FailoverNearest, 0, maxFailoverNearest)
	checkAuth(&p, e.Auth)

	checkText(&p, "messages.backend_unavailable", e.Messages.BackendUnavailable)
	checkText(&p, "messages.server_full", e.Messages.ServerFull)
	checkText(&p, "messages.shutdown", e.Messages.Shutdown)
	checkText(&p, "messages.unsupported_version", e.Messages.UnsupportedVersion)

	if checkHostPort(&p, "admin.listen_address", e.Admin.ListenAddress, true) &&
		sameListener(e.Admin.ListenAddress, px.ListenAddress) {
		p.add("admin.listen_address", e.Admin.ListenAddress, "collides with proxy.listen_address")
	}

	switch e.Log.Level {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
	default:
		p.add("log.level", e.Log.Level, "must be one of debug, info, warn, error")
	}
	switch e.Log.Format {
	case FormatText, FormatJSON:
	default:
		p.add("log.format", e.Log.Format, "must be text or json")
	}

	return errors.Join(p...)
}

// maxFailoverNearest bounds cross-region failover: beyond a handful of
// datacenters the latency makes a remote backend worse than a clear refusal.
const maxFailoverNearest = 10

// maxClaimPrefixLen: a Consul service name is meant to be a DNS label
// (Consul warns about any other), at most 63 characters (RFC 1035).
const maxClaimPrefixLen = 63

// maxClaimTagLen keeps the tag short enough to read in logs; tags in use
// ("rustguard", "traefik.enable=true") are far shorter.
const maxClaimTagLen = 64

// checkClaimName checks an optional service-name prefix or tag: empty, or
// up to max letters, digits, '-', '_', '.' and the characters in extra. The
// tag goes into a Consul filter expression between double quotes, so quotes
// and backslashes must never reach it.
func checkClaimName(p *problems, name, v string, max int, extra string) {
	if v == "" {
		return
	}
	ok := len(v) <= max
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || strings.IndexByte(extra, c) >= 0
	}
	if !ok {
		allowed := []string{"letters", "digits", "'-'", "'_'", "'.'"}
		for _, c := range extra {
			allowed = append(allowed, fmt.Sprintf("'%c'", c))
		}
		last := len(allowed) - 1
		p.add(name, v, fmt.Sprintf("must be empty or 1 to %d of %s or %s", max, strings.Join(allowed[:last], ", "), allowed[last]))
	}
}

// maxBanDuration caps bans written by checks: longer ones are an
// operator's decision, made through the ban list directly.
const maxBanDuration = 30 * 24 * time.Hour

func checkRegion(p *problems, name, v string) {
	ok := v != "" && len(v) <= maxRegionLen
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		p.add(name, v, fmt.Sprintf("must be 1 to %d letters, digits, '-', '_' or '.'", maxRegionLen))
	}
}

// checkHostPort checks "host:port" with a numeric port. A listener may
// leave the host empty (all interfaces) and use port 0 (tests); a dial
// target needs both.
func checkHostPort(p *problems, name, v string, listen bool) bool {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		p.add(name, v, "must be host:port (IPv6 as [::1]:25565)")
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	minPort := uint64(1)
	if listen {
		minPort = 0
	}
	if err != nil || n < minPort {
		p.add(name, v, fmt.Sprintf("port must be a number from %d to 65535", minPort))
		return false
	}
	if host == "" && !listen {
		p.add(name, v, "needs a host")
		return false
	}
	if host != "" && !validHost(host) {
		p.add(name, v, "host must be an IP address or a DNS name")
		return false
	}
	return true
}

func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// sameListener reports whether two valid listen addresses would bind the
// same non-zero port on overlapping interfaces.
func sameListener(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	return ha == hb || anyHost(ha) || anyHost(hb)
}

func anyHost(h string) bool {
	if h == "" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsUnspecified()
}

// checkDuration wants lo ≤ d ≤ hi and d > 0.
func checkDuration(p *problems, name string, d Duration, lo, hi time.Duration) {
	switch {
	case d <= 0:
		p.add(name, d, "must be greater than 0")
	case d.D() < lo:
		p.add(name, d, "must be at least "+Duration(lo).String())
	case d.D() > hi:
		p.add(name, d, "must be at most "+Duration(hi).String())
	}
}

func checkIntRange(p *problems, name string, v, lo, hi int) {
	switch {
	case v < lo:
		p.add(name, v, fmt.Sprintf("must be at least %d", lo))
	case v > hi:
		p.add(name, v, fmt.Sprintf("must be at most %d", hi))
	}
}

// checkPrefixes wants valid, canonical CIDRs: "10.0.0.1/8" is refused
// because the operator probably meant a single host, not all of 10/8.
func checkPrefixes(p *problems, name string, v []netip.Prefix) {
	if len(v) > maxTrustedProxies {
		p.add(name, fmt.Sprintf("%d entries", len(v)), fmt.Sprintf("at most %d entries", maxTrustedProxies))
		return
	}
	for i, pfx := range v {
		item := fmt.Sprintf("%s[%d]", name, i)
		switch {
		case !pfx.IsValid():
			p.add(item, pfx, "is not a valid CIDR")
		case pfx != pfx.Masked():
			p.add(item, pfx, fmt.Sprintf("has host bits set; write %s, or /%d for one host", pfx.Masked(), pfx.Addr().BitLen()))
		}
	}
}

// checkText wants non-empty valid UTF-8 of at most MaxMessageLen
// characters.
func checkText(p *problems, name, v string) {
	switch {
	case strings.TrimSpace(v) == "":
		p.add(name, v, "must not be empty")
	case !utf8.ValidString(v):
		p.add(name, v, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > MaxMessageLen:
		p.add(name, v, fmt.Sprintf("must be at most %d characters, has %d", MaxMessageLen, utf8.RuneCountInString(v)))
	}
}
