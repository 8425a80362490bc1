package clustering

import (
	"context"
	"fmt"
	"math"
	"sort"
)

// TwoLevelKMeans clusters x into cfg.K groups in two levels: spherical k-means into
// coarse groups first (tribes), then each coarse group into its share of the K fine
// groups (Within). A Lloyd pass then costs about n·(coarse + K/coarse) similarities
// instead of n·K, and k-means++ seeding, which grows with K², runs on K/coarse
// centroids at a time. With coarse ≤ 1 or K ≤ coarse it is SphericalKMeans.
// cfg.Progress hears the coarse fit only.
func TwoLevelKMeans(ctx context.Context, x [][]float32, cfg KMeansConfig, coarse int) (KMeansResult, error) {
	if coarse <= 1 || cfg.K <= coarse {
		return SphericalKMeans(ctx, x, cfg)
	}
	top, err := SphericalKMeans(ctx, x, KMeansConfig{K: coarse, Seed: cfg.Seed, MaxIter: cfg.MaxIter, Tol: cfg.Tol,
		Sample: cfg.Sample, Progress: cfg.Progress})
	if err != nil {
		return KMeansResult{}, err
	}
	return Within(ctx, x, top, cfg)
}

// Within clusters each coarse group of top (top.Assign over x) into its share of the
// cfg.K fine groups, in proportion to its points and at least one each (a group's
// fine groups are numbered together), all through one buffer of the largest group's
// points, which k-means fits in place. x may carry more
// dimensions than top.Centroids (facets appended): the coarse level only sees the
// leading ones. cfg.Init (the previous run's centroids, in x's space) warm-starts
// each coarse group with the previous centroids nearest to it; each group then keeps
// as many fine groups as it inherits.
func Within(ctx context.Context, x [][]float32, top KMeansResult, cfg KMeansConfig) (KMeansResult, error) {
	coarse := len(top.Centroids)
	groups := groupsOf(top.Assign, coarse)
	ks := apportion(cfg.K, groups)
	inits := make([][][]float32, coarse)
	if len(cfg.Init) > 0 && coarse > 0 {
		d := len(top.Centroids[0])
		lead := make([][]float32, len(cfg.Init))
		for i, c := range cfg.Init {
			lead[i] = c[:min(d, len(c))]
		}
		near, _, err := Nearest(lead, top.Centroids, 1)
		if err != nil {
			return KMeansResult{}, err
		}
		for i, c := range cfg.Init {
			inits[near[i][0]] = append(inits[near[i][0]], c)
		}
		// Warm: each group keeps as many communities as it inherits, so last night's
		// survive; the difference to K goes to, or comes from, the groups with the
		// most, or fewest, points a community.
		ks = rebalance(cfg.K, groups, inits)
	}
	res := KMeansResult{Assign: make([]int, len(x)), Score: make([]float32, len(x)), Centroids: make([][]float32, 0, cfg.K)}
	// One buffer, as large as the largest group, holds each group's points in turn:
	// k-means fits them in place, and the fit allocates no copy per group.
	largest := 0
	for _, idx := range groups {
		largest = max(largest, len(idx))
	}
	d := len(x[0])
	buf := make([]float32, largest*d)
	xs := make([][]float32, 0, largest)
	for g, idx := range groups {
		if len(idx) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return KMeansResult{}, err
		}
		xs = xs[:len(idx)]
		for j, i := range idx {
			if len(x[i]) != d {
				return KMeansResult{}, fmt.Errorf("kmeans: point %d has %d dimensions, want %d", i, len(x[i]), d)
			}
			xs[j] = buf[j*d : (j+1)*d]
			copy(xs[j], x[i])
		}
		sub, err := SphericalKMeans(ctx, xs, KMeansConfig{K: ks[g], Seed: cfg.Seed + uint64(g) + 1, MaxIter: cfg.MaxIter,
			Tol: cfg.Tol, Init: inits[g]})
		if err != nil {
			return KMeansResult{}, err
		}
		offset := len(res.Centroids)
		res.Centroids = append(res.Centroids, sub.Centroids...)
		for j, i := range idx {
			res.Assign[i], res.Score[i] = offset+sub.Assign[j], sub.Score[j]
		}
		res.Iterations = max(res.Iterations, top.Iterations+sub.Iterations)
	}
	return res, nil
}

// apportion shares k among groups in proportion to their sizes (largest remainders),
// at least one to each non-empty group and never more than its points.
func apportion(k int, groups [][]int) []int {
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	ks := make([]int, len(groups))
	type rem struct {
		g int
		r float64
	}
	var rems []rem
	given := 0
	for g, idx := range groups {
		if len(idx) == 0 {
			continue
		}
		exact := float64(k) * float64(len(idx)) / float64(n)
		ks[g] = max(1, min(int(math.Floor(exact)), len(idx)))
		given += ks[g]
		rems = append(rems, rem{g, exact - math.Floor(exact)})
	}
	sort.Slice(rems, func(i, j int) bool {
		if rems[i].r != rems[j].r {
			return rems[i].r > rems[j].r
		}
		return rems[i].g < rems[j].g
	})
	for i := 0; given < k && i < len(rems)*4; i++ {
		g := rems[i%len(rems)].g
		if ks[g] < len(groups[g]) {
			ks[g]++
			given++
		}
	}
	return ks
}

// rebalance gives each group as many clusters as it inherits centroids (at least one,
// at most its points), then adds to the groups with the most points a cluster, or
// takes from those with the fewest, until they sum to k.
func rebalance(k int, groups [][]int, inits [][][]float32) []int {
	ks := make([]int, len(groups))
	sum := 0
	for g, idx := range groups {
		if len(idx) > 0 {
			ks[g] = min(max(1, len(inits[g])), len(idx))
			sum += ks[g]
		}
	}
	load := func(g int) float64 { return float64(len(groups[g])) / float64(ks[g]) }
	for sum != k {
		best := -1
		for g := range groups {
			switch {
			case len(groups[g]) == 0:
			case sum < k && ks[g] < len(groups[g]) && (best < 0 || load(g) > load(best)):
				best = g
			case sum > k && ks[g] > 1 && (best < 0 || load(g) < load(best)):
				best = g
			}
		}
		if best < 0 {
			break
		}
		if sum < k {
			ks[best]++
			sum++
		} else {
			ks[best]--
			sum--
		}
	}
	return ks
}
