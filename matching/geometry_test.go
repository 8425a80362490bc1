package matching_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// rewriteVectors replaces every stored vector of model from by f of it, under model to.
func rewriteVectors(t *testing.T, pool *pgxpool.Pool, from, to string, f func([]float32) []float32) {
	t.Helper()
	ctx := context.Background()
	vecs, err := embeddings.Load(ctx, pool, from)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vecs {
		if _, err := pool.Exec(ctx, "UPDATE member_vectors SET embedding = $2, model = $3 WHERE member_id = $1",
			v.MemberID, pgvector.NewVector(f(v.Vec)), to); err != nil {
			t.Fatal(err)
		}
	}
}

// On vectors squeezed into a narrow cone, as a real text model's are, the bars for
// secondary communities and peers move with the data instead of letting everyone
// through; centering the same vectors brings unrelated members back near zero with
// the communities unchanged in quality.
func TestThresholdsFollowTheGeometry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	brand := loadDemo(t, pool, 2000)
	rng := rand.New(rand.NewPCG(3, 3))
	common := make([]float32, embeddings.Dim)
	for i := range common {
		common[i] = float32(rng.NormFloat64())
	}
	embeddings.Normalize(common)
	squeeze := func(v []float32) []float32 {
		out := make([]float32, len(v))
		for i := range v {
			out[i] = 0.45*v[i] + common[i]
		}
		embeddings.Normalize(out)
		return out
	}
	rewriteVectors(t, pool, embeddings.LocalModel, "squeezed", squeeze)
	res, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Model: "squeezed", Cluster: clustering.ClusterConfig{Seed: 1}}}).RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("squeezed: pair cosine %.3f, secondary bar %.3f, %.0f%% with a secondary, peer floor %.3f",
		res.PairCosine, res.SecondaryMin, 100*res.Secondary, res.PeerFloor)
	if res.PairCosine < 0.75 {
		t.Fatalf("squeezed vectors: random pairs score %.3f on average, want ≥ 0.75 (the fixture)", res.PairCosine)
	}
	// A fixed bar of 0.75 would give every member a secondary here: every community
	// scores above it for everyone.
	if res.SecondaryMin < 0.9 || res.Secondary > 0.7 {
		t.Fatalf("secondary bar %.3f and share %.2f: the bar did not follow the squeeze", res.SecondaryMin, res.Secondary)
	}
	if res.PeerFloor < 0.7 {
		t.Fatalf("peer floor %.3f on squeezed vectors, want near the typical pair (≥ 0.7)", res.PeerFloor)
	}
	view, err := matching.NewRuns(pool).Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range brand.Members[:50] {
		if !m.Consent.Personalization || !m.Consent.Community {
			continue
		}
		for _, scope := range matching.Scopes {
			got, err := matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: m.ID, Scope: scope, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range got.Peers {
				if p.Score < res.PeerFloor-0.001 {
					t.Fatalf("%s peer %s of %s scores %.3f, below the floor %.3f", scope, p.MemberID, m.ID, p.Score, res.PeerFloor)
				}
			}
		}
	}

	// Centered (the mean removed, as embeddings.Centered does), unrelated members
	// score near zero and the communities are as pure as on the local vectors.
	vecs, err := embeddings.Load(ctx, pool, "squeezed")
	if err != nil {
		t.Fatal(err)
	}
	mean := make([]float64, embeddings.Dim)
	for _, v := range vecs {
		for i, f := range v.Vec {
			mean[i] += float64(f) / float64(len(vecs))
		}
	}
	center := func(v []float32) []float32 {
		out := make([]float32, len(v))
		for i := range v {
			out[i] = v[i] - float32(mean[i])
		}
		embeddings.Normalize(out)
		return out
	}
	rewriteVectors(t, pool, "squeezed", "centered", center)
	res, err = (&matching.Job{DB: pool, Config: matching.JobConfig{Model: "centered", Cluster: clustering.ClusterConfig{Seed: 1}}}).RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, purity, _ := recovery(t, pool, brand)
	t.Logf("centered: pair cosine %.3f, secondary bar %.3f, %.0f%% with a secondary, peer floor %.3f, purity %.3f",
		res.PairCosine, res.SecondaryMin, 100*res.Secondary, res.PeerFloor, purity)
	if math.Abs(res.PairCosine) > 0.1 || res.PeerFloor > 0.2 {
		t.Fatalf("centered: random pairs score %.3f, floor %.3f; want near 0", res.PairCosine, res.PeerFloor)
	}
	if purity < 0.99 {
		t.Fatalf("centered: persona purity %.3f, want ≥ 0.99", purity)
	}
}
