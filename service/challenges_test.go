package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/service"
)

// challengeContent stores an approved challenge draft, what a challenge launches from.
func challengeContent(t testing.TB, pool *pgxpool.Pool, title string) int64 {
	t.Helper()
	ctx := context.Background()
	d := generation.Draft{Kind: generation.KindChallenge, SubjectID: "c-1", Locale: "en", Generator: "template", PromptVersion: "v", Findings: []generation.Finding{},
		Body: generation.Body{"title": title, "narrative": "Together, one step at a time.", "difficulty": "steady", "duration_days": 7,
			"steps": []any{"Walk", "Share", "Celebrate"}}}
	if err := generation.Store(ctx, pool, &d, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := generation.Decide(ctx, pool, []int64{d.ID}, generation.Decision{Approve: true, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// newcomers ingests n members who joined a week ago (the onboarding stage), consenting.
func newcomers(t *testing.T, svc *service.Service, n int, now time.Time, skill func(i int) string) []string {
	t.Helper()
	joined := now.AddDate(0, 0, -7)
	ms := make([]members.Member, n)
	ids := make([]string, n)
	for i := range ms {
		ids[i] = fmt.Sprintf("m-%02d", i)
		ms[i] = members.Member{ID: ids[i], Name: fmt.Sprintf("Name%d Surname", i), Timezone: "UTC", JoinedAt: &joined,
			Consent: members.Consent{Personalization: true, Community: i%2 == 0}}
		if skill != nil {
			ms[i].SkillLevel = skill(i)
		}
	}
	if _, err := svc.IngestMembers(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	return ids
}

func count(t *testing.T, pool *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A group goal reached by many members' events arriving in parallel batches, with
// replays among them: every event counts once, the group completes once, and each
// participant gets one completion milestone and one challenge.completed.
func TestGroupChallengeCountsEachEventOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	svc := stoppedClock(t, now)
	ids := newcomers(t, svc, 12, now, nil)
	today := now.Format(time.DateOnly)
	c, err := svc.LaunchChallenge(ctx, challenges.Definition{ContentID: challengeContent(t, svc.DB, "Walk together"),
		Target: challenges.Target{Kind: challenges.TargetStage, ID: "onboarding"}, Kind: challenges.KindGroup,
		Goal: challenges.Goal{Type: challenges.GoalSum, Event: "walk", Prop: "km", Target: 300}, Enrolment: challenges.EnrolAuto,
		StartsOn: now.AddDate(0, 0, -1).Format(time.DateOnly), EndsOn: today, Timezone: "UTC"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Participants != 12 || c.Status != challenges.StatusActive {
		t.Fatalf("launched %+v: want 12 participants, active", c)
	}
	// 12 members × 10 walks of 3 km = 360 km, in 6 parallel writers; each batch is sent
	// twice (a replay), and the batches overlap.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 10 {
				var batch []members.Event
				for _, m := range ids[w*2 : w*2+2] {
					batch = append(batch, members.Event{ID: fmt.Sprintf("%s-%d", m, round), MemberID: m, Type: "walk",
						At: now.Add(-time.Duration(round+1) * time.Minute), Props: map[string]any{"km": 3.0}})
				}
				// A neighbour's earlier event again: a replay across writers.
				other := ids[(w*2+2)%len(ids)]
				batch = append(batch, members.Event{ID: fmt.Sprintf("%s-%d", other, 0), MemberID: other, Type: "walk",
					At: now.Add(-time.Minute), Props: map[string]any{"km": 3.0}})
				for range 2 {
					if _, err := svc.IngestEvents(ctx, batch, nil); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _, err := svc.Challenge(ctx, c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got.Progress != 360 || got.Status != challenges.StatusCompleted || got.Completed != 12 {
		t.Fatalf("progress %v, status %s, completed %d: want 360 km counted once, completed by all 12", got.Progress, got.Status, got.Completed)
	}
	key := challenges.Key(c.ID)
	if n := count(t, svc.DB, `SELECT count(*) FROM member_milestones WHERE key = $1`, key); n != 12 {
		t.Errorf("%d completion milestones, want one for each of 12 participants", n)
	}
	if n := count(t, svc.DB, `SELECT count(*) FROM outbox_events WHERE type = 'challenge.completed'`); n != 12 {
		t.Errorf("%d challenge.completed events, want 12", n)
	}
	if n := count(t, svc.DB, `SELECT count(*) FROM outbox_events WHERE type = 'challenge.progressed' AND member_id IS NULL`); n != 1 {
		t.Errorf("%d group challenge.progressed events, want 1 (at 50%%)", n)
	}
	// More events after completion change the total but fire nothing again.
	if _, err := svc.IngestEvents(ctx, []members.Event{{ID: "late", MemberID: ids[0], Type: "walk", At: now.Add(-time.Second),
		Props: map[string]any{"km": 1.0}}}, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, svc.DB, `SELECT count(*) FROM outbox_events WHERE type = 'challenge.completed'`); n != 12 {
		t.Errorf("%d challenge.completed events after one more walk, want still 12", n)
	}
}

// An individual challenge: each member's goal adapts to their own pace and skill;
// the 50% threshold and completion fire once each, a replay changes nothing, and a
// member who left stops counting.
func TestIndividualChallenge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	svc := stoppedClock(t, now)
	ids := newcomers(t, svc, 3, now, func(i int) string { return []string{"beginner", "expert", "beginner"}[i] })
	// Before the window: the expert walked 20 times in the last week, the beginner twice.
	start := now.AddDate(0, 0, -1)
	var past []members.Event
	for i := range 20 {
		who := ids[1]
		if i < 2 {
			who = ids[0]
		}
		past = append(past, members.Event{ID: fmt.Sprint("past-", i), MemberID: who, Type: "walk",
			At: start.AddDate(0, 0, -1-i%5)})
	}
	if _, err := members.InsertEvents(ctx, svc.DB, past, nil, now); err != nil {
		t.Fatal(err)
	}
	c, err := svc.LaunchChallenge(ctx, challenges.Definition{ContentID: challengeContent(t, svc.DB, "Walk more"),
		Target: challenges.Target{Kind: challenges.TargetStage, ID: "onboarding"}, Kind: challenges.KindIndividual,
		Goal: challenges.Goal{Type: challenges.GoalCount, Event: "walk", Target: 10}, Adaptive: &challenges.Adaptive{Min: 2, Max: 100},
		StartsOn: start.Format(time.DateOnly), EndsOn: now.AddDate(0, 0, 5).Format(time.DateOnly), Timezone: "UTC"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Participants != 0 {
		t.Fatalf("an opt-in challenge enrolled %d at launch", c.Participants)
	}
	goals := map[string]float64{}
	for _, id := range ids {
		p, joined, err := svc.JoinChallenge(ctx, c.ID, id)
		if err != nil || !joined {
			t.Fatalf("join %s: %v, %v", id, joined, err)
		}
		goals[id] = p.Goal
	}
	// The window is 7 days: the pace is the 7 days before it. Beginner: 2 × 1.3 → 3;
	// expert: 18 × 1.1 → 20; the third, a beginner with no pace: 10 × 0.5 = 5.
	if goals[ids[0]] != 3 || goals[ids[1]] != 20 || goals[ids[2]] != 5 {
		t.Fatalf("goals %v: want beginner 3, expert 20, new beginner 5", goals)
	}
	if _, again, err := svc.JoinChallenge(ctx, c.ID, ids[0]); err != nil || again {
		t.Fatalf("joining twice: joined %v, %v; want no change", again, err)
	}
	walk := func(id string, n int, tag string) {
		var evs []members.Event
		for i := range n {
			evs = append(evs, members.Event{ID: fmt.Sprintf("%s-%s-%d", id, tag, i), MemberID: id, Type: "walk", At: now.Add(-time.Duration(i+1) * time.Minute)})
		}
		if _, err := svc.IngestEvents(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
	}
	walk(ids[0], 2, "a") // 2 of 3: past 50%
	walk(ids[0], 2, "a") // a replay
	ps, err := svc.MemberChallenges(ctx, ids[0], false)
	if err != nil || len(ps) != 1 || ps[0].Progress != 2 || ps[0].CompletedAt != nil {
		t.Fatalf("after 2 walks and a replay: %+v, %v", ps, err)
	}
	walk(ids[0], 3, "b") // 5 of 3: completed
	walk(ids[0], 1, "c")
	if err := svc.LeaveChallenge(ctx, c.ID, ids[2]); err != nil {
		t.Fatal(err)
	}
	walk(ids[2], 5, "d") // left: does not count
	q := `SELECT count(*) FROM outbox_events WHERE type = $1 AND member_id = $2`
	if n := count(t, svc.DB, q, "challenge.progressed", ids[0]); n != 1 {
		t.Errorf("%d challenge.progressed for the beginner, want 1", n)
	}
	if n := count(t, svc.DB, q, "challenge.completed", ids[0]); n != 1 {
		t.Errorf("%d challenge.completed for the beginner, want 1", n)
	}
	if n := count(t, svc.DB, q, "challenge.completed", ids[2]); n != 0 {
		t.Errorf("a member who left completed the challenge")
	}
	if n := count(t, svc.DB, `SELECT count(*) FROM member_milestones WHERE member_id = $1 AND key = $2 AND occasion = 'challenge'`,
		ids[0], challenges.Key(c.ID)); n != 1 {
		t.Errorf("%d completion milestones, want 1", n)
	}
	// The leaderboard: by share of one's own goal; only those who consented to
	// community visibility (even indexes), by first name.
	_, board, err := svc.Challenge(ctx, c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(board) != 1 || board[0].FirstName != "Name0" || board[0].Rank != 1 {
		t.Fatalf("leaderboard %+v: want only Name0 (m-01 did not consent, m-02 left), ranked 1", board)
	}
	ps, err = svc.MemberChallenges(ctx, ids[1], false)
	if err != nil || len(ps) != 1 || ps[0].Rank != 2 || ps[0].Challenge.DaysLeft != 6 {
		t.Fatalf("the expert: %+v, %v; want rank 2 of 2, 6 days left", ps, err)
	}
}

// A weekly ritual: each instance is its own record, rolled by the hourly job once the
// last one ended, with its participants carried over.
func TestRecurringChallenge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	svc := stoppedClock(t, now)
	ids := newcomers(t, svc, 2, now, nil)
	start := now.AddDate(0, 0, -20)
	c, err := svc.LaunchChallenge(ctx, challenges.Definition{ContentID: challengeContent(t, svc.DB, "Weekly walk"),
		Target: challenges.Target{Kind: challenges.TargetStage, ID: "onboarding"}, Kind: challenges.KindIndividual,
		Goal: challenges.Goal{Type: challenges.GoalDays, Event: "walk", Target: 3}, Recurrence: challenges.RecurWeekly,
		StartsOn: start.Format(time.DateOnly), EndsOn: start.AddDate(0, 0, 6).Format(time.DateOnly), Timezone: "UTC"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != challenges.StatusEnded {
		t.Fatalf("a window 20 days ago: %s", c.Status)
	}
	if _, _, err := svc.JoinChallenge(ctx, c.ID, ids[0]); err == nil {
		t.Fatal("joined an ended challenge")
	}
	// Put a participant in the first instance directly (it ended before they could join).
	if _, err := svc.DB.Exec(ctx, `INSERT INTO challenge_participants (challenge_id, member_id, goal) VALUES ($1, $2, 3)`, c.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	rolled, _, err := svc.MaintainChallenges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Days -20..-14 ended; -13..-7 ended too, so it rolls again; -6..0 is current.
	if rolled != 1 {
		t.Fatalf("rolled %d, want 1 (the job rolls one step per run)", rolled)
	}
	for range 3 {
		if _, _, err := svc.MaintainChallenges(ctx); err != nil {
			t.Fatal(err)
		}
	}
	list, err := svc.Challenges(ctx, challenges.ListFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("%d instances, want 3 (the third is current and not rolled)", len(list))
	}
	cur := list[0]
	if cur.Instance != 3 || cur.Status != challenges.StatusActive || cur.SeriesID == nil || *cur.SeriesID != c.ID || cur.Participants != 1 {
		t.Fatalf("current instance %+v: want instance 3 of series %d, active, 1 participant carried over", cur, c.ID)
	}
}
