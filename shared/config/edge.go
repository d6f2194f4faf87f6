package config

import (
	"log/slog"
	"net/netip"
	"time"
)

// EnvConfigFile names the environment variable holding the path of the YAML
// file. Unset or empty means "no file": the defaults plus environment.
const EnvConfigFile = "RUSTGUARD_CONFIG"

// Edge is the whole configuration of one edge process.
//
// Tags: yaml is the key in the file (dotted path = section.key), env is the
// exact environment variable. No envDefault tags: see the package doc.
// A field tagged secret:"true" is masked by Redacted and LogValue.
type Edge struct {
	// Region names this edge's region in logs, metrics and telemetry.
	Region   string   `yaml:"region" env:"RUSTGUARD_REGION" fleet:"local"`
	Proxy    Proxy    `yaml:"proxy"`
	Status   Status   `yaml:"status"`
	Messages Messages `yaml:"messages"`
	Admin    Admin    `yaml:"admin"`
	Log      Log      `yaml:"log"`
	// Detection configures the detection engine (docs/DETECTIONS.md).
	Detection Detection `yaml:"detection"`
	// World configures the world replica movement checks read
	// (docs/WORLD.md).
	World World `yaml:"world"`
	// Gate configures admission (layer 1): rates, names, hosts, protocols,
	// accounts per address, attack mode and verification.
	Gate Gate `yaml:"gate"`
	// Redis shares bans, login limits and attack signals across the fleet.
	Redis Redis `yaml:"redis"`
	// Discovery configures backend discovery through Consul (used when
	// CONSUL_HTTP_ADDR is set; otherwise proxy.server_address serves all).
	Discovery Discovery `yaml:"discovery"`
	// Auth decides who authenticates players (passthrough or online mode)
	// and how an online-mode edge tells the backend who they are.
	Auth Auth `yaml:"auth"`
}

// Discovery configures Consul-based backend discovery. The Consul client
// itself reads its own variables (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, TLS).
type Discovery struct {
	// BackendService is the Consul service whose healthy instances serve
	// hosts that no route names.
	BackendService string `yaml:"backend_service" env:"RUSTGUARD_BACKEND_SERVICE" fleet:"live"`
	// Routes maps handshake hosts to services, e.g. lobby.example.com: lobby.
	Routes map[string]string `yaml:"routes" fleet:"live"`
	// HostClaimPrefix and HostClaimTag name the services allowed to claim
	// handshake hosts through the rustguard_hosts service meta key: the
	// service name must start with the prefix and the claiming instance
	// must carry the tag (each only when set). Both empty: no service may
	// claim hosts. Claims never override routes or the hosts the default
	// service's own instances declare.
	HostClaimPrefix string `yaml:"host_claim_prefix" env:"RUSTGUARD_HOST_CLAIM_PREFIX"`
	HostClaimTag    string `yaml:"host_claim_tag" env:"RUSTGUARD_HOST_CLAIM_TAG"`
	// Register registers this edge in Consul as service rustguard-edge.
	Register bool `yaml:"register" env:"RUSTGUARD_CONSUL_REGISTER"`
	// FailoverNearest is how many other datacenters, nearest first, serve
	// a pool that has no healthy local instance (0: no cross-region failover).
	FailoverNearest int `yaml:"failover_nearest" env:"RUSTGUARD_FAILOVER_NEAREST"`
	// FleetConfig follows the fleet configuration document central keeps
	// in Consul KV (docs/CONFIG.md, "Fleet configuration"); off, the edge
	// runs its own configuration only.
	FleetConfig bool `yaml:"fleet_config" env:"RUSTGUARD_FLEET_CONFIG" fleet:"local"`
	// InstanceID names this edge in Consul and in detection events (empty:
	// host name and process id).
	InstanceID string `yaml:"instance_id" env:"RUSTGUARD_INSTANCE_ID" fleet:"local"`
}

