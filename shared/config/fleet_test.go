package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustParseFleet(t *testing.T, doc string) *Fleet {
	t.Helper()
	f, err := ParseFleet([]byte(doc))
	if err != nil {
		t.Fatalf("ParseFleet(%s): %v", doc, err)
	}
	return f
}

func TestFleetEmptyDocumentSetsNothing(t *testing.T) {
	local := DefaultEdge()
	local.Region = "eu-west"
	local.Gate.AttackMode = "on"
	for _, doc := range []string{"", "{}", "null", `{"correlation": null, "regions": null}`} {
		f := mustParseFleet(t, doc)
		got, err := f.Apply(local)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalize(got.Config), normalize(local)) || len(got.Set) != 0 {
			t.Errorf("%q changed the configuration: set %v", doc, got.Set)
		}
		if f.Correlation != DefaultCorrelation() {
			t.Errorf("%q: correlation %+v, want the defaults", doc, f.Correlation)
		}
	}
}

// TestFleetApplyPrecedence: the document wins over the edge's own values
// for the keys it sets, the region's override wins over the document, and
// maps merge key by key with null removing a key.
func TestFleetApplyPrecedence(t *testing.T) {
	doc := `{
	  "detection": {
	    "ban_duration": "1h",
	    "checks": {"badpackets.invalid_pitch": {"mode": "alert"}, "badpackets.fly": null}
	  },
	  "gate": {"attack_mode": "on", "allowed_hosts": ["play.example.com"]},
	  "discovery": {"routes": {"lobby.example.com": "lobby"}},
	  "messages": {"server_full": "Full, sorry."},
	  "regions": {
	    "eu-west": {"gate": {"attack_mode": "off"}, "detection": {"checks": {"combat.reach": {"mode": "off"}}}}
	  }
	}`
	f := mustParseFleet(t, doc)
	local := DefaultEdge()
	local.Region = "us-east"
	local.Gate.AttackJoinsPerSecond = 20 // not in the document: stays
	local.Gate.AllowedHosts = []string{"old.example.com"}
	local.Detection.Checks = map[string]CheckOverride{"badpackets.fly": {Mode: "off"}, "combat.cps": {Mode: "alert"}}
	local.Discovery.Routes = map[string]string{"mini.example.com": "minigames"}

	us, err := f.Apply(local)
	if err != nil {
		t.Fatal(err)
	}
	c := us.Config
	if c.Gate.AttackMode != "on" || c.Gate.AttackJoinsPerSecond != 20 || !slices.Equal(c.Gate.AllowedHosts, []string{"play.example.com"}) {
		t.Errorf("gate = %+v", c.Gate)
	}
	if c.Detection.BanDuration.D() != time.Hour || c.Messages.ServerFull != "Full, sorry." {
		t.Errorf("ban_duration %v, server_full %q", c.Detection.BanDuration, c.Messages.ServerFull)
	}
	wantChecks := map[string]CheckOverride{"badpackets.invalid_pitch": {Mode: "alert"}, "combat.cps": {Mode: "alert"}}
	if !reflect.DeepEqual(c.Detection.Checks, wantChecks) {
		t.Errorf("checks = %+v, want %+v", c.Detection.Checks, wantChecks)
	}
	if want := map[string]string{"mini.example.com": "minigames", "lobby.example.com": "lobby"}; !reflect.DeepEqual(c.Discovery.Routes, want) {
		t.Errorf("routes = %v, want %v", c.Discovery.Routes, want)
	}
	wantSet := []string{"detection.ban_duration", "detection.checks", "discovery.routes", "gate.allowed_hosts", "gate.attack_mode", "messages.server_full"}
	if !slices.Equal(us.Set, wantSet) {
		t.Errorf("set = %v, want %v", us.Set, wantSet)
	}
	// The local configuration is untouched.
	if len(local.Detection.Checks) != 2 || len(local.Discovery.Routes) != 1 || local.Gate.AttackMode != "auto" {
		t.Errorf("Apply changed its input: %+v %v", local.Detection.Checks, local.Discovery.Routes)
	}

	local.Region = "eu-west"
	eu, err := f.Apply(local)
	if err != nil {
		t.Fatal(err)
	}
	if eu.Config.Gate.AttackMode != "off" {
		t.Errorf("eu-west attack_mode = %q, want the override's off", eu.Config.Gate.AttackMode)
	}
	if _, ok := eu.Config.Detection.Checks["combat.reach"]; !ok || len(eu.Config.Detection.Checks) != 3 {
		t.Errorf("eu-west checks = %v, want the document's plus the override's", eu.Config.Detection.Checks)
	}
}

