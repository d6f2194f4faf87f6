package infra

import (
	"path/filepath"
	"strings"
	"testing"
)

// terraformDir is the repository's terraform/ tree.
var terraformDir = filepath.Join("..", "..", "terraform")

// TestTerraformTree: the real tree passes every check, and holds what the
// checks are about (so a check cannot pass by finding nothing to check).
func TestTerraformTree(t *testing.T) {
	tree, err := LoadTree(terraformDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"modules/edge-region", "modules/global-entry", "modules/consul-fleet", "modules/region-config", "environments/production", "environments/local"} {
		if _, ok := tree.Modules[filepath.Join(terraformDir, want)]; !ok {
			t.Errorf("%s was not loaded", want)
		}
	}
	for _, p := range CheckTree(tree) {
		t.Errorf("%s", p)
	}
	prod := tree.Modules[filepath.Join(terraformDir, "environments/production")]
	if prod == nil || prod.Calls["global_entry"] == nil || prod.Calls["edge"] == nil {
		t.Fatalf("production root lacks the edge and global_entry module calls")
	}
}

// TestChecksCatch: each fixture under testdata/ breaks one rule, and the
// checks report exactly that rule there (and nothing else, so the fixture
// isolates it).
func TestChecksCatch(t *testing.T) {
	cases := []struct {
		fixture string
		check   string
		want    string // part of the message
	}{
		{"call-undeclared-argument", CheckCalls, `argument "colour" is not a variable`},
		{"call-missing-required", CheckCalls, `required variable "size"`},
		{"call-missing-module", CheckCalls, "no module at ../../modules/nowhere"},
		{"variable-untyped", CheckVariables, `variable "size" has no type`},
		{"variable-undescribed", CheckVariables, `variable "size" has no description`},
		{"variable-empty-description", CheckVariables, `variable "size" has an empty`},
		{"output-missing-resource", CheckReferences, "local_file.nope is not a resource"},
		{"output-undeclared-variable", CheckReferences, "var.missing is not declared"},
		{"output-missing-module-output", CheckReferences, `module.thing has no output "nope"`},
		{"output-missing-output-in-for", CheckReferences, `module.edge has no output "nope" (read as t.nope)`},
		{"output-missing-data", CheckReferences, "data.local_file.nope is not declared"},
		{"provider-unpinned", CheckProviders, `version ">= 2.0" is not pinned`},
		{"provider-undeclared", CheckProviders, `provider "local" is used but not in required_providers`},
		{"provider-no-version", CheckProviders, `provider "local" has no version`},
		{"edge-listener-port", CheckEdge, "aws_lb_listener.players: port = 25566, want 25565"},
		{"edge-proxy-protocol-off", CheckEdge, "proxy_protocol_v2 = false, want true"},
		{"edge-proxy-protocol-unset", CheckEdge, "proxy_protocol_v2 is not set"},
		{"edge-health-check-path", CheckEdge, `path = "/healthz", want "/readyz"`},
		{"edge-trust-not-vpc", CheckEdge, "RUSTGUARD_TRUSTED_PROXIES is not set from the VPC"},
		{"entry-listener-port", CheckEntry, "from_port = 443, want 25565"},
		{"entry-affinity", CheckEntry, `client_affinity = "NONE", want "SOURCE_IP"`},
		{"entry-single-group", CheckEntry, "want for_each = var.<regions>"},
		{"entry-no-ip-preservation", CheckEntry, "client_ip_preservation_enabled = false, want true"},
		{"entry-filtered-regions", CheckEntry, "endpoints filter the regions"},
		{"entry-not-per-region", CheckEntry, "endpoints must be a for expression"},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			tree, err := LoadTree(filepath.Join("testdata", tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			ps := CheckTree(tree)
			if len(ps) == 0 {
				t.Fatalf("no problem found; want [%s] %s", tc.check, tc.want)
			}
			found := false
			for _, p := range ps {
				if p.Check != tc.check {
					t.Errorf("unexpected problem from another check: %s", p)
				}
				if strings.Contains(p.Msg, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("want [%s] %q among:\n%v", tc.check, tc.want, ps)
			}
		})
	}
}

// TestFixturesValidBase: the fixtures' common base passes every check, so
// each fixture's problem is its own change.
func TestFixturesValidBase(t *testing.T) {
	tree, err := LoadTree(filepath.Join("testdata", "valid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Modules) < 4 {
		t.Fatalf("the valid base has %d modules, want its root, edge-region, global-entry and thing", len(tree.Modules))
	}
	for _, p := range CheckTree(tree) {
		t.Errorf("%s", p)
	}
}
