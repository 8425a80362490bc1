package clustering

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
)

// ClusterConfig tunes Cluster, the pure core of a nightly run.
type ClusterConfig struct {
	// TargetSize is the community size k is chosen for (k = members/TargetSize); 50.
	TargetSize int
	// MinSize and MaxSize bound every community: 12 and 150 (Dunbar's number).
	MinSize, MaxSize int
	// Seed makes runs reproducible.
	Seed uint64
	// MaxIter bounds k-means iterations; 50.
	MaxIter int
	// Sample fits centroids on a sample of this many members when there are more,
	// then assigns everyone once. 0 means everyone up to SampleAbove members and a
	// sample of half of SampleAbove beyond it.
	Sample int
	// SampleAbove is the membership above which fitting on a sample starts; 1,000,000.
	SampleAbove int
	// StickyMargin is how much better (in cosine) a new community must fit a member
	// than their previous one for them to move; 0.05.
	StickyMargin float32
	// MatchMin is the least cosine between a new centroid and a previous one for the
	// community to keep the previous id; 0.6.
	MatchMin float32
	// TribeSize is how many communities a tribe gathers on average; 10.
	TribeSize int
	// Facets are the groupings communities are divided along where interests alone
	// would divide them arbitrarily, in order (language first, say, then place, then
	// skill band): Facets[f][i] is point i's value of facet f, "" when unknown. Each
	// facet with two or more values becomes extra one-hot dimensions of the vectors
	// k-means fits (weight FacetWeight, times 0.7 for each later facet), and an
	// oversized community is split along them before it is split arbitrarily.
	Facets [][]string
	// FacetWeight is the first facet's weight; 0.45 (two members alike in everything
	// but it then score 0.8).
	FacetWeight float64
	// TwoLevelAbove is the number of communities from which k-means runs in two
	// levels (TwoLevelKMeans, √k coarse groups first); 1,000. Below it one level
	// costs little and two would only constrain the fit.
	TwoLevelAbove int
	// Progress, when set, hears about each k-means iteration.
	Progress func(iteration, changed int)
}

// WithDefaults fills in the zero fields with their defaults.
func (c ClusterConfig) WithDefaults() ClusterConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.TargetSize, 50)
	def(&c.MinSize, 12)
	def(&c.MaxSize, 150)
	def(&c.MaxIter, 50)
	def(&c.TribeSize, 10)
	def(&c.SampleAbove, 1_000_000)
	def(&c.TwoLevelAbove, 1000)
	if c.FacetWeight <= 0 {
		c.FacetWeight = 0.45
	}
	if c.StickyMargin <= 0 {
		c.StickyMargin = 0.05
	}
	if c.MatchMin <= 0 {
		c.MatchMin = 0.6
	}
	c.MaxSize = max(c.MaxSize, 2*c.MinSize) // a split must be able to yield two legal halves
	c.TargetSize = min(max(c.TargetSize, c.MinSize), c.MaxSize)
	return c
}

// Previous is what the last published run left: its communities' ids and centroids,
// and each member's primary community id.
type Previous struct {
	IDs       []string
	Centroids [][]float32
	// Primary[i] is the id of point i's previous primary community, "" if none.
	Primary []string
}

// Clustering is a bounded, stable partition of the points.
type Clustering struct {
	// Centroids of the communities, unit length.
	Centroids [][]float32
	// PrevIndex[c] is the index in Previous.IDs that community c continues, or -1 for
	// a community born in this run.
	PrevIndex []int
	// Assign[i] is point i's community; Score[i] its cosine similarity to it.
	Assign []int
	Score  []float32
	// Sizes[c] counts community c's points.
	Sizes []int
	// Iterations of k-means.
	Iterations int
	// Splits and Dissolved count the size-bound repairs.
	Splits, Dissolved int
}

