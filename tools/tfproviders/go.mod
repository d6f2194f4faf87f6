module github.com/rustguard/rustguard/tools/tfproviders

go 1.26

// Terraform providers built from source for the OpenTofu filesystem mirror
// under .tools/ (make test-infra): no registry is contacted, ever. Only the
// local provider is needed (terraform/modules/region-config uses nothing
// else).
//
// github.com/terraform-providers/terraform-provider-local at
// v1.4.1-0.20260513075820-3561e410f9fe IS release 2.9.0: commit 3561e410 of
// 2026-05-13, whose CHANGELOG.md starts with "## 2.9.0 (May 12, 2026)". The
// module path never gained the /v2 suffix Go requires for v2 tags, so Go can
// only name a 2.x commit by a pseudo-version derived from the last v1 tag.
// The Makefile installs it in the mirror as version 2.9.0.

tool github.com/terraform-providers/terraform-provider-local

require (
	github.com/fatih/color v1.18.0 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/hashicorp/go-hclog v1.6.3 // indirect
	github.com/hashicorp/go-plugin v1.7.0 // indirect
	github.com/hashicorp/go-uuid v1.0.3 // indirect
	github.com/hashicorp/terraform-plugin-framework v1.19.0 // indirect
	github.com/hashicorp/terraform-plugin-framework-validators v0.19.0 // indirect
	github.com/hashicorp/terraform-plugin-go v0.31.0 // indirect
	github.com/hashicorp/terraform-plugin-log v0.10.0 // indirect
	github.com/hashicorp/terraform-registry-address v0.4.0 // indirect
	github.com/hashicorp/terraform-svchost v0.2.1 // indirect
	github.com/hashicorp/yamux v0.1.2 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/mitchellh/go-testing-interface v1.14.1 // indirect
	github.com/oklog/run v1.2.0 // indirect
	github.com/terraform-providers/terraform-provider-local v1.4.1-0.20260513075820-3561e410f9fe // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	golang.org/x/net v0.54.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
	golang.org/x/text v0.37.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20251202230838-ff82c1b0f217 // indirect
	google.golang.org/grpc v1.79.3 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
