package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func TestValidateRefuses(t *testing.T) {
	long := strings.Repeat("x", MaxMessageLen+1)
	tests := []struct {
		name   string
		modify func(e *Edge)
		want   string // the exact FieldError message
	}{
		{"max_connections zero", func(e *Edge) { e.Proxy.MaxConnections = 0 },
			`proxy.max_connections = "0": must be at least 1`},
		{"max_connections huge", func(e *Edge) { e.Proxy.MaxConnections = MaxConnectionsLimit + 1 },
			`proxy.max_connections = "524289": must be at most 524288`},
		{"buffer too small", func(e *Edge) { e.Proxy.BufferSize = 511 },
			`proxy.buffer_size = "511": must be at least 512`},
		{"buffer too big", func(e *Edge) { e.Proxy.BufferSize = 1<<20 + 1 },
			`proxy.buffer_size = "1048577": must be at most 1048576`},
		{"listen without port", func(e *Edge) { e.Proxy.ListenAddress = "0.0.0.0" },
			`proxy.listen_address = "0.0.0.0": must be host:port (IPv6 as [::1]:25565)`},
		{"listen port out of range", func(e *Edge) { e.Proxy.ListenAddress = ":65536" },
			`proxy.listen_address = ":65536": port must be a number from 0 to 65535`},
		{"listen named port", func(e *Edge) { e.Proxy.ListenAddress = ":minecraft" },
			`proxy.listen_address = ":minecraft": port must be a number from 0 to 65535`},
		{"backend port zero", func(e *Edge) { e.Proxy.ServerAddress = "10.0.0.1:0" },
			`proxy.server_address = "10.0.0.1:0": port must be a number from 1 to 65535`},
		{"backend without host", func(e *Edge) { e.Proxy.ServerAddress = ":25565" },
			`proxy.server_address = ":25565": needs a host`},
		{"backend bad host", func(e *Edge) { e.Proxy.ServerAddress = "my server:25565" },
			`proxy.server_address = "my server:25565": host must be an IP address or a DNS name`},
		{"unbracketed ipv6", func(e *Edge) { e.Proxy.ServerAddress = "::1:25565" },
			`proxy.server_address = "::1:25565": must be host:port (IPv6 as [::1]:25565)`},
		{"timeout zero", func(e *Edge) { e.Proxy.Timeout = 0 },
			`proxy.timeout = "0s": must be greater than 0`},
		{"timeout negative", func(e *Edge) { e.Proxy.Timeout = Duration(-5 * time.Second) },
			`proxy.timeout = "-5s": must be greater than 0`},
		{"timeout in milliseconds by mistake", func(e *Edge) { e.Proxy.Timeout = Duration(30000 * time.Second) },
			`proxy.timeout = "30000s": must be at most 600s`},
		{"keepalive under a second", func(e *Edge) { e.Proxy.KeepaliveInterval = Duration(500 * time.Millisecond) },
			`proxy.keepalive_interval = "500ms": must be at least 1s`},
		{"handshake too long", func(e *Edge) { e.Proxy.HandshakeTimeout = Duration(2 * time.Minute) },
			`proxy.handshake_timeout = "120s": must be at most 60s`},
		{"login zero", func(e *Edge) { e.Proxy.LoginTimeout = 0 },
			`proxy.login_timeout = "0s": must be greater than 0`},
		{"dial zero", func(e *Edge) { e.Proxy.DialTimeout = 0 },
			`proxy.dial_timeout = "0s": must be greater than 0`},
		{"shutdown too long", func(e *Edge) { e.Proxy.ShutdownTimeout = Duration(time.Hour) },
			`proxy.shutdown_timeout = "3600s": must be at most 900s`},
		{"proxy protocol zero", func(e *Edge) { e.Proxy.ProxyProtocolTimeout = 0 },
			`proxy.proxy_protocol_timeout = "0s": must be greater than 0`},
		{"cidr with host bits", func(e *Edge) {
			e.Proxy.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.1/8")}
		}, `proxy.trusted_proxies[1] = "10.0.0.1/8": has host bits set; write 10.0.0.0/8, or /32 for one host`},
		{"invalid cidr", func(e *Edge) { e.Proxy.TrustedProxies = []netip.Prefix{{}} },
			`proxy.trusted_proxies[0] = "invalid Prefix": is not a valid CIDR`},
		{"too many cidrs", func(e *Edge) {
			e.Proxy.TrustedProxies = make([]netip.Prefix, maxTrustedProxies+1)
		}, `proxy.trusted_proxies = "1025 entries": at most 1024 entries`},
		{"cache ttl zero", func(e *Edge) { e.Status.CacheTTL = 0 },
			`status.cache_ttl = "0s": must be greater than 0`},
		{"fetch timeout too long", func(e *Edge) { e.Status.FetchTimeout = Duration(5 * time.Minute) },
			`status.fetch_timeout = "300s": must be at most 60s`},
		{"empty motd", func(e *Edge) { e.Status.FallbackMOTD = "  " },
			`status.fallback_motd = "  ": must not be empty`},
		{"negative max players", func(e *Edge) { e.Status.FallbackMaxPlayers = -1 },
			`status.fallback_max_players = "-1": must be at least 0`},
		{"empty message", func(e *Edge) { e.Messages.ServerFull = "" },
			`messages.server_full = "": must not be empty`},
		{"long message", func(e *Edge) { e.Messages.Shutdown = long },
			`messages.shutdown = "` + strings.Repeat("x", maxShownValue) + `…": must be at most 256 characters, has 257`},
		{"message bad utf-8", func(e *Edge) { e.Messages.BackendUnavailable = "bye \xff" },
			`messages.backend_unavailable = "bye \xff": must be valid UTF-8`},
		{"record file cap too small", func(e *Edge) { e.Detection.RecordMaxBytes = 1000 },
			`detection.record_max_bytes = "1000": must be at least 65536`},
		{"record total cap under one file", func(e *Edge) { e.Detection.RecordTotalMaxBytes = 1 << 20 },
			`detection.record_total_max_bytes = "1048576": must be at least detection.record_max_bytes (67108864): the directory must hold one whole recording`},
		{"record total cap zero", func(e *Edge) { e.Detection.RecordTotalMaxBytes = 0 },
			`detection.record_total_max_bytes = "0": must be at least detection.record_max_bytes (67108864): the directory must hold one whole recording`},
		{"world budget in the wrong unit", func(e *Edge) { e.World.BudgetBytes = 256 },
			`world.budget_bytes = "256": must be 0 (replica off) or at least 1048576`},
		{"world budget negative", func(e *Edge) { e.World.BudgetBytes = -1 },
			`world.budget_bytes = "-1": must be 0 (replica off) or at least 1048576`},
		{"fleet limits timeout too long", func(e *Edge) { e.Redis.LimitsTimeout = Duration(5 * time.Second) },
			`redis.limits_timeout = "5s": must be at most 2s`},
		{"fleet limits timeout under a millisecond", func(e *Edge) { e.Redis.LimitsTimeout = Duration(100 * time.Microsecond) },
			`redis.limits_timeout = "100µs": must be at least 1ms`},
		{"gate rate negative", func(e *Edge) { e.Gate.LoginPrefixRate = -1 },
			`gate.login_prefix_rate = "-1": must be a finite number of at least 0 (0 turns the limit off)`},
		{"gate burst zero", func(e *Edge) { e.Gate.ConnPrefixBurst = 0 },
			`gate.conn_prefix_burst = "0": must be at least 1 while gate.conn_prefix_rate is on`},
		{"gate unanchored name pattern", func(e *Edge) { e.Gate.NamePattern = "[a-z]+" },
			`gate.name_pattern = "[a-z]+": must start with ^ and end with $ so it judges the whole name`},
		{"gate bad name pattern", func(e *Edge) { e.Gate.NamePattern = "^[a-z$" },
			`gate.name_pattern = "^[a-z$": is not a valid regular expression: error parsing regexp: missing closing ]: ` + "`[a-z$`"},
		{"gate wildcard inside", func(e *Edge) { e.Gate.AllowedHosts = []string{"ok.example.com", "a.*.example.com"} },
			`gate.allowed_hosts[1] = "a.*.example.com": may hold a wildcard only as a leading "*."`},
		{"gate unsupported protocol", func(e *Edge) { e.Gate.AllowedProtocols = []int32{5} },
			fmt.Sprintf(`gate.allowed_protocols[0] = "5": is not a supported protocol (supported: %d to %d, release protocols only)`, packets.MinProtocol, packets.MaxProtocol)},
		{"gate attack mode", func(e *Edge) { e.Gate.AttackMode = "maybe" },
			`gate.attack_mode = "maybe": must be auto, on or off`},
		{"gate attack threshold", func(e *Edge) { e.Gate.AttackJoinsPerSecond = 0 },
			`gate.attack_joins_per_second = "0": must be a finite number greater than 0`},
		{"gate attack quiet", func(e *Edge) { e.Gate.AttackQuiet = Duration(time.Millisecond) },
			`gate.attack_quiet = "1ms": must be at least 1s`},
		{"gate verify failures", func(e *Edge) { e.Gate.VerifyMaxFailures = 0 },
			`gate.verify_max_failures = "0": must be at least 1`},
		{"gate public address", func(e *Edge) { e.Gate.PublicAddress = "play.example.com" },
			`gate.public_address = "play.example.com": must be host:port (IPv6 as [::1]:25565)`},
		{"unknown check", func(e *Edge) { e.Detection.Checks = map[string]CheckOverride{"combat.rech": {}} },
			`detection.checks.combat.rech = "combat.rech": is not a check (docs/DETECTIONS.md lists them); did you mean "combat.reach"?`},
		{"check param", func(e *Edge) {
			e.Detection.Checks = map[string]CheckOverride{"badpackets.fly": {Params: map[string]float64{"x": 1}}}
		}, `detection.checks.badpackets.fly.params.x = "1": is not a parameter of badpackets.fly (it has none)`},
		{"unsupported version empty", func(e *Edge) { e.Messages.UnsupportedVersion = "" },
			`messages.unsupported_version = "": must not be empty`},
		{"admin bad", func(e *Edge) { e.Admin.ListenAddress = "localhost" },
			`admin.listen_address = "localhost": must be host:port (IPv6 as [::1]:25565)`},
		{"admin collides with proxy", func(e *Edge) { e.Admin.ListenAddress = "127.0.0.1:25565" },
			`admin.listen_address = "127.0.0.1:25565": collides with proxy.listen_address`},
		{"log level", func(e *Edge) { e.Log.Level = "verbose" },
			`log.level = "verbose": must be one of debug, info, warn, error`},
		{"log level case", func(e *Edge) { e.Log.Level = "INFO" },
			`log.level = "INFO": must be one of debug, info, warn, error`},
		{"log format", func(e *Edge) { e.Log.Format = "xml" },
			`log.format = "xml": must be text or json`},
		{"claim prefix with a space", func(e *Edge) { e.Discovery.HostClaimPrefix = "mc events" },
			`discovery.host_claim_prefix = "mc events": must be empty or 1 to 63 of letters, digits, '-', '_' or '.'`},
		{"claim prefix too long", func(e *Edge) { e.Discovery.HostClaimPrefix = strings.Repeat("m", 64) },
			`discovery.host_claim_prefix = "` + strings.Repeat("m", 64) + `": must be empty or 1 to 63 of letters, digits, '-', '_' or '.'`},
		{"claim tag with a quote", func(e *Edge) { e.Discovery.HostClaimTag = `rg" or "x` },
			`discovery.host_claim_tag = "rg\" or \"x": must be empty or 1 to 64 of letters, digits, '-', '_', '.', ':', '=' or '/'`},
		{"claim tag with a backslash", func(e *Edge) { e.Discovery.HostClaimTag = `rg\` },
			`discovery.host_claim_tag = "rg\\": must be empty or 1 to 64 of letters, digits, '-', '_', '.', ':', '=' or '/'`},
		{"region empty", func(e *Edge) { e.Region = "" },
			`region = "": must be 1 to 64 letters, digits, '-', '_' or '.'`},
		{"region with space", func(e *Edge) { e.Region = "eu west" },
			`region = "eu west": must be 1 to 64 letters, digits, '-', '_' or '.'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DefaultEdge()
			tt.modify(&e)
			err := e.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil; want %q", tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v; want a *FieldError", err)
			}
			if err.Error() != tt.want {
				t.Fatalf("Validate() =\n  %s\nwant\n  %s", err, tt.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(e *Edge)
	}{
		{"listen port 0 for tests", func(e *Edge) { e.Proxy.ListenAddress = "127.0.0.1:0"; e.Admin.ListenAddress = "127.0.0.1:0" }},
		{"listen all interfaces, empty host", func(e *Edge) { e.Proxy.ListenAddress = ":25565" }},
		{"ipv6 listen", func(e *Edge) { e.Proxy.ListenAddress = "[::]:25565" }},
		{"backend DNS name", func(e *Edge) { e.Proxy.ServerAddress = "mc-backend.internal:25565" }},
		{"backend ipv6", func(e *Edge) { e.Proxy.ServerAddress = "[2001:db8::1]:25565" }},
		{"admin on another port of all interfaces", func(e *Edge) { e.Admin.ListenAddress = "0.0.0.0:9100" }},
		{"single-host CIDRs", func(e *Edge) {
			e.Proxy.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("2001:db8::1/128")}
		}},
		{"message of exactly the limit, multibyte", func(e *Edge) { e.Messages.ServerFull = strings.Repeat("é", MaxMessageLen) }},
		{"json debug", func(e *Edge) { e.Log = Log{Level: LevelDebug, Format: FormatJSON} }},
		{"host claims by prefix and tag", func(e *Edge) {
			e.Discovery.HostClaimPrefix = "mc-"
			e.Discovery.HostClaimTag = "traefik.enable=true"
		}},
		{"largest bounds", func(e *Edge) {
			e.Proxy.MaxConnections = MaxConnectionsLimit
			e.Proxy.BufferSize = MaxBufferSize
			e.Proxy.Timeout = Duration(maxIdleTimeout)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DefaultEdge()
			tt.modify(&e)
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate() = %v; want nil", err)
			}
		})
	}
}

// TestValidateReportsAll: every problem comes back at once, in field order.
func TestValidateReportsAll(t *testing.T) {
	e := DefaultEdge()
	e.Proxy.MaxConnections = 0
	e.Status.CacheTTL = 0
	e.Log.Format = "xml"
	err := e.Validate()
	want := strings.Join([]string{
		`proxy.max_connections = "0": must be at least 1`,
		`status.cache_ttl = "0s": must be greater than 0`,
		`log.format = "xml": must be text or json`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() =\n%v\nwant\n%s", err, want)
	}
	var fields []string
	for _, je := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if errors.As(je, &fe) {
			fields = append(fields, fe.Field)
		}
	}
	if got := strings.Join(fields, ","); got != "proxy.max_connections,status.cache_ttl,log.format" {
		t.Fatalf("FieldError fields = %s", got)
	}
}
