package clustering

import (
	"math/rand/v2"
	"sort"
)

// Metrics describe one run's communities.
type Metrics struct {
	Members     int `json:"members"`
	Communities int `json:"communities"`
	Tribes      int `json:"tribes"`
	Iterations  int `json:"iterations"`
	// Cohesion is the mean cosine similarity of members to their community centroid.
	Cohesion float64 `json:"cohesion"`
	// Silhouette is the mean cosine silhouette of a seeded sample of members.
	Silhouette float64 `json:"silhouette"`
	MinSize    int     `json:"min_size"`
	MedianSize int     `json:"median_size"`
	MaxSize    int     `json:"max_size"`
	// Churn is the share of members in both this run and the previous one whose
	// primary community changed; Births and Deaths count communities that appeared and
	// disappeared.
	Churn     float64 `json:"churn"`
	Births    int     `json:"births"`
	Deaths    int     `json:"deaths"`
	Splits    int     `json:"splits"`
	Dissolved int     `json:"dissolved"`
	// TribeChurn, TribeBirths and TribeDeaths are the same one level up: the share
	// of members whose tribe changed, tribes that appeared and disappeared.
	TribeChurn  float64 `json:"tribe_churn"`
	TribeBirths int     `json:"tribe_births"`
	TribeDeaths int     `json:"tribe_deaths"`
	// PairCosine is the mean cosine of random pairs of members: near 0 when vectors
	// are centered, 0.7 and more when they share a common direction.
	PairCosine float64 `json:"pair_cosine"`
	// SecondaryMin is the least cosine a secondary community had to reach in this
	// run (a quantile of the members' fit to their own community), and Secondary the
	// share of members who have at least one.
	SecondaryMin float64 `json:"secondary_min"`
	Secondary    float64 `json:"secondary"`
	// PeerFloor is the median cosine of random pairs of members: a peer less alike
	// than that is less alike than two strangers usually are, and is not served.
	PeerFloor float64 `json:"peer_floor"`
	// DurationMS is the run's wall time.
	DurationMS int64 `json:"duration_ms"`
}

// Silhouette estimates the mean silhouette (cosine distance) over up to sample points.
// For unit vectors the mean distance to a group is 1 - x·(sum of the group)/size, so
// each point's silhouette is exact, computed against every member of every group.
func Silhouette(x [][]float32, assign []int, k, sample int, seed uint64) float64 {
	n := len(x)
	if k < 2 || n < 3 {
		return 0
	}
	d := len(x[0])
	sums := make([][]float64, k)
	sizes := make([]int, k)
	for c := range sums {
		sums[c] = make([]float64, d)
	}
	for i, c := range assign {
		sizes[c]++
		for j, f := range x[i] {
			sums[c][j] += float64(f)
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if sample > 0 && sample < n {
		rng := rand.New(rand.NewPCG(seed, 11))
		idx = rng.Perm(n)[:sample]
	}
	var total float64
	for _, i := range idx {
		own := assign[i]
		if sizes[own] < 2 {
			continue // silhouette 0 by convention
		}
		var a, b float64 = 0, 2
		for c := 0; c < k; c++ {
			if sizes[c] == 0 {
				continue
			}
			var s float64
			for j, f := range x[i] {
				s += float64(f) * sums[c][j]
			}
			if c == own {
				a = 1 - (s-1)/float64(sizes[c]-1) // leave the point itself out
			} else if dist := 1 - s/float64(sizes[c]); dist < b {
				b = dist
			}
		}
		if m := max(a, b); m > 0 {
			total += (b - a) / m
		}
	}
	return total / float64(len(idx))
}

// SizeStats returns the smallest, median and largest of sizes.
func SizeStats(sizes []int) (lo, med, hi int) {
	if len(sizes) == 0 {
		return 0, 0, 0
	}
	s := append([]int(nil), sizes...)
	sort.Ints(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}

// PairCosines returns the mean and the q-quantile of the cosines of pairs random
// pairs of distinct points, from a seeded sample.
func PairCosines(x [][]float32, pairs int, q float64, seed uint64) (mean, quantile float64) {
	if len(x) < 2 || pairs <= 0 {
		return 0, 1
	}
	rng := rand.New(rand.NewPCG(seed, 0x9a17))
	sims := make([]float64, pairs)
	var sum float64
	for p := range sims {
		a := rng.IntN(len(x))
		b := rng.IntN(len(x) - 1)
		if b >= a {
			b++
		}
		sims[p] = float64(dot(x[a], x[b]))
		sum += sims[p]
	}
	return sum / float64(pairs), Quantile(sims, q)
}

// Quantile returns the q-quantile of v (0 ≤ q ≤ 1, nearest rank); it sorts v.
func Quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	i := int(q * float64(len(v)-1))
	return v[min(max(i, 0), len(v)-1)]
}
