# RustGuard: the one entry point. Every target installs what it needs on a
# fresh machine (Debian packages with apt-get, npm packages with `npm ci` from
# the committed lock file, Go modules through the module proxy) and is quick
# when everything is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
BIN       := $(CURDIR)/bin
E2E       := $(CURDIR)/test/e2e
NPM_STAMP := $(E2E)/node_modules/.rustguard-npm-ci
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Go does not stamp the commit into builds in a go.work workspace, so
# `rustguard-edge version` gets it from here.
COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
MODULES   := ./shared/... ./edge/... ./central/... ./bench/... ./test/e2e/... ./test/infra/... ./test/operator/...
# The Minecraft version `make run` serves (any version flying-squid supports).
MC_VERSION ?= 1.21.4

.PHONY: build run test test-unit test-e2e test-infra test-operator test-release release bench fmt lint deps deps-apt deps-npm tools generate clean help

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/rustguard-edge and bin/rustguard-central
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/rustguard-edge ./edge/cmd/rustguard-edge
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/rustguard-central ./central/cmd/rustguard-central

# --- dependencies -----------------------------------------------------------

deps: deps-apt deps-npm tools ## install everything tests and benchmarks need

# Debian packages: node/npm for the real Minecraft peers, redis-server for the
# fleet's shared bans and limits, haproxy as the L4 reference in benchmarks,
# ansible-core and ansible-lint for test-infra (without recommends: the
# whole ansible bundle is not needed), chromium for the operator page's
# browser test (headless; driven over the DevTools protocol, so no
# chromium-driver). apt-get runs only when something is missing.
APT_NEEDS := node:nodejs npm:npm redis-server:redis-server haproxy:haproxy \
	ansible-playbook:ansible-core ansible-lint:ansible-lint chromium:chromium
