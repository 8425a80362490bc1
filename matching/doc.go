// Package matching finds micro-communities in member vectors and answers who belongs
// where.
//
// The algorithms live in package matching/clustering (spherical k-means, size bounds,
// Hungarian matching, labels, tribes, silhouette, PCA): pure functions over vectors
// that import only gonum. Job is the cluster run: it loads vectors, clusters them,
// labels each community by its most distinctive interests and publishes the result
// atomically as the current run, with each member's peers within their community
// (run_peers) and a copy of the run's vectors in community order (run_vectors). The
// real-time reads take the current run from a View held in memory (Runs: loaded once
// a run, swapped atomically): match ranks against its centroids in Go, the other
// queries need one statement each. Their SQL lives in package storage.
package matching
