package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/edge/internal/fleetconfig"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The fleet configuration tests write the document into Consul KV the way
// central does (a config.FleetEnvelope under config.FleetKey) and watch the
// two fleet edges pick it up.

// compressAbove is the compression threshold of the backend a player
// plays on in these tests.
const compressAbove = 256

// putFleetDoc stores version of the fleet document.
func (f *fleet) putFleetDoc(t *testing.T, version uint64, doc string) {
	t.Helper()
	env, err := json.Marshal(config.FleetEnvelope{Version: version, UpdatedAt: time.Now().UTC(), UpdatedBy: "test", Config: json.RawMessage(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.consul.Client().KV().Put(&api.KVPair{Key: config.FleetKey, Value: env}, nil); err != nil {
		t.Fatal(err)
	}
}

// waitConfig waits until every edge reports version with state.
func (f *fleet) waitConfig(t *testing.T, what string, cond func(fleetconfig.Status) bool) {
	t.Helper()
	for _, e := range f.edges {
		eventually(t, fmt.Sprintf("edge %s: %s", e.cfg.Region, what), func() bool { return cond(e.FleetConfig()) })
	}
}

func runs(version uint64) func(fleetconfig.Status) bool {
	return func(st fleetconfig.Status) bool { return st.Version == version && st.Refused == 0 }
}

// serviceMeta is an edge's meta in the Consul catalogue.
func (f *fleet) serviceMeta(t *testing.T, e *Edge) map[string]string {
	t.Helper()
	svc, _, err := f.consul.Client().Agent().Service(e.instance, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc.Meta
}

// gaugeValue reads an unlabelled gauge from an edge's registry.
func gaugeValue(t *testing.T, e *Edge, name string) float64 {
	t.Helper()
	mfs, err := e.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// unsupportedText is the disconnect text a 1.7 client gets from e: the
// messages.unsupported_version in force.
func unsupportedText(t *testing.T, e *Edge) string {
	t.Helper()
	c := dial(t, e.Addr().String())
	c.Write(append(handshake(5, "localhost", 25565, 2), loginStart(5, "Old")...))
	return string(c.expectClosed(t))
}

// TestFleetConfigAppliesLive: a document written to Consul reaches both
// edges; a connected player's next packets follow the new detection policy
// (a check to alert: its packets pass; back to enforce with a lower kick_vl:
// kicked) without being disconnected by the change; the region override
// reaches only its region; routes and the gate change too; each edge shows
// the version in its Consul meta, its metric and /readyz.
func TestFleetConfigAppliesLive(t *testing.T) {
	// Compression on: enterPlay speaks the compressed framing.
	def, lobby := startBackend(t, compressAbove, false), startBackend(t, -1, false)
	// The edges' own policy drops an impossible pitch until violation
	// level 3 (its default kicks at once), so the player outlives the
	// first flags and a fleet document can lower the level.
	localKickVL := 3.0
	f := startFleet(t, func(c *config.Edge) {
		c.Detection.Enabled = true
		c.Detection.Checks = map[string]config.CheckOverride{"badpackets.invalid_pitch": {KickVL: &localKickVL}}
	})
	f.register(t, "minecraft-1", "minecraft", def.addr())
	f.register(t, "lobby-1", "lobby", lobby.addr())
	f.waitRouted(t, "localhost", def.addr())
	eu := f.edges[0]
	for _, e := range f.edges {
		if st := e.FleetConfig(); st.Version != 0 || st.State != fleetconfig.StateLocal {
			t.Fatalf("edge %s before any document: %+v", e.cfg.Region, st)
		}
		if m := f.serviceMeta(t, e); m[config.MetaConfigVersion] != "0" {
			t.Fatalf("edge %s registered with meta %v, want config_version 0", e.cfg.Region, m)
		}
	}

	// A player in play on the eu-west edge.
	c := mustLogin(t, eu, "localhost", "Steve")
	_, bc := arrival(t, def)
	enterPlay(t, c, bc, fleetProtocol)
	table := packets.Lookup(fleetProtocol)
	lookID := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerLook)
	var comp mcproto.Compressor
	look := func(pitch float32) []byte {
		return comp.AppendFrame(nil, packets.PlayerLook{Yaw: 1, Pitch: pitch}.AppendData(mcproto.AppendVarInt(nil, lookID), fleetProtocol), compressAbove)
	}
	// nextAtBackend is the next frame the backend receives from the player.
	nextAtBackend := func() []byte {
		t.Helper()
		_ = bc.SetReadDeadline(time.Now().Add(10 * time.Second))
		body, err := bc.fr.Next()
		if err != nil {
			t.Fatalf("backend read: %v", err)
		}
		return mcproto.AppendFrame(nil, body)
	}
	// The edge's own policy: an impossible pitch is dropped (below the
	// kick level), the honest look after it arrives.
	c.Write(append(look(-300), look(45)...))
	if got := nextAtBackend(); string(got) != string(look(45)) {
		t.Fatalf("backend received %x, want only the honest look %x", got, look(45))
	}

	f.putFleetDoc(t, 1, `{
	  "detection": {"checks": {"badpackets.invalid_pitch": {"mode": "alert"}}},
	  "gate": {"attack_mode": "on"},
	  "discovery": {"routes": {"lobby.example.com": "lobby"}},
	  "messages": {"unsupported_version": "Fleet says: update your game"},
	  "regions": {"us-east": {"messages": {"unsupported_version": "US says: update your game"}}}
	}`)
	f.waitConfig(t, "runs version 1", runs(1))
	// Alert only: the impossible pitch now reaches the backend, and the
	// player is still connected.
	c.Write(look(-300))
	if got := nextAtBackend(); string(got) != string(look(-300)) {
		t.Fatalf("after version 1 the backend received %x, want the impossible look passed through", got)
	}
	if n := detections(t, eu, "badpackets.invalid_pitch", "alert"); n != 1 {
		t.Errorf("alerts = %v, want 1", n)
	}
	for _, e := range f.edges {
		if !e.Gate.AttackMode() {
			t.Errorf("edge %s: attack mode not on", e.cfg.Region)
		}
		if got := candidates(e, "lobby.example.com", ""); !slices.Equal(got, []string{lobby.addr()}) {
			t.Errorf("edge %s routes lobby.example.com to %v, want the lobby backend", e.cfg.Region, got)
		}
		if got := gaugeValue(t, e, "rustguard_edge_config_version"); got != 1 {
			t.Errorf("edge %s: rustguard_edge_config_version = %v", e.cfg.Region, got)
		}
		eventually(t, "meta shows version 1", func() bool {
			m := f.serviceMeta(t, e)
			return m[config.MetaConfigVersion] == "1" && m[config.MetaConfigStatus] == config.ConfigApplied
		})
		code, body := readyz(t, e)
		if code != http.StatusOK || !strings.Contains(body, `"config":{"version":1,"state":"applied"}`) {
			t.Errorf("edge %s /readyz = %d %s", e.cfg.Region, code, body)
		}
	}
	// The region override reaches its region only.
	if got := unsupportedText(t, eu); !strings.Contains(got, "Fleet says") {
		t.Errorf("eu-west tells an old client %q, want the fleet's text", got)
	}
	if got := unsupportedText(t, f.edges[1]); !strings.Contains(got, "US says") {
		t.Errorf("us-east tells an old client %q, want its region's text", got)
	}

	// Back to enforce, with a kick level the player's violations (three
	// flags so far, decaying at 0.05/s) already reach: the next impossible
	// pitch kicks. Under the edges' own kick level (3) it would not.
	f.putFleetDoc(t, 2, `{"detection": {"checks": {"badpackets.invalid_pitch": {"mode": "enforce", "kick_vl": 1.5}}}}`)
	f.waitConfig(t, "runs version 2", runs(2))
	c.Write(look(-300))
	if msg := c.expectClosed(t); !strings.Contains(string(msg), "RustGuard") {
		t.Fatalf("kick message %q", msg)
	}
	// Version 2 no longer sets what version 1 did: the edges' own values
	// are back.
	for _, e := range f.edges {
		if e.Gate.AttackMode() {
			t.Errorf("edge %s: attack mode still on", e.cfg.Region)
		}
		if got := candidates(e, "lobby.example.com", ""); !slices.Equal(got, []string{def.addr()}) {
			t.Errorf("edge %s routes lobby.example.com to %v, want the default pool again", e.cfg.Region, got)
		}
	}
	if got := unsupportedText(t, f.edges[1]); !strings.Contains(got, config.DefaultEdge().Messages.UnsupportedVersion) {
		t.Errorf("us-east tells an old client %q, want its own text again", got)
	}
}

// TestFleetConfigRefusesInvalid: a document that gets into KV without
// central's validation is refused by every edge with the field and the
// reason; the edges keep serving on the last good version and say so in
// their log, metrics, Consul meta and /readyz, without becoming unready.
func TestFleetConfigRefusesInvalid(t *testing.T) {
	def := startBackend(t, -1, false)
	f := startFleet(t, nil)
	f.register(t, "minecraft-1", "minecraft", def.addr())
	f.waitRouted(t, "localhost", def.addr())

	f.putFleetDoc(t, 1, `{"messages": {"unsupported_version": "version one"}}`)
	f.waitConfig(t, "runs version 1", runs(1))

	f.putFleetDoc(t, 2, `{"messages": {"unsupported_version": "version two"}, "gate": {"attack_mode": "sometimes"}, "detection": {"checks": {"combat.rech": {}}}}`)
	f.waitConfig(t, "refuses version 2", func(st fleetconfig.Status) bool { return st.Refused == 2 })
	for _, e := range f.edges {
		st := e.FleetConfig()
		if st.Version != 1 || st.State != config.ConfigRefused {
			t.Errorf("edge %s: %+v, want version 1 kept and the state refused", e.cfg.Region, st)
		}
		fields := map[string]string{}
		for _, p := range st.Problems {
			fields[p.Field] = p.Reason
		}
		if !strings.Contains(fields["gate.attack_mode"], "must be auto, on or off") ||
			!strings.Contains(fields["detection.checks.combat.rech"], `did you mean "combat.reach"`) {
			t.Errorf("edge %s: problems %+v, want both fields with their reasons", e.cfg.Region, st.Problems)
		}
		if got := unsupportedText(t, e); !strings.Contains(got, "version one") {
			t.Errorf("edge %s tells an old client %q, want version one's text", e.cfg.Region, got)
		}
		code, body := readyz(t, e)
		if code != http.StatusOK || !strings.Contains(body, `"refused_version":2`) || !strings.Contains(body, "gate.attack_mode") {
			t.Errorf("edge %s /readyz = %d %s, want ready with the refusal", e.cfg.Region, code, body)
		}
		if got := gaugeValue(t, e, "rustguard_edge_config_refused"); got != 1 {
			t.Errorf("edge %s: rustguard_edge_config_refused = %v", e.cfg.Region, got)
		}
		if n, err := counterValue(e, "rustguard_edge_config_errors_total", "reason", "invalid"); err != nil || n != 1 {
			t.Errorf("edge %s: rustguard_edge_config_errors_total{reason=invalid} = %v, %v", e.cfg.Region, n, err)
		}
		eventually(t, "meta shows the refusal", func() bool {
			m := f.serviceMeta(t, e)
			return m[config.MetaConfigVersion] == "1" && m[config.MetaConfigStatus] == config.ConfigRefused
		})
	}

	// The next good version is applied and clears the refusal.
	f.putFleetDoc(t, 3, `{"messages": {"unsupported_version": "version three"}}`)
	f.waitConfig(t, "runs version 3", runs(3))
	for _, e := range f.edges {
		if got := gaugeValue(t, e, "rustguard_edge_config_refused"); got != 0 {
			t.Errorf("edge %s: rustguard_edge_config_refused = %v after a good version", e.cfg.Region, got)
		}
		if got := unsupportedText(t, e); !strings.Contains(got, "version three") {
			t.Errorf("edge %s tells an old client %q", e.cfg.Region, got)
		}
	}
}

// TestFleetConfigReportsRestartNeeded: settings an edge applies only at
// start are reported, not applied; the live ones in the same version are.
func TestFleetConfigReportsRestartNeeded(t *testing.T) {
	def := startBackend(t, -1, false)
	f := startFleet(t, nil)
	f.register(t, "minecraft-1", "minecraft", def.addr())
	f.waitRouted(t, "localhost", def.addr())
	listening := f.edges[0].Addr().String()

	f.putFleetDoc(t, 1, `{"proxy": {"listen_address": "127.0.0.1:1", "max_connections": 7}, "messages": {"unsupported_version": "live one"}}`)
	f.waitConfig(t, "runs version 1", runs(1))
	for _, e := range f.edges {
		st := e.FleetConfig()
		if want := []string{"proxy.listen_address", "proxy.max_connections"}; st.State != config.ConfigRestartRequired || !slices.Equal(st.RestartRequired, want) {
			t.Errorf("edge %s: %+v, want restart_required for %v", e.cfg.Region, st, want)
		}
		if got := gaugeValue(t, e, "rustguard_edge_config_restart_required"); got != 2 {
			t.Errorf("edge %s: rustguard_edge_config_restart_required = %v", e.cfg.Region, got)
		}
		if got := unsupportedText(t, e); !strings.Contains(got, "live one") {
			t.Errorf("edge %s: the live setting was not applied: %q", e.cfg.Region, got)
		}
		code, body := readyz(t, e)
		if code != http.StatusOK || !strings.Contains(body, `"restart_required":["proxy.listen_address","proxy.max_connections"]`) {
			t.Errorf("edge %s /readyz = %d %s", e.cfg.Region, code, body)
		}
		eventually(t, "meta shows restart_required", func() bool {
			return f.serviceMeta(t, e)[config.MetaConfigStatus] == config.ConfigRestartRequired
		})
	}
	if got := f.edges[0].Addr().String(); got != listening {
		t.Fatalf("the edge moved from %s to %s without a restart", listening, got)
	}
	mustLogin(t, f.edges[0], "localhost", "StillHere")
}

// TestFleetConfigOff: with discovery.fleet_config off an edge ignores the
// document.
func TestFleetConfigOff(t *testing.T) {
	def := startBackend(t, -1, false)
	f := startFleet(t, func(c *config.Edge) { c.Discovery.FleetConfig = c.Region != "us-east" })
	f.register(t, "minecraft-1", "minecraft", def.addr())
	f.putFleetDoc(t, 1, `{"messages": {"unsupported_version": "fleet text"}}`)
	eventually(t, "eu-west runs version 1", func() bool { return f.edges[0].FleetConfig().Version == 1 })
	if got := unsupportedText(t, f.edges[1]); strings.Contains(got, "fleet text") {
		t.Fatal("an edge with fleet_config off applied the document")
	}
	if st := f.edges[1].FleetConfig(); st.State != fleetconfig.StateLocal {
		t.Fatalf("us-east: %+v", st)
	}
	if _, body := readyz(t, f.edges[1]); strings.Contains(body, `"config"`) {
		t.Errorf("/readyz of an edge without fleet configuration shows %s", body)
	}
}
