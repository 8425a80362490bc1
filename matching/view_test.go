package matching_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// A process serves the run it holds until it refreshes; Watch picks up runs other
// processes publish; the view ranks like PostgreSQL does.
func TestRunsFollowPublishedRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	loadDemo(t, pool, 300)
	runs := matching.NewRuns(pool)
	if _, err := runs.Current(ctx); !errors.Is(err, matching.ErrNoRun) {
		t.Fatalf("before any run: %v", err)
	}
	job := &matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 30, Seed: 1}}}
	first, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := runs.Current(ctx)
	if err != nil || v.ID != first.RunID || len(v.Communities) == 0 || v.Bytes() <= 0 {
		t.Fatalf("first run: %+v, %v", v, err)
	}
	// The in-memory ranking is PostgreSQL's cosine ranking of the stored centroids.
	var member string
	var want []string
	var scores []float64
	if err := pool.QueryRow(ctx, `SELECT v.member_id, array_agg(c.id ORDER BY c.d, c.id), array_agg(1 - c.d ORDER BY c.d, c.id)
		FROM (SELECT * FROM member_vectors ORDER BY member_id LIMIT 1) v
		CROSS JOIN LATERAL (SELECT id, centroid <=> v.embedding AS d FROM communities WHERE run_id = $1
			ORDER BY 2, 1 LIMIT 5) c GROUP BY v.member_id`, v.ID).Scan(&member, &want, &scores); err != nil {
		t.Fatal(err)
	}
	var vec []float32
	if err := pool.QueryRow(ctx, "SELECT embedding::real[] FROM member_vectors WHERE member_id = $1", member).Scan(&vec); err != nil {
		t.Fatal(err)
	}
	ms, err := v.Rank(vec, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		// Scores are rounded to 3 places; another id in a place is only a near tie.
		if math.Abs(m.Score-scores[i]) > 1e-3 || m.Rank != i+1 || m.Primary != (i == 0) {
			t.Fatalf("in-memory ranking %+v, PostgreSQL's %v %v", ms, want, scores)
		}
	}

	second, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := runs.Current(ctx); v.ID != first.RunID {
		t.Fatalf("the held run changed without a refresh: %d", v.ID)
	}
	watch, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); runs.Watch(watch, 10*time.Millisecond, slog.New(slog.DiscardHandler)) }()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v, _ := runs.Current(ctx); v.ID == second.RunID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Watch did not pick up the second run")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
