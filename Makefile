# Granary build, run, test and benchmark targets. `make help` lists them.
GO        ?= go
BIN       := bin/granary
PKGS      := ./...
# Benchmarks that finish in a few minutes on a 2-core machine.
BENCHTIME ?= 3s

.PHONY: help build run test test-deps vet fmt-check bench bench-go bench-peers bench-list bench-inline bench-repair fuzz clean docker cluster-up cluster-down chaos

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The version `granary version` reports: the nearest tag, or the commit.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build: ## build the static granary binary into bin/ (version from git describe)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/granary

run: build ## run the store on this machine (granary server, data in ./data)
	./$(BIN) server

test: fmt-check vet test-deps ## the whole test suite (race detector on), then the Helm chart's render test
	$(GO) test -race -count=1 -timeout 25m $(PKGS)
	cd deploy/helm/charttest && $(GO) test -count=1 ./...

test-deps: ## install the Debian packages the tests drive (awscli, rclone, fuse3, rsync, chromium, prometheus for promtool)
	@bash scripts/ensure-test-deps.sh

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

bench: ## scripts/bench.sh --quick: a local cluster, the machine baseline and the S3 matrix into docs/bench-results/
	bash scripts/bench.sh --quick

bench-peers: ## Granary against MinIO and SeaweedFS (pinned, built into bin/peers/ once), interleaved, into docs/bench/ (~20 minutes; QUICK=1: 3-second cells)
	bash scripts/bench-peers.sh $(if $(QUICK),--quick)

bench-go: ## Go benchmarks with same-run baselines (metadata commits, repair, client, gateway, placement, chunk store)
	$(GO) test -run '^$$' -bench 'BenchmarkCommit|BenchmarkBaselineFsync' -benchtime $(BENCHTIME) ./master/
	$(GO) test -run '^$$' -bench 'BenchmarkRepair' -benchtime 2x ./master/
	$(GO) test -run '^$$' -bench 'BenchmarkPutAfterChurn|BenchmarkApplyAfterPruning' -benchtime 20000x ./master/meta/
	$(GO) test -run '^$$' -bench 'BenchmarkClient|BenchmarkBaselineFile' -benchtime 1s -timeout 30m ./client/
	$(GO) test -run '^$$' -bench 'BenchmarkGetLocal' -benchtime 2s ./client/
	$(GO) test -run '^$$' -bench 'BenchmarkS3' -benchtime 1s -timeout 30m ./gateway/
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./placement/
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./chunkserver/

bench-repair: ## re-protect a lost chunk server: 20,000 x 64 KiB and 40 x 64 MiB chunks, against the disk (~15 minutes; GRANARY_REPAIR_SMALL/LARGE)
	$(GO) test -run '^$$' -bench BenchmarkRepairSpeed -benchtime 1x -timeout 60m ./master/

bench-inline: ## inline-in-metadata versus chunks for small objects (~6 minutes)
	$(GO) test -run '^$$' -bench BenchmarkInlineThreshold -benchtime 2s -timeout 30m ./client/

bench-list: ## one listing page from a bucket of 1,000,000 keys (loads the keys first: ~20 s)
	$(GO) test -run '^$$' -bench BenchmarkListPageMillionKeys -benchtime 200x ./master/

fuzz: ## short fuzzing runs of every fuzz target (FUZZTIME per target)
	$(GO) test -run '^$$' -fuzz FuzzChoose -fuzztime $${FUZZTIME:-30s} ./placement/
	$(GO) test -run '^$$' -fuzz FuzzOpenChunk -fuzztime $${FUZZTIME:-30s} ./chunkserver/disk/
	$(GO) test -run '^$$' -fuzz FuzzScanVolume -fuzztime $${FUZZTIME:-30s} ./chunkserver/disk/
	$(GO) test -run '^$$' -fuzz FuzzChunkedReader -fuzztime $${FUZZTIME:-30s} ./gateway/sigv4/
	$(GO) test -run '^$$' -fuzz FuzzParseRange -fuzztime $${FUZZTIME:-30s} ./gateway/s3hdr/
	$(GO) test -run '^$$' -fuzz FuzzAuthHeader -fuzztime $${FUZZTIME:-30s} ./gateway/sigv4/
	$(GO) test -run '^$$' -fuzz FuzzXMLBodies -fuzztime $${FUZZTIME:-30s} ./gateway/
	$(GO) test -run '^$$' -fuzz FuzzUnknownRequests -fuzztime $${FUZZTIME:-30s} ./gateway/

IMAGE   ?= granary:dev

docker: ## build the container image $(IMAGE) (static binary on an empty base; no network needed)
	GO=$(GO) bash deploy/build-image.sh $(IMAGE)

cluster-up: docker ## start the compose cluster: 3 masters, 4 chunk servers in 2 racks, 1 S3 gateway
	GRANARY_IMAGE=$(IMAGE) bash deploy/cluster.sh up

cluster-down: ## stop the compose cluster and delete its volumes
	bash deploy/cluster.sh down

chaos: ## the fault suites: in-process, then a compose cluster it builds (CHAOS_SEED=N replays, CHAOS_ROUNDS=N, CHAOS_KEEP=1 keeps a failed cluster)
	$(GO) test -race -count=1 -timeout 25m -run 'TestChaos' -v ./internal/chaos/

clean: ## remove build output (never ./data)
	rm -rf bin
