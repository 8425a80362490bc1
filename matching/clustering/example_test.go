package clustering_test

import (
	"context"
	"fmt"

	"github.com/belong-loyalty/belong/matching/clustering"
)

func ExampleSphericalKMeans() {
	// Two tight groups of directions on the unit circle.
	x := [][]float32{{1, 0}, {0.99, 0.14}, {0.98, -0.2}, {0, 1}, {0.1, 0.99}, {-0.14, 0.99}}
	res, err := clustering.SphericalKMeans(context.Background(), x, clustering.KMeansConfig{K: 2, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Assign[0] == res.Assign[1], res.Assign[1] == res.Assign[2], res.Assign[0] == res.Assign[3])
	// Output: true true false
}

func ExampleLabel() {
	terms := [][]string{{"surfing", "coffee"}, {"surfing", "ocean clean-ups"}, {"padel", "coffee"}, {"padel"}}
	labels := clustering.Label(terms, []int{0, 0, 1, 1}, 2, clustering.LabelConfig{Max: 2})
	fmt.Println(clustering.Name(labels[0]))
	fmt.Println(clustering.Name(labels[1]))
	// Output:
	// Surfing · Ocean clean-ups
	// Padel · Coffee
}
