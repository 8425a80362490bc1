//go:build cgo && openblas

package clustering

// The openblas build tag routes gonum's float32 BLAS calls (the k-means assignment
// GEMM, the seeding GEMV) to OpenBLAS through gonum's own cgo binding: about 7× the
// pure-Go sgemm on the dev machine. Without the tag (or without cgo) the pure-Go
// implementation serves, so `go build` works everywhere. `make` builds with the tag
// and installs Debian's libopenblas-dev.

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

func init() { blas32.Use(netlib.Implementation{}) }

// BLAS names the BLAS implementation in use.
const BLAS = "openblas"
