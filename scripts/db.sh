#!/usr/bin/env bash
# db.sh — a local PostgreSQL 15 + pgvector for development and tests.
#
#   scripts/db.sh up     install what is missing, start the cluster, print DATABASE_URL
#   scripts/db.sh down   stop the cluster (data stays in .data/pg)
#   scripts/db.sh url    print DATABASE_URL without touching anything
#
# With DATABASE_URL already set, nothing is installed or started: that database is used
# as it is (it must have pgvector available).
#
# The cluster lives under the project's git-ignored .data/ directory, listens on
# 127.0.0.1 only (port $BELONG_PG_PORT, default 54329) and trusts loopback connections:
# it is a developer's database, not a production one.
#
# pgvector: a distribution binary package (postgresql-15-pgvector) is used when apt has
# one. Debian bookworm does not, so the script builds pgvector from Debian's own source
# package for trixie, fetched with a private apt state directory under .data/apt so the
# system's own package lists stay untouched.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data"
pgdata="$data/pg"
port="${BELONG_PG_PORT:-54329}"
pgver=15
pgbin="/usr/lib/postgresql/$pgver/bin"
dbname=belong
url="postgres://postgres@127.0.0.1:$port/$dbname?sslmode=disable"

log() { printf 'db: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# run_pg runs a PostgreSQL server binary as an unprivileged user: PostgreSQL refuses root.
run_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pgvector_installed() {
  [ -f "$("$pgbin/pg_config" --sharedir)/extension/vector.control" ] &&
    [ -f "$("$pgbin/pg_config" --pkglibdir)/vector.so" ]
}

install_pgvector() {
  pgvector_installed && return 0
  if apt-cache show "postgresql-$pgver-pgvector" >/dev/null 2>&1; then
    apt_install "postgresql-$pgver-pgvector"
    pgvector_installed && return 0
  fi
  apt_install "postgresql-server-dev-$pgver" dpkg-dev make gcc
  # A private apt configuration that knows only trixie's sources.
  local aptdir="$data/apt" mirror
  mirror=$(grep -rhoE 'https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -v security | head -n1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$data/build"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} trixie main" >"$aptdir/sources.list"
  local opts=(-o "Dir::State=$aptdir" -o "Dir::State::Lists=$aptdir/lists"
    -o "Dir::State::status=/var/lib/dpkg/status" -o "Dir::Cache=$aptdir/cache"
    -o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
    -o "APT::Sandbox::User=root")
  log "fetching pgvector source from Debian trixie (${mirror%/})"
  apt-get "${opts[@]}" update -qq
  rm -rf "$data/build/pgvector"
  mkdir -p "$data/build/pgvector"
  (cd "$data/build/pgvector" && apt-get "${opts[@]}" source -qq pgvector >/dev/null)
  local src
  src=$(find "$data/build/pgvector" -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n1)
  [ -n "$src" ] || { log "apt-get source pgvector produced no source tree"; exit 1; }
  log "building $(basename "$src")"
  # OPTFLAGS="" keeps the build portable (no -march=native).
  make -s -C "$src" PG_CONFIG="$pgbin/pg_config" OPTFLAGS="" >/dev/null
  as_root make -s -C "$src" PG_CONFIG="$pgbin/pg_config" install >/dev/null
  pgvector_installed || { log "pgvector did not install"; exit 1; }
}

start_cluster() {
  mkdir -p "$data"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    log "creating cluster in $pgdata"
    mkdir -p "$pgdata"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdata"
    chmod 700 "$pgdata"
    run_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$pgdata'
max_connections = 200
shared_buffers = 512MB
maintenance_work_mem = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
EOF
  fi
  if ! run_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$port"
    if ! run_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 start >/dev/null; then
      log "PostgreSQL did not start; the end of $pgdata/server.log says:"
      tail -n 5 "$pgdata/server.log" >&2
      log "(is port $port taken by another server? BELONG_PG_PORT picks another)"
      exit 1
    fi
  fi
  if ! "$pgbin/psql" -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "select 1 from pg_database where datname = '$dbname'" | grep -q 1; then
    "$pgbin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "create database $dbname"
  fi
  # Tests create schemas concurrently; the extension is made once here so that no two
  # of them race to create it.
  "$pgbin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d "$dbname" \
    -c "create extension if not exists vector" 2>&1 | grep -v NOTICE >&2 || true
}

case "${1:-up}" in
up)
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "$DATABASE_URL"
    exit 0
  fi
  apt_install "postgresql-$pgver" "postgresql-client-$pgver"
  install_pgvector
  start_cluster
  echo "$url"
  ;;
down)
  if [ -f "$pgdata/PG_VERSION" ] && run_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    run_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
    log "stopped"
  else
    log "not running"
  fi
  ;;
url)
  echo "${DATABASE_URL:-$url}"
  ;;
*)
  echo "usage: $0 up|down|url" >&2
  exit 2
  ;;
esac
