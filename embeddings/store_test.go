package embeddings_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

func TestBackfillEmbedsConsentingMembersOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	ms, err := members.DecodeMembers(strings.NewReader(`{"id":"m-1","interests":["yoga"],"consent":{"personalization":true}}
{"id":"m-2","interests":["padel"],"consent":{"personalization":true}}
{"id":"m-3","interests":["surfing"],"consent":{"personalization":false}}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := members.Upsert(ctx, pool, ms); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	b := &embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal(), Now: func() time.Time { return now }, BatchSize: 1}

	res, err := b.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res != (embeddings.BackfillResult{Embedded: 2}) {
		t.Fatalf("first run %+v, want 2 embedded", res)
	}
	vecs, err := embeddings.Load(ctx, pool, embeddings.LocalModel)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || vecs[0].MemberID != "m-1" || vecs[1].MemberID != "m-2" || len(vecs[0].Vec) != embeddings.Dim {
		t.Fatalf("stored vectors: %d (%v)", len(vecs), vecs)
	}

	res, err = b.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res != (embeddings.BackfillResult{Unchanged: 2}) {
		t.Fatalf("re-run %+v, want 2 unchanged", res)
	}

	// New activity changes the profile; withdrawn consent removes the vector.
	es, lines, _ := members.DecodeEvents(strings.NewReader(`{"id":"e-1","member_id":"m-1","type":"class_completed","at":"2026-11-19T07:00:00Z","props":{"category":"yoga"}}`), 0)
	if _, err := members.InsertEvents(ctx, pool, es, lines, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE members SET consent_personalization = false WHERE id = 'm-2'"); err != nil {
		t.Fatal(err)
	}
	res, err = b.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res != (embeddings.BackfillResult{Embedded: 1, Removed: 1}) {
		t.Fatalf("after changes %+v, want 1 embedded, 1 removed", res)
	}
	var model string
	if err := pool.QueryRow(ctx, "SELECT model FROM member_vectors WHERE member_id = 'm-1'").Scan(&model); err != nil || model != embeddings.LocalModel {
		t.Fatalf("stored model %q (err %v)", model, err)
	}
}

func TestBulkBackfillKeepsTheIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	var b strings.Builder
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&b, `{"id":"m-%d","interests":["yoga","hiking"],"consent":{"personalization":true}}`+"\n", i)
	}
	ms, err := members.DecodeMembers(strings.NewReader(b.String()), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := members.Upsert(ctx, pool, ms); err != nil {
		t.Fatal(err)
	}
	res, err := (&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal()}).RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Embedded != 1200 {
		t.Fatalf("embedded %d, want 1200", res.Embedded)
	}
	var def string
	if err := pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND indexname = 'member_vectors_embedding_idx'`).Scan(&def); err != nil {
		t.Fatalf("HNSW index missing after a bulk load: %v", err)
	}
	if !strings.Contains(def, "hnsw") || !strings.Contains(def, "vector_cosine_ops") {
		t.Fatalf("index rebuilt as %q", def)
	}
}

func TestBackfillResumesAfterCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	var b strings.Builder
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&b, `{"id":"m-%04d","interests":["yoga"],"consent":{"personalization":true}}`+"\n", i)
	}
	ms, _ := members.DecodeMembers(strings.NewReader(b.String()), 0)
	if _, err := members.Upsert(ctx, pool, ms); err != nil {
		t.Fatal(err)
	}
	// An embedder that cancels the run after its second batch.
	cctx, cancel := context.WithCancel(ctx)
	counting := &cancelAfter{Embedder: embeddings.NewLocal(), batches: 2, cancel: cancel}
	if _, err := (&embeddings.Backfill{DB: pool, Embedder: counting, BatchSize: 100}).RunOnce(cctx); err == nil {
		t.Fatal("a cancelled backfill reported success")
	}
	var done int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM member_vectors").Scan(&done); err != nil {
		t.Fatal(err)
	}
	if done != 200 {
		t.Fatalf("%d vectors kept from the cancelled run, want the 2 committed batches (200)", done)
	}
	res, err := (&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal(), BatchSize: 100}).RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Embedded != 400 || res.Unchanged != 200 {
		t.Fatalf("resumed run: %+v, want the 400 left and 200 unchanged", res)
	}
}

type cancelAfter struct {
	embeddings.Embedder
	batches int
	cancel  func()
}

func (c *cancelAfter) Embed(ctx context.Context, ps []embeddings.Profile) ([][]float32, error) {
	c.batches--
	if c.batches < 0 {
		c.cancel()
		return nil, ctx.Err()
	}
	return c.Embedder.Embed(ctx, ps)
}

func TestTermModelsAreVersionedAndBackfilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	if m, err := embeddings.LatestTermModel(ctx, pool); err != nil || m != nil {
		t.Fatalf("no model yet: %v %v", m, err)
	}
	docs := [][]string{}
	for i := 0; i < 60; i++ {
		docs = append(docs, []string{"yoga", "meditation", "breathwork"}, []string{"padel", "tennis", "racket sports"})
	}
	m, err := embeddings.FitTerms(docs, embeddings.FitConfig{Dim: 4})
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 2; v++ {
		if err := embeddings.SaveTermModel(ctx, pool, m); err != nil || m.Version != v {
			t.Fatalf("save %d: version %d, err %v", v, m.Version, err)
		}
	}
	got, err := embeddings.LatestTermModel(ctx, pool)
	if err != nil || got.Version != 2 || len(got.Terms) != 6 || got.Name() != "learned-ppmi-v2" || got.DF["yoga"] != 60 || len(got.DF) != 6 {
		t.Fatalf("latest: %+v %v", got, err)
	}
	// Vectors of the hashing model are re-embedded when the learned model takes over.
	ms, _ := members.DecodeMembers(strings.NewReader(`{"id":"m-1","interests":["yoga"],"consent":{"personalization":true}}`), 0)
	members.Upsert(ctx, pool, ms)
	(&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal()}).RunOnce(ctx)
	res, err := (&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLearned(got)}).RunOnce(ctx)
	if err != nil || res.Embedded != 1 {
		t.Fatalf("model change: %+v %v, want 1 re-embedded", res, err)
	}
	var model string
	pool.QueryRow(ctx, "SELECT model FROM member_vectors").Scan(&model)
	if model != "learned-ppmi-v2-r2+idf" { // the model counted its terms: rare ones weigh more
		t.Fatalf("stored model %q", model)
	}
}
