package embeddings_test

import (
	"context"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// BenchmarkIngestEmbed measures the whole path a new brand takes into pgvector:
// upsert members, insert their 90 days of events, embed them with the local embedder
// and index the vectors (HNSW). It reports members/s end to end and per stage.
//
//	make bench, or: go test -run '^$' -bench IngestEmbed -benchtime 3x ./embeddings
func BenchmarkIngestEmbed(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Schema(b)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	brand := demo.Generate(demo.Config{Members: n, Seed: 1, Now: now})
	var tMembers, tEvents, tEmbed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := pool.Exec(ctx, "TRUNCATE members CASCADE"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := members.Upsert(ctx, pool, brand.Members); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := members.InsertEvents(ctx, pool, brand.Events, nil, time.Now()); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		res, err := (&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal(), Now: func() time.Time { return now }}).RunOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.Embedded != n {
			b.Fatalf("embedded %d, want %d", res.Embedded, n)
		}
		t3 := time.Now()
		tMembers += t1.Sub(t0)
		tEvents += t2.Sub(t1)
		tEmbed += t3.Sub(t2)
	}
	total := tMembers + tEvents + tEmbed
	iters := float64(b.N)
	b.ReportMetric(n*iters/total.Seconds(), "members/s")
	b.ReportMetric(n*iters/tMembers.Seconds(), "upsert_members/s")
	b.ReportMetric(float64(len(brand.Events))*iters/tEvents.Seconds(), "events/s")
	b.ReportMetric(n*iters/tEmbed.Seconds(), "embed_members/s")
}

// BenchmarkLocalEmbed measures the local embedder alone, without the database.
func BenchmarkLocalEmbed(b *testing.B) {
	brand := demo.Generate(demo.Config{Members: 5000, Seed: 1, Now: time.Now()})
	ps := make([]embeddings.Profile, len(brand.Members))
	for i, m := range brand.Members {
		ps[i] = embeddings.Profile{Interests: m.Interests, Causes: m.Causes, SkillLevel: m.SkillLevel,
			Activity: []embeddings.Activity{{Type: "class_completed", Category: m.Interests[0], Weight: 5}}}
	}
	e := embeddings.NewLocal()
	b.ResetTimer()
	for range b.N {
		if _, err := e.Embed(context.Background(), ps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ps)*b.N)/b.Elapsed().Seconds(), "members/s")
}
