package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/service"
)

// stoppedClockOver is svc's service with its clock at now.
func stoppedClockOver(svc *service.Service, now time.Time) *service.Service {
	return &service.Service{DB: svc.DB, Queue: svc.Queue, Policy: svc.Policy, Now: func() time.Time { return now }}
}

// A recognition due at 22:30 in New York waits for 08:00 there, while the same
// instant is a fine morning in Kolkata; once a member was sent their day's one, the
// next waits for their next local day. Moment reads and recognition.due follow the
// same rules.
func TestRecognitionsWaitForQuietHoursAndCaps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 6, 10, 2, 30, 0, 0, time.UTC) // 22:30 in New York, 08:00 in Kolkata
	svc := stoppedClock(t, now)
	svc.Policy = moments.DefaultPolicy
	if _, err := svc.IngestMembers(ctx, []members.Member{
		{ID: "ny", Name: "Nia", Timezone: "America/New_York", Consent: members.Consent{Personalization: true}},
		{ID: "in", Name: "Isha", Timezone: "Asia/Kolkata", Consent: members.Consent{Personalization: true}},
	}); err != nil {
		t.Fatal(err)
	}
	recognition := func(member, key, occasion, detail string) int64 {
		t.Helper()
		var id int64
		if err := svc.DB.QueryRow(ctx, `INSERT INTO member_milestones (member_id, key, occasion, detail, occurred_at, fired_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, member, key, occasion, detail, now.Add(-time.Hour)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		d := &generation.Draft{Kind: generation.KindRecognition, SubjectID: member, MemberID: member, Occasion: occasion,
			Locale: "en", Body: generation.Body{"message": "Well done, " + member + "!", "occasion": occasion}, Generator: "test",
			Findings: []generation.Finding{}}
		if ok, err := moments.AttachDraft(ctx, svc.DB, member, key, d, true, "test"); err != nil || !ok {
			t.Fatalf("attach: %v %v", ok, err)
		}
		return id
	}
	nyID := recognition("ny", "count:run_logged:10", "milestone", "10 × run logged")
	inCount := recognition("in", "count:run_logged:10", "milestone", "10 × run logged")
	inStreak := recognition("in", "streak:7d:2026-06-03", "streak", "7 days")

	// The moment: quiet in New York, until 08:00 there.
	m, err := svc.Moment(ctx, service.MomentQuery{MemberID: "ny", Channel: "push", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	nyMorning := time.Date(2026, 6, 10, 8, 0, 0, 0, moments.Location("America/New_York"))
	if m.Held == nil || m.Held.Reason != moments.HeldQuietHours || !m.Held.Until.Equal(nyMorning) || m.Due != nil ||
		m.Held.RecognitionID != nyID || m.NextAction.Action == moments.ActionCelebrate {
		t.Fatalf("New York at 22:30: %+v (held %+v)", m, m.Held)
	}
	// The same member calling from Tokyo (their local_time's offset) is at 11:30.
	m, err = svc.Moment(ctx, service.MomentQuery{MemberID: "ny", Channel: "push", Now: now, Zone: moments.Location("Asia/Tokyo")})
	if err != nil || m.Held != nil || m.Due == nil || m.Due.ID != nyID {
		t.Fatalf("New York's member in Tokyo: %+v, %v", m, err)
	}
	// In Kolkata the streak (more notable than the count) is due.
	m, err = svc.Moment(ctx, service.MomentQuery{MemberID: "in", Channel: "push", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if m.Held != nil || m.Due == nil || m.Due.ID != inStreak || m.NextAction.Action != moments.ActionCelebrate || m.Content == nil {
		t.Fatalf("Kolkata at 08:00: %+v", m)
	}
	// recognition.due: Kolkata's streak now; its count is capped (one a day), and New
	// York waits for the morning.
	if n, err := svc.AnnounceRecognitions(ctx); err != nil || n != 1 {
		t.Fatalf("announced %d, %v; want Kolkata's streak alone", n, err)
	}
	var announced []int64
	rows, err := svc.DB.Query(ctx, "SELECT id FROM member_milestones WHERE announced_at IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		announced = append(announced, id)
	}
	rows.Close()
	if len(announced) != 1 || announced[0] != inStreak {
		t.Fatalf("announced %v, want [%d]", announced, inStreak)
	}
	// Delivered on push: the count is capped until Kolkata's next day (midnight is
	// quiet there, so 08:00).
	if _, _, err := svc.DeliverRecognition(ctx, inStreak, "push"); err != nil {
		t.Fatal(err)
	}
	m, err = svc.Moment(ctx, service.MomentQuery{MemberID: "in", Channel: "push", Now: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	kolkataTomorrow := time.Date(2026, 6, 11, 8, 0, 0, 0, moments.Location("Asia/Kolkata"))
	if m.Held == nil || m.Held.Reason != moments.HeldCapped || m.Held.RecognitionID != inCount || !m.Held.Until.Equal(kolkataTomorrow) {
		t.Fatalf("Kolkata after one today: %+v (held %+v)", m, m.Held)
	}
	// Morning in New York: its recognition goes out; Kolkata's count still waits.
	later := stoppedClockOver(svc, nyMorning.Add(time.Minute))
	if n, err := later.AnnounceRecognitions(ctx); err != nil || n != 1 {
		t.Fatalf("announced %d at 08:01 in New York, %v; want 1", n, err)
	}
	// The next Kolkata morning, the count.
	if n, err := stoppedClockOver(svc, kolkataTomorrow.Add(time.Minute)).AnnounceRecognitions(ctx); err != nil || n != 1 {
		t.Fatalf("announced %d the next Kolkata morning, %v; want 1", n, err)
	}
}
