#!/usr/bin/env bash
# realdata.sh — Belong's communities against plain TF-IDF k-means on a real
# membership: Debian source packages and the maintainer teams they belong to (issue 15).
#
#   bench/realdata.sh [flags for bench/realdata, e.g. -people=false -runs 20]
#
# Fetches Debian bookworm's Sources and Packages indexes into bench/out/realdata/ once
# (a private apt lists dir: the system's apt configuration is not touched), unpacks
# them with apt-helper, then runs bench/realdata, which builds the members, clusters
# them both ways and scores both against the teams. scikit-learn's KMeans is the bar
# when /usr/bin/python3 has it (Debian's python3-sklearn); Belong's own spherical
# k-means on the same TF-IDF vectors always is. The table goes to stdout and
# bench/out/realdata-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
D=bench/out/realdata
mkdir -p "$D/lists/partial" "$D/cache/archives/partial" "$D/etc"
if [ ! -s "$D/Sources" ] || [ ! -s "$D/Packages" ]; then
  printf '%s\n' \
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main' \
    'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main' \
    >"$D/etc/sources.list"
  apt-get -qq -o Dir::Etc::sourcelist="$PWD/$D/etc/sources.list" -o Dir::Etc::sourceparts=/nonexistent \
    -o Dir::State::Lists="$PWD/$D/lists" -o Dir::Cache="$PWD/$D/cache" -o Acquire::Languages=none \
    -o APT::Sandbox::User=root update
  # apt keeps the indexes compressed as it is configured to (lz4, gz, ...) or plain;
  # apt-helper reads any of them.
  unpack() {
    local f
    f=$(find "$D/lists" -maxdepth 1 -name "*_bookworm_main_$1*" ! -name '*.diff*' | head -n1)
    [ -n "$f" ] || { echo "realdata.sh: no $1 index in $D/lists" >&2; exit 1; }
    /usr/lib/apt/apt-helper cat-file "$f" >"$D/$2.tmp" && mv "$D/$2.tmp" "$D/$2"
  }
  unpack source_Sources Sources
  unpack binary-amd64_Packages Packages
fi
go build -o "$D/realdata" ./bench/realdata
out="bench/out/realdata-$(date +%Y%m%d-%H%M%S).md"
{
  echo "Command: \`bench/realdata.sh $*\` ($(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  "$D/realdata" -sources "$D/Sources" -packages "$D/Packages" "$@"
} | tee "$out"
