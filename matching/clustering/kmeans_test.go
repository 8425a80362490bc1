package clustering_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/belong-loyalty/belong/matching/clustering"
)

// blobs draws n unit vectors around k random unit centres, with noise.
func blobs(n, k, dim int, noise float64, seed uint64) ([][]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64()
		}
	}
	x := make([][]float32, n)
	truth := make([]int, n)
	for i := range x {
		c := i % k
		truth[i] = c
		v := make([]float32, dim)
		var s float64
		for j := range v {
			f := centres[c][j] + noise*rng.NormFloat64()
			v[j] = float32(f)
			s += f * f
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(s))
		}
		x[i] = v
	}
	return x, truth
}

func TestSphericalKMeansRecoversBlobs(t *testing.T) {
	x, truth := blobs(3000, 12, 64, 0.6, 1)
	res, err := clustering.SphericalKMeans(context.Background(), x, clustering.KMeansConfig{K: 12, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if nmi := clustering.NMI(res.Assign, truth); nmi < 0.95 {
		t.Fatalf("NMI %.3f on well-separated blobs, want ≥ 0.95", nmi)
	}
	for c, v := range res.Centroids {
		var s float64
		for _, f := range v {
			s += float64(f) * float64(f)
		}
		if math.Abs(s-1) > 1e-4 {
			t.Fatalf("centroid %d has |c|² = %f", c, s)
		}
	}
	for i, s := range res.Score {
		if s < -1.0001 || s > 1.0001 {
			t.Fatalf("score %d = %f is not a cosine", i, s)
		}
	}
}

func TestSphericalKMeansIsDeterministic(t *testing.T) {
	x, _ := blobs(500, 5, 16, 1.5, 2)
	a, err := clustering.SphericalKMeans(context.Background(), x, clustering.KMeansConfig{K: 7, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := clustering.SphericalKMeans(context.Background(), x, clustering.KMeansConfig{K: 7, Seed: 9})
	for i := range a.Assign {
		if a.Assign[i] != b.Assign[i] {
			t.Fatalf("same seed, point %d assigned %d then %d", i, a.Assign[i], b.Assign[i])
		}
	}
}

func TestSphericalKMeansRejectsBadInput(t *testing.T) {
	x, _ := blobs(10, 2, 4, 0.1, 1)
	for _, k := range []int{0, 11} {
		if _, err := clustering.SphericalKMeans(context.Background(), x, clustering.KMeansConfig{K: k}); err == nil {
			t.Errorf("k=%d with 10 points: no error", k)
		}
	}
	if _, err := clustering.SphericalKMeans(context.Background(), nil, clustering.KMeansConfig{K: 1}); err == nil {
		t.Error("no points: no error")
	}
	x[3] = x[3][:2]
	if _, err := clustering.SphericalKMeans(context.Background(), x, clustering.KMeansConfig{K: 2}); err == nil {
		t.Error("ragged dimensions: no error")
	}
}

func TestLabelPicksDistinctiveTerms(t *testing.T) {
	terms := [][]string{
		{"trail running", "podcasts"}, {"trail running", "hiking", "podcasts"}, {"trail running", "podcasts"},
		{"yoga", "podcasts"}, {"yoga", "meditation", "podcasts"}, {"yoga", "podcasts"},
	}
	labels := clustering.Label(terms, []int{0, 0, 0, 1, 1, 1}, 2, clustering.LabelConfig{Max: 1})
	if labels[0][0] != "trail running" || labels[1][0] != "yoga" {
		t.Fatalf("labels %v: want trail running and yoga, not the shared podcasts", labels)
	}
	if got := clustering.Name([]string{"trail running", "ocean clean-ups"}); got != "Trail running · Ocean clean-ups" {
		t.Fatalf("Name = %q", got)
	}
}

func TestNMIAndPurity(t *testing.T) {
	a := []int{0, 0, 1, 1, 2, 2}
	if got := clustering.NMI(a, []int{5, 5, 3, 3, 9, 9}); math.Abs(got-1) > 1e-9 {
		t.Errorf("NMI of relabelled partition = %f, want 1", got)
	}
	if got := clustering.NMI(a, []int{0, 1, 0, 1, 0, 1}); got > 1e-9 {
		t.Errorf("NMI of independent partition = %f, want 0", got)
	}
	if got := clustering.Purity([]int{0, 0, 0, 1}, []int{1, 1, 2, 2}); got != 0.75 {
		t.Errorf("Purity = %f, want 0.75", got)
	}
}

func TestTopK(t *testing.T) {
	cs := [][]float32{{1, 0}, {0, 1}, {0.8, 0.6}, {-1, 0}}
	idx, sims := clustering.TopK([]float32{1, 0}, cs, 2)
	if len(idx) != 2 || idx[0] != 0 || idx[1] != 2 || sims[0] != 1 {
		t.Fatalf("TopK = %v %v, want [0 2]", idx, sims)
	}
}

func BenchmarkSphericalKMeans(b *testing.B) {
	x, _ := blobs(20000, 200, 256, 1.0, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := clustering.SphericalKMeans(context.Background(), x, clustering.KMeansConfig{K: 200, Seed: 1, MaxIter: 10}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestProject2DSeparatesGroups(t *testing.T) {
	x, truth := blobs(60, 2, 16, 0.2, 3)
	pts := clustering.Project2D(x)
	// The first component should split the two groups: compare group means on it.
	var m [2]float64
	var n [2]int
	for i, p := range pts {
		m[truth[i]] += p[0]
		n[truth[i]]++
	}
	if a, b := m[0]/float64(n[0]), m[1]/float64(n[1]); math.Abs(a-b) < 0.5 {
		t.Fatalf("group means on PC1 %.3f and %.3f: not separated", a, b)
	}
}
