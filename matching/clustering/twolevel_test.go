package clustering_test

import (
	"context"
	"testing"

	"github.com/belong-loyalty/belong/matching/clustering"
)

// inertia is the sum over points of 1 − cosine to their centroid.
func inertia(x [][]float32, r clustering.KMeansResult) float64 {
	var s float64
	for i, c := range r.Assign {
		var d float64
		for j, v := range x[i] {
			d += float64(v) * float64(r.Centroids[c][j])
		}
		s += 1 - d
	}
	return s
}

// Two levels give K clusters that cover every point, fit about as well as one
// level, and recover planted groups as one level does.
func TestTwoLevelKMeansFitsLikeOneLevel(t *testing.T) {
	ctx := context.Background()
	x, truth := blobs(6000, 120, 32, 0.3, 3)
	flat, err := clustering.SphericalKMeans(ctx, x, clustering.KMeansConfig{K: 120, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	two, err := clustering.TwoLevelKMeans(ctx, x, clustering.KMeansConfig{K: 120, Seed: 1}, 11)
	if err != nil {
		t.Fatal(err)
	}
	if len(two.Centroids) != 120 || len(two.Assign) != len(x) {
		t.Fatalf("%d centroids, %d assignments", len(two.Centroids), len(two.Assign))
	}
	used := map[int]bool{}
	for _, c := range two.Assign {
		used[c] = true
	}
	fi, ti := inertia(x, flat), inertia(x, two)
	p2 := clustering.Purity(two.Assign, truth)
	t.Logf("inertia one level %.1f, two levels %.1f; purity two levels %.3f; %d clusters used", fi, ti, p2, len(used))
	if ti > fi*1.05 {
		t.Fatalf("two levels fit %.1f, one level %.1f: more than 5%% worse", ti, fi)
	}
	if p2 < 0.95 {
		t.Fatalf("two levels recover the planted groups with purity %.3f", p2)
	}
	// Fewer coarse groups than 2, or K not above them: one level, the same result.
	same, err := clustering.TwoLevelKMeans(ctx, x, clustering.KMeansConfig{K: 120, Seed: 1}, 1)
	if err != nil || inertia(x, same) != fi {
		t.Fatalf("one coarse group: %v, inertia %.1f want %.1f", err, inertia(x, same), fi)
	}
}

// Warm-started from last night's centroids, two levels keep last night's clusters,
// even where the coarse groups come out differently: every group keeps as many as it
// inherits.
func TestTwoLevelKMeansKeepsWarmStartedClusters(t *testing.T) {
	ctx := context.Background()
	x, _ := blobs(6000, 40, 32, 1.2, 3) // overlapping: the coarse groups move between fits
	first, err := clustering.TwoLevelKMeans(ctx, x, clustering.KMeansConfig{K: 120, Seed: 1}, 11)
	if err != nil {
		t.Fatal(err)
	}
	again, err := clustering.TwoLevelKMeans(ctx, x, clustering.KMeansConfig{K: 120, Seed: 2, Init: first.Centroids}, 11)
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, p := range clustering.MatchCentroids(again.Centroids, first.Centroids, 0.95) {
		if p >= 0 {
			kept++
		}
	}
	// Deterministic (seeded): 84 kept with the inherited counts, 76 without them.
	if len(again.Centroids) != 120 || kept < 80 {
		t.Fatalf("%d of %d clusters kept from a warm start with another seed", kept, len(again.Centroids))
	}
}

// An oversized niche is split along its facets first: one interest shared by
// speakers of two languages becomes communities of one language each.
func TestOversizedNichesSplitByLanguageFirst(t *testing.T) {
	ctx := context.Background()
	x, _ := blobs(420, 1, 16, 0.05, 4) // one tight niche, far above MaxSize
	lang := make([]string, len(x))
	for i := range lang {
		lang[i] = []string{"sv", "it", "en"}[i%3]
	}
	cl, err := clustering.Cluster(ctx, x, clustering.Previous{}, clustering.ClusterConfig{TargetSize: 140, MinSize: 12, MaxSize: 150,
		Seed: 1, Facets: [][]string{lang}})
	if err != nil {
		t.Fatal(err)
	}
	langs := make([]map[string]bool, len(cl.Centroids))
	for i, c := range cl.Assign {
		if langs[c] == nil {
			langs[c] = map[string]bool{}
		}
		langs[c][lang[i]] = true
	}
	for c, ls := range langs {
		if len(ls) != 1 || cl.Sizes[c] > 150 {
			t.Fatalf("community %d: %d members, languages %v", c, cl.Sizes[c], ls)
		}
	}
	if len(cl.Centroids) != 3 {
		t.Fatalf("%d communities, want one a language", len(cl.Centroids))
	}
}

// With facets, a rerun on the same data keeps the partition: last night's
// communities warm-start with their facet shares, and stickiness judges with the
// facets too, so it never undoes a split along them.
func TestFacetedRerunsAreStable(t *testing.T) {
	ctx := context.Background()
	x, _ := blobs(3000, 30, 32, 0.3, 6)
	lang := make([]string, len(x))
	for i := range lang {
		lang[i] = []string{"sv", "it", "en"}[(i*7)%3]
	}
	cfg := clustering.ClusterConfig{TargetSize: 40, MinSize: 12, MaxSize: 150, Seed: 1, Facets: [][]string{lang}}
	first, err := clustering.Cluster(ctx, x, clustering.Previous{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(first.Centroids))
	for c := range ids {
		ids[c] = string(rune('A'+c/26)) + string(rune('a'+c%26))
	}
	prev := clustering.Previous{IDs: ids, Centroids: first.Centroids, Primary: make([]string, len(x)), TribeCentroids: first.TribeCentroids}
	for i, c := range first.Assign {
		prev.Primary[i] = ids[c]
	}
	cfg.Seed = 2
	second, err := clustering.Cluster(ctx, x, prev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i, c := range second.Assign {
		if p := second.PrevIndex[c]; p < 0 || ids[p] != prev.Primary[i] {
			moved++
		}
	}
	if share := float64(moved) / float64(len(x)); share > 0.03 {
		t.Fatalf("a rerun moved %.1f%% of members", 100*share)
	}
}
