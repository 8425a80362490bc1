// Package clustering is the pure part of matching: spherical k-means with Hamerly
// bounds (SphericalKMeans), size bounds and stability against the previous run
// (Cluster), optimal assignment (Hungarian), class-based TF-IDF labels (Label, Name),
// tribes, cluster metrics (Silhouette, NMI, Purity) and a 2-D projection for maps
// (Project2D). It imports only gonum and the standard library: no database, so it is
// tested and benchmarked in isolation. The matrix products go through gonum's BLAS
// interface, routed to OpenBLAS in builds with -tags openblas.
package clustering
