# vllmctl — build, test, demo. Only Go (1.26.8+, as go.mod says) is needed;
# `make test` also runs the end-to-end tests against the local Docker Engine
# where the issue requires it. `make acceptance` adds the tests on the real
# operator's corpus, which must sit beside the checkout in ../shared.
GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
DATE     ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
CLIPKG   := github.com/vllmctl/vllmctl/internal/cli
LDFLAGS  := -s -w -X $(CLIPKG).Version=$(VERSION) -X $(CLIPKG).Commit=$(COMMIT) -X $(CLIPKG).Date=$(DATE)
EXAMPLE  := examples/project
VLLMCTL  := $(CURDIR)/$(BIN)/vllmctl
FUZZTIME ?= 60s

.PHONY: tools-prometheus e2e-prometheus image e2e-compose-service kube-testbin cli-docs build demo-image compose-v2 test test-unit acceptance lint cross demo bench fuzz clean plan-accuracy sim-image

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/vllmctl ./cmd/vllmctl
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/vllm-sim ./cmd/vllm-sim

# demo-image: the simulator image when a Docker Engine answers (the demo uses
# the process runtime otherwise).
demo-image:
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory sim-image; else echo "no Docker Engine: the demo runs on the process runtime"; fi

## test: lint, unit, script and end-to-end tests (the latter on the local
## Docker Engine with Compose v1 and v2), cross-compiles. It needs nothing
## beside the checkout: a fresh clone passes it.
test: lint compose-v2 test-unit e2e-prometheus e2e-compose-service cross

test-unit: tools-prometheus tools-chromium
	$(GO) test -race -shuffle=on -count=1 -timeout 20m ./...

## acceptance: the tests built with `-tags acceptance` as well, those that read
## the real operator's corpus in ../shared beside the checkout (CI runs it after
## `make test`). Without ../shared it says what is missing and fails.
SHARED := $(abspath $(CURDIR)/../shared)
acceptance: kube-testbin tools-prometheus
	@for p in $(SHARED) $(SHARED)/corpus/myia_vllm_2025-10; do \
		if [ ! -d "$$p" ]; then \
			{ echo "make acceptance: $$p is missing."; \
			  echo "The acceptance tests read the shared corpus beside the checkout (../shared/corpus/myia_vllm_2025-10)."; \
			  echo "Run them from a checkout with ../shared beside it; \`make test\` needs no ../shared."; } >&2; \
			exit 1; fi; done
	$(GO) test -race -tags acceptance -count=1 -timeout 30m ./...

## compose-v2: Compose v2 built from its Go module into ~/.docker/cli-plugins
## when `docker compose` is missing (a few minutes cold; no registry needed).
COMPOSE_MODULE ?= github.com/docker/compose/v5@v5.6.0
compose-v2:
	@if docker compose version >/dev/null 2>&1; then echo "compose v2: $$(docker compose version --short)"; else \
		echo "building Compose v2 from $(COMPOSE_MODULE)"; \
		dir=$$($(GO) mod download -json $(COMPOSE_MODULE) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
		test -n "$$dir" || { echo "cannot download $(COMPOSE_MODULE)"; exit 1; }; \
		rm -rf $(BIN)/compose-src && mkdir -p $(BIN) && cp -r "$$dir" $(BIN)/compose-src && chmod -R u+w $(BIN)/compose-src && \
		mkdir -p $(HOME)/.docker/cli-plugins && \
		(cd $(BIN)/compose-src && CGO_ENABLED=0 GOFLAGS=-mod=mod $(GO) build -o $(HOME)/.docker/cli-plugins/docker-compose ./cmd) && \
		docker compose version; fi

## lint: gofmt, vet and staticcheck (acceptance-tagged files included), a tidy
## go.mod, and no tracked binary or file over 1 MB (scripts/lint-tracked.sh).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	sh scripts/lint-tracked.sh
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) vet -tags acceptance ./...
	$(GO) run $(STATICCHECK) -tags acceptance ./...

## cross: the binary must build for every platform the users have.
cross:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/...
	GOOS=darwin  GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/...
	GOOS=linux   GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/...

