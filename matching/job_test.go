package matching_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// loadDemo stores a demo brand and embeds it, returning the brand (with its truth).
func loadDemo(t *testing.T, pool *pgxpool.Pool, n int) demo.Brand {
	t.Helper()
	return loadDemoTB(t, pool, n)
}

// loadDemoTB is loadDemo for tests and benchmarks; benchmarks also get a cluster run.
func loadDemoTB(t testing.TB, pool *pgxpool.Pool, n int) demo.Brand {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b := demo.Generate(demo.Config{Members: n, Seed: 1, Now: now, NoConsentShare: 0.05})
	if _, err := members.Upsert(ctx, pool, b.Members); err != nil {
		t.Fatal(err)
	}
	if _, err := members.InsertEvents(ctx, pool, b.Events, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	bf := &embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal(), Now: func() time.Time { return now }}
	if _, err := bf.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// primaries reads each member's primary community in the current run.
func primaries(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT member_id, community_id FROM memberships
		WHERE run_id = (SELECT run_id FROM current_run) AND rank = 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var m, c string
		if err := rows.Scan(&m, &c); err != nil {
			t.Fatal(err)
		}
		out[m] = c
	}
	return out
}

// recovery scores the current run's primaries against the planted personas.
func recovery(t *testing.T, pool *pgxpool.Pool, b demo.Brand) (nmi, purity float64, clustered int) {
	t.Helper()
	prim := primaries(t, pool)
	ids := map[string]int{}
	var assign, truth []int
	for i, m := range b.Members {
		c, ok := prim[m.ID]
		if !ok {
			continue
		}
		if _, ok := ids[c]; !ok {
			ids[c] = len(ids)
		}
		assign = append(assign, ids[c])
		truth = append(truth, b.Persona[i])
	}
	return clustering.NMI(assign, truth), clustering.Purity(assign, truth), len(assign)
}

