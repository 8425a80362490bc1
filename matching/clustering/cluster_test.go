package clustering_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/belong-loyalty/belong/matching/clustering"
)

// uneven draws groups of very different sizes: some far above the maximum, some far
// below the minimum, so both repairs are needed.
func uneven(seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	var x [][]float32
	for _, size := range []int{3, 7, 420, 90, 5, 260, 40, 1, 15} {
		blob, _ := blobs(size, 1, 32, 0.8, rng.Uint64())
		x = append(x, blob...)
	}
	return x
}

func TestClusterKeepsSizesWithinBounds(t *testing.T) {
	x := uneven(1)
	cl, err := clustering.Cluster(context.Background(), x, clustering.Previous{}, clustering.ClusterConfig{TargetSize: 50, MinSize: 12, MaxSize: 150, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for c, n := range cl.Sizes {
		if n < 12 || n > 150 {
			t.Fatalf("community %d has %d members, outside [12, 150] (sizes %v)", c, n, cl.Sizes)
		}
		total += n
	}
	if total != len(x) || len(cl.Assign) != len(x) {
		t.Fatalf("%d members placed of %d", total, len(x))
	}
	for i, c := range cl.Assign {
		if c < 0 || c >= len(cl.Centroids) {
			t.Fatalf("member %d assigned to %d", i, c)
		}
	}
}

func TestClusterSplitsOversized(t *testing.T) {
	// Last night there was one community of everyone; tonight k stays 1 (membership
	// unchanged), so the bound has to split it.
	x, _ := blobs(500, 1, 16, 1.0, 2)
	prev := clustering.Previous{IDs: []string{"c-1"}, Centroids: [][]float32{x[0]}, Primary: make([]string, len(x))}
	for i := range prev.Primary {
		prev.Primary[i] = "c-1"
	}
	cl, err := clustering.Cluster(context.Background(), x, prev, clustering.ClusterConfig{TargetSize: 50, MinSize: 12, MaxSize: 150, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if cl.Splits == 0 || len(cl.Sizes) < 4 {
		t.Fatalf("splits %d, sizes %v: 500 members cannot fit one community of at most 150", cl.Splits, cl.Sizes)
	}
	for _, n := range cl.Sizes {
		if n < 12 || n > 150 {
			t.Fatalf("sizes %v outside [12, 150]", cl.Sizes)
		}
	}
}

func TestClusterSmallerThanMinimumIsOneCommunity(t *testing.T) {
	x, _ := blobs(7, 2, 8, 0.5, 1)
	cl, err := clustering.Cluster(context.Background(), x, clustering.Previous{}, clustering.ClusterConfig{MinSize: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Sizes) != 1 || cl.Sizes[0] != 7 {
		t.Fatalf("sizes %v, want one community of 7", cl.Sizes)
	}
}

func TestClusterKeepsIdentitiesAcrossRuns(t *testing.T) {
	x, _ := blobs(2000, 20, 32, 0.9, 5)
	ctx := context.Background()
	cfg := clustering.ClusterConfig{TargetSize: 100, MinSize: 12, MaxSize: 300, Seed: 1}
	first, err := clustering.Cluster(ctx, x, clustering.Previous{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prev := clustering.Previous{Primary: make([]string, len(x)), TribeCentroids: first.TribeCentroids}
	for c, cent := range first.Centroids {
		prev.IDs = append(prev.IDs, string(rune('A'+c)))
		prev.Centroids = append(prev.Centroids, cent)
	}
	for i, c := range first.Assign {
		prev.Primary[i] = prev.IDs[c]
	}
	cfg.Seed = 99 // another seed, the same data
	second, err := clustering.Cluster(ctx, x, prev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i, c := range second.Assign {
		p := second.PrevIndex[c]
		if p < 0 || prev.IDs[p] != prev.Primary[i] {
			moved++
		}
	}
	if share := float64(moved) / float64(len(x)); share >= 0.02 {
		t.Fatalf("%.1f%% of members changed community with no data change, want < 2%%", 100*share)
	}
}
