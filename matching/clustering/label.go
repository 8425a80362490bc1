package clustering

import (
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LabelConfig tunes Label.
type LabelConfig struct {
	// Min and Max labels per community: 2 and 4 when zero. Terms shared by at least
	// MinShare of a community are taken first; when fewer than Min qualify, the next
	// best are added so every community can be told apart.
	Min, Max int
	// MinShare is the least fraction of a community that must share a term for it to
	// qualify; 0.2 when zero.
	MinShare float64
	// Key says which written terms are the same term (members.TermKey: case, plurals
	// and punctuation aside); lower case when nil.
	Key func(string) string
}

func (c LabelConfig) key(t string) string {
	if c.Key != nil {
		return c.Key(t)
	}
	return strings.ToLower(t)
}

// Label finds each cluster's most distinctive terms by class-based TF-IDF: a term
// scores high in a cluster when many of its members share it (tf) and few clusters
// elsewhere do (idf = log(1 + average cluster term mass / the term's total count)).
// Terms are compared by cfg.Key and shown in their most common written form.
// terms[i] are point i's terms (interests, causes, activity categories), assign[i]
// its cluster; the result has k entries, each best first.
func Label(terms [][]string, assign []int, k int, cfg LabelConfig) [][]string {
	minLabels, maxLabels := cfg.Min, cfg.Max
	if maxLabels <= 0 {
		maxLabels = 4
	}
	if minLabels <= 0 {
		minLabels = min(2, maxLabels)
	}
	minShare := cfg.MinShare
	if minShare <= 0 {
		minShare = 0.2
	}
	counts := make([]map[string]int, k)
	sizes := make([]int, k)
	mass := make([]int, k)
	total := map[string]int{}
	forms := map[string]map[string]int{}
	for i, ts := range terms {
		c := assign[i]
		if counts[c] == nil {
			counts[c] = map[string]int{}
		}
		sizes[c]++
		seen := map[string]bool{}
		for _, t := range ts {
			key := cfg.key(t)
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			if forms[key] == nil {
				forms[key] = map[string]int{}
			}
			forms[key][strings.ToLower(strings.TrimSpace(t))]++
			counts[c][key]++
			mass[c]++
			total[key]++
		}
	}
	display := make(map[string]string, len(forms))
	for key, fs := range forms {
		best, bn := "", -1
		for f, n := range fs {
			if n > bn || n == bn && f < best {
				best, bn = f, n
			}
		}
		display[key] = best
	}
	var avgMass float64
	for _, m := range mass {
		avgMass += float64(m)
	}
	avgMass /= float64(max(k, 1))

	out := make([][]string, k)
	type scored struct {
		term  string
		share float64
		score float64
	}
	for c := 0; c < k; c++ {
		var cand []scored
		for t, n := range counts[c] {
			share := float64(n) / float64(sizes[c])
			cand = append(cand, scored{t, share, share * math.Log(1+avgMass/float64(total[t]))})
		}
		sort.Slice(cand, func(i, j int) bool {
			if cand[i].score != cand[j].score {
				return cand[i].score > cand[j].score
			}
			return cand[i].term < cand[j].term
		})
		var rest []scored
		for _, s := range cand {
			if len(out[c]) < maxLabels && s.share >= minShare {
				out[c] = append(out[c], display[s.term])
			} else {
				rest = append(rest, s)
			}
		}
		for _, s := range rest {
			if len(out[c]) >= minLabels {
				break
			}
			out[c] = append(out[c], display[s.term])
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
