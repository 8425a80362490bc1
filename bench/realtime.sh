#!/usr/bin/env bash
# realtime.sh — every real-time endpoint at journey-platform rates, side by side with
# what the same database query costs with nothing around it. One command:
#
#   bench/realtime.sh                      rates 1000 3000 5000, 60 s each
#   RATES="5000" DURATION=30s bench/realtime.sh
#   ENDPOINTS="peers moment" bench/realtime.sh
#
# On 100,000 demo members (bench/load.sh's database and setup), for each endpoint it
# runs, at each rate, open loop, on loopback:
#   serve     belong serve -workers=false, answer cache on (the default), started cold
#   nocache   the same with BELONG_ANSWER_CACHE_TTL=0: every request does its work
#   ceiling   the endpoint's query in a trivial net/http handler (bench/ceiling)
# and then pgbench on the same query (8 clients, prepared, 20 s): PostgreSQL alone.
# Each line gives latency, the rate achieved, errors, and CPU seconds per second of
# the server, PostgreSQL (every postgres process) and the load generator. Lines are
# kept in bench/out/realtime-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
read -r -a rates <<<"${RATES:-1000 3000 5000}"
read -r -a endpoints <<<"${ENDPOINTS:-communities match peers moment}"
SETUP_ONLY=1 bench/load.sh
export DATABASE_URL=${BENCH_DATABASE_URL:-$(scripts/db.sh url | sed 's#/belong?#/belong_load?#')}
key=$(bin/belong keys create --name realtime-bench --scopes match:read 2>/dev/null)
go build -o bench/out/load ./bench/load
go build -o bench/out/ceiling ./bench/ceiling
tck=$(getconf CLK_TCK)
out="bench/out/realtime-$(date +%Y%m%d-%H%M%S).txt"

# cpu PID... prints the CPU seconds (user + system) the processes have used.
cpu() { awk -v t="$tck" '{ s += $14 + $15 } END { printf "%.2f", s / t }' "${@/#//proc/}" 2>/dev/null; }
pg_pids() { # every postgres process, as PID/stat (from /proc: no procps needed)
  local d
  for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = postgres ] && echo "${d#/proc/}/stat"; done; true
}
server_pid=""
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; server_pid=""; }
trap stop EXIT

path_of() {
  case $1 in
    communities) echo '/v1/members/%s/communities' ;;
    peers) echo '/v1/members/%s/peers?limit=10' ;;
    moment) echo '/v1/members/%s/moment?channel=app' ;;
    match) echo '/v1/match' ;;
  esac
}
body_of() { [ "$1" = match ] && echo '{"profile":{"interests":["trail running","yoga"],"causes":["ocean cleanup"],"skill_level":"intermediate"}}' || true; }

start() { # start TARGET: serve, nocache or ceiling on 127.0.0.1:18080
  stop
  case $1 in
    serve) BELONG_EMBEDDER=local BELONG_RATE_LIMIT=0 BELONG_LOG_LEVEL=warn bin/belong serve -workers=false -addr 127.0.0.1:18080 >/dev/null & ;;
    nocache) BELONG_ANSWER_CACHE_TTL=0 BELONG_EMBEDDER=local BELONG_RATE_LIMIT=0 BELONG_LOG_LEVEL=warn bin/belong serve -workers=false -addr 127.0.0.1:18080 >/dev/null & ;;
    ceiling) bench/out/ceiling -addr 127.0.0.1:18080 2>/dev/null & ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.1; done
}

per() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.2f", (a - b) / s }'; }
field() { grep -o "\"$1\":[^,}]*" <<<"$2" | cut -d: -f2 | tr -d '"'; }

measure() { # measure ENDPOINT TARGET RATE
  local path body before_s before_pg res secs
  path=$(path_of "$1") body=$(body_of "$1")
  before_s=$(cpu "$server_pid/stat") before_pg=$(cpu $(pg_pids))
  res=$(bench/out/load -url http://127.0.0.1:18080 -key "$key" -members 100000 -rate "$3" -duration "${DURATION:-60s}" \
    -path "$path" ${body:+-body "$body"})
  secs=$(field duration_s "$res")
  printf '%-12s %-8s %6s/s  achieved %7.0f/s  p50 %8s ms  p99 %8s ms  max %9s ms  errors %s+%s  cpu/s: server %.2f  postgres %.2f  load %.2f\n' \
    "$1" "$2" "$3" "$(field achieved_rps "$res")" "$(field p50_ms "$res")" "$(field p99_ms "$res")" "$(field max_ms "$res")" \
    "$(field errors "$res")" "$(field non_200 "$res")" \
    "$(per "$(cpu "$server_pid/stat")" "$before_s" "$secs")" "$(per "$(cpu $(pg_pids))" "$before_pg" "$secs")" \
    "$(per "$(field cpu_s "$res")" 0 "$secs")" | tee -a "$out"
}

pgbench_query() { # the endpoint's query (from storage's generated code) for a random member
  local run model file const subst
  run=$(psql "$DATABASE_URL" -qtAX -c "SELECT run_id FROM current_run")
  model=$(psql "$DATABASE_URL" -qtAX -c "SELECT model FROM cluster_runs WHERE id = $run")
  member="('m-' || lpad(:n::text, 5, '0'))"
  case $1 in # the parameters in the order the generated code passes them
    communities) file=communities const=memberMemberships subst="s/\$1/'$model'/g; s/\$2/$run/g; s/\$3/3/g; s/\$4/$member/g" ;;
    peers) file=vectors const=runPeers subst="s/\$1/$member/g; s/\$2/$run/g; s/\$3/10/g" ;;
    moment) file=moments const=momentSnapshot subst="s/\$1/(now() - interval '8 days')/g; s/\$2/$run/g; s/\$3/$member/g" ;;
  esac
  echo '\set n random(1, 100000)'
  awk -v c="const $const = \`" 'index($0, c) == 1 { on = 1; next } on && /^`/ { exit } on' "storage/$file.sql.go" | sed "$subst"
  echo ';'
}

for e in "${endpoints[@]}"; do
  targets=(serve nocache ceiling)
  [ "$e" = match ] && targets=(serve) # no database query to compare: it ranks in memory
  for t in "${targets[@]}"; do
    for r in "${rates[@]}"; do
      start "$t" # a fresh process each time: no rate inherits another's warm cache
      measure "$e" "$t" "$r"
    done
  done
  stop
  if [ "$e" != match ]; then
    pgbench_query "$e" >bench/out/pgbench-"$e".sql
    tps=$(pgbench -n -M prepared -c 8 -j 2 -T "${PGBENCH_TIME:-20}" -f bench/out/pgbench-"$e".sql "$DATABASE_URL" 2>/dev/null |
      grep -o 'tps = [0-9.]*' | cut -d' ' -f3)
    printf '%-12s %-8s max %s queries/s (PostgreSQL alone, 8 clients)\n' "$e" pgbench "$tps" | tee -a "$out"
  fi
done
