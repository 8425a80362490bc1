# make run   set up everything, load the demo brand if the database is empty, embed,
#            cluster and serve the API on 127.0.0.1:8080 (Ctrl-C stops the server)
# make test  set up everything and run the tests against the real database
# make db-stop  stop the local PostgreSQL (its data stays in .data/pg)
#
# DATABASE_URL, when set, points everything at an existing PostgreSQL with pgvector.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
DB := scripts/db.sh

.PHONY: run test build db db-stop bench fuzz clean

build:
	@command -v $(GO) >/dev/null || { echo "Go is not installed: see https://go.dev/doc/install" >&2; exit 1; }
	$(GO) build -o bin/belong ./cmd/belong

db:
	@$(DB) up

run: build
	@set -e; export DATABASE_URL="$$($(DB) up)"; \
	bin/belong migrate; \
	bin/belong demo -if-empty; \
	bin/belong embed; \
	bin/belong cluster -if-changed; \
	bin/belong generate; \
	scripts/try.sh; \
	exec bin/belong serve

test:
	@command -v $(GO) >/dev/null || { echo "Go is not installed: see https://go.dev/doc/install" >&2; exit 1; }
	@set -e; export DATABASE_URL="$$($(DB) up)"; \
	$(GO) vet ./...; \
	$(GO) test -count=1 ./...

bench:
	@set -e; export DATABASE_URL="$$($(DB) up)"; \
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

db-stop:
	@$(DB) down

clean:
	rm -rf bin
