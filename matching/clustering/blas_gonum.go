//go:build !(cgo && openblas)

package clustering

// BLAS names the BLAS implementation in use: gonum's pure Go.
const BLAS = "gonum"
