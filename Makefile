# Seven — make help lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin
GOLANGCI_LINT_VERSION := v2.15.0
export CGO_ENABLED ?= 0
export TESTCONTAINERS_RYUK_DISABLED := true

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

CNI_PLUGINS := github.com/containernetworking/plugins/plugins/main/bridge \
	github.com/containernetworking/plugins/plugins/ipam/host-local \
	github.com/containernetworking/plugins/plugins/main/loopback

build: ## build the static binaries bin/seven, bin/seven-shim, bin/fixture and the CNI plugins in bin/cni
	$(GO) build -o $(BIN)/seven ./cmd/seven
	$(GO) build -o $(BIN)/fixture ./cmd/fixture
	$(GO) build -o $(BIN)/seven-shim ./cluster/kubelet/runtime/seven-shim
	$(GO) build -o $(BIN)/cni/ $(CNI_PLUGINS)

up: build ## run a local cluster (kubeconfig in .seven/kubeconfig)
	$(BIN)/seven up --data-dir .seven

conformance: build ## run the core conformance profile against the embedded reference (reports in _output/conformance)
	$(BIN)/seven conformance --target local --profile core --report-dir _output/conformance

mutants: ## prove the suite's power: each broken variant of the reference fails its guarantee
	SEVEN_REQUIRE_MUTANTS=1 $(GO) test -tags seven_mutants ./conformance/mutants -run TestMutants -count=1 -v -timeout 30m

e2e: ## the conformance suite on every target: in-process and in Docker containers
	SEVEN_E2E=1 $(GO) test -count=1 -p 1 -timeout 40m ./e2e/...

upstream-binaries: ## build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl from k8s.io/kubernetes (module e2e/upstream/kubernetes; cached in _output/upstream/<version>/bin)
	$(GO) run ./e2e/upstream/cmd/upstream-binaries

UPSTREAM_CELLS := TestSevenNodesUpstreamControlPlane TestUpstreamSchedulerSevenAPIServer TestUpstreamControllerManagerSevenAPIServer TestSevenControlPlaneUpstreamAPIServer

e2e-upstream: upstream-binaries ## the core profile on upstream Kubernetes (twice), and the swap matrix: Seven's components beside upstream ones, as root; writes docs/UPSTREAM.md and docs/SWAP.md
	@# One process per run: the suite runs once per process.
	@rc=0; for run in 1 2; do \
		SEVEN_E2E_UPSTREAM=1 SEVEN_UPSTREAM_RUN=$$run $(GO) test -count=1 -timeout 60m -v ./e2e/upstream -run '^TestUpstreamTarget$$' || rc=1; \
	done; \
	for cell in $(UPSTREAM_CELLS); do \
		SEVEN_E2E_UPSTREAM=1 $(GO) test -count=1 -timeout 40m -v ./e2e/upstream -run "^$$cell\$$" || rc=1; \
	done; \
	$(GO) run ./e2e/upstream/cmd/upstream-docs || rc=1; exit $$rc

test: ## run the unit and integration tests
	$(GO) test -count=1 ./...

bench: ## run the benchmarks (the figures quoted in the issue notes)
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./cluster/apiserver/
	$(GO) test -run '^$$' -bench BenchmarkSchedule -benchtime 2000x -count 1 ./cluster/scheduler/
	$(GO) test -run '^$$' -bench BenchmarkEndToEnd -benchtime 1x -count 1 -timeout 15m ./cluster/scheduler/
	$(GO) test -run '^$$' -bench BenchmarkDeployment100 -benchtime 2x -count 1 ./cluster/controllers/deployment/
	$(GO) test -run '^$$' -bench BenchmarkDeployment100On5Nodes -benchtime 1x -count 1 -timeout 10m ./cluster/local/
	$(GO) test -run '^$$' -bench . -count 1 ./cluster/image/
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./cluster/kubelet/
	$(GO) test -run '^$$' -bench Proxy -benchtime 3000x -count 1 ./cluster/proxy/
	$(GO) test -run '^$$' -bench Server -benchtime 5000x -count 1 ./cluster/dns/
	$(GO) test -run '^$$' -bench Boot -benchtime 5x -count 1 ./cluster/docker/

verify: ## gofmt, go vet, golangci-lint, go mod tidy and generated files are clean
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: run gofmt -w"; exit 1; }
	$(GO) vet ./...
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...
	$(GO) mod tidy -diff
	$(GO) test ./conformance/specs -run TestCatalogue -count=1

.PHONY: help build up conformance mutants e2e upstream-binaries e2e-upstream test bench verify
