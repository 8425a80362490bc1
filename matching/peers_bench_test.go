package matching_test

import (
	"context"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// BenchmarkPeers measures the peer searches on 20,000 demo members (centered vectors
// and the language facet, as served), side by side:
// across the whole membership through the HNSW index (with its recall@10 against
// exact search over 300 members), and the exact scans within the member's community
// and tribe.
//
//	go test -run '^$' -bench Peers -benchtime 300x ./matching
func BenchmarkPeers(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Schema(b)
	brand := loadDemoTB(b, pool, 20000)
	// As served: the vectors centered (BELONG_CENTER=on), then clustered.
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c, err := embeddings.FitCenter(ctx, pool, embeddings.NewLocal(), now)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := (&embeddings.Backfill{DB: pool, Embedder: c, Now: func() time.Time { return now }}).RunOnce(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Model: c.Model(), Facets: []string{"language"}}}).RunOnce(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE members"); err != nil { // as autovacuum would have by now
		b.Fatal(err)
	}
	view, err := matching.NewRuns(pool).Current(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, m := range brand.Members {
		if m.Consent.Personalization && m.Consent.Community {
			ids = append(ids, m.ID)
		}
	}
	exact := make(map[string]map[string]bool)
	for _, id := range ids[:300] {
		got, err := matching.ExactPeers(ctx, pool, view, id, 10)
		if err != nil {
			b.Fatal(err)
		}
		want := map[string]bool{}
		for _, g := range got {
			want[g] = true
		}
		exact[id] = want
	}
	for _, scope := range matching.Scopes {
		b.Run(scope, func(b *testing.B) {
			hits, total := 0, 0
			for i := range b.N {
				id := ids[i%300]
				res, err := matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: id, Scope: scope, Limit: 10})
				got := res.Peers
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range got {
					if exact[id][p.MemberID] {
						hits++
					}
				}
				total += len(exact[id])
			}
			b.ReportMetric(float64(hits)/float64(total), "recall@10")
		})
	}
}