## demo: build, then check, plan, deploy the example's profiles on the engine
## simulator (docker when an engine answers, the process runtime otherwise),
## show status, send a chat completion, and tear down.
demo: build demo-image
	@echo "== vllmctl check (every defect, before deploying)"
	cd $(EXAMPLE) && $(VLLMCTL) check
	@echo "== vllmctl profiles"
	cd $(EXAMPLE) && $(VLLMCTL) profiles
	@echo "== vllmctl show medium (secrets masked)"
	cd $(EXAMPLE) && $(VLLMCTL) show medium
	@echo "== vllmctl plan (memory fit on the GPUs declared in vllmctl.yaml)"
	cd $(EXAMPLE) && $(VLLMCTL) plan
	@echo "== vllmctl up --simulate (every profile, on vllm-sim)"
	cd $(EXAMPLE) && $(VLLMCTL) up --simulate --progress plain || (cd $(CURDIR)/$(EXAMPLE) && $(VLLMCTL) down; exit 1)
	@echo "== vllmctl status"
	cd $(EXAMPLE) && $(VLLMCTL) status
	@echo "== vllmctl chat medium"
	cd $(EXAMPLE) && $(VLLMCTL) chat medium "What fits on two RTX 4090s?"
	@echo "== vllmctl down"
	cd $(EXAMPLE) && $(VLLMCTL) down
	cd $(EXAMPLE) && $(VLLMCTL) history
	@echo "== vllmctl check on a real operator's file (defects expected; exit 1 is the point)"
	-cd $(EXAMPLE) && $(VLLMCTL) check --file ../../internal/check/testdata/demo-broken.yml

bench:
	$(GO) test -run XXX -bench . -benchmem ./...

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	$(GO) test ./internal/vllm -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/project -run XXX -fuzz FuzzScanRefs -fuzztime $(FUZZTIME)
	$(GO) test ./internal/vllm -run XXX -fuzz FuzzClassifyLine -fuzztime $(FUZZTIME)
	$(GO) test ./internal/gateway -run XXX -fuzz FuzzPeekModel -fuzztime $(FUZZTIME)
	$(GO) test ./internal/shellcmd -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/project -run XXX -fuzz FuzzLoad -fuzztime $(FUZZTIME)
	$(GO) test ./internal/project -run XXX -fuzz FuzzParseEnv -fuzztime $(FUZZTIME)

## cli-docs: regenerate the CLI reference (docs/cli) from the command tree.
cli-docs:
	$(GO) run ./cmd/vllmctl-docs

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

