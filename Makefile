# goodwill — make run starts the service on the embedded store; make test runs everything.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STATICCHECK_VERSION := v0.8.2
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
# Redocly CLI lints the published OpenAPI document with its recommended rules, every
# warning an error (recommended-strict); it comes from npm through npx (Node.js 20.19+).
REDOCLY_VERSION := 2.11.1
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --yes @redocly/cli@$(REDOCLY_VERSION)
PKGS      := ./...

.PHONY: build run test lint unit deploy-check fork-check bench fuzz clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/goodwill ./cmd/goodwill

## run: the service on the embedded store in ./data, an admin key printed by the first start
run: build
	GOODWILL_BOOTSTRAP_KEY=$${GOODWILL_BOOTSTRAP_KEY:-gw_local_development_key_change_me_0000} ./bin/goodwill serve

## test: formatting, vet, staticcheck, the OpenAPI document's lint, every test (fuzz targets run their seed corpora), the deployment files', then the embedded store's
test: lint unit deploy-check fork-check

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	cd deploy && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	$(REDOCLY) lint --extends recommended-strict --format=stylish service/openapi.json

unit:
	$(GO) test -count=1 -timeout 25m $(PKGS)

## deploy-check: the tests of deploy/ (manifests, compose file, Dockerfile). It is a module of
## its own, so that the Kubernetes API types the manifests are decoded into stay out of
## goodwill's dependencies; go test ./... above does not reach it.
deploy-check:
	cd deploy && $(GO) test -count=1 -timeout 10m ./...

## fork-check: third_party/ferretdb equals upstream FerretDB plus its patches, and its own tests pass.
## It is a module of its own (go test ./... above does not reach it); ferretdb_debug turns on its debug checks.
fork-check:
	third_party/ferretdb/update.sh --check
	cd third_party/ferretdb && $(GO) test -count=1 -timeout 10m -tags ferretdb_debug ./...

## bench: the benchmark harness; writes BENCHMARKS.md
bench:
	$(GO) run ./cmd/goodwill-bench -out BENCHMARKS.md

## fuzz: long fuzzing of each parser (FUZZTIME per target); a package whose tests do
## not build fails it rather than being skipped
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  list=$$($(GO) test -list '^Fuzz' $$pkg 2>&1) || { echo "$$list"; exit 1; }; \
	  for f in $$(echo "$$list" | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

clean:
	rm -rf bin data
