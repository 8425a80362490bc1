#!/usr/bin/env bash
# deps.sh [test] — install the build's system libraries when missing: Debian's
# OpenBLAS (for the -tags openblas build) and a C compiler for cgo; with "test", also
# Chromium (the console's browser tests run it headless). Idempotent and quiet when
# everything is present.
set -euo pipefail
missing=()
want=(libopenblas-dev gcc)
[ "${1:-}" = test ] && want+=(chromium)
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
run apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
  { run apt-get update -qq && run apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