## kube-testbin: the real Kubernetes control plane that the acceptance tests of
## internal/kube start (kube-apiserver, kube-controller-manager, kube-scheduler
## of k8s.io/kubernetes v1.37.2, etcd v3.7.3, kwok v0.8.0 with its fast stages),
## built from the Go module proxy into the ignored KUBE_BIN (about 8 minutes
## cold on 2 cores, ~560 MB; nothing is rebuilt while the stamp is current).
KUBE_BIN ?= $(CURDIR)/.cache/kube
KUBE_SRC := tools/kube
kube-testbin: $(KUBE_BIN)/.stamp
$(KUBE_BIN)/.stamp: $(wildcard $(KUBE_SRC)/*/go.mod $(KUBE_SRC)/*/go.sum $(KUBE_SRC)/*/*.go $(KUBE_SRC)/*/cmd/*/*.go)
	mkdir -p $(KUBE_BIN)/stages
	cd $(KUBE_SRC)/etcd && CGO_ENABLED=0 $(GO) build -trimpath -o $(KUBE_BIN)/etcd .
	cd $(KUBE_SRC)/kwok && CGO_ENABLED=0 $(GO) build -trimpath -o $(KUBE_BIN)/kwok .
	cd $(KUBE_SRC)/k8s && for c in kube-apiserver kube-controller-manager kube-scheduler; do \
		CGO_ENABLED=0 $(GO) build -trimpath -o $(KUBE_BIN)/$$c ./cmd/$$c || exit 1; done
	kwok=$$(cd $(KUBE_SRC)/kwok && $(GO) list -m -f '{{.Dir}}' sigs.k8s.io/kwok) && \
		rm -rf $(KUBE_BIN)/stages $(KUBE_BIN)/crds && mkdir -p $(KUBE_BIN)/stages $(KUBE_BIN)/crds && \
		for f in $$kwok/kustomize/stage/node/fast/*.yaml $$kwok/kustomize/stage/node/heartbeat/*.yaml \
		         $$kwok/kustomize/stage/pod/fast/*.yaml; do \
			case $$f in */kustomization.yaml) ;; *) cp $$f $(KUBE_BIN)/stages/ ;; esac; done && \
		for f in $$kwok/kustomize/crd/bases/*.yaml; do \
			case $$f in */kustomization.yaml) ;; *) cp $$f $(KUBE_BIN)/crds/ ;; esac; done && \
		chmod u+w $(KUBE_BIN)/stages/* $(KUBE_BIN)/crds/*
	touch $@

# APT installs Debian packages: as root, or through sudo when there is one.
APT := $(if $(filter 0,$(shell id -u)),,$(if $(shell command -v sudo 2>/dev/null),sudo ))env DEBIAN_FRONTEND=noninteractive apt-get

## tools-prometheus: promtool and prometheus from Debian's prometheus package,
## which the observability tests run (rule checks, rule unit tests, the
## end-to-end test with a real Prometheus). Tests fail, never skip, without them.
tools-prometheus:
	@if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then promtool --version | head -1; else \
		$(APT) update && $(APT) install -y --no-install-recommends prometheus; fi

## tools-chromium: Debian's chromium, which the dashboard's browser test
## (internal/dashboard TestBrowser, through chromedp) drives headless. Tests
## fail, never skip, without it.
.PHONY: tools-chromium
tools-chromium:
	@if command -v chromium >/dev/null 2>&1; then chromium --version 2>/dev/null | head -1; else \
		$(APT) update && $(APT) install -y --no-install-recommends chromium; fi

## e2e-prometheus: Debian's prometheus scrapes vllm-sim engines (process
## runtime) and `vllmctl serve` with the exported configuration; a wedge, a
## killed engine and KV pressure must each fire their alert, nothing while healthy.
e2e-prometheus: tools-prometheus build
	$(GO) vet -tags e2e ./internal/observability/
	VLLMCTL_E2E_BIN=$(CURDIR)/$(BIN) $(GO) test -tags e2e -count=1 -timeout 10m -run TestPrometheusEndToEnd ./internal/observability/

## image: vllmctl:dev, the image `vllmctl export compose-service` runs: a static
## vllmctl, vllmctl-probe (its healthcheck; as /usr/bin/docker it runs `docker
## compose` on the static Compose v2 binary, for the watchdog's restarts) in a
## FROM scratch image, with
## docker build on a context under bin/ (nothing pulled from a registry).
IMAGE ?= vllmctl:dev
image: compose-v2
	rm -rf $(BIN)/vllmctl-image && mkdir -p $(BIN)/vllmctl-image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/vllmctl-image/vllmctl ./cmd/vllmctl
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/vllmctl-image/vllmctl-probe ./cmd/vllmctl-probe
	plugin=$$(docker info --format '{{range .ClientInfo.Plugins}}{{if eq .Name "compose"}}{{.Path}}{{end}}{{end}}'); \
		test -n "$$plugin" || { echo "no docker compose plugin: run make compose-v2"; exit 1; }; \
		cp "$$plugin" $(BIN)/vllmctl-image/docker-compose
	printf '%s\n' 'FROM scratch' 'COPY vllmctl vllmctl-probe docker-compose /usr/bin/' 'COPY vllmctl-probe /usr/bin/docker' 'ENV HOME=/' \
		'EXPOSE 8080' 'LABEL org.opencontainers.image.title=vllmctl' \
		'HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["/usr/bin/vllmctl-probe", "http://127.0.0.1:8080/health"]' \
		'ENTRYPOINT ["/usr/bin/vllmctl"]' 'CMD ["serve", "--listen", "0.0.0.0:8080", "--runtime", "docker"]' > $(BIN)/vllmctl-image/Dockerfile
	DOCKER_BUILDKIT=0 docker build -q -t $(IMAGE) $(BIN)/vllmctl-image
	docker run --rm $(IMAGE) --version

## e2e-compose-service: `vllmctl export compose-service` run from the image on
## this machine's Docker Engine beside a vllm-sim engine: it turns healthy,
## routes, and its watchdog restarts the engine once wedged.
e2e-compose-service: image sim-image build
	VLLMCTL_E2E_BIN=$(CURDIR)/$(BIN) $(GO) test -tags e2e -count=1 -timeout 10m -run TestComposeServiceRestartsWedged ./internal/observability/

## release-snapshot: every release archive (linux, windows, darwin × amd64,
## arm64), checksums, and the Homebrew and Scoop manifests into dist/, with
## GoReleaser (.goreleaser.yaml; run from the module proxy, not a dependency
## of go.mod). Nothing is published. Six builds: 22 min on the 2-core VM under
## load from a cold cache (BENCHMARKS.md), plus building GoReleaser once.
GORELEASER ?= $(GO) run github.com/goreleaser/goreleaser/v2@v2.15.1
.PHONY: release-snapshot release-check
release-snapshot:
	@$(GORELEASER) --version >/dev/null || { echo "release-snapshot: '$(GORELEASER)' failed (above): GoReleaser is built from the Go module proxy (GOPROXY=$$($(GO) env GOPROXY)); make it reachable, or set GORELEASER to an installed goreleaser v2 binary" >&2; exit 1; }
	VLLMCTL_VERSION=$(VERSION) VLLMCTL_COMMIT=$(COMMIT) VLLMCTL_DATE=$(DATE) $(GORELEASER) release --snapshot --clean --skip=publish

## release-check: test what release-snapshot built (internal/release), with
## the version, commit and date it stamped.
release-check: release-snapshot
	VLLMCTL_VERSION=$(VERSION) VLLMCTL_COMMIT=$(COMMIT) VLLMCTL_DATE=$(DATE) $(GO) test -tags release -count=1 ./internal/release