// World configures the edge's replica of the blocks each player sees
// (docs/WORLD.md).
type World struct {
	// BudgetBytes caps the replica's memory on this edge; past it new
	// players get no replica and are checked by the world-free bounds
	// only. 0 turns the replica off.
	BudgetBytes int64 `yaml:"budget_bytes" env:"RUSTGUARD_WORLD_BUDGET_BYTES"`
}

// Detection configures the detection engine.
type Detection struct {
	// Enabled runs the checks on every play packet. Off, the edge only
	// relays (and still enforces framing limits).
	Enabled bool `yaml:"enabled" env:"RUSTGUARD_DETECTION"`
	// BanDuration is how long the ban action bans (fleet-wide once the
	// shared ban list is configured).
	BanDuration Duration `yaml:"ban_duration" env:"RUSTGUARD_DETECTION_BAN_DURATION" fleet:"live"`
	// Checks overrides checks by stable key: mode (off, alert, enforce),
	// action (alert, rewrite where the check can correct the packet, drop,
	// kick, ban), kick_vl, decay and params.
	Checks map[string]CheckOverride `yaml:"checks" fleet:"live"`
	// RecordDir turns session recording on: files go here (empty: off).
	RecordDir string `yaml:"record_dir" env:"RUSTGUARD_RECORD_DIR"`
	// RecordPlayers are always recorded, by name.
	RecordPlayers []string `yaml:"record_players" env:"RUSTGUARD_RECORD_PLAYERS"`
	// RecordOnDetection keeps the last packets of every player in memory
	// and writes them, and the rest of the session, on the first flag.
	RecordOnDetection bool `yaml:"record_on_detection" env:"RUSTGUARD_RECORD_ON_DETECTION"`
	// RecordMaxBytes caps one recording file.
	RecordMaxBytes int64 `yaml:"record_max_bytes" env:"RUSTGUARD_RECORD_MAX_BYTES"`
	// RecordTotalMaxBytes caps the recordings directory: the oldest
	// finished recordings are deleted to stay under it.
	RecordTotalMaxBytes int64 `yaml:"record_total_max_bytes" env:"RUSTGUARD_RECORD_TOTAL_MAX_BYTES"`
}

// CheckOverride changes one check's defaults; absent fields keep them.
type CheckOverride struct {
	Mode   string             `yaml:"mode"`
	Action string             `yaml:"action"`
	KickVL *float64           `yaml:"kick_vl"`
	Decay  *float64           `yaml:"decay"`
	Params map[string]float64 `yaml:"params"`
}

