package clustering

import (
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Project2D projects vectors onto their first two principal components. With fewer
// than three vectors, or no variance, the points sit on a line or at the origin.
func Project2D(x [][]float32) [][2]float64 {
	out := make([][2]float64, len(x))
	if len(x) < 3 {
		for i := range out {
			out[i] = [2]float64{float64(i), 0}
		}
		return out
	}
	d := len(x[0])
	m := mat.NewDense(len(x), d, nil)
	for i, v := range x {
		for j, f := range v {
			m.Set(i, j, float64(f))
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(m, nil) {
		return out
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	var proj mat.Dense
	// Centre, then project onto the first two components.
	means := make([]float64, d)
	for j := 0; j < d; j++ {
		means[j] = stat.Mean(mat.Col(nil, j, m), nil)
	}
	for i := 0; i < len(x); i++ {
		for j := 0; j < d; j++ {
			m.Set(i, j, m.At(i, j)-means[j])
		}
	}
	proj.Mul(m, vecs.Slice(0, d, 0, 2))
	for i := range out {
		out[i] = [2]float64{proj.At(i, 0), proj.At(i, 1)}
	}
	return out
}
