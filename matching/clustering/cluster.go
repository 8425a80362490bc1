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
	// TribeSize is how many communities a tribe gathers on average; 0 means about √k
	// tribes of about √k communities each (100 communities: 10 tribes; 20,000: 141),
	// the split that makes a Lloyd pass cheapest.
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
	// RestartsBelow is the membership up to which a first run tries five seeds and
	// keeps the best fit; 20,000.
	RestartsBelow int
	// RefineBelow is the number of communities below which the fit within tribes is
	// refined by passes over all communities at once; 1,000. Above it a pass costs
	// n·k and the tribes stand.
	RefineBelow int
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
	def(&c.SampleAbove, 1_000_000)
	def(&c.RefineBelow, 1000)
	def(&c.RestartsBelow, 20_000)
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
	// TribeCentroids are the previous run's tribes, which warm-start this run's.
	TribeCentroids [][]float32
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
	// Tribe[c] is community c's tribe; TribeCentroids are the tribes' unit centroids.
	Tribe          []int
	TribeCentroids [][]float32
}

// Cluster partitions unit vectors into tribes and, within them, micro-communities:
//
//  1. tribes first: spherical k-means on the vectors into about √k tribes (k =
//     n/TargetSize communities), warm-started from the previous run's tribes; on a
//     first run of up to 2,000 communities the count (half to twice that) is the one
//     whose tribes are most distinct by silhouette, so tribes follow the themes;
//  2. communities within each tribe: spherical k-means on its members (with their
//     facets as extra dimensions) into its share of k, warm-started from the previous
//     communities nearest to it. A pass costs n·(tribes + k/tribes), not n·k. Below
//     RefineBelow communities a pass over all of them follows, so a community may
//     settle across a tribe line; a first run of up to RestartsBelow points repeats
//     steps 1–2 from five seeds and keeps the best fit;
//  3. size bounds: a community above MaxSize is split along its facets, then by
//     k-means on its own members; one below MinSize is dissolved into its members'
//     next-best communities with room;
//  4. identities: new centroids are matched to the previous run's by an optimal
//     assignment on cosine cost (pairs below MatchMin are births and deaths);
//  5. stickiness: a member stays in their previous community unless the new best fits
//     them better by StickyMargin (and the bounds allow the move back).
//
// A community's tribe is the one most of its members came from. Only when there are
// fewer points than MinSize can a community be smaller.
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
	// Communities and the size repairs see the facets; tribes, centroids and scores
	// do not: a tribe is a theme across languages and places.
	fx, init := withFacets(x, prev, cfg)
	fit := func(seed uint64) (KMeansResult, KMeansResult, float64, error) {
		c := cfg
		c.Seed = seed
		top, err := fitTribes(ctx, x, prev.TribeCentroids, k, sample, c)
		if err != nil {
			return KMeansResult{}, KMeansResult{}, 0, err
		}
		km, err := Within(ctx, fx, top, KMeansConfig{K: k, Seed: seed, MaxIter: cfg.MaxIter, Init: init})
		if err != nil {
			return KMeansResult{}, KMeansResult{}, 0, err
		}
		if len(km.Centroids) < cfg.RefineBelow {
			// Few communities: passes over all of them are cheap, so the fit within
			// tribes warm-starts one over everyone, and a community settles across a
			// tribe line where its members fit better there (a tribe split is an
			// estimate; on small real memberships confining communities to it costs
			// more than it saves: bench/realdata.sh).
			km, err = SphericalKMeans(ctx, fx, KMeansConfig{K: len(km.Centroids), Seed: seed, MaxIter: cfg.MaxIter,
				Init: km.Centroids})
			if err != nil {
				return KMeansResult{}, KMeansResult{}, 0, err
			}
		}
		var fitness float64
		for _, s := range km.Score {
			fitness += float64(s)
		}
		return top, km, fitness, nil
	}
	top, km, best, err := fit(cfg.Seed)
	if err != nil {
		return Clustering{}, err
	}
	if len(prev.Centroids) == 0 && n <= cfg.RestartsBelow {
		// A first run on a small membership: k-means++ seeding decides much of the
		// result and a fit costs little, so a few seeds are tried and the best fit
		// kept (scikit-learn's n_init). Later runs start from last night's.
		for r := uint64(1); r < 5; r++ {
			t, m, f, err := fit(cfg.Seed + r*7919)
			if err != nil {
				return Clustering{}, err
			}
			if f > best {
				top, km, best = t, m, f
			}
		}
	}
	cl := Clustering{Assign: km.Assign, Iterations: km.Iterations}
	groups := groupsOf(km.Assign, len(km.Centroids))
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
	cl.Tribe, cl.TribeCentroids = tribesOf(x, groups, top.Assign, len(top.Centroids))
	return cl, nil
}