func TestFleetRefuses(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Problem // Field and a substring of Reason
	}{
		{"unknown key suggests", `{"gate": {"atack_mode": "on"}}`,
			[]Problem{{Field: "gate.atack_mode", Reason: `unknown key; did you mean "gate.attack_mode"?`}}},
		{"unknown section", `{"gates": {}}`,
			[]Problem{{Field: "gates", Reason: `did you mean "gate"?`}}},
		{"unknown key inside a check", `{"detection": {"checks": {"combat.reach": {"kickvl": 3}}}}`,
			[]Problem{{Field: "detection.checks.combat.reach.kickvl", Reason: `did you mean "detection.checks.combat.reach.kick_vl"?`}}},
		{"region is per edge", `{"region": "eu"}`,
			[]Problem{{Field: "region", Reason: "set per edge"}}},
		{"instance id is per edge", `{"discovery": {"instance_id": "x"}}`,
			[]Problem{{Field: "discovery.instance_id", Reason: "set per edge"}}},
		{"a secret is per edge", `{"redis": {"url": "redis://secret@x:6379"}}`,
			[]Problem{{Field: "redis.url", Reason: "set per edge"}}},
		{"wrong type", `{"gate": {"max_accounts_per_addr": "many"}}`,
			[]Problem{{Field: "gate.max_accounts_per_addr", Reason: "cannot unmarshal"}}},
		{"bad duration", `{"detection": {"ban_duration": "soon"}}`,
			[]Problem{{Field: "detection.ban_duration", Reason: "invalid duration"}}},
		{"invalid value", `{"gate": {"attack_mode": "sometimes"}}`,
			[]Problem{{Field: "gate.attack_mode", Reason: "must be auto, on or off"}}},
		{"unknown check", `{"detection": {"checks": {"combat.raech": {"mode": "off"}}}}`,
			[]Problem{{Field: "detection.checks.combat.raech", Reason: `did you mean "combat.reach"?`}}},
		{"bad mode", `{"detection": {"checks": {"combat.reach": {"mode": "loud"}}}}`,
			[]Problem{{Field: "detection.checks.combat.reach.mode", Reason: "must be off, alert or enforce"}}},
		{"rewrite where the check cannot", `{"detection": {"checks": {"combat.reach": {"action": "rewrite"}}}}`,
			[]Problem{{Field: "detection.checks.combat.reach.action", Reason: "cannot correct its packet"}}},
		{"setback where the check does not judge a position", `{"detection": {"checks": {"combat.reach": {"action": "setback"}}}}`,
			[]Problem{{Field: "detection.checks.combat.reach.action", Reason: "does not judge the player's position"}}},
		{"unknown action", `{"detection": {"checks": {"world.jesus": {"action": "teleport"}}}}`,
			[]Problem{{Field: "detection.checks.world.jesus.action", Reason: "must be alert, rewrite, drop, setback, kick or ban"}}},
		{"unknown parameter", `{"detection": {"checks": {"combat.reach": {"params": {"rnage": 4}}}}}`,
			[]Problem{{Field: "detection.checks.combat.reach.params.rnage", Reason: "known: margin, range"}}},
		{"negative kick_vl", `{"detection": {"checks": {"combat.reach": {"kick_vl": -1}}}}`,
			[]Problem{{Field: "detection.checks.combat.reach.kick_vl", Reason: "at least 0"}}},
		{"gate burst", `{"gate": {"conn_addr_rate": 5, "conn_addr_burst": 0}}`,
			[]Problem{{Field: "gate.conn_addr_burst", Reason: "at least 1"}}},
		{"gate name pattern", `{"gate": {"name_pattern": "[a-z]+"}}`,
			[]Problem{{Field: "gate.name_pattern", Reason: "must start with ^"}}},
		{"no protocol left", `{"gate": {"allowed_protocols": [47], "denied_protocols": [47]}}`,
			[]Problem{{Field: "gate.denied_protocols", Reason: "no protocol"}}},
		{"empty message", `{"messages": {"shutdown": " "}}`,
			[]Problem{{Field: "messages.shutdown", Reason: "must not be empty"}}},
		{"correlation", `{"correlation": {"ban_min_regions": 0}}`,
			[]Problem{{Field: "correlation.ban_min_regions", Reason: "at least 1"}}},
		{"unknown correlation key", `{"correlation": {"windw": "5m"}}`,
			[]Problem{{Field: "correlation.windw", Reason: `did you mean "correlation.window"?`}}},
		{"region override invalid", `{"regions": {"eu": {"gate": {"verify_max_failures": 0}}}}`,
			[]Problem{{Field: "regions.eu.gate.verify_max_failures", Reason: "at least 1"}}},
		{"region override unknown key", `{"regions": {"eu": {"gate": {"verify_always": true, "verfy_block": 3}}}}`,
			[]Problem{{Field: "regions.eu.gate.verfy_block", Reason: `did you mean "regions.eu.gate.verify_block"?`}}},
		{"correlation is fleet-wide", `{"regions": {"eu": {"correlation": {"ban": false}}}}`,
			[]Problem{{Field: "regions.eu.correlation", Reason: "fleet-wide"}}},
		{"bad region name", `{"regions": {"eu west": {}}}`,
			[]Problem{{Field: "regions.eu west", Reason: "letters, digits"}}},
		{"not a mapping", `[1, 2]`,
			[]Problem{{Field: "", Reason: "must be a mapping"}}},
		{"not JSON", `{"gate": `,
			[]Problem{{Field: "", Reason: "not a JSON or YAML document"}}},
		{"too large", `{"messages": {"shutdown": "` + strings.Repeat("x", MaxFleetDocument) + `"}}`,
			[]Problem{{Field: "", Reason: "more than the 131072 allowed"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFleet([]byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			got := Problems(err)
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || g.Field == w.Field && strings.Contains(g.Reason, w.Reason)
				}
				if !found {
					t.Errorf("problems %+v; want field %q with reason containing %q", got, w.Field, w.Reason)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("problems %+v; want %d", got, len(tc.want))
			}
		})
	}
}

