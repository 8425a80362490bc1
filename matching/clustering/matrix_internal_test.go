package clustering

import (
	"context"
	"math"
	"slices"
	"testing"
)

// Rows that lie in one array, in order, are fitted where they are; any other rows
// are copied first. Either way the fit is the same.
func TestContiguousRowsAreNotCopied(t *testing.T) {
	const n, d = 300, 8
	flat := make([]float32, n*d)
	x := make([][]float32, n)
	scattered := make([][]float32, n)
	for i := range x {
		for j := range d {
			flat[i*d+j] = float32((i*7+j*3)%11) - 5
		}
		x[i] = flat[i*d : (i+1)*d]
		scattered[i] = slices.Clone(x[i])
	}
	m, err := newMatrix(x)
	if err != nil {
		t.Fatal(err)
	}
	if &m.data[0] != &flat[0] || len(m.data) != n*d {
		t.Fatal("contiguous rows were copied")
	}
	if _, ok := contiguous(scattered, d); ok {
		t.Fatal("separately allocated rows taken for one array")
	}
	swapped := slices.Clone(x)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if _, ok := contiguous(swapped, d); ok {
		t.Fatal("rows out of order taken for the array's order")
	}
	for _, v := range x {
		normalize(v)
	}
	for _, v := range scattered {
		normalize(v)
	}
	a, err := SphericalKMeans(context.Background(), x, KMeansConfig{K: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := SphericalKMeans(context.Background(), scattered, KMeansConfig{K: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Assign, b.Assign) {
		t.Fatal("the fit depends on where the rows lie")
	}
}

func normalize(v []float32) {
	var s float32
	for _, f := range v {
		s += f * f
	}
	if s == 0 {
		v[0], s = 1, 1
	}
	inv := 1 / float32(math.Sqrt(float64(s)))
	for i := range v {
		v[i] *= inv
	}
}