func TestJobRecoversDemoPersonas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	b := loadDemo(t, pool, 5000)
	consenting := 0
	for _, m := range b.Members {
		if m.Consent.Personalization {
			consenting++
		}
	}

	// Micro-communities: many more groups than personas, each should be pure.
	job := &matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 50, Seed: 1}}}
	res, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Members != consenting {
		t.Fatalf("clustered %d members, want the %d who consented", res.Members, consenting)
	}
	nmi, purity, n := recovery(t, pool, b)
	t.Logf("micro-communities: k=%d, NMI %.3f, purity %.3f over %d members", res.Communities, nmi, purity, n)
	if n != consenting {
		t.Fatalf("%d members have a primary community, want %d", n, consenting)
	}
	if purity < 0.9 {
		t.Fatalf("purity %.3f: micro-communities mix personas", purity)
	}
	prim := primaries(t, pool)
	for _, m := range b.Members {
		if _, ok := prim[m.ID]; ok != m.Consent.Personalization {
			t.Fatalf("member %s (consent %v) in a community: %v", m.ID, m.Consent.Personalization, ok)
		}
	}
	var unlabelled int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM communities WHERE run_id = $1 AND cardinality(labels) = 0", res.RunID).Scan(&unlabelled); err != nil {
		t.Fatal(err)
	}
	if unlabelled > res.Communities/10 {
		t.Fatalf("%d of %d communities have no label", unlabelled, res.Communities)
	}

	// Tribes sit above: every community has one, and each tribe is labelled.
	var orphans, unlabelledTribes int
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM communities c WHERE c.run_id = $1 AND NOT EXISTS
			(SELECT 1 FROM tribes t WHERE t.run_id = c.run_id AND t.id = c.tribe_id)),
		(SELECT count(*) FROM tribes WHERE run_id = $1 AND cardinality(labels) = 0)`, res.RunID).Scan(&orphans, &unlabelledTribes); err != nil {
		t.Fatal(err)
	}
	if orphans > 0 || unlabelledTribes > 0 || res.Tribes < 2 {
		t.Fatalf("%d communities without a tribe, %d unlabelled tribes, %d tribes", orphans, unlabelledTribes, res.Tribes)
	}

	// One community per persona (bounds lifted): the partition should match the
	// personas closely. This is the pure core on the stored vectors.
	vecs, err := embeddings.Load(ctx, pool, embeddings.LocalModel)
	if err != nil {
		t.Fatal(err)
	}
	x := make([][]float32, len(vecs))
	truth := make([]int, len(vecs))
	personaOf := map[string]int{}
	for i, m := range b.Members {
		personaOf[m.ID] = b.Persona[i]
	}
	for i, v := range vecs {
		x[i], truth[i] = v.Vec, personaOf[v.MemberID]
	}
	cl, err := clustering.Cluster(ctx, x, clustering.Previous{}, clustering.ClusterConfig{
		TargetSize: consenting / len(demo.Personas), MinSize: 12, MaxSize: consenting, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	nmi = clustering.NMI(cl.Assign, truth)
	t.Logf("persona-sized: k=%d, NMI %.3f, purity %.3f", len(cl.Centroids), nmi, clustering.Purity(cl.Assign, truth))
	if nmi < 0.85 {
		t.Fatalf("NMI %.3f with one community per persona, want ≥ 0.85", nmi)
	}
}

func TestNoConsentMemberIsNotMatched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	b := loadDemo(t, pool, 400)
	if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 40}}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var withConsent, without string
	for _, m := range b.Members {
		if m.Consent.Personalization && withConsent == "" {
			withConsent = m.ID
		}
		if !m.Consent.Personalization && without == "" {
			without = m.ID
		}
	}
	if without == "" {
		t.Fatal("demo brand has no member without consent")
	}
	view, err := matching.NewRuns(pool).Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mm, err := matching.MemberCommunities(ctx, pool, view, without, 3)
	if err != nil || len(mm.Communities) != 0 || mm.Reason != matching.ReasonNoConsent {
		t.Fatalf("member without consent matched: %+v (err %v)", mm, err)
	}
	mm, err = matching.MemberCommunities(ctx, pool, view, withConsent, 3)
	if ms := mm.Communities; err != nil || len(ms) == 0 || !ms[0].Primary || len(ms[0].Labels) == 0 || mm.Reason != "" {
		t.Fatalf("consenting member: %+v (err %v), want a labelled primary community", mm, err)
	}
	// Consent withdrawn after the run takes effect at once.
	if _, err := pool.Exec(ctx, "UPDATE members SET consent_personalization = false WHERE id = $1", withConsent); err != nil {
		t.Fatal(err)
	}
	if mm, _ = matching.MemberCommunities(ctx, pool, view, withConsent, 3); len(mm.Communities) != 0 {
		t.Fatalf("withdrawn consent still matched: %v", mm)
	}
	if _, err := matching.MemberCommunities(ctx, pool, view, "nobody", 3); !errors.Is(err, members.ErrNotFound) {
		t.Fatalf("unknown member: %v", err)
	}
}

func TestConcurrentRunIsRefusedAndLastRunKeepsServing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	loadDemo(t, pool, 300)
	job := &matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 30}}}
	first, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// Another run in progress holds the lock.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+matching.RunLockKey+")"); err != nil {
		t.Fatal(err)
	}
	if _, err := job.RunOnce(ctx); !errors.Is(err, matching.ErrRunning) {
		t.Fatalf("second run while locked: %v, want ErrRunning", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock("+matching.RunLockKey+")"); err != nil {
		t.Fatal(err)
	}
	if run, err := matching.CurrentRun(ctx, pool); err != nil || run != first.RunID {
		t.Fatalf("current run %d (err %v), want %d", run, err, first.RunID)
	}

	// A run cancelled mid-way (during k-means) is recorded as failed with its error,
	// publishes nothing, and the next run succeeds.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cancelling := &matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 30},
		Progress: func(stage string, done, _ int) {
			if stage == "k-means" && done >= 1 {
				cancel()
			}
		}}}
	if _, err := cancelling.RunOnce(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err = %v, want context.Canceled", err)
	}
	var status, msg string
	if err := pool.QueryRow(ctx, `SELECT status, metrics->>'error' FROM cluster_runs ORDER BY id DESC LIMIT 1`).Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(msg, "canceled") {
		t.Fatalf("cancelled run recorded as %q with error %q", status, msg)
	}
	if run, err := matching.CurrentRun(ctx, pool); err != nil || run != first.RunID {
		t.Fatalf("after a cancelled run, current run %d (err %v), want %d", run, err, first.RunID)
	}
	next, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatalf("run after a cancelled one: %v", err)
	}
	if run, _ := matching.CurrentRun(ctx, pool); run != next.RunID {
		t.Fatalf("current run %d, want the new %d", run, next.RunID)
	}
}

// moved counts members present in both maps whose community differs.
func moved(before, after map[string]string) (int, int) {
	n, both := 0, 0
	for m, c := range after {
		if p, ok := before[m]; ok {
			both++
			if p != c {
				n++
			}
		}
	}
	return n, both
}

func TestRerunsAreStable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	b := loadDemo(t, pool, 3000)
	job := &matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{Seed: 1}}}
	if _, err := job.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	before := primaries(t, pool)

	// 2% of members take up another persona's interests.
	rng := rand.New(rand.NewPCG(42, 1))
	var changed []members.Member
	for _, i := range rng.Perm(len(b.Members)) {
		m := b.Members[i]
		if !m.Consent.Personalization {
			continue
		}
		if len(changed) == len(b.Members)/50 {
			break
		}
		other := demo.Personas[(b.Persona[i]+1+rng.IntN(len(demo.Personas)-1))%len(demo.Personas)]
		m.Interests = append([]string(nil), other.Core...)
		changed = append(changed, m)
	}
	if _, err := members.Upsert(ctx, pool, changed); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if res, err := (&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal(), Now: func() time.Time { return now }}).RunOnce(ctx); err != nil || res.Embedded != len(changed) {
		t.Fatalf("re-embed: %+v (err %v), want %d embedded", res, err, len(changed))
	}
	res, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := primaries(t, pool)
	n, both := moved(before, after)
	share := float64(n) / float64(both)
	t.Logf("2%% changed: %d of %d members moved (%.2f%%); run churn %.3f, births %d, deaths %d", n, both, 100*share, res.Churn, res.Births, res.Deaths)
	if share >= 0.05 {
		t.Fatalf("%.2f%% of members moved after 2%% changed, want < 5%%", 100*share)
	}
	if diff := res.Churn - float64(n)/float64(both); diff > 0.001 || diff < -0.001 {
		t.Fatalf("run reports churn %.3f, measured %.3f", res.Churn, share)
	}

	// Tribes hold too: few members change tribe, and no tribe is born or dies.
	t.Logf("tribes: churn %.3f, births %d, deaths %d", res.TribeChurn, res.TribeBirths, res.TribeDeaths)
	if res.TribeChurn > res.Churn || res.TribeBirths > 0 || res.TribeDeaths > 0 {
		t.Fatalf("tribes after 2%% changed: churn %.3f (communities %.3f), births %d, deaths %d", res.TribeChurn, res.Churn, res.TribeBirths, res.TribeDeaths)
	}

	// Another seed, no data change.
	job.Config.Cluster.Seed = 7
	res, err = job.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, both = moved(after, primaries(t, pool))
	share = float64(n) / float64(both)
	t.Logf("new seed, no change: %d of %d members moved (%.2f%%), tribe churn %.3f", n, both, 100*share, res.TribeChurn)
	if share >= 0.02 || res.TribeChurn >= 0.02 || res.TribeBirths > 0 {
		t.Fatalf("%.2f%% of members moved with no data change (tribes %.3f, %d born), want < 2%%", 100*share, res.TribeChurn, res.TribeBirths)
	}
}

// Erasure wins over a cluster run: a member erased while the run computes is left out
// of it, and the run publishes without them.
func TestErasureDuringARunLeavesTheMemberOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	b := loadDemo(t, pool, 300)
	var erased string
	for _, m := range b.Members {
		if m.Consent.Personalization {
			erased = m.ID
			break
		}
	}
	done := false
	job := &matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 30},
		Progress: func(stage string, _, _ int) {
			if stage == "k-means" && !done {
				done = true
				if err := members.Erase(ctx, pool, erased); err != nil {
					t.Errorf("erase during the run: %v", err)
				}
			}
		}}}
	res, err := job.RunOnce(ctx)
	if err != nil || !done {
		t.Fatalf("run with an erasure in the middle: %v (erased: %v)", err, done)
	}
	if run, _ := matching.CurrentRun(ctx, pool); run != res.RunID {
		t.Fatalf("current run %d, want %d", run, res.RunID)
	}
	ps := primaries(t, pool)
	if _, ok := ps[erased]; ok || len(ps) == 0 {
		t.Fatalf("erased member in the run: %v; %d members in it", ok, len(ps))
	}
}

// A run whose process was killed (kill -9) stays "running" in its row; readers see it
// failed once no process holds the run lock, and the next run records it so.
func TestADeadRunIsReportedFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	loadDemo(t, pool, 200)
	var dead int64
	if err := pool.QueryRow(ctx, `INSERT INTO cluster_runs (status, model, params) VALUES ('running', 'local', '{}') RETURNING id`).Scan(&dead); err != nil {
		t.Fatal(err)
	}
	run, err := matching.GetRun(ctx, pool, dead)
	if err != nil || run.Status != "failed" || !strings.Contains(fmt.Sprint(run.Metrics["error"]), "died") {
		t.Fatalf("a running row with no live run: %+v, %v; want it reported failed", run, err)
	}
	// While a live run holds the lock, a running row is just that: running.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+matching.RunLockKey+")"); err != nil {
		t.Fatal(err)
	}
	if run, err := matching.GetRun(ctx, pool, dead); err != nil || run.Status != "running" {
		t.Fatalf("with the lock held: %+v, %v; want running", run, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock("+matching.RunLockKey+")"); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	job := &matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 30}}}
	if _, err := job.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := pool.QueryRow(ctx, "SELECT status FROM cluster_runs WHERE id = $1", dead).Scan(&status); err != nil || status != "failed" {
		t.Fatalf("after the next run the dead run's row says %q (%v), want failed", status, err)
	}
}
