#!/usr/bin/env bash
# deps.sh [test] — install the build's system libraries when missing: Debian's
# OpenBLAS (for the -tags openblas build) and a C compiler for cgo; with "test", also
# Chromium (the console's browser tests run it headless), Prometheus (for promtool,
# which checks and unit-tests the shipped alert rules), Podman (the image's build is
# tested from a local binary), PgBouncer (the stateless-nodes test runs API nodes
# behind it in transaction mode), Node.js with the pinned Redocly
# CLI (the OpenAPI linter, from the npm registry into .data/npm; it needs Node.js 20.19
# or later: Debian trixie's, or NodeSource's on bookworm) and the pinned golangci-lint
# and sqlc (built from the Go module proxy into .data/bin). Idempotent and quiet when
# everything is present.
set -euo pipefail
missing=()
want=(libopenblas-dev gcc)
if [ "${1:-}" = test ]; then
  want+=(chromium prometheus podman pgbouncer)
  command -v npm >/dev/null || want+=(nodejs npm) # a machine's own Node.js will do
fi
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  run apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { run apt-get update -qq && run apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# The lint gate's linter and the storage layer's code generator, pinned: the same
# versions on every machine (sqlc needs cgo: gcc is installed above).
lint_version=2.15.0
sqlc_version=1.31.1
redocly_version=2.77.0
if [ "${1:-}" = test ]; then
  bin="$(cd "$(dirname "$0")/.." && pwd)/.data/bin"
  if ! "$bin/golangci-lint" version 2>/dev/null | grep -q "version $lint_version "; then
    echo "deps: building golangci-lint $lint_version" >&2
    GOBIN="$bin" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$lint_version"
  fi
  if [ "$("$bin/sqlc" version 2>/dev/null)" != "v$sqlc_version" ]; then
    echo "deps: building sqlc $sqlc_version" >&2
    GOBIN="$bin" go install "github.com/sqlc-dev/sqlc/cmd/sqlc@v$sqlc_version"
  fi
  npm_dir="$(dirname "$bin")/npm"
  if [ "$("$npm_dir/node_modules/.bin/redocly" --version 2>/dev/null)" != "$redocly_version" ]; then
    echo "deps: installing @redocly/cli $redocly_version" >&2
    npm install --silent --no-audit --no-fund --prefix "$npm_dir" "@redocly/cli@$redocly_version" >/dev/null
  fi
fi
