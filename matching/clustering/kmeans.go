package clustering

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
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
	// Init warm-starts the fit from these unit centroids (last night's, say); when
	// fewer than K are given, the rest are seeded by k-means++, and extras are ignored.
	Init [][]float32
	// Sample, when above zero and below the number of points, fits the centroids on a
	// random sample of that many points and then assigns every point once: for very
	// large memberships.
	Sample int
	// Progress, when set, is called after every iteration.
	Progress func(iteration, changed int)
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

// matrix is a dense row-major float32 matrix.
type matrix struct {
	rows, cols int
	data       []float32
}

func (m matrix) row(i int) []float32 { return m.data[i*m.cols : (i+1)*m.cols] }

func (m matrix) general(lo, hi int) blas32.General {
	return blas32.General{Rows: hi - lo, Cols: m.cols, Stride: m.cols, Data: m.data[lo*m.cols : hi*m.cols]}
}

func newMatrix(x [][]float32) (matrix, error) {
	if len(x) == 0 {
		return matrix{}, errors.New("kmeans: no points")
	}
	d := len(x[0])
	for i, v := range x {
		if len(v) != d {
			return matrix{}, fmt.Errorf("kmeans: point %d has %d dimensions, want %d", i, len(v), d)
		}
	}
	if flat, ok := contiguous(x, d); ok {
		return matrix{rows: len(x), cols: d, data: flat}, nil // read only: no copy needed
	}
	m := matrix{rows: len(x), cols: d, data: make([]float32, len(x)*d)}
	for i, v := range x {
		copy(m.row(i), v)
	}
	return m, nil
}

// contiguous returns the one array x's rows of d floats lie in, in order, if they do
// and the first row's capacity reaches over all of them (rows sliced from one array
// with two indices, as embeddings.Load makes them), so that k-means need not copy
// the points.
func contiguous(x [][]float32, d int) ([]float32, bool) {
	n := len(x) * d
	if d == 0 || cap(x[0]) < n {
		return nil, false
	}
	flat := x[0][:n:n]
	for i, v := range x {
		if &v[0] != &flat[i*d] {
			return nil, false
		}
	}
	return flat, true
}

// SphericalKMeans clusters unit vectors by cosine similarity: k-means whose centroids
// are re-normalized to unit length after every update.
//
// Seeding is greedy k-means++ on a sample of 4·K points, each round's candidates
// scored by one small matrix product, so it costs less than one assignment pass. Each assignment step is a matrix product (points × centroidsᵀ,
// float32) through gonum's BLAS interface, in blocks of rows spread over the cores;
// the arg-max and the centroid update run in parallel too. The fit stops early when
// ctx is cancelled.
func SphericalKMeans(ctx context.Context, x [][]float32, cfg KMeansConfig) (KMeansResult, error) {
	X, err := newMatrix(x)
	if err != nil {
		return KMeansResult{}, err
	}
	n := X.rows
	if cfg.K < 1 || cfg.K > n {
		return KMeansResult{}, fmt.Errorf("kmeans: k=%d must be between 1 and the %d points", cfg.K, n)
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

	fit := X
	if cfg.Sample > 0 && cfg.Sample < n && cfg.Sample >= cfg.K {
		idx := rng.Perm(n)[:cfg.Sample]
		fit = matrix{rows: len(idx), cols: X.cols, data: make([]float32, len(idx)*X.cols)}
		for i, p := range idx {
			copy(fit.row(i), X.row(p))
		}
	}
	C := seed(fit, cfg.K, cfg.Init, rng)

	// Hamerly's bounds, on similarities: lower[i] is at most point i's similarity to
	// its own centroid, upper[i] at least its similarity to any other. A centroid that
	// moves by δ changes any unit point's similarity to it by at most δ, so after an
	// update lower falls by its own centroid's move and upper rises by the largest
	// move; only points whose bounds cross are recomputed, and those few rows go
	// through the matrix product together.
	assign := make([]int, fit.rows)
	lower := make([]float32, fit.rows)
	upper := make([]float32, fit.rows)
	all := make([]int, fit.rows)
	for i := range all {
		all[i] = i
		assign[i] = -1
	}
	prevC := matrix{rows: C.rows, cols: C.cols, data: make([]float32, len(C.data))}
	drift := make([]float32, C.rows)
	active := all
	res := KMeansResult{}
	converged := false
	for it := 1; it <= maxIter && !converged; it++ {
		if err := ctx.Err(); err != nil {
			return KMeansResult{}, fmt.Errorf("kmeans: %w", err)
		}
		res.Iterations = it
		changed := assignRows(fit, C, active, assign, lower, upper)
		copy(prevC.data, C.data)
		changed += update(fit, C, assign, lower)
		if cfg.Progress != nil {
			cfg.Progress(it, changed)
		}
		converged = float64(changed) < tol*float64(fit.rows)
		active = loosen(C, prevC, assign, lower, upper, drift, active[:0:0])
	}
	if fit.rows == n {
		// The bounds already cover the final centroids: only points whose bounds
		// cross need another look.
		assignRows(fit, C, active, assign, lower, upper)
	} else {
		// Fitted on a sample: everyone is assigned once, exactly.
		assign = make([]int, n)
		all = make([]int, n)
		for i := range all {
			all[i] = i
		}
		assignRows(X, C, all, assign, make([]float32, n), make([]float32, n))
	}
	score := make([]float32, n)
	parallel(n, runtime.GOMAXPROCS(0), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			score[i] = dot(X.row(i), C.row(assign[i]))
		}
	})

	res.Assign = assign
	res.Score = score
	res.Centroids = make([][]float32, cfg.K)
	for c := range res.Centroids {
		res.Centroids[c] = append([]float32(nil), C.row(c)...)
	}
	return res, nil
}

