package matching_test

import (
	"context"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// BenchmarkPeerRecall measures peers through the HNSW index against exact search
// (a sequential scan with the same filters) on 20,000 demo members: recall@10 over 300
// members, and the time per HNSW query.
//
//	go test -run '^$' -bench PeerRecall -benchtime 300x ./matching
func BenchmarkPeerRecall(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Schema(b)
	brand := loadDemoTB(b, pool, 20000)
	if _, err := (&matching.Job{DB: pool}).RunOnce(ctx); err != nil {
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
		got, err := matching.ExactPeers(ctx, pool, id, 10)
		if err != nil {
			b.Fatal(err)
		}
		want := map[string]bool{}
		for _, g := range got {
			want[g] = true
		}
		exact[id] = want
	}
	hits, total := 0, 0
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		id := ids[i%300]
		got, err := matching.Peers(ctx, pool, id, "", 10)
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
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N)/1000, "ms/query")
}