// Proxy configures the player-facing listener and the backend leg.
type Proxy struct {
	// ListenAddress is where players connect (host:port; port 0 picks one).
	ListenAddress string `yaml:"listen_address" env:"RUSTGUARD_LISTEN_ADDR"`
	// ServerAddress is the backend Minecraft server (host:port).
	ServerAddress string `yaml:"server_address" env:"RUSTGUARD_BACKEND_ADDR"`
	// Timeout is the read idle timeout on either leg.
	Timeout Duration `yaml:"timeout" env:"RUSTGUARD_TIMEOUT"`
	// MaxConnections caps concurrent player connections on this edge.
	MaxConnections int `yaml:"max_connections" env:"RUSTGUARD_MAX_CONNECTIONS"`
	// BufferSize is the initial read buffer per direction, in bytes.
	BufferSize int `yaml:"buffer_size" env:"RUSTGUARD_BUFFER_SIZE"`
	// EnableTCPNoDelay disables Nagle on both legs (game traffic is small
	// and latency-bound).
	EnableTCPNoDelay bool `yaml:"enable_tcp_nodelay" env:"RUSTGUARD_TCP_NODELAY"`
	// EnableKeepalive turns on TCP keepalive probes on both legs.
	EnableKeepalive bool `yaml:"enable_keepalive" env:"RUSTGUARD_KEEPALIVE"`
	// KeepaliveInterval is the idle time before TCP keepalive probes start.
	KeepaliveInterval Duration `yaml:"keepalive_interval" env:"RUSTGUARD_KEEPALIVE_INTERVAL"`
	// HandshakeTimeout runs from accept until the handshake and the first
	// packet of the next state have arrived.
	HandshakeTimeout Duration `yaml:"handshake_timeout" env:"RUSTGUARD_HANDSHAKE_TIMEOUT"`
	// LoginTimeout runs from the handshake until the backend's Login
	// Success; configuration (1.20.2+) then follows the idle timeout.
	LoginTimeout Duration `yaml:"login_timeout" env:"RUSTGUARD_LOGIN_TIMEOUT"`
	// DialTimeout bounds connecting to the backend.
	DialTimeout Duration `yaml:"dial_timeout" env:"RUSTGUARD_DIAL_TIMEOUT"`
	// ShutdownTimeout is how long connections may drain after SIGTERM.
	ShutdownTimeout Duration `yaml:"shutdown_timeout" env:"RUSTGUARD_SHUTDOWN_TIMEOUT"`
	// InspectPlay parses play frames; false splices play traffic untouched.
	InspectPlay bool `yaml:"inspect_play" env:"RUSTGUARD_INSPECT_PLAY"`
	// TrustedProxies are the peers allowed to send PROXY v1/v2 headers.
	// Anyone else sending one is refused: a header from an untrusted peer
	// would let it claim any client address.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies" env:"RUSTGUARD_TRUSTED_PROXIES"`
	// ProxyProtocolTimeout bounds waiting for the PROXY header.
	ProxyProtocolTimeout Duration `yaml:"proxy_protocol_timeout" env:"RUSTGUARD_PROXY_PROTOCOL_TIMEOUT"`
	// SendProxyProtocol sends a PROXY v2 header to the backend.
	SendProxyProtocol bool `yaml:"send_proxy_protocol" env:"RUSTGUARD_SEND_PROXY_PROTOCOL"`
}

// Status configures answers to server-list pings.
type Status struct {
	// CacheTTL is how long a backend status answer is reused.
	CacheTTL Duration `yaml:"cache_ttl" env:"RUSTGUARD_STATUS_CACHE_TTL" fleet:"live"`
	// FetchTimeout bounds one status fetch from the backend.
	FetchTimeout Duration `yaml:"fetch_timeout" env:"RUSTGUARD_STATUS_FETCH_TIMEOUT" fleet:"live"`
	// FallbackMOTD is shown when the backend cannot answer.
	FallbackMOTD string `yaml:"fallback_motd" env:"RUSTGUARD_FALLBACK_MOTD" fleet:"live"`
	// FallbackMaxPlayers is the "max" player count shown with FallbackMOTD.
	FallbackMaxPlayers int `yaml:"fallback_max_players" env:"RUSTGUARD_FALLBACK_MAX_PLAYERS" fleet:"live"`
}

// Messages are the texts players see when the edge disconnects them.
type Messages struct {
	BackendUnavailable string `yaml:"backend_unavailable" env:"RUSTGUARD_MSG_BACKEND_UNAVAILABLE" fleet:"live"`
	ServerFull         string `yaml:"server_full" env:"RUSTGUARD_MSG_SERVER_FULL" fleet:"live"`
	Shutdown           string `yaml:"shutdown" env:"RUSTGUARD_MSG_SHUTDOWN" fleet:"live"`
	UnsupportedVersion string `yaml:"unsupported_version" env:"RUSTGUARD_MSG_UNSUPPORTED_VERSION" fleet:"live"`
}

// Admin configures the operator HTTP listener (metrics, health).
type Admin struct {
	// ListenAddress defaults to loopback: admin endpoints never face the
	// internet unless an operator says so.
	ListenAddress string `yaml:"listen_address" env:"RUSTGUARD_ADMIN_ADDR"`
}

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level" env:"RUSTGUARD_LOG_LEVEL"`   // debug|info|warn|error
	Format string `yaml:"format" env:"RUSTGUARD_LOG_FORMAT"` // text|json
}

