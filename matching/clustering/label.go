package clustering

import (
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LabelConfig tunes Label.
type LabelConfig struct {
	// Max labels per community: 4 when zero (one more when it takes one to tell two
	// communities apart).
	Max int
	// MinShare is the least fraction of a community that must hold a term for it to
	// label the community; 0.5 when zero. No term below it ever labels one: a label
	// says what its members have in common.
	MinShare float64
	// Key says which written terms are the same term (members.TermKey: case, plurals
	// and punctuation aside); lower case when nil.
	Key func(string) string
	// Group is each cluster's group (its tribe): a community is labelled by what
	// distinguishes it from its siblings in the group. Nil: one group.
	Group []int
	// Facets are each point's facet values (a language, a skill band): they label a
	// community only where its terms cannot tell it from another.
	Facets [][]string
}

func (c LabelConfig) key(t string) string {
	if c.Key != nil {
		return c.Key(t)
	}
	return strings.ToLower(t)
}

// Label finds each cluster's most distinctive terms by class-based TF-IDF: a term
// scores high in a cluster when many of its members share it (tf) and few of its
// sibling clusters (cfg.Group) do (idf = log(1 + the group's average cluster term
// mass / the term's count in the group)). Only terms held by at least MinShare of the
// cluster qualify. Terms are compared by cfg.Key; a rare spelling close to a much
// more common one (a typo: "trail runns") counts as it, and every term is shown in
// its most common written form. Clusters whose label sets would be equal get the
// best unused qualifying term, or else its most held facet value, or else fewer
// labels; the result has no two equal label sets unless twins have one label each.
// terms[i] are point i's terms (interests, causes, activity categories), assign[i]
// its cluster; the result has k entries, each best first.
func Label(terms [][]string, assign []int, k int, cfg LabelConfig) [][]string {
	maxLabels := cfg.Max
	if maxLabels <= 0 {
		maxLabels = 4
	}
	minShare := cfg.MinShare
	if minShare <= 0 {
		minShare = 0.5
	}
	group := func(c int) int {
		if c < len(cfg.Group) {
			return cfg.Group[c]
		}
		return 0
	}
	// Written forms by key, and every key's total count, for spelling folds.
	forms := map[string]map[string]int{}
	total := map[string]int{}
	keysOf := make([][]string, len(terms))
	for i, ts := range terms {
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
			total[key]++
			keysOf[i] = append(keysOf[i], key)
		}
	}
	alias := foldSpellings(total)
	display := make(map[string]string, len(forms))
	merged := map[string]map[string]int{}
	for key, fs := range forms {
		to := alias[key]
		if merged[to] == nil {
			merged[to] = map[string]int{}
		}
		for f, n := range fs {
			merged[to][f] += n
		}
	}
	for key, fs := range merged {
		best, bn := "", -1
		for f, n := range fs {
			if n > bn || n == bn && f < best {
				best, bn = f, n
			}
		}
		display[key] = best
	}

	counts := make([]map[string]int, k)
	facets := make([]map[string]int, k)
	sizes := make([]int, k)
	for i := range terms {
		c := assign[i]
		if counts[c] == nil {
			counts[c], facets[c] = map[string]int{}, map[string]int{}
		}
		sizes[c]++
		seen := map[string]bool{}
		for _, key := range keysOf[i] {
			if key = alias[key]; !seen[key] {
				seen[key] = true
				counts[c][key]++
			}
		}
		if i < len(cfg.Facets) {
			for _, f := range cfg.Facets[i] {
				facets[c][f]++
			}
		}
	}
	// Term mass per group and per term in a group: the idf is against the siblings.
	groupMass, groupClusters := map[int]float64{}, map[int]int{}
	inGroup := map[int]map[string]int{}
	for c := 0; c < k; c++ {
		g := group(c)
		groupClusters[g]++
		if inGroup[g] == nil {
			inGroup[g] = map[string]int{}
		}
		for t, n := range counts[c] {
			groupMass[g] += float64(n)
			inGroup[g][t] += n
		}
	}

	type scored struct {
		term  string
		share float64
		score float64
	}
	out := make([][]string, k)
	spare := make([][]scored, k) // qualifying terms not used, best first
	for c := 0; c < k; c++ {
		g := group(c)
		avg := groupMass[g] / float64(groupClusters[g])
		var cand []scored
		for t, n := range counts[c] {
			share := float64(n) / float64(sizes[c])
			if share < minShare {
				continue
			}
			cand = append(cand, scored{t, share, share * math.Log(1+avg/float64(inGroup[g][t]))})
		}
		sort.Slice(cand, func(i, j int) bool {
			if cand[i].score != cand[j].score {
				return cand[i].score > cand[j].score
			}
			return cand[i].term < cand[j].term
		})
		for _, s := range cand {
			if len(out[c]) < maxLabels {
				out[c] = append(out[c], display[s.term])
			} else {
				spare[c] = append(spare[c], s)
			}
		}
	}
	// Equal label sets: each cluster after the first takes the spare term, or else
	// the facet value held by at least minShare of it, that most of its twins lack.
	for pass := 0; pass < 3; pass++ {
		twins := map[string][]int{}
		for c := 0; c < k; c++ {
			if sizes[c] > 0 {
				twins[setKey(out[c])] = append(twins[setKey(out[c])], c)
			}
		}
		changed := false
		for _, cs := range twins {
			for i, c := range cs[1:] {
				used := map[string]bool{}
				for _, l := range out[c] {
					used[l] = true
				}
				pick := ""
				for _, s := range spare[c] {
					if !used[display[s.term]] {
						pick = display[s.term]
						break
					}
				}
				if pick == "" {
					best, bestN := "", 0
					for f, n := range facets[c] {
						if float64(n)/float64(sizes[c]) >= minShare && !used[f] && (n > bestN || n == bestN && f < best) {
							best, bestN = f, n
						}
					}
					pick = best
				}
				switch {
				case pick != "":
					out[c] = append(out[c], pick)
					changed = true
				case len(out[c]) > i+1:
					// Nothing a majority of it holds tells it apart: fewer labels do.
					out[c] = out[c][:len(out[c])-i-1]
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	// Short names take a community's first and last labels (the templates' profile
	// names do): where two would share both, a middle label that tells it apart
	// moves last.
	pairs := map[string]bool{}
	for c := range out {
		n := len(out[c])
		if n < 2 {
			continue
		}
		pair := func() string { return out[c][0] + "\x00" + out[c][len(out[c])-1] }
		for j := 1; j < n-1 && pairs[pair()]; j++ {
			out[c][j], out[c][n-1] = out[c][n-1], out[c][j]
		}
		pairs[pair()] = true
	}
	return out
}

// setKey identifies a label set whatever its order.
func setKey(labels []string) string {
	s := slices.Clone(labels)
	slices.Sort(s)
	return strings.Join(s, "\x00")
}

// foldSpellings maps every term key to itself, or a rare key to a much more common
// one it is a near-miss of (a typo): at most one edit apart (two for keys of eight
// letters or more), sharing the first three letters, and held at most a tenth as
// often. Only keys with those first letters are compared, so the cost stays near
// linear in the vocabulary.
func foldSpellings(total map[string]int) map[string]string {
	keys := make([]string, 0, len(total))
	for k := range total {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if total[keys[i]] != total[keys[j]] {
			return total[keys[i]] > total[keys[j]]
		}
		return keys[i] < keys[j]
	})
	alias := make(map[string]string, len(keys))
	byPrefix := map[string][]string{} // prefix → canonical keys, most common first
	for _, k := range keys {
		alias[k] = k
		r := []rune(k)
		if len(r) < 5 {
			continue
		}
		p := string(r[:3])
		for _, c := range byPrefix[p] {
			limit := 1
			if len(r) >= 8 {
				limit = 2
			}
			if total[k]*10 <= total[c] && editDistance([]rune(c), r, limit) <= limit {
				alias[k] = c
				break
			}
		}
		if alias[k] == k {
			byPrefix[p] = append(byPrefix[p], k)
		}
	}
	return alias
}

// editDistance is the Damerau–Levenshtein distance of a and b (adjacent swaps count
// one), or limit+1 once it must exceed limit.
func editDistance(a, b []rune, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
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
