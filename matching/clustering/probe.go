package clustering

import (
	"context"
	"math"
	"sort"
)

// exactBelow is the number of centroids below which nearest-centroid searches and
// id matching are exact: all pairs cost little there.
const exactBelow = 1000

// NearestProbed is Nearest for many centroids: the centroids are grouped (√k groups,
// by spherical k-means on them), each point is compared with the centroids of the
// probes groups whose centres are most like it, one matrix product per group. The
// cost falls from n·k to about n·(√k + probes·√k). Below 1,000 centroids, or with
// fewer than two groups, it is Nearest.
func NearestProbed(x, centroids [][]float32, n, probes int) ([][]int, [][]float32, error) {
	k := len(centroids)
	coarse := int(math.Round(math.Sqrt(float64(k))))
	if k < exactBelow || coarse < 2 || probes >= coarse {
		return Nearest(x, centroids, n)
	}
	top, err := SphericalKMeans(context.Background(), centroids, KMeansConfig{K: coarse, Seed: 1})
	if err != nil {
		return nil, nil, err
	}
	members := groupsOf(top.Assign, coarse) // group → its centroids
	homes, _, err := Nearest(x, top.Centroids, probes)
	if err != nil {
		return nil, nil, err
	}
	byGroup := make([][]int, coarse) // group → the points that probe it
	for i, hs := range homes {
		for _, h := range hs {
			byGroup[h] = append(byGroup[h], i)
		}
	}
	X, err := newMatrix(x)
	if err != nil {
		return nil, nil, err
	}
	idx := make([][]int, len(x))
	sim := make([][]float32, len(x))
	for g, pts := range byGroup {
		if len(pts) == 0 || len(members[g]) == 0 {
			continue
		}
		cand := members[g]
		cs := make([][]float32, len(cand))
		for j, c := range cand {
			cs[j] = centroids[c]
		}
		C, err := newMatrix(cs)
		if err != nil {
			return nil, nil, err
		}
		// Each point appears once per group, so the merges below never race.
		blocks(X, C, pts, func(i int, sims []float32) {
			local, vals := topK(sims, min(n, len(cand)))
			for j := range local {
				local[j] = cand[local[j]]
			}
			idx[i], sim[i] = mergeTop(idx[i], sim[i], local, vals, n)
		})
	}
	return idx, sim, nil
}

// mergeTop merges two best-first lists into the best n, best first.
func mergeTop(ai []int, av []float32, bi []int, bv []float32, n int) ([]int, []float32) {
	oi := make([]int, 0, min(n, len(ai)+len(bi)))
	ov := make([]float32, 0, cap(oi))
	for len(oi) < n && (len(ai) > 0 || len(bi) > 0) {
		if len(bi) == 0 || len(ai) > 0 && (av[0] > bv[0] || av[0] == bv[0] && ai[0] < bi[0]) {
			oi, ov, ai, av = append(oi, ai[0]), append(ov, av[0]), ai[1:], av[1:]
		} else {
			oi, ov, bi, bv = append(oi, bi[0]), append(ov, bv[0]), bi[1:], bv[1:]
		}
	}
	return oi, ov
}

// matchGreedy pairs new centroids with previous ones for many centroids: each new
// centroid's five most similar previous ones are candidates (NearestProbed), and
// pairs are taken most similar first while both are free and at least minSim alike.
// On a night that changed little it gives what the optimal assignment gives, at a
// small fraction of its k³ cost and k² memory.
func matchGreedy(next, prev [][]float32, minSim float32) []int {
	out := make([]int, len(next))
	for i := range out {
		out[i] = -1
	}
	idx, sims, err := NearestProbed(next, prev, 5, 3)
	if err != nil {
		return out
	}
	type pair struct {
		i, j int
		s    float32
	}
	var pairs []pair
	for i := range idx {
		for t, j := range idx[i] {
			if sims[i][t] >= minSim {
				pairs = append(pairs, pair{i, j, sims[i][t]})
			}
		}
	}
	sort.Slice(pairs, func(a, b int) bool {
		if pairs[a].s != pairs[b].s {
			return pairs[a].s > pairs[b].s
		}
		if pairs[a].i != pairs[b].i {
			return pairs[a].i < pairs[b].i
		}
		return pairs[a].j < pairs[b].j
	})
	taken := make([]bool, len(prev))
	for _, p := range pairs {
		if out[p.i] == -1 && !taken[p.j] {
			out[p.i], taken[p.j] = p.j, true
		}
	}
	return out
}
