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

// A count reached long ago in history loaded without detection (a demo, an import) is
// recorded when the next event arrives, dated when it was reached, and not
// celebrated as if it were new; a count reached by the new event is.
func TestOldCountsAreRecordedNotCelebrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	queue, err := jobs.NewInserter(pool, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	svc := &service.Service{DB: pool, Queue: queue, Now: func() time.Time { return now }}
	if _, err := svc.IngestMembers(ctx, []members.Member{{ID: "m-1", Name: "Ana", Timezone: "UTC",
		Consent: members.Consent{Personalization: true}}}); err != nil {
		t.Fatal(err)
	}
	var history []members.Event
	for i := range 10 {
		history = append(history, members.Event{ID: fmt.Sprint("old-", i), MemberID: "m-1", Type: "class_completed",
			At: now.AddDate(0, 0, -60-i)})
	}
	if _, err := members.InsertEvents(ctx, pool, history, nil); err != nil {
		t.Fatal(err)
	}
	res, err := svc.IngestEvents(ctx, []members.Event{{ID: "new-1", MemberID: "m-1", Type: "class_completed", At: now.Add(-time.Hour)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Milestones != 2 || res.Recognitions != 0 {
		t.Fatalf("%+v: want the 1st and 10th class recorded from history and nothing celebrated", res)
	}
	// The first of a new kind of event, now: celebrated.
	res, err = svc.IngestEvents(ctx, []members.Event{{ID: "new-2", MemberID: "m-1", Type: "review_posted", At: now.Add(-time.Hour)}}, nil)
	if err != nil || res.Milestones != 1 || res.Recognitions != 1 {
		t.Fatalf("a first review now: %+v, %v; want one milestone, celebrated", res, err)
	}
}
