# hydrakit: `make demo` runs the tour on an embedded Redis (or REDIS_URL); `make test` runs every test
# against a real Redis and the real Node Hydra, installing what is missing when it can.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
NODE_DIR    := integration/node
TEST_FLAGS  ?= -race -count=1 -timeout 15m

.PHONY: all demo test test-short stress deps lint api apidiff bench fuzz tidy

all: lint test

# make demo DEMO_FLAGS=-stay keeps the fleet and its Redis up after the tour, for `hydrakit nodes`.
demo:
	$(GO) run ./cmd/demo $(DEMO_FLAGS)

# deps makes sure a real redis-server and the Node Hydra peer are there (see scripts/ensure-deps.sh).
deps:
	@bash scripts/ensure-deps.sh

test: deps
	$(GO) test $(TEST_FLAGS) ./...

# Unit tests only: miniredis, no real Redis or Node needed. PATH holds only the go binary's directory,
# so a test that reaches for redis-server or node under -short fails here instead of passing quietly.
test-short:
	PATH="$$(dirname "$$(command -v $(GO))")" $(GO) test -short -count=1 ./...

# The timing-sensitive packages, -race -count=5, with every core kept busy by another process
# (docs/architecture.md, "Tests under load"). Takes a while; STRESS_PKGS narrows it.
stress: deps
	@GO=$(GO) bash scripts/stress.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './integration/node/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@# The sd/consul half of the migration pair is its own module (Consul's client is not ours to carry).
	cd examples/consul-migration/consul && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	@GO=$(GO) bash scripts/api.sh check

# The exported surface of every public package lives in api/*.txt; make api rewrites it after a
# deliberate change, make apidiff BASE=<rev> says which changes since <rev> break callers.
api:
	@GO=$(GO) bash scripts/api.sh write

BASE ?= HEAD
apidiff:
	@GO=$(GO) bash scripts/api.sh diff $(BASE)

# Benchmarks need a real redis-server; each one measures a raw go-redis baseline in the same run.
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 30m ./bench/... | tee bench/last.txt

# Every fuzz target of every package, FUZZTIME each (see scripts/fuzz.sh for Go 1.26's deadline flake).
FUZZTIME ?= 10s
fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

tidy:
	$(GO) mod tidy
