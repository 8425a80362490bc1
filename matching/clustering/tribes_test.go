package clustering_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/belong-loyalty/belong/matching/clustering"
)

// themes draws members of nested groups: themes far apart, each with niches close
// together, as a brand's tribes and micro-communities are.
func themes(n, themes, niches, dim int, seed uint64) (x [][]float32, theme []int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	centres, _ := blobs(themes, themes, dim, 0, seed)
	var nicheCentres [][]float32
	for t := range themes {
		for range niches {
			nicheCentres = append(nicheCentres, unitNoise(centres[t], 0.05, rng))
		}
	}
	x = make([][]float32, n)
	theme = make([]int, n)
	for i := range x {
		c := rng.IntN(len(nicheCentres))
		theme[i] = c / niches
		x[i] = unitNoise(nicheCentres[c], 0.035, rng)
	}
	return x, theme
}

// Tribes come first and communities within them: every community lies inside one
// tribe, tribes follow the themes, and a rerun from last night's tribes keeps them.
func TestTribesFirst(t *testing.T) {
	ctx := context.Background()
	x, theme := themes(6000, 8, 6, 64, 3)
	cfg := clustering.ClusterConfig{TargetSize: 50, MinSize: 12, MaxSize: 150, Seed: 1}
	first, err := clustering.Cluster(ctx, x, clustering.Previous{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	memberTribe := make([]int, len(x))
	for i, c := range first.Assign {
		memberTribe[i] = first.Tribe[c]
	}
	purity := clustering.Purity(memberTribe, theme)
	t.Logf("%d communities in %d tribes; tribe purity by theme %.3f", len(first.Centroids), len(first.TribeCentroids), purity)
	// A tribe never mixes themes; a theme may part in two, no more.
	if n := len(first.TribeCentroids); n < 8 || n > 10 || purity < 0.99 {
		t.Fatalf("%d tribes at purity %.3f, want the 8 themes", n, purity)
	}
	if len(first.Tribe) != len(first.Centroids) {
		t.Fatalf("%d communities, %d tribe assignments", len(first.Centroids), len(first.Tribe))
	}
	// Inside one tribe: a community's members share a theme.
	if p := clustering.Purity(first.Assign, theme); p < 0.99 {
		t.Fatalf("communities straddle themes: purity %.3f", p)
	}

	prev := clustering.Previous{Centroids: first.Centroids, Primary: make([]string, len(x)), TribeCentroids: first.TribeCentroids}
	for c := range first.Centroids {
		prev.IDs = append(prev.IDs, string(rune('A'+c/26))+string(rune('a'+c%26)))
	}
	for i, c := range first.Assign {
		prev.Primary[i] = prev.IDs[c]
	}
	cfg.Seed = 7
	second, err := clustering.Cluster(ctx, x, prev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kept := clustering.MatchCentroids(second.TribeCentroids, first.TribeCentroids, 0.9)
	for tr, p := range kept {
		if p < 0 {
			t.Fatalf("tribe %d of the rerun continues none of last night's (%d tribes, %d before)", tr, len(second.TribeCentroids), len(first.TribeCentroids))
		}
	}
	moved := 0
	for i, c := range second.Assign {
		if first.Tribe[first.Assign[i]] != kept[second.Tribe[c]] {
			moved++
		}
	}
	if moved > 0 {
		t.Fatalf("%d members changed tribe with no data change", moved)
	}
}
