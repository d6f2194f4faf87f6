package config

import (
	"reflect"
	"testing"
)

// TestEnvNames pins every setting's YAML path and its exact environment
// variable: these names are part of the deployment contract (Ansible env
// files, container specs), so renaming one must fail a test.
func TestEnvNames(t *testing.T) {
	want := []struct{ path, env string }{
		{"region", "RUSTGUARD_REGION"},
		{"proxy.listen_address", "RUSTGUARD_LISTEN_ADDR"},
		{"proxy.server_address", "RUSTGUARD_BACKEND_ADDR"},
		{"proxy.timeout", "RUSTGUARD_TIMEOUT"},
		{"proxy.max_connections", "RUSTGUARD_MAX_CONNECTIONS"},
		{"proxy.buffer_size", "RUSTGUARD_BUFFER_SIZE"},
		{"proxy.enable_tcp_nodelay", "RUSTGUARD_TCP_NODELAY"},
		{"proxy.enable_keepalive", "RUSTGUARD_KEEPALIVE"},
		{"proxy.keepalive_interval", "RUSTGUARD_KEEPALIVE_INTERVAL"},
		{"proxy.handshake_timeout", "RUSTGUARD_HANDSHAKE_TIMEOUT"},
		{"proxy.login_timeout", "RUSTGUARD_LOGIN_TIMEOUT"},
		{"proxy.dial_timeout", "RUSTGUARD_DIAL_TIMEOUT"},
		{"proxy.shutdown_timeout", "RUSTGUARD_SHUTDOWN_TIMEOUT"},
		{"proxy.inspect_play", "RUSTGUARD_INSPECT_PLAY"},
		{"proxy.trusted_proxies", "RUSTGUARD_TRUSTED_PROXIES"},
		{"proxy.proxy_protocol_timeout", "RUSTGUARD_PROXY_PROTOCOL_TIMEOUT"},
		{"proxy.send_proxy_protocol", "RUSTGUARD_SEND_PROXY_PROTOCOL"},
		{"status.cache_ttl", "RUSTGUARD_STATUS_CACHE_TTL"},
		{"status.fetch_timeout", "RUSTGUARD_STATUS_FETCH_TIMEOUT"},
		{"status.fallback_motd", "RUSTGUARD_FALLBACK_MOTD"},
		{"status.fallback_max_players", "RUSTGUARD_FALLBACK_MAX_PLAYERS"},
		{"messages.backend_unavailable", "RUSTGUARD_MSG_BACKEND_UNAVAILABLE"},
		{"messages.server_full", "RUSTGUARD_MSG_SERVER_FULL"},
		{"messages.shutdown", "RUSTGUARD_MSG_SHUTDOWN"},
		{"messages.unsupported_version", "RUSTGUARD_MSG_UNSUPPORTED_VERSION"},
		{"admin.listen_address", "RUSTGUARD_ADMIN_ADDR"},
		{"log.level", "RUSTGUARD_LOG_LEVEL"},
		{"log.format", "RUSTGUARD_LOG_FORMAT"},
		{"detection.enabled", "RUSTGUARD_DETECTION"},
		{"detection.ban_duration", "RUSTGUARD_DETECTION_BAN_DURATION"},
		{"detection.checks", ""},
		{"detection.record_dir", "RUSTGUARD_RECORD_DIR"},
		{"detection.record_players", "RUSTGUARD_RECORD_PLAYERS"},
		{"detection.record_on_detection", "RUSTGUARD_RECORD_ON_DETECTION"},
		{"detection.record_max_bytes", "RUSTGUARD_RECORD_MAX_BYTES"},
		{"detection.record_total_max_bytes", "RUSTGUARD_RECORD_TOTAL_MAX_BYTES"},
		{"world.budget_bytes", "RUSTGUARD_WORLD_BUDGET_BYTES"},
		{"gate.conn_addr_rate", "RUSTGUARD_GATE_CONN_ADDR_RATE"},
		{"gate.conn_addr_burst", "RUSTGUARD_GATE_CONN_ADDR_BURST"},
		{"gate.conn_prefix_rate", "RUSTGUARD_GATE_CONN_PREFIX_RATE"},
		{"gate.conn_prefix_burst", "RUSTGUARD_GATE_CONN_PREFIX_BURST"},
		{"gate.login_addr_rate", "RUSTGUARD_GATE_LOGIN_ADDR_RATE"},
		{"gate.login_addr_burst", "RUSTGUARD_GATE_LOGIN_ADDR_BURST"},
		{"gate.login_prefix_rate", "RUSTGUARD_GATE_LOGIN_PREFIX_RATE"},
		{"gate.login_prefix_burst", "RUSTGUARD_GATE_LOGIN_PREFIX_BURST"},
		{"gate.name_pattern", "RUSTGUARD_GATE_NAME_PATTERN"},
		{"gate.allowed_hosts", "RUSTGUARD_GATE_ALLOWED_HOSTS"},
		{"gate.allowed_protocols", "RUSTGUARD_GATE_ALLOWED_PROTOCOLS"},
		{"gate.denied_protocols", "RUSTGUARD_GATE_DENIED_PROTOCOLS"},
		{"gate.max_logins_in_flight", "RUSTGUARD_GATE_MAX_LOGINS_IN_FLIGHT"},
		{"gate.max_accounts_per_addr", "RUSTGUARD_GATE_MAX_ACCOUNTS_PER_ADDR"},
		{"gate.attack_mode", "RUSTGUARD_ATTACK_MODE"},
		{"gate.attack_joins_per_second", "RUSTGUARD_GATE_ATTACK_JOINS_PER_SECOND"},
		{"gate.attack_fleet_joins_per_second", "RUSTGUARD_GATE_ATTACK_FLEET_JOINS_PER_SECOND"},
		{"gate.attack_quiet", "RUSTGUARD_GATE_ATTACK_QUIET"},
		{"gate.verify_always", "RUSTGUARD_GATE_VERIFY_ALWAYS"},
		{"gate.verified_ttl", "RUSTGUARD_GATE_VERIFIED_TTL"},
		{"gate.verify_max_failures", "RUSTGUARD_GATE_VERIFY_MAX_FAILURES"},
		{"gate.verify_block", "RUSTGUARD_GATE_VERIFY_BLOCK"},
		{"gate.public_address", "RUSTGUARD_PUBLIC_ADDRESS"},
		{"redis.url", "RUSTGUARD_REDIS_URL"},
		{"redis.key_prefix", "RUSTGUARD_REDIS_KEY_PREFIX"},
		{"redis.bans_fail_closed", "RUSTGUARD_BANS_FAIL_CLOSED"},
		{"redis.limits_fail_open", "RUSTGUARD_LIMITS_FAIL_OPEN"},
		{"redis.limits_timeout", "RUSTGUARD_LIMITS_TIMEOUT"},
		{"redis.detect_bans_address", "RUSTGUARD_DETECT_BANS_ADDRESS"},
		{"redis.login_addr_rate", "RUSTGUARD_FLEET_LOGIN_ADDR_RATE"},
		{"redis.login_addr_burst", "RUSTGUARD_FLEET_LOGIN_ADDR_BURST"},
		{"redis.login_prefix_rate", "RUSTGUARD_FLEET_LOGIN_PREFIX_RATE"},
		{"redis.login_prefix_burst", "RUSTGUARD_FLEET_LOGIN_PREFIX_BURST"},
		{"redis.login_name_rate", "RUSTGUARD_FLEET_LOGIN_NAME_RATE"},
		{"redis.login_name_burst", "RUSTGUARD_FLEET_LOGIN_NAME_BURST"},
		{"discovery.backend_service", "RUSTGUARD_BACKEND_SERVICE"},
		{"discovery.routes", ""},
		{"discovery.host_claim_prefix", "RUSTGUARD_HOST_CLAIM_PREFIX"},
		{"discovery.host_claim_tag", "RUSTGUARD_HOST_CLAIM_TAG"},
		{"discovery.register", "RUSTGUARD_CONSUL_REGISTER"},
		{"discovery.failover_nearest", "RUSTGUARD_FAILOVER_NEAREST"},
		{"discovery.fleet_config", "RUSTGUARD_FLEET_CONFIG"},
		{"discovery.instance_id", "RUSTGUARD_INSTANCE_ID"},
		// The issue names the first four exactly.
		{"auth.mode", "RUSTGUARD_AUTH_MODE"},
		{"auth.session_server", "RUSTGUARD_SESSION_SERVER"},
		{"auth.prevent_proxy_connections", "RUSTGUARD_AUTH_PREVENT_PROXY_CONNECTIONS"},
		{"auth.key_file", "RUSTGUARD_AUTH_KEY_FILE"},
		{"auth.forwarding", "RUSTGUARD_FORWARDING"},
		{"auth.forwarding_secret", "RUSTGUARD_FORWARDING_SECRET"},
		{"auth.forwarding_secret_file", "RUSTGUARD_FORWARDING_SECRET_FILE"},
		{"auth.remember_ttl", "RUSTGUARD_AUTH_REMEMBER_TTL"},
		{"auth.routes", ""},
	}
	got := edgeFields()
	if len(got) != len(want) {
		t.Fatalf("Edge has %d settings; the table pins %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].path != w.path || got[i].env != w.env {
			t.Errorf("setting %d = %s / %s; want %s / %s", i, got[i].path, got[i].env, w.path, w.env)
		}
	}
}

// TestFieldTags: no envDefault tags (they would overwrite the file, see the
// package doc) and no duplicate variable names.
func TestFieldTags(t *testing.T) {
	seen := map[string]string{}
	for _, f := range edgeFields() {
		if f.env == EnvConfigFile {
			t.Errorf("%s uses %s, which names the file", f.path, f.env)
		}
		if f.env == "" {
			continue // file-only settings have no variable
		}
		if prev, dup := seen[f.env]; dup {
			t.Errorf("%s and %s share %s", prev, f.path, f.env)
		}
		seen[f.env] = f.path
	}
	var walk func(reflect.Type)
	walk = func(t2 reflect.Type) {
		for i := 0; i < t2.NumField(); i++ {
			sf := t2.Field(i)
			if _, ok := sf.Tag.Lookup("envDefault"); ok {
				t.Errorf("%s.%s has an envDefault tag", t2.Name(), sf.Name)
			}
			if isSection(sf.Type) {
				walk(sf.Type)
			}
		}
	}
	walk(reflect.TypeFor[Edge]())
}
