package clustering_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/belong-loyalty/belong/matching/clustering"
)

// unitNoise returns v moved by noise in random directions, unit length again.
func unitNoise(v []float32, noise float64, rng *rand.Rand) []float32 {
	out := make([]float32, len(v))
	var n float64
	for j := range v {
		out[j] = v[j] + float32(rng.NormFloat64()*noise)
		n += float64(out[j]) * float64(out[j])
	}
	for j := range out {
		out[j] /= float32(math.Sqrt(n))
	}
	return out
}

// The probed search finds what the exact one finds, nearly always: recall of the
// three nearest of 1,600 centroids for points drawn around them.
func TestNearestProbedRecall(t *testing.T) {
	cents, _ := blobs(1600, 80, 32, 0.6, 5)
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([][]float32, 8000)
	for i := range x {
		x[i] = unitNoise(cents[rng.IntN(len(cents))], 0.05, rng)
	}
	exact, _, err := clustering.Nearest(x, cents, 3)
	if err != nil {
		t.Fatal(err)
	}
	probed, _, err := clustering.NearestProbed(x, cents, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	hit, first := 0, 0
	for i := range x {
		for _, c := range probed[i] {
			for _, e := range exact[i] {
				if c == e {
					hit++
				}
			}
		}
		if probed[i][0] == exact[i][0] {
			first++
		}
	}
	recall, top1 := float64(hit)/float64(3*len(x)), float64(first)/float64(len(x))
	t.Logf("recall@3 %.3f, nearest right %.3f", recall, top1)
	if recall < 0.95 || top1 < 0.99 {
		t.Fatalf("recall@3 %.3f, nearest right %.3f", recall, top1)
	}
}

// From 1,000 centroids on, ids are matched greedily: last night's centroids, moved a
// little and shuffled, find their own again; a new one finds none.
func TestMatchCentroidsAtScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	prev := make([][]float32, 1500)
	for i := range prev {
		prev[i] = unitNoise(make([]float32, 32), 1, rng) // random directions
	}
	perm := rng.Perm(len(prev))
	next := make([][]float32, len(prev))
	for i, p := range perm {
		next[i] = unitNoise(prev[p], 0.01, rng)
	}
	next = append(next, unitNoise(prev[0], 3, rng)) // far from everything: a birth
	got := clustering.MatchCentroids(next, prev, 0.9)
	wrong := 0
	for i, p := range perm {
		if got[i] != p {
			wrong++
		}
	}
	if wrong > 0 || got[len(got)-1] != -1 {
		t.Fatalf("%d of %d matched wrongly; the newcomer matched %d", wrong, len(perm), got[len(got)-1])
	}
}

// BenchmarkNearest compares the exact and the probed search for the three nearest of
// 4,000 centroids, for 100,000 points of 256 dimensions (the secondary memberships of
// a 200,000-member run would be twice this).
func BenchmarkNearest(b *testing.B) {
	cents, _ := blobs(4000, 400, 256, 0.6, 5)
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([][]float32, 100_000)
	for i := range x {
		x[i] = unitNoise(cents[rng.IntN(len(cents))], 0.02, rng)
	}
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := clustering.Nearest(x, cents, 3); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("probed", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := clustering.NearestProbed(x, cents, 3, 3); err != nil {
				b.Fatal(err)
			}
		}
	})
}