// Cluster partitions unit vectors into micro-communities:
//
//  1. spherical k-means with k = n/TargetSize, warm-started from the previous run's
//     centroids so that communities persist; from TwoLevelAbove communities on, in
//     two levels (√k coarse groups, then each group's share of k);
//  2. size bounds: a community above MaxSize is split by k-means on its own members,
//     one below MinSize is dissolved into its members' next-best communities with room;
//  3. identities: new centroids are matched to the previous run's by an optimal
//     assignment on cosine cost (pairs below MatchMin are births and deaths);
//  4. stickiness: a member stays in their previous community unless the new best fits
//     them better by StickyMargin (and the bounds allow the move back).
//
// Only when there are fewer points than MinSize can a community be smaller.
func Cluster(ctx context.Context, x [][]float32, prev Previous, cfg ClusterConfig) (Clustering, error) {
	cfg = cfg.WithDefaults()
	n := len(x)
	k := max(1, int(math.Round(float64(n)/float64(cfg.TargetSize))))
	if len(prev.Centroids) > 0 {
		// Keep last night's number of communities, give or take the change in
		// membership: a fresh k would add or drop groups every night and reshuffle
		// members for nothing.
		known := 0
		for _, p := range prev.Primary {
			if p != "" {
				known++
			}
		}
		k = max(1, len(prev.Centroids)+int(math.Round(float64(n-known)/float64(cfg.TargetSize))))
	}
	k = min(k, n)
	sample := cfg.Sample
	if sample == 0 && n > cfg.SampleAbove {
		sample = cfg.SampleAbove / 2
	}
	coarse := 0
	if k >= cfg.TwoLevelAbove {
		coarse = int(math.Round(math.Sqrt(float64(k))))
	}
	// k-means and the size repairs see the facets; centroids and scores do not.
	fx, init := withFacets(x, prev, cfg)
	km, err := TwoLevelKMeans(ctx, fx, KMeansConfig{K: k, Seed: cfg.Seed, MaxIter: cfg.MaxIter,
		Init: init, Sample: sample, Progress: cfg.Progress}, coarse)
	if err != nil {
		return Clustering{}, err
	}
	cl := Clustering{Assign: km.Assign, Iterations: km.Iterations}
	groups := groupsOf(km.Assign, k)
	groups, cl.Splits, cl.Dissolved, err = bound(ctx, fx, groups, cfg)
	if err != nil {
		return Clustering{}, err
	}
	cents := centroidsOf(x, groups)

	prevIdx := MatchCentroids(cents, prev.Centroids, cfg.MatchMin)
	cl.Assign = make([]int, n)
	for c, g := range groups {
		for _, i := range g {
			cl.Assign[i] = c
		}
	}
	if len(prev.Primary) > 0 {
		// Judged with the facets, as the fit was: stickiness must not undo a split
		// along them.
		stick(fx, centroidsOf(fx, groups), prev, prevIdx, cl.Assign, cfg)
		groups = groupsOf(cl.Assign, len(cents))
		cents = centroidsOf(x, groups)
	}
	cl.Centroids = cents
	cl.PrevIndex = prevIdx
	cl.Sizes = make([]int, len(groups))
	for c, g := range groups {
		cl.Sizes[c] = len(g)
	}
	cl.Score = make([]float32, n)
	for i, c := range cl.Assign {
		cl.Score[i] = dot(x[i], cents[c])
	}
	return cl, nil
}

func groupsOf(assign []int, k int) [][]int {
	groups := make([][]int, k)
	for i, c := range assign {
		groups[c] = append(groups[c], i)
	}
	return groups
}

func centroidsOf(x [][]float32, groups [][]int) [][]float32 {
	out := make([][]float32, len(groups))
	for c, g := range groups {
		out[c] = meanDirection(x, g)
	}
	return out
}

func meanDirection(x [][]float32, idx []int) []float32 {
	if len(idx) == 0 {
		return nil
	}
	sum := make([]float64, len(x[idx[0]]))
	for _, i := range idx {
		for j, f := range x[i] {
			sum[j] += float64(f)
		}
	}
	var norm float64
	for _, f := range sum {
		norm += f * f
	}
	out := make([]float32, len(sum))
	if norm == 0 {
		copy(out, x[idx[0]])
		return out
	}
	inv := 1 / math.Sqrt(norm)
	for j, f := range sum {
		out[j] = float32(f * inv)
	}
	return out
}

// chunks splits g into n parts of even size, in order.
func chunks(g []int, n int) [][]int {
	out := make([][]int, 0, n)
	for i := range n {
		lo, hi := i*len(g)/n, (i+1)*len(g)/n
		if hi > lo {
			out = append(out, g[lo:hi:hi])
		}
	}
	return out
}

