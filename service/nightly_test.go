package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/service"
)

// bundle is a demo brand loaded into a fresh schema, not yet embedded, and the use
// cases over it with a queue that only inserts (nothing works the jobs).
type bundle struct {
	svc   *service.Service
	queue *river.Client[pgx.Tx]
}

func setup(t *testing.T, n int) bundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	queue, err := jobs.NewInserter(pool, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc := &service.Service{DB: pool, Queue: queue, Locales: []string{"en", "sv"},
		Embedder:   func(context.Context, database.DBTX) (embeddings.Embedder, error) { return embeddings.NewLocal(), nil },
		Clustering: service.ClusterParams{TargetSize: 30, MinSize: 8, MaxSize: 90, Seed: 1}}
	brand := demo.Generate(demo.Config{Members: n, Seed: 5, Now: time.Now().UTC().Truncate(24 * time.Hour)})
	if _, err := svc.IngestMembers(ctx, brand.Members); err != nil {
		t.Fatal(err)
	}
	if _, err := members.InsertEvents(ctx, pool, brand.Events, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	return bundle{svc: svc, queue: queue}
}

func (b bundle) queued(t *testing.T, kind string) int {
	t.Helper()
	res, err := b.queue.JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(10_000))
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Jobs)
}

func TestNightlyEmbedsClustersAndQueuesProfilesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, 300)
	if err := b.svc.Nightly(ctx); err != nil {
		t.Fatal(err)
	}
	view, err := b.svc.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs := matching.ListCommunities(view, "", 500)
	if len(cs) == 0 {
		t.Fatalf("after the first night: %d communities, %v", len(cs), err)
	}
	kind := service.DraftCommunityArgs{}.Kind()
	if got, want := b.queued(t, kind), 2*len(cs); got != want {
		t.Fatalf("%d profile drafts queued for %d communities in 2 locales, want %d", got, len(cs), want)
	}
	runs, err := matching.ListRuns(ctx, b.svc.DB, 0, 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs after the first night: %d, %v", len(runs), err)
	}
	// A second night with nothing changed embeds nothing, publishes no run and queues
	// nothing twice.
	if err := b.svc.Nightly(ctx); err != nil {
		t.Fatal(err)
	}
	if runs, _ = matching.ListRuns(ctx, b.svc.DB, 0, 10); len(runs) != 1 {
		t.Fatalf("an unchanged night published run %d", runs[0].ID)
	}
	if got := b.queued(t, kind); got != 2*len(cs) {
		t.Fatalf("%d profile drafts queued after the second night, want still %d", got, 2*len(cs))
	}
}

func TestPruneKeepsTheLastRunsMemberships(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, 200)
	if _, err := b.svc.Embed(ctx, false); err != nil {
		t.Fatal(err)
	}
	var runs []int64
	for seed := range uint64(4) {
		p := b.svc.Clustering
		p.Seed = seed + 1
		res, err := b.svc.Cluster(ctx, p, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, res.RunID)
	}
	b.svc.KeepRuns = 2
	res, err := b.svc.Prune(ctx)
	if err != nil || res.Memberships == 0 {
		t.Fatalf("prune: %+v, %v; want the two oldest runs' memberships deleted", res, err)
	}
	// The two newest runs keep their memberships; the older two lose theirs.
	for i, id := range runs {
		var n int
		if err := b.svc.DB.QueryRow(ctx, "SELECT count(*) FROM memberships WHERE run_id = $1", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if kept := i >= 2; kept != (n > 0) {
			t.Errorf("run %d (%d of 4) has %d memberships after pruning to the last 2", id, i+1, n)
		}
	}
	if again, err := b.svc.Prune(ctx); err != nil || again.Memberships != 0 {
		t.Fatalf("a second prune: %+v, %v; want nothing left to delete", again, err)
	}
	// The run's vector copies and peer lists serve only the current run: once it has
	// been current for a minute (API nodes have moved on), the others go.
	copies := func() (older, current int) {
		if err := b.svc.DB.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM run_vectors WHERE run_id <> $1) + (SELECT count(*) FROM run_peers WHERE run_id <> $1),
			(SELECT count(*) FROM run_vectors WHERE run_id = $1) + (SELECT count(*) FROM run_peers WHERE run_id = $1)`,
			runs[3]).Scan(&older, &current); err != nil {
			t.Fatal(err)
		}
		return older, current
	}
	if older, current := copies(); older == 0 || current == 0 {
		t.Fatalf("before the grace minute: %d rows of older runs' copies and lists, %d of the current; want both kept", older, current)
	}
	if _, err := b.svc.DB.Exec(ctx, "UPDATE current_run SET published_at = now() - interval '2 minutes'"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if older, current := copies(); older != 0 || current == 0 {
		t.Fatalf("after it: %d rows of older runs' copies and lists, %d of the current; want only the current's", older, current)
	}
}

// With 2,100 members of whom fewer than 2,000 consent, auto mode has too few to learn
// from: it keeps hashing (and the nightly pipeline goes on) instead of failing.
func TestEmbedKeepsHashingUntilEnoughMembersConsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	queue, err := jobs.NewInserter(pool, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc := &service.Service{DB: pool, Queue: queue, LearnWhenReady: true,
		Embedder: func(context.Context, database.DBTX) (embeddings.Embedder, error) { return embeddings.NewLocal(), nil }}
	brand := demo.Generate(demo.Config{Members: 2100, Seed: 5, Now: time.Now().UTC(), NoConsentShare: 0.1})
	if _, err := svc.IngestMembers(ctx, brand.Members); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Embed(ctx, false)
	if err != nil || res.Learned != nil || res.Embedded == 0 || res.Embedded >= 2000 {
		t.Fatalf("auto embed: %+v, %v; want the consenting members hashed and no term model", res, err)
	}
	if _, err := svc.Embed(ctx, true); err == nil || !errors.Is(err, embeddings.ErrTooSmall) {
		t.Fatalf("an explicit refit on too small a membership: %v; want ErrTooSmall", err)
	}
}