// chunkRows bounds the similarity block computed at once: chunkRows × K float32s.
const chunkRows = 4096

// loosen applies the centroids' moves to Hamerly's bounds and returns the points
// whose bounds now cross. A point's similarity to its own centroid falls by at most
// that centroid's move; to any other, it rises by at most the largest move among the
// others.
func loosen(C, prevC matrix, assign []int, lower, upper, drift []float32, active []int) []int {
	first, second, arg := float32(0), float32(0), -1
	for c := range drift {
		var s float32
		for j, f := range C.row(c) {
			d := f - prevC.row(c)[j]
			s += d * d
		}
		drift[c] = float32(math.Sqrt(float64(s)))
		if drift[c] > first {
			first, second, arg = drift[c], first, c
		} else if drift[c] > second {
			second = drift[c]
		}
	}
	for i, c := range assign {
		rise := first
		if c == arg {
			rise = second
		}
		lower[i] -= drift[c]
		upper[i] += rise
		if lower[i] < upper[i] {
			active = append(active, i)
		}
	}
	return active
}

// blocks computes the similarities of the given rows of X to every centroid, a block
// of rows at a time (gathered into one matrix for the product), and hands each row's
// similarities to fn, split across the cores.
func blocks(X, C matrix, rows []int, fn func(i int, sims []float32)) {
	k := C.rows
	S := make([]float32, min(chunkRows, len(rows))*k)
	var gathered matrix
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < len(rows); lo += chunkRows {
		hi := min(lo+chunkRows, len(rows))
		part := rows[lo:hi]
		var A blas32.General
		if part[len(part)-1]-part[0] == len(part)-1 {
			A = X.general(part[0], part[0]+len(part)) // contiguous: no copy
		} else {
			if gathered.data == nil {
				gathered = matrix{rows: chunkRows, cols: X.cols, data: make([]float32, chunkRows*X.cols)}
			}
			for r, i := range part {
				copy(gathered.row(r), X.row(i))
			}
			A = gathered.general(0, len(part))
		}
		out := blas32.General{Rows: len(part), Cols: k, Stride: k, Data: S[:len(part)*k]}
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, A, C.general(0, k), 0, out)
		parallel(len(part), workers, func(a, b int) {
			for r := a; r < b; r++ {
				fn(part[r], S[r*k:(r+1)*k])
			}
		})
	}
}

// parallel splits [0,n) into up to w contiguous parts and runs fn on each at once.
func parallel(n, w int, fn func(lo, hi int)) {
	if w <= 1 || n < 256 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + w - 1) / w
	for lo := 0; lo < n; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+step, n))
	}
	wg.Wait()
}