// withFacets returns the points with their facets as extra one-hot dimensions, and
// the previous centroids with their previous members' facet shares in those
// dimensions (so that last night's communities warm-start where they were); or x and
// the previous centroids as they are when no facet has two values.
func withFacets(x [][]float32, prev Previous, cfg ClusterConfig) ([][]float32, [][]float32) {
	type level struct {
		index  map[string]int
		values []string
		weight float64
	}
	var levels []level
	extra, sum2, w := 0, 0.0, cfg.FacetWeight
	for _, values := range cfg.Facets {
		index := map[string]int{}
		for _, v := range values {
			if _, ok := index[v]; !ok && v != "" {
				index[v] = len(index)
			}
		}
		if len(index) >= 2 {
			levels = append(levels, level{index, values, w})
			extra += len(index)
			sum2 += w * w
		}
		w *= 0.7
	}
	if len(levels) == 0 || sum2 >= 1 {
		return x, prev.Centroids
	}
	scale := float32(math.Sqrt(1 - sum2))
	pad := func(v []float32, i int) []float32 {
		out := make([]float32, len(v)+extra)
		for j, f := range v {
			out[j] = f * scale
		}
		off := len(v)
		for _, l := range levels {
			if i >= 0 && i < len(l.values) {
				if c, ok := l.index[l.values[i]]; ok {
					out[off+c] = float32(l.weight)
				}
			}
			off += len(l.index)
		}
		return out
	}
	fx := make([][]float32, len(x))
	for i, v := range x {
		fx[i] = pad(v, i)
	}
	// The previous communities' facet shares, from their previous members.
	at := make(map[string]int, len(prev.IDs))
	for j, id := range prev.IDs {
		at[id] = j
	}
	shares := make([][]float32, len(prev.Centroids))
	sizes := make([]int, len(prev.Centroids))
	for i, id := range prev.Primary {
		j, ok := at[id]
		if !ok || i >= len(x) || j >= len(shares) {
			continue
		}
		if shares[j] == nil {
			shares[j] = make([]float32, extra)
		}
		sizes[j]++
		off := 0
		for _, l := range levels {
			if c, ok := l.index[l.values[i]]; ok {
				shares[j][off+c] += float32(l.weight)
			}
			off += len(l.index)
		}
	}
	fp := make([][]float32, len(prev.Centroids))
	for j, v := range prev.Centroids {
		fp[j] = pad(v, -1)
		for d := range shares[j] {
			fp[j][len(v)+d] = shares[j][d] / float32(sizes[j])
		}
	}
	return fx, fp
}

// facetSplit parts an oversized group along the first facet whose values each hold
// at least MinSize of it, in two or more parts (members of rarer or unknown values
// join the largest part); nil when no facet parts it.
func facetSplit(g []int, cfg ClusterConfig) [][]int {
	for _, values := range cfg.Facets {
		by := map[string][]int{}
		for _, i := range g {
			v := ""
			if i < len(values) {
				v = values[i]
			}
			by[v] = append(by[v], i)
		}
		var big []string
		for v, m := range by {
			if v != "" && len(m) >= cfg.MinSize {
				big = append(big, v)
			}
		}
		if len(big) < 2 {
			continue
		}
		sort.Slice(big, func(a, b int) bool {
			if len(by[big[a]]) != len(by[big[b]]) {
				return len(by[big[a]]) > len(by[big[b]])
			}
			return big[a] < big[b]
		})
		parts := make([][]int, len(big))
		for p, v := range big {
			parts[p] = by[v]
		}
		for v, m := range by {
			if v == "" || len(m) < cfg.MinSize {
				parts[0] = append(parts[0], m...)
			}
		}
		for _, p := range parts {
			sort.Ints(p)
		}
		return parts
	}
	return nil
}

