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

// stoppedClock is a service over a fresh schema whose clock stands at now; its jobs
// are queued, not worked.
func stoppedClock(t *testing.T, now time.Time) *service.Service {
	t.Helper()
	pool := dbtest.Schema(t)
	queue, err := jobs.NewInserter(pool, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &service.Service{DB: pool, Queue: queue, Now: func() time.Time { return now }}
}

// A count reached long ago in history loaded without detection (a demo, an import) is
// recorded when the next event arrives, dated when it was reached, and not
// celebrated as if it were new; a count reached by the new event is.
func TestOldCountsAreRecordedNotCelebrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	svc := stoppedClock(t, now)
	pool := svc.DB
	if _, err := svc.IngestMembers(ctx, []members.Member{{ID: "m-1", Name: "Ana", Timezone: "UTC",
		Consent: members.Consent{Personalization: true}}}); err != nil {
		t.Fatal(err)
	}
	var history []members.Event
	for i := range 10 {
		history = append(history, members.Event{ID: fmt.Sprint("old-", i), MemberID: "m-1", Type: "class_completed",
			At: now.AddDate(0, 0, -60-i)})
	}
	if _, err := members.InsertEvents(ctx, pool, history, nil, time.Now()); err != nil {
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

// Responsiveness is refreshed by the signals job, not by each moment read: a member
// who did 3 things in the week after a recognition delivered 20 days ago and 1 in the
// week before scores (3+1)/(1+1) = 2 once it runs, and the moment shows it.
func TestSignalsRefreshResponsiveness(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	svc := stoppedClock(t, now)
	pool := svc.DB
	if _, err := svc.IngestMembers(ctx, []members.Member{{ID: "m-1", Name: "Ana", Timezone: "UTC",
		Consent: members.Consent{Personalization: true}}}); err != nil {
		t.Fatal(err)
	}
	at := now.AddDate(0, 0, -20)
	evs := []members.Event{{ID: "before", MemberID: "m-1", Type: "class_completed", At: at.Add(-48 * time.Hour)}}
	for i := range 3 {
		evs = append(evs, members.Event{ID: fmt.Sprint("after-", i), MemberID: "m-1", Type: "class_completed",
			At: at.Add(time.Duration(i+1) * 24 * time.Hour)})
	}
	if _, err := members.InsertEvents(ctx, pool, evs, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO member_milestones (member_id, key, occasion, detail, occurred_at, delivered_at, channel)
		VALUES ('m-1', 'streak:7d', 'streak', '7 days', $1, $1, 'app')`, at); err != nil {
		t.Fatal(err)
	}
	moment := func() float64 {
		m, err := svc.Moment(ctx, service.MomentQuery{MemberID: "m-1", Channel: "app", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return m.Signals.Responsiveness
	}
	if r := moment(); r != 0 {
		t.Fatalf("responsiveness %v before the signals job ran, want 0", r)
	}
	if n, err := svc.RefreshSignals(ctx); err != nil || n != 1 {
		t.Fatalf("refresh: %d changed, %v; want 1", n, err)
	}
	if r := moment(); r != 2 {
		t.Fatalf("responsiveness %v, want (3+1)/(1+1) = 2", r)
	}
	if n, err := svc.RefreshSignals(ctx); err != nil || n != 0 {
		t.Fatalf("a second refresh: %d changed, %v; want none", n, err)
	}
}
