package main

import (
	"math/rand/v2"
	"slices"

	"github.com/belong-loyalty/belong/matching/clustering"
)

// scores are how well one partition of the members matches their teams.
type scores struct {
	k                     int
	minSize, med, maxSize int
	purity, nmi           float64
	// precision is the share of pairs in one community that are in one team; recall
	// the share of pairs in one team that are in one community.
	precision, recall float64
	// mates is the mean over members of the share of their community-mates in their
	// team: pair precision with each member counting once, so one huge mixed cluster
	// weighs by its members, not by the square of them.
	mates float64
}

// score compares a partition with the truth.
func score(assign, truth []int) scores {
	sizes := map[int]int{}
	for _, c := range assign {
		sizes[c]++
	}
	var ss []int
	for _, n := range sizes {
		ss = append(ss, n)
	}
	lo, med, hi := clustering.SizeStats(ss)
	p, r := pairs(assign, truth)
	return scores{k: len(sizes), minSize: lo, med: med, maxSize: hi,
		purity: clustering.Purity(assign, truth), nmi: clustering.NMI(assign, truth), precision: p, recall: r,
		mates: mates(assign, truth)}
}

// pairs returns pairwise precision and recall of assign against truth.
func pairs(assign, truth []int) (precision, recall float64) {
	joint := map[[2]int]int{}
	byCluster, byTruth := map[int]int{}, map[int]int{}
	for i, c := range assign {
		joint[[2]int{c, truth[i]}]++
		byCluster[c]++
		byTruth[truth[i]]++
	}
	both := pairCount(joint)
	inCluster, inTruth := pairCount(byCluster), pairCount(byTruth)
	if inCluster > 0 {
		precision = both / inCluster
	}
	if inTruth > 0 {
		recall = both / inTruth
	}
	return precision, recall
}

func pairCount[K comparable](m map[K]int) float64 {
	var s float64
	for _, n := range m {
		s += float64(n) * float64(n-1) / 2
	}
	return s
}

// random is the mean score of runs shuffles of assign: a partition with the very same
// sizes that knows nothing of the members.
func random(assign, truth []int, runs int, seed uint64) scores {
	rng := rand.New(rand.NewPCG(seed, 15))
	var sum scores
	for range runs {
		a := slices.Clone(assign)
		rng.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
		s := score(a, truth)
		sum.purity += s.purity / float64(runs)
		sum.nmi += s.nmi / float64(runs)
		sum.precision += s.precision / float64(runs)
		sum.recall += s.recall / float64(runs)
		sum.mates += s.mates / float64(runs)
		sum.k, sum.minSize, sum.med, sum.maxSize = s.k, s.minSize, s.med, s.maxSize
	}
	return sum
}

// mates is the mean over members of the share of their community-mates in their team
// (0 for a member alone).
func mates(assign, truth []int) float64 {
	joint := map[[2]int]int{}
	size := map[int]int{}
	for i, c := range assign {
		joint[[2]int{c, truth[i]}]++
		size[c]++
	}
	var s float64
	for i, c := range assign {
		if size[c] > 1 {
			s += float64(joint[[2]int{c, truth[i]}]-1) / float64(size[c]-1)
		}
	}
	return s / float64(max(len(assign), 1))
}
