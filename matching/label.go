package matching

import (
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LabelConfig tunes Label.
type LabelConfig struct {
	// Max labels per community; 3 when zero.
	Max int
	// MinShare is the least fraction of a community that must share a term for it to
	// label the community; 0.2 when zero.
	MinShare float64
}

// Label finds each cluster's most distinctive terms by class-based TF-IDF: a term
// scores high in a cluster when many of its members share it (tf) and few clusters
// elsewhere do (idf = log(1 + average cluster term mass / the term's total count)).
// terms[i] are point i's terms (interests and causes), assign[i] its cluster; the
// result has k entries, each best first.
func Label(terms [][]string, assign []int, k int, cfg LabelConfig) [][]string {
	maxLabels := cfg.Max
	if maxLabels <= 0 {
		maxLabels = 3
	}
	minShare := cfg.MinShare
	if minShare <= 0 {
		minShare = 0.2
	}
	counts := make([]map[string]int, k)
	sizes := make([]int, k)
	mass := make([]int, k)
	total := map[string]int{}
	for i, ts := range terms {
		c := assign[i]
		if counts[c] == nil {
			counts[c] = map[string]int{}
		}
		sizes[c]++
		for _, t := range ts {
			counts[c][t]++
			mass[c]++
			total[t]++
		}
	}
	var avgMass float64
	for _, m := range mass {
		avgMass += float64(m)
	}
	avgMass /= float64(k)

	out := make([][]string, k)
	type scored struct {
		term  string
		score float64
	}
	for c := 0; c < k; c++ {
		var cand []scored
		for t, n := range counts[c] {
			share := float64(n) / float64(sizes[c])
			if share < minShare {
				continue
			}
			cand = append(cand, scored{t, share * math.Log(1+avgMass/float64(total[t]))})
		}
		sort.Slice(cand, func(i, j int) bool {
			if cand[i].score != cand[j].score {
				return cand[i].score > cand[j].score
			}
			return cand[i].term < cand[j].term
		})
		for i := 0; i < len(cand) && i < maxLabels; i++ {
			out[c] = append(out[c], cand[i].term)
		}
	}
	return out
}

// Name turns labels into a display name: "Trail running · Ocean clean-ups".
func Name(labels []string) string {
	if len(labels) == 0 {
		return "Open community"
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		r, size := utf8.DecodeRuneInString(l)
		parts[i] = string(unicode.ToUpper(r)) + l[size:]
	}
	return strings.Join(parts, " · ")
}

// NMI is the normalized mutual information of two labelings of the same points
// (arithmetic-mean normalization, as scikit-learn's default): 1 for identical
// partitions, near 0 for independent ones.
func NMI(a, b []int) float64 {
	n := float64(len(a))
	if n == 0 {
		return 0
	}
	ca, cb := map[int]float64{}, map[int]float64{}
	joint := map[[2]int]float64{}
	for i := range a {
		ca[a[i]]++
		cb[b[i]]++
		joint[[2]int{a[i], b[i]}]++
	}
	entropy := func(m map[int]float64) float64 {
		var h float64
		for _, c := range m {
			p := c / n
			h -= p * math.Log(p)
		}
		return h
	}
	var mi float64
	for k, c := range joint {
		mi += c / n * math.Log(c*n/(ca[k[0]]*cb[k[1]]))
	}
	ha, hb := entropy(ca), entropy(cb)
	if ha+hb == 0 {
		return 1
	}
	return 2 * mi / (ha + hb)
}

// Purity is the fraction of points whose cluster's most common true class is their
// own: 1 when every cluster holds one class.
func Purity(assign, truth []int) float64 {
	if len(assign) == 0 {
		return 0
	}
	byCluster := map[int]map[int]int{}
	for i, c := range assign {
		if byCluster[c] == nil {
			byCluster[c] = map[int]int{}
		}
		byCluster[c][truth[i]]++
	}
	hit := 0
	for _, m := range byCluster {
		best := 0
		for _, n := range m {
			best = max(best, n)
		}
		hit += best
	}
	return float64(hit) / float64(len(assign))
}
