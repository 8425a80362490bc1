package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/service"
)

// BenchmarkIngestEvents posts the batch of TestLargeEventBatchFiresEveryMilestone's
// shape through the use case: 10,000 events for 3,000 members, their milestones and
// recognition jobs in one transaction. Each iteration is a new batch of the same
// shape for new members. It runs without challenges and with every member in two
// active ones (challenges=active), side by side.
//
//	go test -run '^$' -bench IngestEvents -benchtime 5x ./service
func BenchmarkIngestEvents(b *testing.B) {
	b.Run("challenges=none", func(b *testing.B) { benchIngest(b, false) })
	b.Run("challenges=active", func(b *testing.B) { benchIngest(b, true) })
}

// benchIngest is BenchmarkIngestEvents; with challenges, every member of each batch is
// enrolled (automatically, before the batch) in an individual challenge counting
// their classes and a group challenge summing their minutes, so each event also
// moves two challenges.
func benchIngest(b *testing.B, withChallenges bool) {
	ctx := context.Background()
	pool := dbtest.Schema(b)
	queue, err := jobs.NewInserter(pool, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}
	svc := &service.Service{DB: pool, Queue: queue}
	now := time.Now().UTC()
	content := int64(0)
	if withChallenges {
		content = challengeContent(b, pool, "Move together")
	}
	joined := now.AddDate(0, 0, -3)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		ms := make([]members.Member, 3000)
		for j := range ms {
			ms[j] = members.Member{ID: fmt.Sprintf("b%d-m%04d", i, j), Name: "Member", Timezone: "UTC", JoinedAt: &joined,
				Consent: members.Consent{Personalization: true}}
		}
		if _, err := svc.IngestMembers(ctx, ms); err != nil {
			b.Fatal(err)
		}
		if withChallenges {
			window := func(d challenges.Definition) challenges.Definition {
				d.ContentID, d.Target, d.Enrolment = content, challenges.Target{Kind: challenges.TargetStage, ID: "onboarding"}, challenges.EnrolAuto
				d.StartsOn, d.EndsOn, d.Timezone = now.AddDate(0, 0, -20).Format(time.DateOnly), now.AddDate(0, 0, 9).Format(time.DateOnly), "UTC"
				return d
			}
			for _, d := range []challenges.Definition{
				window(challenges.Definition{Kind: challenges.KindIndividual, Goal: challenges.Goal{Type: challenges.GoalCount, Event: "class_completed", Target: 20}}),
				window(challenges.Definition{Kind: challenges.KindGroup, Goal: challenges.Goal{Type: challenges.GoalSum, Event: "class_completed", Prop: "minutes", Target: 1e7}}),
			} {
				c, err := svc.LaunchChallenge(ctx, d, "bench")
				if err != nil || c.Participants < len(ms) {
					b.Fatalf("launch: %d participants, %v", c.Participants, err)
				}
			}
		}
		// Statistics as autovacuum would keep them, for both runs alike.
		if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
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
					At: now.Add(-time.Duration(d)*24*time.Hour - time.Minute), Props: map[string]any{"minutes": 30.0}})
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
