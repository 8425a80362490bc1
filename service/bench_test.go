package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/service"
)

// BenchmarkIngestEvents posts the batch of TestLargeEventBatchFiresEveryMilestone's
// shape through the use case: 10,000 events for 3,000 members, their milestones and
// recognition jobs in one transaction. Each iteration is a new batch of the same
// shape for new members.
//
//	go test -run '^$' -bench IngestEvents -benchtime 5x ./service
func BenchmarkIngestEvents(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Schema(b)
	queue, err := jobs.NewInserter(pool, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}
	svc := &service.Service{DB: pool, Queue: queue}
	now := time.Now().UTC()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		ms := make([]members.Member, 3000)
		for j := range ms {
			ms[j] = members.Member{ID: fmt.Sprintf("b%d-m%04d", i, j), Name: "Member", Timezone: "UTC",
				Consent: members.Consent{Personalization: true}}
		}
		if _, err := svc.IngestMembers(ctx, ms); err != nil {
			b.Fatal(err)
		}
		es := make([]members.Event, 0, 10_000)
		for j := range ms {
			n := 3
			if j < 400 {
				n = 10
			} else if j >= 1200 {
				n = 2
			}
			for d := range n {
				es = append(es, members.Event{ID: fmt.Sprintf("b%d-e%05d", i, len(es)), MemberID: ms[j].ID, Type: "class_completed",
					At: now.Add(-time.Duration(d)*24*time.Hour - time.Minute)})
			}
		}
		b.StartTimer()
		res, err := svc.IngestEvents(ctx, es, nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Inserted != len(es) || res.Recognitions != len(ms) {
			b.Fatalf("%+v", res)
		}
	}
	b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "events/s")
}