// Log levels and formats accepted by Validate.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"

	FormatText = "text"
	FormatJSON = "json"
)

// SlogLevel maps Level to a slog.Level; an unknown level (which Validate
// refuses) maps to info.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case LevelDebug:
		return slog.LevelDebug
	case LevelWarn:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// DefaultEdge returns the compiled-in configuration. The proxy section's
// first eight values are the original design's (docs/DESIGN.md); the rest are ours, with the
// reason next to each.
func DefaultEdge() Edge {
	return Edge{
		Region: "local",
		Proxy: Proxy{
			ListenAddress:     "0.0.0.0:25565",
			ServerAddress:     "127.0.0.1:25566",
			Timeout:           Duration(30 * time.Second),
			MaxConnections:    1000,
			BufferSize:        4096,
			EnableTCPNoDelay:  true,
			EnableKeepalive:   true,
			KeepaliveInterval: Duration(60 * time.Second),
			// A real client sends the handshake and its next packet
			// back to back; 5 s is generous even on a slow link.
			HandshakeTimeout: Duration(5 * time.Second),
			// Vanilla's own login timeout is 30 s.
			LoginTimeout: Duration(30 * time.Second),
			DialTimeout:  Duration(5 * time.Second),
			// Fits inside systemd's default 90 s stop timeout with room
			// for the process to exit cleanly.
			ShutdownTimeout:      Duration(10 * time.Second),
			InspectPlay:          true,
			TrustedProxies:       nil,
			ProxyProtocolTimeout: Duration(5 * time.Second),
			SendProxyProtocol:    false,
		},
		Status: Status{
			// Short enough that player counts look live, long enough
			// that a ping flood costs the backend one fetch per 5 s.
			CacheTTL:           Duration(5 * time.Second),
			FetchTimeout:       Duration(2 * time.Second),
			FallbackMOTD:       "RustGuard: the server is starting, try again shortly",
			FallbackMaxPlayers: 0,
		},
		Messages: Messages{
			BackendUnavailable: "The server is not reachable right now. Please try again in a minute.",
			ServerFull:         "The server is full. Please try again later.",
			Shutdown:           "The server is restarting. Please reconnect in a moment.",
			UnsupportedVersion: "Your Minecraft version is not supported here. Please use a supported version.",
		},
		Admin: Admin{ListenAddress: "127.0.0.1:9565"},
		Log:   Log{Level: LevelInfo, Format: FormatText},
		// Detection is on: checks that honest clients cannot trigger drop
		// and kick, heuristics only alert (docs/DETECTIONS.md).
		// edge/internal/record says where the recording caps come from (a
		// test keeps the two equal).
		Detection: Detection{Enabled: true, BanDuration: Duration(30 * time.Minute),
			RecordMaxBytes: 64 << 20, RecordTotalMaxBytes: 1 << 30},
		// edge/internal/world.DefaultBudget says where 256 MiB comes from
		// (a test keeps the two equal).
		World: World{BudgetBytes: 256 << 20},
		// Consul is used only when CONSUL_HTTP_ADDR is set; these are its
		// defaults then (the issue names "minecraft" as the default pool).
		Discovery: Discovery{BackendService: "minecraft", Register: true, FailoverNearest: 3, FleetConfig: true},
		// edge/internal/limits.FleetDefaults says where these come from.
		Redis: Redis{KeyPrefix: "rustguard", LimitsFailOpen: true, LimitsTimeout: Duration(50 * time.Millisecond),
			LoginAddrRate: 1.0 / 3, LoginAddrBurst: 3, LoginPrefixRate: 0.4, LoginPrefixBurst: 6,
			LoginNameRate: 0.2, LoginNameBurst: 3},
		// The gate's defaults (edge/internal/gate.Defaults says where each
		// number comes from; a test keeps the two equal).
		Gate: Gate{
			ConnAddrRate: 5, ConnAddrBurst: 10, ConnPrefixRate: 10, ConnPrefixBurst: 20,
			LoginAddrRate: 1.0 / 3, LoginAddrBurst: 3, LoginPrefixRate: 1, LoginPrefixBurst: 6,
			NamePattern:       `^[a-zA-Z0-9_]{1,16}$`,
			MaxLoginsInFlight: 1, MaxAccountsPerAddr: 3,
			AttackMode: "auto", AttackJoinsPerSecond: 8, AttackFleetJoinsPerSecond: 32,
			AttackQuiet: Duration(30 * time.Second),
			VerifiedTTL: Duration(24 * time.Hour), VerifyMaxFailures: 2, VerifyBlock: Duration(10 * time.Minute),
		},
		// Passthrough is what an edge did before online mode existed.
		// Velocity forwarding is the one a backend can verify, so an
		// operator who turns online mode on is asked for its secret
		// rather than handed an unauthenticated default. An hour of
		// remembered logins covers a verification, its reconnect and an
		// attack wave's retries.
		Auth: Auth{Mode: AuthPassthrough, SessionServer: DefaultSessionServer, Forwarding: ForwardVelocity,
			RememberTTL: Duration(time.Hour)},
	}
}

