#!/usr/bin/env bash
# load.sh — load-test GET /v1/members/{id}/communities on loopback against 100,000 demo
# members, at fixed rates (open loop), 60 s each.
#
#   bench/load.sh [RATE ...]          default rates: 1000 2500 5000
#   DURATION=30s bench/load.sh 1000
#   LOAD_PATH='/v1/members/%s/moment?channel=app' bench/load.sh 1000
#   SERVE_FLAGS=-workers=true bench/load.sh 1000   (jobs worked in the server too; default: the API alone)
#   SETUP_ONLY=1 bench/load.sh                      (the database only: bench/realtime.sh uses it)
#
# It uses its own database (belong_load on the local cluster, or BENCH_DATABASE_URL),
# loads the demo brand there once, starts a server on 127.0.0.1:18080 with no per-key
# rate limit, and prints one JSON line per rate: p50/p90/p99/max latency in ms,
# achieved rate and errors. Lines are also kept in bench/out/load-*.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
rates=("$@")
[ ${#rates[@]} -eq 0 ] && rates=(1000 2500 5000)

if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  dev=$(scripts/db.sh up)
  if ! psql "$dev" -qtAX -c "SELECT 1 FROM pg_database WHERE datname = 'belong_load'" | grep -q 1; then
    psql "$dev" -qc "CREATE DATABASE belong_load"
  fi
  BENCH_DATABASE_URL=${dev/\/belong\?/\/belong_load?}
  psql "$BENCH_DATABASE_URL" -qc "CREATE EXTENSION IF NOT EXISTS vector" 2>/dev/null
fi
export DATABASE_URL=$BENCH_DATABASE_URL
make -s build
bin/belong migrate
bin/belong demo -members 100000 -if-empty
# Embed and cluster once; later runs measure the same published run (REFRESH=1 redoes it).
if [ -n "${REFRESH:-}" ] || ! psql "$DATABASE_URL" -qtAX -c "SELECT 1 FROM current_run" | grep -q 1; then
  BELONG_EMBEDDER=local bin/belong embed
  BELONG_EMBEDDER=local bin/belong cluster -if-changed 2>/dev/null
fi
[ -n "${SETUP_ONLY:-}" ] && exit 0
key=$(bin/belong keys create --name load-bench --scopes match:read 2>/dev/null)
go build -o bench/out/load ./bench/load

BELONG_EMBEDDER=local BELONG_RATE_LIMIT=0 BELONG_LOG_LEVEL=warn bin/belong serve -addr 127.0.0.1:18080 ${SERVE_FLAGS:--workers=false} >/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done

out="bench/out/load-$(date +%Y%m%d-%H%M%S).jsonl"
for rate in "${rates[@]}"; do
  bench/out/load -url http://127.0.0.1:18080 -key "$key" -members 100000 -rate "$rate" -duration "${DURATION:-60s}" \
    -path "${LOAD_PATH:-/v1/members/%s/communities}" | tee -a "$out"
done
