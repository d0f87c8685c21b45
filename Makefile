# vllmctl — build, test, demo. Only Go (1.25+) is needed; `make test` also runs
# the end-to-end tests against the local Docker Engine where the issue requires it.
GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/vllmctl/vllmctl/internal/cli.Version=$(VERSION)
EXAMPLE  := examples/project
VLLMCTL  := $(CURDIR)/$(BIN)/vllmctl
FUZZTIME ?= 60s

.PHONY: build test test-unit lint cross demo bench fuzz clean plan-accuracy sim-image

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/vllmctl ./cmd/vllmctl

## test: everything CI runs — lint, unit and script tests with -race, cross-compiles.
test: lint test-unit cross

test-unit:
	$(GO) test -race -shuffle=on -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

## cross: the binary must build for every platform the users have.
cross:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/...
	GOOS=darwin  GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/...
	GOOS=linux   GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/...

## demo: build, then check, list and show the example project.
demo: build
	@echo "== vllmctl check (every defect, before deploying)"
	cd $(EXAMPLE) && $(VLLMCTL) check
	@echo "== vllmctl profiles"
	cd $(EXAMPLE) && $(VLLMCTL) profiles
	@echo "== vllmctl show medium (secrets masked)"
	cd $(EXAMPLE) && $(VLLMCTL) show medium
	@echo "== vllmctl plan (memory fit on the GPUs declared in vllmctl.yaml)"
	cd $(EXAMPLE) && $(VLLMCTL) plan
	@echo "== vllmctl check on a real operator's file (defects expected; exit 1 is the point)"
	-cd $(EXAMPLE) && $(VLLMCTL) check --file ../../internal/check/testdata/demo-broken.yml

bench:
	$(GO) test -run XXX -bench . -benchmem ./...

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	$(GO) test ./internal/vllm -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/project -run XXX -fuzz FuzzScanRefs -fuzztime $(FUZZTIME)

clean:
	rm -rf $(BIN)

## plan-accuracy: the planner against real vLLM startup figures (BENCHMARKS.md).
plan-accuracy:
	$(GO) run ./bench/planacc -csv ../shared/vllm/kv_datapoints_public.csv

## sim-image: vllm-sim:dev from scratch (a static binary, no registry), with an
## entrypoint that takes the same arguments as the vllm/vllm-openai image.
SIM_IMAGE ?= vllm-sim:dev
sim-image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/image/usr/bin/vllm-sim ./cmd/vllm-sim
	tar -C $(BIN)/image -c usr | docker import \
		-c 'ENTRYPOINT ["/usr/bin/vllm-sim"]' -c 'EXPOSE 8000' \
		-c 'LABEL org.opencontainers.image.title=vllm-sim' - $(SIM_IMAGE)