// TestFleetBaseProblemReportedOnce: an invalid value in the document's
// base is reported once, not again for every region.
func TestFleetBaseProblemReportedOnce(t *testing.T) {
	_, err := ParseFleet([]byte(`{"gate": {"attack_mode": "x"}, "regions": {"a": {"messages": {"shutdown": "bye"}}, "b": {}}}`))
	if got := Problems(err); len(got) != 1 || got[0].Field != "gate.attack_mode" {
		t.Fatalf("problems %+v, want gate.attack_mode once", got)
	}
}

func TestFleetUnknownKeyIsErrUnknownKey(t *testing.T) {
	_, err := ParseFleet([]byte(`{"gate": {"nope": 1}}`))
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("%v is not ErrUnknownKey", err)
	}
}

func TestFleetCorrelation(t *testing.T) {
	f := mustParseFleet(t, `{"correlation": {"ban_min_regions": 3, "window": "5m"}}`)
	want := DefaultCorrelation()
	want.BanMinRegions, want.Window = 3, Duration(5*time.Minute)
	if f.Correlation != want {
		t.Fatalf("correlation %+v, want %+v", f.Correlation, want)
	}
}

func TestFleetRestart(t *testing.T) {
	f := mustParseFleet(t, `{"proxy": {"listen_address": "0.0.0.0:25577"}, "gate": {"attack_mode": "on"},
	  "regions": {"eu": {"log": {"level": "debug"}}}}`)
	if got, want := f.RestartFields(), []string{"log.level", "proxy.listen_address"}; !slices.Equal(got, want) {
		t.Errorf("RestartFields = %v, want %v", got, want)
	}
	local := DefaultEdge()
	local.Region = "eu"
	applied, err := f.Apply(local)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := RestartNeeded(local, applied.Config), []string{"log.level", "proxy.listen_address"}; !slices.Equal(got, want) {
		t.Errorf("RestartNeeded = %v, want %v", got, want)
	}
	// A restart field set to the value the edge already runs needs nothing.
	local.Proxy.ListenAddress = "0.0.0.0:25577"
	local.Region = "us"
	applied, err = f.Apply(local)
	if err != nil {
		t.Fatal(err)
	}
	if got := RestartNeeded(local, applied.Config); len(got) != 0 {
		t.Errorf("RestartNeeded = %v, want none", got)
	}
}

// TestFleetFieldTags: the per-edge and live lists are what docs/CONFIG.md
// promises, and every live field is one the edge can apply.
func TestFleetFieldTags(t *testing.T) {
	if got, want := LocalFields(), []string{"region", "redis.url", "discovery.fleet_config", "discovery.instance_id",
		"auth.key_file", "auth.forwarding_secret", "auth.forwarding_secret_file"}; !slices.Equal(got, want) {
		t.Errorf("LocalFields = %v, want %v", got, want)
	}
	for _, f := range edgeFields() {
		switch f.fleet {
		case "", fleetLive, fleetLocal:
		default:
			t.Errorf("%s: fleet tag %q", f.path, f.fleet)
		}
	}
}

func TestProblemsOfPlainError(t *testing.T) {
	got := Problems(errors.Join(errors.New("boom"), &FieldError{Field: "a.b", Value: "1", Reason: "bad"}))
	want := []Problem{{Reason: "boom"}, {Field: "a.b", Value: "1", Reason: "bad"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Problems = %+v, want %+v", got, want)
	}
}
