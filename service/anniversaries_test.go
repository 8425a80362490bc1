package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
)

// The hourly anniversaries job finds who joined on 29 February in a year without one,
// and each anniversary is recorded once.
func TestAnniversariesOfLeapDayJoiners(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2027, 3, 2, 12, 0, 0, 0, time.UTC)
	svc := stoppedClock(t, now)
	pool := svc.DB
	leap := time.Date(2024, 2, 29, 9, 0, 0, 0, time.UTC)
	other := time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)
	if _, err := svc.IngestMembers(ctx, []members.Member{
		{ID: "leap", Name: "Lea", Timezone: "UTC", JoinedAt: &leap, Consent: members.Consent{Personalization: true}},
		{ID: "june", Name: "Jun", Timezone: "UTC", JoinedAt: &other, Consent: members.Consent{Personalization: true}},
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.DetectAnniversaries(ctx); err != nil || n != 1 {
		t.Fatalf("anniversaries on 2 March 2027: %d queued, %v; want the leap-day joiner's", n, err)
	}
	rs, err := moments.List(ctx, pool, "leap")
	if err != nil || len(rs) != 3 || rs[2].Key != "anniversary:3" || !rs[2].OccurredAt.Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("leap-day joiner's milestones: %+v, %v; want three years, the third on 1 March 2027", rs, err)
	}
	if n, err := svc.DetectAnniversaries(ctx); err != nil || n != 0 {
		t.Fatalf("the next hour: %d queued, %v; want none", n, err)
	}
}