// bound repairs sizes until every group is within [MinSize, MaxSize]: splitting
// oversized groups along their facets (cfg.Facets) first, then by k-means on their
// members, dissolving undersized ones into each
// member's next-best group with room. Empty groups are dropped.
func bound(ctx context.Context, x [][]float32, groups [][]int, cfg ClusterConfig) ([][]int, int, int, error) {
	if len(x) < cfg.MinSize {
		all := make([]int, len(x))
		for i := range all {
			all[i] = i
		}
		return [][]int{all}, 0, 0, nil
	}
	splits, dissolved := 0, 0
	for round := 0; round < 20; round++ {
		var next [][]int
		split := false
		for _, g := range groups {
			if len(g) <= cfg.MaxSize {
				if len(g) > 0 {
					next = append(next, g)
				}
				continue
			}
			split = true
			splits++
			if pieces := facetSplit(g, cfg); pieces != nil {
				next = append(next, pieces...)
				continue
			}
			parts := (len(g) + cfg.TargetSize - 1) / cfg.TargetSize
			sub := make([][]float32, len(g))
			for i, p := range g {
				sub[i] = x[p]
			}
			km, err := SphericalKMeans(ctx, sub, KMeansConfig{K: parts, Seed: cfg.Seed + uint64(round), MaxIter: cfg.MaxIter})
			if err != nil {
				return nil, 0, 0, err
			}
			pieces := make([][]int, parts)
			for i, c := range km.Assign {
				pieces[c] = append(pieces[c], g[i])
			}
			for _, p := range pieces {
				if len(p) > cfg.MaxSize {
					// k-means cannot part identical (or nearly identical) members: split
					// them into even chunks in member order, deterministically. They are
					// alike, so any such split is as good as another.
					next = append(next, chunks(p, (len(p)+cfg.TargetSize-1)/cfg.TargetSize)...)
					continue
				}
				if len(p) > 0 {
					next = append(next, p)
				}
			}
		}
		groups = next
		cents := centroidsOf(x, groups)
		// Dissolve the smallest undersized group first; its members go to the most
		// similar group that has room and is not itself being dissolved.
		order := make([]int, len(groups))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return len(groups[order[a]]) < len(groups[order[b]]) })
		gone := make([]bool, len(groups))
		changed := split
		for _, g := range order {
			if len(groups[g]) >= cfg.MinSize {
				break
			}
			gone[g] = true
			moved := groups[g]
			groups[g] = nil
			dissolved++
			changed = true
			for _, i := range moved {
				best, bs := -1, float32(math.Inf(-1))
				fallback, fs := -1, float32(math.Inf(-1))
				for c := range groups {
					if gone[c] {
						continue
					}
					s := dot(x[i], cents[c])
					if s > fs {
						fallback, fs = c, s
					}
					if len(groups[c]) < cfg.MaxSize && s > bs {
						best, bs = c, s
					}
				}
				if best < 0 {
					// Every group is full: the next round splits the one that takes it.
					best = fallback
				}
				if best < 0 {
					// Nothing left but this group: keep it, whatever its size.
					gone[g] = false
					groups[g] = moved
					break
				}
				groups[best] = append(groups[best], i)
			}
		}
		var kept [][]int
		for _, g := range groups {
			if len(g) > 0 {
				kept = append(kept, g)
			}
		}
		groups = kept
		if !changed {
			break
		}
	}
	return groups, splits, dissolved, nil
}

// stick moves members back to their previous community when the new assignment fits
// them only marginally better, as long as sizes stay within bounds.
func stick(x [][]float32, cents [][]float32, prev Previous, prevIdx []int, assign []int, cfg ClusterConfig) {
	byPrevID := map[string]int{}
	for c, p := range prevIdx {
		if p >= 0 {
			byPrevID[prev.IDs[p]] = c
		}
	}
	sizes := make([]int, len(cents))
	for _, c := range assign {
		sizes[c]++
	}
	for i, id := range prev.Primary {
		if id == "" {
			continue
		}
		back, ok := byPrevID[id]
		cur := assign[i]
		if !ok || back == cur || sizes[back] >= cfg.MaxSize || sizes[cur] <= cfg.MinSize {
			continue
		}
		if dot(x[i], cents[back])+cfg.StickyMargin >= dot(x[i], cents[cur]) {
			assign[i] = back
			sizes[back]++
			sizes[cur]--
		}
	}
}

// Tribes groups community centroids into about len/size coarse tribes by spherical
// k-means and returns each community's tribe and the tribes' centroids.
func Tribes(ctx context.Context, centroids [][]float32, size int, seed uint64) ([]int, [][]float32, error) {
	t0 := max(1, int(math.Round(float64(len(centroids))/float64(max(size, 1)))))
	// Where the communities fall into themes, the number of tribes follows them:
	// from half to twice the size-based count, the one whose tribes are most
	// distinct (silhouette of the centroids). Beyond 2,000 communities the
	// size-based count stands.
	counts := []int{t0}
	if len(centroids) <= 2000 {
		counts = slices.Compact([]int{max(2, t0/2), max(2, t0*3/4), t0, t0 * 3 / 2, t0 * 2})
	}
	var best KMeansResult
	bestScore := math.Inf(-1)
	for _, t := range counts {
		t = min(t, len(centroids))
		km, err := SphericalKMeans(ctx, centroids, KMeansConfig{K: t, Seed: seed})
		if err != nil {
			return nil, nil, fmt.Errorf("tribes: %w", err)
		}
		score := Silhouette(centroids, km.Assign, t, len(centroids), seed)
		if len(counts) == 1 || score > bestScore {
			best, bestScore = km, score
		}
	}
	return best.Assign, best.Centroids, nil
}