// fitTribes clusters the points into tribes: as many as the previous run had, from
// its tribes, while that stays within half to twice the size-based count t0
// (TribeSize, or √k); else on up to 2,000 communities the count from t0/2 to 2·t0
// whose tribes are most distinct by silhouette, and t0 beyond.
func fitTribes(ctx context.Context, x [][]float32, prev [][]float32, k, sample int, cfg ClusterConfig) (KMeansResult, error) {
	t0 := int(math.Sqrt(float64(k))) // fewer than four communities make one tribe
	if cfg.TribeSize > 0 {
		t0 = int(math.Round(float64(k) / float64(cfg.TribeSize)))
	}
	t0 = min(max(t0, 1), k)
	fit := func(t int, init [][]float32) (KMeansResult, error) {
		km, err := SphericalKMeans(ctx, x, KMeansConfig{K: t, Seed: cfg.Seed, MaxIter: cfg.MaxIter, Init: init,
			Sample: sample, Progress: cfg.Progress})
		if err != nil {
			return KMeansResult{}, fmt.Errorf("tribes: %w", err)
		}
		return km, nil
	}
	if p := len(prev); p > 0 && 2*p >= t0 && p <= 2*t0 {
		return fit(min(p, k), prev)
	}
	if k > 2000 || t0 < 2 {
		return fit(t0, nil)
	}
	// Candidates 15% apart from half to twice t0, each fitted on a sample of up to
	// 20,000 points; the winner is fitted on everyone from its centroids.
	probe := min(len(x), 20000)
	var best KMeansResult
	bestScore := math.Inf(-1)
	for t := max(2, t0/2); t <= min(2*t0, k); t = max(t+1, int(float64(t)*1.15)) {
		km, err := SphericalKMeans(ctx, x, KMeansConfig{K: t, Seed: cfg.Seed, MaxIter: cfg.MaxIter, Sample: probe})
		if err != nil {
			return KMeansResult{}, fmt.Errorf("tribes: %w", err)
		}
		if score := Silhouette(x, km.Assign, t, 2000, cfg.Seed); score > bestScore {
			best, bestScore = km, score
		}
	}
	if probe == len(x) {
		return best, nil
	}
	return fit(len(best.Centroids), best.Centroids)
}

// tribesOf gives each community the tribe most of its members were fitted into and
// returns the tribes that kept a community, renumbered, with their centroids.
func tribesOf(x [][]float32, groups [][]int, fitted []int, tribes int) ([]int, [][]float32) {
	of := make([]int, len(groups))
	count := make([]int, tribes)
	for c, g := range groups {
		clear(count)
		for _, i := range g {
			count[fitted[i]]++
		}
		of[c] = slices.Index(count, slices.Max(count))
	}
	renumber := make([]int, tribes)
	for t := range renumber {
		renumber[t] = -1
	}
	var members [][]int
	for c, t := range of {
		if renumber[t] < 0 {
			renumber[t] = len(members)
			members = append(members, nil)
		}
		of[c] = renumber[t]
		members[of[c]] = append(members[of[c]], groups[c]...)
	}
	return of, centroidsOf(x, members)
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
	var slab []float32 // the points' rows in one array: k-means fits them in place
	pad := func(v []float32, i int) []float32 {
		var out []float32
		if d := len(v) + extra; i >= 0 && len(slab)+d <= cap(slab) {
			out = slab[len(slab) : len(slab)+d]
			slab = slab[:len(slab)+d]
		} else {
			out = make([]float32, d)
		}
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
	slab = make([]float32, 0, len(x)*(len(x[0])+extra))
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
