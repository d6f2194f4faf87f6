package telemetry

// Service names, as service.name on every span's resource.
const (
	ServiceEdge    = "rustguard-edge"
	ServiceCentral = "rustguard-central"
)

// Span names. A connection's setup is one trace: mc.connect with a child
// per step. Detections, attack reports, bans and configuration changes are
// spans of their own, always sampled (they are what central aggregates).
const (
	SpanConnect       = "mc.connect"        // accept → relaying starts (or the refusal)
	SpanGate          = "mc.gate"           // admission rules for a login
	SpanAuth          = "mc.auth"           // online mode: encryption and the session server's confirmation
	SpanLimbo         = "mc.limbo"          // the verification the edge answers itself
	SpanBackendChoose = "mc.backend.choose" // routing: which backends may serve the host
	SpanBackendDial   = "mc.backend.dial"   // one dial attempt (failover makes several)
	SpanLogin         = "mc.login"          // the backend's login until relaying starts
	SpanDetection     = "mc.detection"      // one flag of one check (links to mc.connect)
	SpanAttack        = "rustguard.attack"  // an edge's attack-mode report
	SpanBan           = "rustguard.ban"     // a ban written or lifted
	SpanConfigApply   = "rustguard.config.apply"
	SpanCorrelation   = "player.correlation" // made by central: one player across regions
)

// Resource attribute keys (OpenTelemetry semantic conventions).
const (
	AttrServiceName     = "service.name"
	AttrServiceInstance = "service.instance.id"
	AttrServiceVersion  = "service.version"
	AttrRegion          = "cloud.region"
	AttrEnvironment     = "deployment.environment.name"
)

// Span attribute keys.
const (
	AttrClientAddress = "client.address"       // the player's address (after a trusted PROXY header)
	AttrPeerAddress   = "network.peer.address" // the socket peer (a load balancer, or the player)
	AttrPeerPort      = "network.peer.port"

	AttrProtocol      = "mc.protocol_version"
	AttrNextState     = "mc.next_state" // login or transfer (status pings are not traced)
	AttrHost          = "mc.host"       // the routed handshake host
	AttrBackend       = "mc.backend"
	AttrOutcome       = "mc.outcome" // a rejection reason, "relayed", "verified" (passed the limbo) or "closed"
	AttrSession       = "mc.session.id"
	AttrPlayerName    = "mc.player.name"
	AttrPlayerUUID    = "mc.player.uuid"
	AttrAuthenticated = "mc.player.authenticated"
	AttrBrand         = "mc.client.brand"
	AttrAttempt       = "mc.backend.attempt"    // 1 for the first dial of a login
	AttrCandidates    = "mc.backend.candidates" // how many backends routing offered (mc.backend.choose)
	AttrGateDecision  = "mc.gate.decision"      // allow, verify or refuse (mc.gate)
	AttrGateReason    = "mc.gate.reason"        // the gate's rule, e.g. rate_addr, banned (mc.gate)

	AttrDetectionKey          = "detection.key"
	AttrDetectionSchema       = "detection.schema"
	AttrDetectionLayer        = "detection.layer"
	AttrDetectionSeverity     = "detection.severity"
	AttrDetectionAction       = "detection.action"
	AttrDetectionVL           = "detection.vl"
	AttrDetectionExperimental = "detection.experimental"
	// AttrDetectionVerbose prefixes check-specific evidence
	// (detection.verbose.pitch, …).
	AttrDetectionVerbose = "detection.verbose."

	AttrAttackActive        = "attack.active"
	AttrAttackJoinsPerSec   = "attack.joins_per_second"
	AttrAttackFailedVerify  = "attack.verifications_failed"
	AttrAttackNameShape     = "attack.name_shape"       // the most common NameShape of the interval's logins
	AttrAttackNameShapeHits = "attack.name_shape_count" // how many of them had it

	AttrBanOperation = "ban.operation" // add or remove
	AttrBanKind      = "ban.kind"
	AttrBanValue     = "ban.value"
	AttrBanSource    = "ban.source"
	AttrBanDuration  = "ban.duration_seconds" // 0: permanent

	AttrConfigVersion = "config.version"
	AttrConfigResult  = "config.result" // applied, refused, restart_needed
)