// assignRows moves each of the given points to its most similar centroid, records
// that similarity in best and the runner-up's in second, and returns how many moved.
func assignRows(X, C matrix, rows []int, assign []int, best, second []float32) int {
	var changed atomic.Int64
	blocks(X, C, rows, func(i int, sims []float32) {
		b, bs, ss := 0, sims[0], float32(math.Inf(-1))
		for c := 1; c < len(sims); c++ {
			if s := sims[c]; s > bs {
				b, bs, ss = c, s, bs
			} else if s > ss {
				ss = s
			}
		}
		if assign[i] != b {
			changed.Add(1)
			assign[i] = b
		}
		best[i], second[i] = bs, ss
	})
	return int(changed.Load())
}

// update moves each centroid to the normalized mean of its points. An empty cluster
// takes the point worst served by its centroid; the count of such moves is returned
// so the caller does not stop while clusters are being re-seeded.
func update(X, C matrix, assign []int, score []float32) int {
	k, d := C.rows, C.cols
	// Each worker sums its own range of points into its own accumulators; the
	// partial sums are added up afterwards.
	workers := min(runtime.GOMAXPROCS(0), max(1, X.rows/1024))
	partSums := make([][]float64, workers)
	partCounts := make([][]int, workers)
	var wg sync.WaitGroup
	step := (X.rows + workers - 1) / workers
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sums, counts := make([]float64, k*d), make([]int, k)
			for i := w * step; i < min((w+1)*step, X.rows); i++ {
				c := assign[i]
				counts[c]++
				s := sums[c*d : (c+1)*d]
				for j, f := range X.row(i) {
					s[j] += float64(f)
				}
			}
			partSums[w], partCounts[w] = sums, counts
		}(w)
	}
	wg.Wait()
	sums, counts := partSums[0], partCounts[0]
	for w := 1; w < workers; w++ {
		for j, f := range partSums[w] {
			sums[j] += f
		}
		for c, n := range partCounts[w] {
			counts[c] += n
		}
	}
	reseeded := 0
	taken := map[int]bool{}
	for c := 0; c < k; c++ {
		s := sums[c*d : (c+1)*d]
		if counts[c] == 0 {
			// An empty cluster takes the point worst served by its centroid; that
			// point's bound is voided so the next pass looks at it again.
			worst := -1
			for i, sc := range score {
				if !taken[i] && (worst < 0 || sc < score[worst]) {
					worst = i
				}
			}
			taken[worst] = true
			for j, f := range X.row(worst) {
				s[j] = float64(f)
			}
			score[worst] = float32(math.Inf(-1))
			reseeded++
		}
		var norm float64
		for _, f := range s {
			norm += f * f
		}
		if norm == 0 {
			continue
		}
		inv := 1 / math.Sqrt(norm)
		row := C.row(c)
		for j, f := range s {
			row[j] = float32(f * inv)
		}
	}
	return reseeded
}

