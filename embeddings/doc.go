// Package embeddings turns member profiles into unit vectors and keeps them in
// pgvector.
//
// An Embedder maps a Profile (what a member says: interests, causes, skill level; and
// what they do: activity counts, recency-decayed) to a unit-length float32 vector of
// Dim() dimensions. Local is the offline default: deterministic feature hashing that
// needs no network. OpenAI calls any OpenAI-compatible /v1/embeddings endpoint with
// its own timeout. Backfill embeds every consenting member whose profile changed
// since their vector was made and removes the vectors of members who withdrew consent.
package embeddings
