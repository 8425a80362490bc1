package matching

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/matching/clustering"
)

// syntheticView is a view of k random communities in 256 dimensions.
func syntheticView(k int) *View {
	rng := rand.New(rand.NewPCG(1, 2))
	v := &View{dim: 256, byID: map[string]int{}}
	for i := range k {
		vec := make([]float32, 256)
		for j := range vec {
			vec[j] = float32(rng.NormFloat64())
		}
		id := "c-" + strconv.Itoa(i)
		// Labels and names as long as the demo's, each its own string.
		labels := []string{"Yoga " + id, "Trail running " + id, "Community wellbeing " + id, "Ocean cleanup " + id}
		v.Communities = append(v.Communities, Community{ID: id, Name: strings.Join(labels, " · "), Labels: labels})
		v.keys = append(v.keys, keysOf(labels))
		v.byID[id] = i
		v.centroids = append(v.centroids, unit(vec)...)
	}
	return v
}

// BenchmarkRank ranks a profile against 2,000 and 20,000 communities in memory, side
// by side with the plain Go loop it replaces (a dot product per centroid, no BLAS).
//
//	go test -run '^$' -bench Rank ./matching
func BenchmarkRank(b *testing.B) {
	for _, k := range []int{2_000, 20_000} {
		v := syntheticView(k)
		q := v.centroids[:256]
		terms := []string{"yoga", "ocean cleanup"}
		b.Run("gemv/k="+strconv.Itoa(k), func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Rank(q, terms, 3); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("loop/k="+strconv.Itoa(k), func(b *testing.B) {
			scores := make([]float32, k)
			for b.Loop() {
				for i := range k {
					var s float32
					for j, x := range v.centroids[i*256 : (i+1)*256] {
						s += x * q[j]
					}
					scores[i] = s
				}
				_, _ = clustering.Best(scores, 3)
			}
		})
	}
}

// BenchmarkViewMemory measures what a view of 100,000 communities holds on the heap
// (names and labels of demo length, 256 dimensions), beside View.Bytes' estimate.
//
//	go test -run '^$' -bench ViewMemory -benchtime 1x ./matching
func BenchmarkViewMemory(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		v := syntheticView(100_000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(v.Bytes())/(1<<20), "MiB-estimate")
		runtime.KeepAlive(v)
	}
}
