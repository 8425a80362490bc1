#!/usr/bin/env bash
# embeddings.sh — how well each embedder recovers the demo brand's planted personas,
# on 6,000 members of whom 30% write interests in other words: NMI with one community
# per persona, purity of micro-communities (k = n/50), and peer precision@10, with and
# without activity. Set OPENAI_BASE_URL (and OPENAI_API_KEY, BELONG_EMBEDDING_MODEL)
# to add an OpenAI-compatible endpoint to the table.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
echo "| profiles | model | NMI@14 | purity@120 | peer precision@10 |"
echo "|---|---|---:|---:|---:|"
go test -tags openblas -run '^$' -bench EmbeddingQuality -benchtime 1x ./embeddings | grep -o '| .*|$'
