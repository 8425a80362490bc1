package clustering

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBoundSplitsAndDissolves(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([][]float32, 460)
	for i := range x {
		v := make([]float32, 8)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		normalize32(v)
		x[i] = v
	}
	// One group of 400 (too big), two of 3 and 7 (too small), one of 50.
	groups := [][]int{{}, {}, {}, {}}
	for i := range x {
		switch {
		case i < 400:
			groups[0] = append(groups[0], i)
		case i < 403:
			groups[1] = append(groups[1], i)
		case i < 410:
			groups[2] = append(groups[2], i)
		default:
			groups[3] = append(groups[3], i)
		}
	}
	cfg := ClusterConfig{TargetSize: 50, MinSize: 12, MaxSize: 150, Seed: 1}.WithDefaults()
	out, splits, dissolved, err := bound(context.Background(), x, groups, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if splits == 0 || dissolved < 2 {
		t.Fatalf("splits %d, dissolved %d; want the big group split and both small ones dissolved", splits, dissolved)
	}
	seen := make([]bool, len(x))
	for _, g := range out {
		if len(g) < 12 || len(g) > 150 {
			t.Fatalf("group of %d outside [12, 150]", len(g))
		}
		for _, i := range g {
			if seen[i] {
				t.Fatalf("member %d in two groups", i)
			}
			seen[i] = true
		}
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("member %d lost", i)
		}
	}
}

func normalize32(v []float32) {
	var s float32
	for _, f := range v {
		s += f * f
	}
	for j := range v {
		v[j] /= float32(math.Sqrt(float64(s)))
	}
}

// Identical members (one data set had 398 with the same six interests) cannot be
// parted by k-means; they are split into even communities within the bounds anyway,
// the same way every time.
func TestBoundSplitsIdenticalMembers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	same := make([]float32, 8)
	for j := range same {
		same[j] = float32(rng.NormFloat64())
	}
	normalize32(same)
	x := make([][]float32, 460)
	for i := range x {
		if i < 398 {
			x[i] = append([]float32(nil), same...)
			continue
		}
		v := make([]float32, 8)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		normalize32(v)
		x[i] = v
	}
	cfg := ClusterConfig{TargetSize: 50, MinSize: 12, MaxSize: 150, Seed: 1}
	first, err := Cluster(context.Background(), x, Previous{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for c, n := range first.Sizes {
		if n > cfg.MaxSize || n < cfg.MinSize {
			t.Fatalf("community %d has %d members; bounds are %d to %d (sizes %v)", c, n, cfg.MinSize, cfg.MaxSize, first.Sizes)
		}
	}
	again, err := Cluster(context.Background(), x, Previous{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first.Assign {
		if first.Assign[i] != again.Assign[i] {
			t.Fatalf("member %d: community %d, then %d: the split is not deterministic", i, first.Assign[i], again.Assign[i])
		}
	}
}
