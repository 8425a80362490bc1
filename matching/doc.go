// Package matching finds micro-communities in member vectors and answers who belongs
// where.
//
// The algorithms live in package matching/clustering (spherical k-means, size bounds,
// Hungarian matching, labels, tribes, silhouette, PCA): pure functions over vectors
// that import only gonum. Job is the cluster run: it loads vectors, clusters them,
// labels each community by its most distinctive interests and publishes the result
// atomically as the current run. The query functions serve the API; their SQL lives
// in package storage.
package matching