deps-apt:
	@missing=""; for pair in $(APT_NEEDS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# npm ci from the committed lock file, redone only when the lock changes.
deps-npm: $(NPM_STAMP)
$(NPM_STAMP): $(E2E)/package-lock.json | deps-apt
	@echo "installing the npm packages of test/e2e (flying-squid, mineflayer; a minute or two on a cold machine)"
	cd $(E2E) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Pinned Go tools, each in its own module under tools/, built once into .tools/.
# GO_PROGRESS follows a `go build -v` (module downloads and package names,
# on stderr) with a line per 100 of them, so a build of many minutes shows
# that it moves; any other line (an error) passes through.
GO_PROGRESS = 2>&1 | awk '/^go: downloading / { d++; if (d % 100 == 0) { printf "  %d modules downloaded\n", d; fflush() } next } \
	/ |^\#/ { print; fflush(); next } { n++; if (n % 100 == 0) { printf "  %d packages compiled\n", n; fflush() } }'
TOOLS     := $(CURDIR)/.tools
CONSUL    := $(TOOLS)/consul
JAEGER    := $(TOOLS)/jaeger
TOFU      := $(TOOLS)/tofu
PROMETHEUS := $(TOOLS)/prometheus
# Terraform providers come from a filesystem mirror under .tools/, built from
# source (tools/tfproviders): tofu init never contacts a registry. Only the
# local provider 2.9.0 is needed. TF_CLI_CONFIG_FILE must always be set
# explicitly: some machines point it at a file that does not exist.
TF_PLATFORM   := $(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)
TF_MIRROR     := $(TOOLS)/tf-mirror
TF_LOCAL      := $(TF_MIRROR)/.local-2.9.0-$(TF_PLATFORM)
TF_CLI_CONFIG := $(TOOLS)/tofu.tfrc
tools: $(CONSUL) $(JAEGER) $(TOFU) $(TF_LOCAL) $(TF_CLI_CONFIG) $(PROMETHEUS) ## build the pinned Go tools (Consul, Jaeger, OpenTofu and its provider mirror, Prometheus) into .tools/

# Consul 1.16.3 (the last MPL-2.0 release) is not in Debian: it is pinned as a
# Go tool in its own module (tools/consul) and built once into .tools/
# (about 3 min download and 8 min build on a cold machine; seconds after).
# Two of its dependencies have no checksum-database entry, hence GONOSUMDB.
$(CONSUL): tools/consul/go.mod tools/consul/go.sum
	@mkdir -p $(TOOLS)
	@echo "building Consul 1.16.3 into .tools/ (a cold machine: about 10 minutes, once)"
	cd tools/consul && GOWORK=off GONOSUMDB=github.com/hashicorp/consul/envoyextensions,github.com/hashicorp/hcp-sdk-go \
	  $(GO) build -v -o $(CONSUL) github.com/hashicorp/consul $(GO_PROGRESS)

# OpenTofu 1.12.6 (MPL-2.0) formats, plans and applies terraform/ in
# test-infra. Its own module, like Consul's; version.dev=no makes it report
# a release instead of a development build.
$(TOFU): tools/tofu/go.mod tools/tofu/go.sum
	@mkdir -p $(TOOLS)
	@echo "building OpenTofu 1.12.6 into .tools/ (a cold machine: about 10 minutes, once)"
	cd tools/tofu && GOWORK=off $(GO) build -ldflags "-X github.com/opentofu/opentofu/version.dev=no" \
	  -o $(TOFU) github.com/opentofu/opentofu/cmd/tofu

# The provider mirror (see TF_MIRROR above) and the CLI configuration that
# makes tofu use it and nothing else.
# A mirror's layout starts with the provider's registry host, which tofu
# itself names (`tofu providers` on a one-line root): asked, not spelled here.
$(TF_LOCAL): tools/tfproviders/go.mod tools/tfproviders/go.sum $(TOFU)
	@probe=$$(mktemp -d) && trap 'rm -rf "$$probe"' EXIT && \
	printf 'terraform {\n  required_providers {\n    local = { source = "hashicorp/local" }\n  }\n}\n' > $$probe/main.tf && \
	addr=$$(TF_CLI_CONFIG_FILE=/dev/null $(TOFU) -chdir=$$probe providers -no-color | sed -n 's#.*provider\[\([^]]*/hashicorp/local\)\].*#\1#p' | head -n 1) && \
	test -n "$$addr" && dir=$(TF_MIRROR)/$$addr/2.9.0/$(TF_PLATFORM) && mkdir -p $$dir && \
	cd tools/tfproviders && GOWORK=off $(GO) build -o $$dir/terraform-provider-local_v2.9.0 github.com/terraform-providers/terraform-provider-local && \
	touch $@
$(TF_CLI_CONFIG): Makefile
	@mkdir -p $(TOOLS)
	@printf '%s\n' '# Written by make: providers only from the mirror, never the network.' \
	  'provider_installation {' '  filesystem_mirror {' '    path = "$(TF_MIRROR)"' '  }' '}' > $@

# Jaeger v1.75.0 (Apache-2.0), the traces store and query API the central
# service forwards to; its own module keeps its dependency graph away from
# Consul's and ours. Built this way it serves the APIs but no web UI.
$(JAEGER): tools/jaeger/go.mod tools/jaeger/go.sum
	@mkdir -p $(TOOLS)
	@echo "building Jaeger v1.75.0 into .tools/ (a cold machine: about 10 minutes, once)"
	cd tools/jaeger && GOWORK=off $(GO) build -v -o $(JAEGER) github.com/jaegertracing/jaeger/cmd/jaeger $(GO_PROGRESS)

# Prometheus 3.16.0 (Apache-2.0, module v0.316.0) scrapes the operator
# tests' fleet so every dashboard panel's query is evaluated for real. Its
# own module; remove_all_sd leaves out the service-discovery plugins and
# their cloud SDKs (static targets are all the test needs), which halves
# the build (about 4 minutes on an idle 2-core machine, once).
$(PROMETHEUS): tools/prometheus/go.mod tools/prometheus/go.sum
	@mkdir -p $(TOOLS)
	@echo "building Prometheus 3.16.0 into .tools/ (a cold machine: about 5 minutes, once)"
	cd tools/prometheus && GOWORK=off $(GO) build -tags remove_all_sd \
	  -ldflags "-X github.com/prometheus/common/version.Version=3.16.0" -o $(PROMETHEUS) github.com/prometheus/prometheus/cmd/prometheus

# --- run --------------------------------------------------------------------

# Where `make run` listens; tests move it to free ports. The edge's own
# variables, when set, still decide.
RUN_ADDR         ?= $(or $(RUSTGUARD_LISTEN_ADDR),0.0.0.0:25565)
RUN_ADMIN_ADDR   ?= $(or $(RUSTGUARD_ADMIN_ADDR),127.0.0.1:9565)
RUN_BACKEND_PORT ?= 25566

run: build deps-npm ## a playable server on localhost:25565: flying-squid on 127.0.0.1:25566 behind the edge
	@echo "backend: flying-squid $(MC_VERSION) on 127.0.0.1:$(RUN_BACKEND_PORT); edge: $(RUN_ADDR) (admin http://$(RUN_ADMIN_ADDR)/metrics)"
	@node $(E2E)/backend.js --host 127.0.0.1 --port $(RUN_BACKEND_PORT) --version $(MC_VERSION) --no-moves >&2 & \
	backend=$$!; trap 'kill $$backend 2>/dev/null; wait $$backend 2>/dev/null || true' EXIT INT TERM; \
	for i in $$(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/$(RUN_BACKEND_PORT)) 2>/dev/null && break; sleep 0.2; done; \
	RUSTGUARD_LISTEN_ADDR=$(RUN_ADDR) RUSTGUARD_ADMIN_ADDR=$(RUN_ADMIN_ADDR) RUSTGUARD_BACKEND_ADDR=127.0.0.1:$(RUN_BACKEND_PORT) \
	  $(BIN)/rustguard-edge

# --- the fleet on one machine -------------------------------------------------

# `make fleet` brings up on loopback what the fleet's picture has
# (test/e2e/fleet): Consul, Redis, Jaeger, rustguard-central, an edge per
# region exporting its traces to central, flying-squid registered in Consul.
# It prints where everything is; Ctrl-C stops everything it started.
# `make demo` plays honest and cheating players against it. The ports are
# variables so tests (or a second fleet) can move them; 0 means a free port.
# FLEET_REGIONS is name:player port:admin port, comma-separated.
FLEET_DIR          ?= $(CURDIR)/.fleet
FLEET_REGIONS      ?= eu:25565:9565,us:25575:9575,ap:25585:9585
FLEET_BACKEND_PORT ?= 25566
FLEET_CENTRAL_PORT ?= 8080
FLEET_JAEGER_PORT  ?= 16686
FLEET_CONSUL_PORT  ?= 8500
FLEET_CMD          := $(BIN)/rustguard-fleet
.PHONY: fleet demo
FLEET_PATHS = -root $(CURDIR) -dir $(FLEET_DIR) -edge-bin $(BIN)/rustguard-edge -central-bin $(BIN)/rustguard-central \
	-consul-bin $(CONSUL) -jaeger-bin $(JAEGER) -scripts $(E2E)

fleet: build deps-apt deps-npm $(CONSUL) $(JAEGER) ## the whole fleet on loopback: Consul, Redis, Jaeger, central, edges eu/us/ap on 25565/25575/25585, flying-squid; Ctrl-C stops it
	@$(GO) build -o $(FLEET_CMD) ./test/e2e/cmd/fleet
	@$(FLEET_CMD) up $(FLEET_PATHS) -regions $(FLEET_REGIONS) -backend-port $(FLEET_BACKEND_PORT) \
	  -central-port $(FLEET_CENTRAL_PORT) -jaeger-port $(FLEET_JAEGER_PORT) -consul-port $(FLEET_CONSUL_PORT) -mc-version $(MC_VERSION)

demo: deps-npm ## honest and cheating players (mineflayer) in every region of the running `make fleet`
	@$(GO) build -o $(FLEET_CMD) ./test/e2e/cmd/fleet
	@$(FLEET_CMD) demo $(FLEET_PATHS)

# --- tests ------------------------------------------------------------------

# Where tests find the real programs they start (each test starts its own,
# on free loopback ports, and stops it by PID).
TESTENV := RUSTGUARD_CONSUL_BIN=$(CONSUL) RUSTGUARD_JAEGER_BIN=$(JAEGER) RUSTGUARD_PROMETHEUS_BIN=$(PROMETHEUS) \
	RUSTGUARD_EDGE_BIN=$(BIN)/rustguard-edge RUSTGUARD_CENTRAL_BIN=$(BIN)/rustguard-central

test: deps build ## everything: unit, fuzz seeds, integration, end-to-end with real Minecraft peers, dashboards and the operator page, the image writer, Terraform and Ansible
	@test -z "$$(gofmt -l shared edge central bench test tools/release)" || { echo "gofmt needed:"; gofmt -l shared edge central bench test tools/release; exit 1; }
	$(GO) vet $(MODULES)
	$(TESTENV) $(GO) test -race -count=1 -timeout 20m ./shared/... ./edge/... ./central/... ./bench/...
	$(TESTENV) $(GO) test -count=1 -timeout 20m ./test/e2e/...
	$(TESTENV) $(GO) test -count=1 -timeout 10m ./test/operator/...
	cd tools/release && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-infra
	$(GO) run ./bench/cmd/rgload -quick -edge-bin $(BIN)/rustguard-edge -out $(BIN)/BENCHMARKS.quick.md

# Terraform and Ansible without a cloud account or target machines
# (terraform/README.md, ansible/README.md say what this does and does not
# verify). Consul and Jaeger are needed because the scratch run installs
# (links) them and their own validators check the rendered configuration.
test-infra: build deps-apt $(TOFU) $(TF_LOCAL) $(TF_CLI_CONFIG) $(CONSUL) $(JAEGER) ## Terraform and Ansible: fmt, HCL wiring test, local apply, lint, syntax check, a scratch run on localhost
	TOFU=$(TOFU) TF_CLI_CONFIG_FILE=$(TF_CLI_CONFIG) EDGE_BIN=$(BIN)/rustguard-edge GO=$(GO) test/infra/run.sh

test-unit: tools ## only the Go unit and integration tests (no npm peers)
	$(TESTENV) $(GO) test -race -count=1 ./shared/... ./edge/... ./central/...

test-e2e: deps build ## only the end-to-end suite
	$(TESTENV) $(GO) test -count=1 -v -timeout 20m ./test/e2e/...

# What an operator looks at (test/operator): the Grafana dashboards (valid,
# provisioned data sources, PromQL that parses, only exported metrics) and
# central's operator page in headless Chromium, against one small fleet.
test-operator: deps build $(PROMETHEUS) ## only the dashboards' and the operator page's tests
	$(TESTENV) $(GO) test -count=1 -timeout 10m ./test/operator/...

# The image writer of `make release`, on small stand-in binaries (a few
# seconds; the release itself is not part of make test).
test-release: ## only the release image writer's test
	cd tools/release && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 ./...

# --- release ----------------------------------------------------------------

# make release: static binaries (CGO_ENABLED=0) for every platform, an OCI
# image archive per binary (tools/release: no container engine; the CA
# certificates come from Debian's ca-certificates on this machine), and
# SHA256SUMS over all of it, in dist/<version>/. The images' time is the
# commit's, so the same commit gives the same images.
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64
RELEASE_DIR       := $(CURDIR)/dist/$(VERSION)
RELEASE_CREATED   := $(shell git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
CA_BUNDLE         := /etc/ssl/certs/ca-certificates.crt
release: ## versioned static binaries (linux/amd64, linux/arm64), OCI image archives and SHA256SUMS in dist/<version>/
	@case "$(VERSION)" in *-dirty) echo "warning: the tree has uncommitted changes; $(VERSION) is not a release anyone can rebuild" >&2;; esac
	@test -f $(CA_BUNDLE) || { echo "installing ca-certificates"; if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends ca-certificates; }
	rm -rf $(RELEASE_DIR) && mkdir -p $(RELEASE_DIR)
	@for bin in rustguard-edge:edge rustguard-central:central; do name=$${bin%%:*}; mod=$${bin##*:}; \
	  for p in $(RELEASE_PLATFORMS); do os=$${p%%/*}; arch=$${p##*/}; \
	    echo "building $$name $(VERSION) for $$p"; \
	    CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS) -s -w" \
	      -o $(RELEASE_DIR)/$${name}_$(VERSION)_$${os}_$${arch} ./$$mod/cmd/$$name || exit 1; \
	  done; done
	@for spec in "rustguard-edge|RustGuard edge: the player-facing Minecraft proxy|25565/tcp 9565/tcp" \
	             "rustguard-central|RustGuard central: OTLP ingest, cross-region correlation and the operator API|8080/tcp 4317/tcp 4318/tcp"; do \
	  name=$${spec%%|*}; rest=$${spec#*|}; desc=$${rest%%|*}; ports=$${rest#*|}; \
	  args=""; for p in $(RELEASE_PLATFORMS); do args="$$args -bin $$p=$(RELEASE_DIR)/$${name}_$(VERSION)_$${p%%/*}_$${p##*/}"; done; \
	  for port in $$ports; do args="$$args -port $$port"; done; \
	  echo "writing the $$name image"; \
	  (cd tools/release && GOWORK=off $(GO) run . -name $$name -description "$$desc" -version $(VERSION) -revision $(COMMIT) \
	    -created $(RELEASE_CREATED) -ca $(CA_BUNDLE) $$args -out $(RELEASE_DIR)/$${name}_$(VERSION)_oci.tar) || exit 1; \
	done
	cd $(RELEASE_DIR) && sha256sum rustguard-* > SHA256SUMS && cat SHA256SUMS

# --- benchmarks -------------------------------------------------------------

# The load tool first: the micro-benchmarks keep both cores busy, and a
# run that starts on their load is marked rough in its report.
bench: deps build ## the load tool (writes docs/BENCHMARKS.md), then the Go micro-benchmarks
	$(GO) run ./bench/cmd/rgload -edge-bin $(BIN)/rustguard-edge -rtt-packet plugin -out docs/BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem ./shared/... ./edge/...

# --- code -------------------------------------------------------------------

generate: deps-npm ## regenerate the packet-id tables, the block tables and the limbo's world from the npm packages
	cd shared && $(GO) generate ./mcproto/packets/...
	cd edge && $(GO) generate ./internal/limbo/...
	cd edge && $(GO) generate ./internal/world/blocks/...

fmt: ## gofmt the tree
	gofmt -w shared edge central bench test tools/release

lint: ## gofmt check and go vet
	@test -z "$$(gofmt -l shared edge central bench test tools/release)" || { gofmt -l shared edge central bench test tools/release; exit 1; }
	$(GO) vet $(MODULES)
	cd tools/release && GOWORK=off $(GO) vet ./...

clean:
	rm -rf $(BIN) $(CURDIR)/dist
