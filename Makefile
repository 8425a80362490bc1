# make run   set up everything, load the demo brand if the database is empty, embed,
#            cluster and serve the API on 127.0.0.1:8080 (Ctrl-C stops the server)
# make test  set up everything, run the lint gate (.golangci.yaml), the tests against
#            the real database, and each fuzz target (about 10 s each; FUZZTIME overrides)
# make db-stop  stop the local PostgreSQL (its data stays in .data/pg)
#
# DATABASE_URL, when set, points everything at an existing PostgreSQL with pgvector.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
DB := scripts/db.sh
# The shipped build routes BLAS to OpenBLAS (scripts/deps.sh installs it); without
# the tag the pure-Go BLAS serves and no C library is needed.
TAGS ?= openblas
# make test fuzzes every decoder of outside input for a number of inputs each (about
# 10 s here). A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a clean run with "context deadline exceeded" as the time runs out
# (golang/go#75804, fixed in Go 1.27). Minimizing a new input is bounded (100 runs).
# FUZZTIME, when set (50000x, or a duration such as 30s), applies to every target.
FUZZTIME ?=

.PHONY: run test lint generate build deps db db-stop bench bench-cluster bench-realtime clean

deps:
	@command -v $(GO) >/dev/null || { echo "Go is not installed: see https://go.dev/doc/install" >&2; exit 1; }
	@scripts/deps.sh

# VERSION is what `belong version` prints (git describe when this is a checkout); the
# VCS revision is stamped too (-buildvcs=auto: a machine's GOFLAGS may turn it off).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

build: deps
	$(GO) build -buildvcs=auto -tags '$(TAGS)' -ldflags '-X main.version=$(VERSION)' -o bin/belong ./cmd/belong

db:
	@$(DB) up

# Debian's OpenBLAS 0.3.21 falls back to SSE3 kernels on CPUs it does not know; on a
# machine with AVX2 and FMA whose environment sets no core type, make run picks
# Haswell's kernels (tests and CI keep the environment as it is).
run: build
	@set -e; url=$$($(DB) up); export DATABASE_URL="$$url"; \
	if [ -z "$${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then \
		export OPENBLAS_CORETYPE=Haswell; fi; \
	bin/belong migrate; \
	bin/belong demo -if-empty; \
	bin/belong embed; \
	bin/belong cluster -if-changed; \
	bin/belong generate; \
	scripts/try.sh; \
	exec bin/belong serve

test: deps
	@scripts/deps.sh test
	@set -e; url=$$($(DB) up); export DATABASE_URL="$$url"; \
	$(GO) vet ./...; \
	(cd storage && ../.data/bin/sqlc diff) || { echo "storage: generated code is stale: run make generate" >&2; exit 1; }; \
	.data/bin/golangci-lint run ./...; \
	.data/npm/node_modules/.bin/redocly lint --config api/redocly.yaml api/openapi.json; \
	CGO_ENABLED=0 $(GO) build ./...; \
	$(GO) test -race -count=1 -tags '$(TAGS)' ./...; \
	for target in members:FuzzDecodeMembers:100000x members:FuzzDecodeEvents:100000x \
		api:FuzzDecodeMatchRequest:25000x api:FuzzAPIRequests:5000x generation:FuzzEmblem:50000x; do \
		pkg=$${target%%:*}; rest=$${target#*:}; name=$${rest%%:*}; n=$${rest#*:}; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime "$(if $(FUZZTIME),$(FUZZTIME),$$n)" -fuzzminimizetime 100x ./$$pkg || exit 1; \
	done

# Regenerate the storage layer's query code after changing storage/queries/*.sql.
generate: deps
	@scripts/deps.sh test
	cd storage && ../.data/bin/sqlc generate

lint: deps
	@scripts/deps.sh test
	.data/bin/golangci-lint run ./...

bench: deps
	@set -e; url=$$($(DB) up); export DATABASE_URL="$$url"; \
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 3x ./...

# Every real-time endpoint at 1,000, 3,000 and 5,000 requests/s for 60 s on 100,000
# demo members, beside a trivial handler running the same query and pgbench.
bench-realtime: deps
	bench/realtime.sh

# k-means against scikit-learn on 200,000 × 256, k = 1,000 (needs python3-sklearn).
bench-cluster: deps
	bench/cluster.sh

db-stop:
	@$(DB) down

clean:
	rm -rf bin