// Gate configures the admission gate (edge/internal/gate; its Defaults
// explain each number's origin).
type Gate struct {
	ConnAddrRate     float64 `yaml:"conn_addr_rate" env:"RUSTGUARD_GATE_CONN_ADDR_RATE" fleet:"live"`
	ConnAddrBurst    int     `yaml:"conn_addr_burst" env:"RUSTGUARD_GATE_CONN_ADDR_BURST" fleet:"live"`
	ConnPrefixRate   float64 `yaml:"conn_prefix_rate" env:"RUSTGUARD_GATE_CONN_PREFIX_RATE" fleet:"live"`
	ConnPrefixBurst  int     `yaml:"conn_prefix_burst" env:"RUSTGUARD_GATE_CONN_PREFIX_BURST" fleet:"live"`
	LoginAddrRate    float64 `yaml:"login_addr_rate" env:"RUSTGUARD_GATE_LOGIN_ADDR_RATE" fleet:"live"`
	LoginAddrBurst   int     `yaml:"login_addr_burst" env:"RUSTGUARD_GATE_LOGIN_ADDR_BURST" fleet:"live"`
	LoginPrefixRate  float64 `yaml:"login_prefix_rate" env:"RUSTGUARD_GATE_LOGIN_PREFIX_RATE" fleet:"live"`
	LoginPrefixBurst int     `yaml:"login_prefix_burst" env:"RUSTGUARD_GATE_LOGIN_PREFIX_BURST" fleet:"live"`

	NamePattern      string   `yaml:"name_pattern" env:"RUSTGUARD_GATE_NAME_PATTERN" fleet:"live"`
	AllowedHosts     []string `yaml:"allowed_hosts" env:"RUSTGUARD_GATE_ALLOWED_HOSTS" fleet:"live"`
	AllowedProtocols []int32  `yaml:"allowed_protocols" env:"RUSTGUARD_GATE_ALLOWED_PROTOCOLS" fleet:"live"`
	DeniedProtocols  []int32  `yaml:"denied_protocols" env:"RUSTGUARD_GATE_DENIED_PROTOCOLS" fleet:"live"`

	MaxLoginsInFlight  int `yaml:"max_logins_in_flight" env:"RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT" fleet:"live"`
	MaxAccountsPerAddr int `yaml:"max_accounts_per_addr" env:"RUSTGUARD_GATE_MAX_ACCOUNTS_PER_ADDR" fleet:"live"`

	AttackMode                string   `yaml:"attack_mode" env:"RUSTGUARD_ATTACK_MODE" fleet:"live"`
	AttackJoinsPerSecond      float64  `yaml:"attack_joins_per_second" env:"RUSTGUARD_GATE_ATTACK_JOINS_PER_SECOND" fleet:"live"`
	AttackFleetJoinsPerSecond float64  `yaml:"attack_fleet_joins_per_second" env:"RUSTGUARD_GATE_ATTACK_FLEET_JOINS_PER_SECOND" fleet:"live"`
	AttackQuiet               Duration `yaml:"attack_quiet" env:"RUSTGUARD_GATE_ATTACK_QUIET" fleet:"live"`

	VerifyAlways      bool     `yaml:"verify_always" env:"RUSTGUARD_GATE_VERIFY_ALWAYS" fleet:"live"`
	VerifiedTTL       Duration `yaml:"verified_ttl" env:"RUSTGUARD_GATE_VERIFIED_TTL" fleet:"live"`
	VerifyMaxFailures int      `yaml:"verify_max_failures" env:"RUSTGUARD_GATE_VERIFY_MAX_FAILURES" fleet:"live"`
	VerifyBlock       Duration `yaml:"verify_block" env:"RUSTGUARD_GATE_VERIFY_BLOCK" fleet:"live"`
	// PublicAddress (host:port) is where verified 1.20.5+ players are
	// transferred back; empty means the address the player connected to.
	PublicAddress string `yaml:"public_address" env:"RUSTGUARD_PUBLIC_ADDRESS"`
}

