package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/service"
)

func TestNightlyScheduleIsUTCUnlessItNamesItsZone(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		expr string
		want time.Time
	}{
		{"", time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)},            // the default, 03:00 UTC
		{"30 1 * * *", time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC)}, // UTC, whatever the machine's zone
		{"CRON_TZ=Europe/Stockholm 0 3 * * *", time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		s, err := jobs.ParseSchedule(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got := s.Next(at).UTC(); !got.Equal(c.want) {
			t.Errorf("%q: next run %v, want %v", c.expr, got, c.want)
		}
	}
	if s, err := jobs.ParseSchedule("off"); err != nil || s != nil {
		t.Fatalf("off: %v, %v; want no schedule", s, err)
	}
	for _, bad := range []string{"every night", "61 * * * *", "CRON_TZ=Mars/Olympus 0 3 * * *"} {
		if _, err := jobs.ParseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A periodic job is unique while one waits or runs, never because the last one
// completed: otherwise a daily job whose last run finished after its start time
// would be refused the next day.
func TestPeriodicJobsRunAgainOnceTheLastCompleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	svc := &service.Service{DB: pool}
	client, err := jobs.New(pool, svc, jobs.Config{NoPeriodic: true})
	if err != nil {
		t.Fatal(err)
	}
	svc.Queue = client
	first, err := client.Insert(ctx, service.RetentionArgs{}, nil)
	if err != nil || first.UniqueSkippedAsDuplicate {
		t.Fatalf("first insert: %+v, %v", first, err)
	}
	if again, err := client.Insert(ctx, service.RetentionArgs{}, nil); err != nil || !again.UniqueSkippedAsDuplicate {
		t.Fatalf("a second one while the first waits: %+v, %v; want it skipped", again, err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Stop(ctx) }()
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := jobs.WaitIdle(waitCtx, client); err != nil {
		t.Fatal(err)
	}
	if j, err := client.JobGet(ctx, first.Job.ID); err != nil || j.State != rivertype.JobStateCompleted {
		t.Fatalf("first run: %+v, %v", j, err)
	}
	if next, err := client.Insert(ctx, service.RetentionArgs{}, nil); err != nil || next.UniqueSkippedAsDuplicate {
		t.Fatalf("the next run after the first completed: %+v, %v; want it inserted", next, err)
	}
}
