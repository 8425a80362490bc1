// Package matching finds micro-communities in member vectors and answers who belongs
// where.
//
// The algorithms (SphericalKMeans, Label, NMI, Purity) are pure functions over
// vectors and never touch storage. Job is the nightly run: it loads vectors, clusters
// them, labels each community by its most distinctive interests and publishes the
// result atomically as the current run. The query functions serve the API.
package matching
