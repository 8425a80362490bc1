#!/usr/bin/env bash
# cluster.sh — Belong's k-means against scikit-learn and faiss on the same data in the
# same run.
#
#   bench/cluster.sh [flags for bench/cluster, e.g. -n 200000 -k 4000 -coarse -1 -peers minibatch,faiss]
#
# Installs Debian's python3-sklearn and python3-faiss when missing, builds bench/cluster with OpenBLAS,
# and runs it twice when OPENBLAS_CORETYPE is unset: once with the environment as it
# is, once with OPENBLAS_CORETYPE=Haswell (Debian's OpenBLAS 0.3.21 does not know some
# newer CPUs and falls back to its SSE3 "Prescott" kernels; numpy, and so
# scikit-learn, load the same library, so both sides see the same setting). Where the
# machine's environment already sets it, it is left as it is. Tables go to stdout and
# bench/out/cluster-*.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
if ! /usr/bin/python3 -c "import sklearn, faiss" 2>/dev/null; then
  run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-sklearn python3-numpy python3-faiss >/dev/null
fi
mkdir -p bench/out
go build -tags openblas -o bench/out/cluster ./bench/cluster
out="bench/out/cluster-$(date +%Y%m%d-%H%M%S).md"
{
  echo "## OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
  bench/out/cluster "$@"
  if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
    echo
    echo "## OPENBLAS_CORETYPE=Haswell"
    OPENBLAS_CORETYPE=Haswell bench/out/cluster "$@"
  fi
} | tee "$out"