// seed returns k initial centroids: the warm-start ones first, then greedy k-means++
// (distance = 1 - cosine) over a random sample of the points: each round draws a few
// candidates in proportion to their distance from the chosen centroids and keeps the
// one that lowers the total distance most, as scikit-learn does. The candidates'
// similarities to the sample come from one small matrix product.
func seed(X matrix, k int, init [][]float32, rng *rand.Rand) matrix {
	d := X.cols
	C := matrix{rows: k, cols: d, data: make([]float32, k*d)}
	// Four sample points per centroid: on 200k × 256, k = 1,000 this seeds in 0.6 s
	// where sixteen took 2.5 s, for 0.1% more inertia after the fit.
	m := min(X.rows, max(4*k, 1024))
	perm := rng.Perm(X.rows)[:m]
	S := matrix{rows: m, cols: d, data: make([]float32, m*d)}
	for i, p := range perm {
		copy(S.row(i), X.row(p))
	}
	trials := 2 + int(math.Log(float64(k)))
	dist := make([]float32, m)
	for i := range dist {
		dist[i] = float32(math.Inf(1))
	}
	cand := matrix{rows: trials, cols: d, data: make([]float32, trials*d)}
	sims := make([]float32, m*trials)
	// fold lowers every sample point's distance with centroid row c of M.
	fold := func(M matrix, c int) float64 {
		blas32.Gemv(blas.NoTrans, 1, S.general(0, m), blas32.Vector{N: d, Inc: 1, Data: M.row(c)}, 0,
			blas32.Vector{N: m, Inc: 1, Data: sims[:m]})
		var total float64
		for i, s := range sims[:m] {
			if dd := max(0, 1-s); dd < dist[i] {
				dist[i] = dd
			}
			total += float64(dist[i])
		}
		return total
	}
	c := 0
	for ; c < k && c < len(init); c++ {
		if len(init[c]) != d {
			break
		}
		copy(C.row(c), init[c])
	}
	if c == 0 {
		copy(C.row(0), S.row(rng.IntN(m)))
		c = 1
	}
	total := 0.0
	for j := 0; j < c; j++ {
		total = fold(C, j)
	}
	pick := func() int {
		if total <= 0 {
			return rng.IntN(m)
		}
		r := rng.Float64() * total
		for i, dd := range dist {
			r -= float64(dd)
			if r <= 0 {
				return i
			}
		}
		return m - 1
	}
	for ; c < k; c++ {
		for t := 0; t < trials; t++ {
			copy(cand.row(t), S.row(pick()))
		}
		out := blas32.General{Rows: m, Cols: trials, Stride: trials, Data: sims}
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, S.general(0, m), cand.general(0, trials), 0, out)
		best, bestPot := 0, math.Inf(1)
		for t := 0; t < trials; t++ {
			var pot float64
			for i := 0; i < m; i++ {
				pot += float64(min(dist[i], max(0, 1-sims[i*trials+t])))
			}
			if pot < bestPot {
				best, bestPot = t, pot
			}
		}
		copy(C.row(c), cand.row(best))
		// The chosen candidate's similarities are already in sims: no second pass.
		total = 0
		for i := range dist {
			if dd := max(0, 1-sims[i*trials+best]); dd < dist[i] {
				dist[i] = dd
			}
			total += float64(dist[i])
		}
	}
	return C
}

// Nearest returns, for every point, the indexes and cosine similarities of its n most
// similar centroids, best first, computed by the same blocked matrix product as the fit.
func Nearest(x, centroids [][]float32, n int) ([][]int, [][]float32, error) {
	X, err := newMatrix(x)
	if err != nil {
		return nil, nil, err
	}
	C, err := newMatrix(centroids)
	if err != nil {
		return nil, nil, err
	}
	if C.cols != X.cols {
		return nil, nil, fmt.Errorf("nearest: centroids have %d dimensions, points %d", C.cols, X.cols)
	}
	n = min(n, C.rows)
	idx := make([][]int, X.rows)
	sim := make([][]float32, X.rows)
	all := make([]int, X.rows)
	for i := range all {
		all[i] = i
	}
	blocks(X, C, all, func(i int, sims []float32) {
		idx[i], sim[i] = topK(sims, n)
	})
	return idx, sim, nil
}

// Best returns the positions and values of the k largest of sims, largest first
// (ties by position).
func Best(sims []float32, k int) ([]int, []float32) { return topK(sims, k) }

// topK returns the positions and values of the k largest of sims, largest first
// (ties by position).
func topK(sims []float32, k int) ([]int, []float32) {
	if k <= 0 {
		return []int{}, []float32{}
	}
	idx := make([]int, 0, k)
	val := make([]float32, 0, k)
	for c, s := range sims {
		if len(idx) == k && s <= val[k-1] {
			continue
		}
		pos := len(idx)
		if pos == k {
			pos--
		} else {
			idx = append(idx, 0)
			val = append(val, 0)
		}
		for pos > 0 && val[pos-1] < s {
			idx[pos], val[pos] = idx[pos-1], val[pos-1]
			pos--
		}
		idx[pos], val[pos] = c, s
	}
	return idx, val
}

// TopK returns the indexes and cosine similarities of the k centroids most similar to
// v, best first.
func TopK(v []float32, centroids [][]float32, k int) ([]int, []float32) {
	sims := make([]float32, len(centroids))
	for c, cv := range centroids {
		sims[c] = dot(v, cv)
	}
	return topK(sims, min(k, len(centroids)))
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
