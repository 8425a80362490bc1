package clustering

import "math"

// assignMin solves the rectangular assignment problem: it pairs rows with columns of
// cost (rows ≤ cols or not) to minimize the total cost, each used at most once, and
// returns for each row its column or -1. It is the O(n³) shortest-augmenting-path
// method (Jonker–Volgenant style potentials) on a square matrix padded with zeros.
func assignMin(cost [][]float64) []int {
	rows := len(cost)
	if rows == 0 {
		return nil
	}
	cols := len(cost[0])
	n := max(rows, cols)
	a := func(i, j int) float64 { // 1-based, padded
		if i <= rows && j <= cols {
			return cost[i-1][j-1]
		}
		return 0
	}
	u := make([]float64, n+1)
	v := make([]float64, n+1)
	p := make([]int, n+1) // p[j]: row matched to column j
	way := make([]int, n+1)
	minv := make([]float64, n+1)
	used := make([]bool, n+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				if cur := a(i0, j) - u[i0] - v[j]; cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	out := make([]int, rows)
	for i := range out {
		out[i] = -1
	}
	for j := 1; j <= n; j++ {
		if p[j] >= 1 && p[j] <= rows && j <= cols {
			out[p[j]-1] = j - 1
		}
	}
	return out
}

// MatchCentroids pairs new centroids with previous ones by an optimal assignment on
// cosine cost and keeps the pairs at least minSim alike; from 1,000 centroids on, by
// taking the most similar free pairs first among each one's nearest (matchGreedy):
// the optimal assignment's k³ time and k² memory are out of reach at 20,000. It
// returns, for each new centroid, the index of its previous one or -1.
func MatchCentroids(next, prev [][]float32, minSim float32) []int {
	out := make([]int, len(next))
	for i := range out {
		out[i] = -1
	}
	if len(next) == 0 || len(prev) == 0 {
		return out
	}
	if max(len(next), len(prev)) >= exactBelow {
		return matchGreedy(next, prev, minSim)
	}
	cost := make([][]float64, len(next))
	for i, c := range next {
		cost[i] = make([]float64, len(prev))
		for j, pc := range prev {
			cost[i][j] = 1 - float64(dot(c, pc))
		}
	}
	for i, j := range assignMin(cost) {
		if j >= 0 && 1-cost[i][j] >= float64(minSim) {
			out[i] = j
		}
	}
	return out
}