// Redis configures the fleet's shared state. Empty URL: the edge runs alone
// on its local limits and has no ban list.
type Redis struct {
	// URL is redis://, rediss:// or redis+cluster:// (it may hold a password).
	URL string `yaml:"url" env:"RUSTGUARD_REDIS_URL" secret:"true" fleet:"local"`
	// KeyPrefix starts every key, so several fleets can share one Redis.
	KeyPrefix string `yaml:"key_prefix" env:"RUSTGUARD_REDIS_KEY_PREFIX"`
	// BansFailClosed refuses logins while the ban list cannot be synced;
	// false (the default) serves from the last list held.
	BansFailClosed bool `yaml:"bans_fail_closed" env:"RUSTGUARD_BANS_FAIL_CLOSED"`
	// LimitsFailOpen lets logins through on local limits alone when Redis
	// does not answer in time; false refuses them.
	LimitsFailOpen bool `yaml:"limits_fail_open" env:"RUSTGUARD_LIMITS_FAIL_OPEN"`
	// LimitsTimeout is how long a login waits for the fleet limits'
	// answer before LimitsFailOpen decides.
	LimitsTimeout Duration `yaml:"limits_timeout" env:"RUSTGUARD_LIMITS_TIMEOUT"`
	// DetectBansAddress makes a detection's ban of an authenticated player
	// also ban the address (off: addresses are shared by households and
	// carriers). Unauthenticated (passthrough routes: the edge did not
	// check the account) the address is all a detection ban may ban, so
	// this has no effect there.
	DetectBansAddress bool `yaml:"detect_bans_address" env:"RUSTGUARD_DETECT_BANS_ADDRESS"`
	// Fleet-wide login limits (GCRA in Redis) per address, per prefix and
	// per name from one source prefix (a name is a claim before login:
	// limiting it alone would let anyone spend a player's budget).
	LoginAddrRate    float64 `yaml:"login_addr_rate" env:"RUSTGUARD_FLEET_LOGIN_ADDR_RATE"`
	LoginAddrBurst   int     `yaml:"login_addr_burst" env:"RUSTGUARD_FLEET_LOGIN_ADDR_BURST"`
	LoginPrefixRate  float64 `yaml:"login_prefix_rate" env:"RUSTGUARD_FLEET_LOGIN_PREFIX_RATE"`
	LoginPrefixBurst int     `yaml:"login_prefix_burst" env:"RUSTGUARD_FLEET_LOGIN_PREFIX_BURST"`
	LoginNameRate    float64 `yaml:"login_name_rate" env:"RUSTGUARD_FLEET_LOGIN_NAME_RATE"`
	LoginNameBurst   int     `yaml:"login_name_burst" env:"RUSTGUARD_FLEET_LOGIN_NAME_BURST"`
}
