package embeddings_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// BenchmarkIngestEmbed measures the whole path a new brand takes into pgvector,
// beside PostgreSQL alone doing the same in the same run:
//
//   - belong: upsert members, insert their 90 days of events, embed them with the
//     local embedder and index the vectors (HNSW); members/s end to end and per stage.
//   - postgres: the very rows Belong stored (members, events, vectors), binary COPY
//     into the same tables with the same keys and indexes, the HNSW index dropped for
//     the load and built after it, as Belong's bulk load does.
//
// With -short, profile-only batches (no events).
//
//	go test -run '^$' -bench IngestEmbed -benchtime 3x ./embeddings
func BenchmarkIngestEmbed(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Schema(b)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	brand := demo.Generate(demo.Config{Members: n, Seed: 1, Now: now})
	if testing.Short() {
		brand.Events = nil
	}
	truncate := func(b *testing.B) {
		b.Helper()
		if _, err := pool.Exec(ctx, "TRUNCATE members, member_events CASCADE"); err != nil {
			b.Fatal(err)
		}
	}
	var stored map[string][]byte // each table's rows as Belong stored them (binary COPY)
	b.Run("belong", func(b *testing.B) {
		var tMembers, tEvents, tEmbed time.Duration
		for range b.N {
			b.StopTimer()
			truncate(b)
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
		if len(brand.Events) > 0 {
			b.ReportMetric(float64(len(brand.Events))*iters/tEvents.Seconds(), "events/s")
		}
		b.ReportMetric(n*iters/tEmbed.Seconds(), "embed_members/s")
		stored = dumpTables(ctx, b, pool, "members", "member_events", "member_vectors")
	})
	b.Run("postgres", func(b *testing.B) {
		if stored == nil {
			b.Skip("needs the belong run's rows")
		}
		var total time.Duration
		for range b.N {
			b.StopTimer()
			truncate(b)
			b.StartTimer()
			t0 := time.Now()
			if _, err := pool.Exec(ctx, "DROP INDEX member_vectors_embedding_idx"); err != nil {
				b.Fatal(err)
			}
			for _, table := range []string{"members", "member_events", "member_vectors"} {
				loadTable(ctx, b, pool, table, stored[table])
			}
			if _, err := pool.Exec(ctx, "CREATE INDEX member_vectors_embedding_idx ON member_vectors "+
				"USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"); err != nil {
				b.Fatal(err)
			}
			total += time.Since(t0)
		}
		b.ReportMetric(n*float64(b.N)/total.Seconds(), "members/s")
	})
}

// dumpTables reads each table whole in PostgreSQL's binary COPY format.
func dumpTables(ctx context.Context, b *testing.B, pool *pgxpool.Pool, tables ...string) map[string][]byte {
	b.Helper()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	out := map[string][]byte{}
	for _, t := range tables {
		var buf bytes.Buffer
		if _, err := conn.Conn().PgConn().CopyTo(ctx, &buf, "COPY "+t+" TO STDOUT (FORMAT binary)"); err != nil {
			b.Fatal(err)
		}
		out[t] = buf.Bytes()
	}
	return out
}

// loadTable writes rows dumped by dumpTables back with a binary COPY.
func loadTable(ctx context.Context, b *testing.B, pool *pgxpool.Pool, table string, rows []byte) {
	b.Helper()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(rows), "COPY "+table+" FROM STDIN (FORMAT binary)"); err != nil {
		b.Fatalf("copy %s: %v", table, err)
	}
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
