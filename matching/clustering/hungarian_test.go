package clustering

import (
	"math"
	"math/rand/v2"
	"testing"
)

// brute finds the optimal assignment cost by trying every permutation.
func brute(cost [][]float64) float64 {
	rows, cols := len(cost), len(cost[0])
	best := math.Inf(1)
	used := make([]bool, cols)
	var rec func(i int, acc float64)
	rec = func(i int, acc float64) {
		if i == rows {
			best = min(best, acc)
			return
		}
		for j := 0; j < cols; j++ {
			if !used[j] {
				used[j] = true
				rec(i+1, acc+cost[i][j])
				used[j] = false
			}
		}
		if rows > cols { // a row may stay unassigned when there are more rows
			rec(i+1, acc)
		}
	}
	rec(0, 0)
	return best
}

func TestAssignMinIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		rows, cols := 1+rng.IntN(6), 1+rng.IntN(6)
		if rows > cols {
			rows = cols // brute force counts unassigned rows as free; keep rows ≤ cols
		}
		cost := make([][]float64, rows)
		for i := range cost {
			cost[i] = make([]float64, cols)
			for j := range cost[i] {
				cost[i][j] = rng.Float64()
			}
		}
		got := assignMin(cost)
		seen := map[int]bool{}
		total := 0.0
		for i, j := range got {
			if j < 0 || seen[j] {
				t.Fatalf("trial %d: row %d got column %d (dup or none)", trial, i, j)
			}
			seen[j] = true
			total += cost[i][j]
		}
		if want := brute(cost); math.Abs(total-want) > 1e-9 {
			t.Fatalf("trial %d: cost %.6f, optimum %.6f", trial, total, want)
		}
	}
}

func TestMatchCentroidsKeepsOnlyCloseOnes(t *testing.T) {
	prev := [][]float32{{1, 0}, {0, 1}}
	next := [][]float32{{0, 1}, {0.995, 0.0998}, {-1, 0}}
	got := MatchCentroids(next, prev, 0.6)
	if got[0] != 1 || got[1] != 0 || got[2] != -1 {
		t.Fatalf("MatchCentroids = %v, want [1 0 -1]", got)
	}
}
