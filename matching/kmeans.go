package matching

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// KMeansConfig tunes SphericalKMeans.
type KMeansConfig struct {
	K int
	// MaxIter bounds the Lloyd iterations; 50 when zero.
	MaxIter int
	// Seed makes the run deterministic: the same vectors and seed give the same result.
	Seed uint64
	// Tol stops the fit once fewer than this fraction of points change cluster in an
	// iteration; 0.001 when zero.
	Tol float64
}

// KMeansResult is a fitted clustering.
type KMeansResult struct {
	// Centroids are unit vectors, K of them.
	Centroids [][]float32
	// Assign[i] is the cluster of point i.
	Assign []int
	// Score[i] is the cosine similarity of point i to its centroid.
	Score []float32
	// Iterations run.
	Iterations int
}

// chunkRows bounds the similarity block computed at once: chunkRows × K float64s.
const chunkRows = 2048

// SphericalKMeans clusters unit vectors by cosine similarity: k-means whose centroids
// are re-normalized to unit length after every update. Seeding is k-means++ on a
// sample of at most 32·K points, so it costs less than one assignment pass. Each
// assignment step is a matrix product (points × centroidsᵀ) through gonum's BLAS.
func SphericalKMeans(x [][]float32, cfg KMeansConfig) (KMeansResult, error) {
	n := len(x)
	if n == 0 {
		return KMeansResult{}, errors.New("kmeans: no points")
	}
	if cfg.K < 1 || cfg.K > n {
		return KMeansResult{}, fmt.Errorf("kmeans: k=%d must be between 1 and the %d points", cfg.K, n)
	}
	d := len(x[0])
	for i, v := range x {
		if len(v) != d {
			return KMeansResult{}, fmt.Errorf("kmeans: point %d has %d dimensions, want %d", i, len(v), d)
		}
	}
	maxIter := cfg.MaxIter
	if maxIter <= 0 {
		maxIter = 50
	}
	tol := cfg.Tol
	if tol <= 0 {
		tol = 0.001
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))

	X := mat.NewDense(n, d, nil)
	for i, v := range x {
		row := X.RawRowView(i)
		for j, f := range v {
			row[j] = float64(f)
		}
	}
	C := seedPlusPlus(X, cfg.K, rng)

	assign := make([]int, n)
	for i := range assign {
		assign[i] = -1
	}
	score := make([]float64, n)
	sums := mat.NewDense(cfg.K, d, nil)
	counts := make([]int, cfg.K)
	res := KMeansResult{}
	for it := 1; it <= maxIter; it++ {
		res.Iterations = it
		changed := assignAll(X, C, assign, score)
		// Update: centroid = normalized sum of its members.
		sums.Zero()
		clear(counts)
		for i := 0; i < n; i++ {
			c := assign[i]
			counts[c]++
			floatsAdd(sums.RawRowView(c), X.RawRowView(i))
		}
		for c := 0; c < cfg.K; c++ {
			if counts[c] == 0 {
				// An empty cluster takes the point worst served by its centroid.
				worst := 0
				for i := 1; i < n; i++ {
					if score[i] < score[worst] {
						worst = i
					}
				}
				copy(sums.RawRowView(c), X.RawRowView(worst))
				score[worst] = math.Inf(1)
				changed++
			}
			row := sums.RawRowView(c)
			if normalize64(row) {
				copy(C.RawRowView(c), row)
			}
		}
		if float64(changed) < tol*float64(n) {
			break
		}
	}
	assignAll(X, C, assign, score)

	res.Assign = assign
	res.Score = make([]float32, n)
	for i, s := range score {
		res.Score[i] = float32(s)
	}
	res.Centroids = make([][]float32, cfg.K)
	for c := range res.Centroids {
		res.Centroids[c] = toFloat32(C.RawRowView(c))
	}
	return res, nil
}

// assignAll moves each point to its most similar centroid and returns how many moved.
func assignAll(X, C *mat.Dense, assign []int, score []float64) int {
	n, _ := X.Dims()
	k, _ := C.Dims()
	changed := 0
	var S mat.Dense
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		S.Reset()
		S.Mul(X.Slice(lo, hi, 0, X.RawMatrix().Cols), C.T())
		for i := lo; i < hi; i++ {
			row := S.RawRowView(i - lo)
			best, bs := 0, row[0]
			for c := 1; c < k; c++ {
				if row[c] > bs {
					best, bs = c, row[c]
				}
			}
			if assign[i] != best {
				changed++
				assign[i] = best
			}
			score[i] = bs
		}
	}
	return changed
}

// seedPlusPlus picks k initial centroids by k-means++ (distance = 1 - cosine) over a
// random sample of the points.
func seedPlusPlus(X *mat.Dense, k int, rng *rand.Rand) *mat.Dense {
	n, d := X.Dims()
	m := min(n, max(32*k, 1024))
	sample := rng.Perm(n)[:m]
	C := mat.NewDense(k, d, nil)
	first := sample[rng.IntN(m)]
	copy(C.RawRowView(0), X.RawRowView(first))
	dist := make([]float64, m)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	for c := 1; c < k; c++ {
		prev := C.RawRowView(c - 1)
		total := 0.0
		for i, p := range sample {
			dd := math.Max(0, 1-dot64(X.RawRowView(p), prev))
			if dd < dist[i] {
				dist[i] = dd
			}
			total += dist[i]
		}
		pick := sample[rng.IntN(m)]
		if total > 0 {
			r := rng.Float64() * total
			for i, p := range sample {
				r -= dist[i]
				if r <= 0 {
					pick = p
					break
				}
			}
		}
		copy(C.RawRowView(c), X.RawRowView(pick))
	}
	return C
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func floatsAdd(dst, src []float64) {
	for i := range dst {
		dst[i] += src[i]
	}
}

func normalize64(v []float64) bool {
	n := math.Sqrt(dot64(v, v))
	if n == 0 {
		return false
	}
	for i := range v {
		v[i] /= n
	}
	return true
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = float32(f)
	}
	return out
}

// TopK returns the indexes and cosine similarities of the k centroids most similar to
// v, best first.
func TopK(v []float32, centroids [][]float32, k int) ([]int, []float32) {
	k = min(k, len(centroids))
	idx := make([]int, 0, k+1)
	sims := make([]float32, 0, k+1)
	for c, cv := range centroids {
		var s float32
		for j := range v {
			s += v[j] * cv[j]
		}
		pos := len(idx)
		for pos > 0 && sims[pos-1] < s {
			pos--
		}
		if pos >= k {
			continue
		}
		idx = append(idx[:pos], append([]int{c}, idx[pos:]...)...)
		sims = append(sims[:pos], append([]float32{s}, sims[pos:]...)...)
		if len(idx) > k {
			idx, sims = idx[:k], sims[:k]
		}
	}
	return idx, sims
}
