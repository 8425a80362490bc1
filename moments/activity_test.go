package moments_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/moments"
)

// want counts events as the rules define the windows, straight from the events.
func want(es []members.Event, now time.Time) moments.Activity {
	const day = 24 * time.Hour
	var a moments.Activity
	digits := regexp.MustCompile(`^[0-9]{1,9}$`)
	for _, e := range es {
		if e.At.After(now) {
			continue
		}
		a.Total++
		if a.FirstEventAt == nil || e.At.Before(*a.FirstEventAt) {
			at := e.At
			a.FirstEventAt = &at
		}
		age := now.Sub(e.At)
		if age < 14*day {
			a.Last14++
		}
		if age < 30*day {
			a.Last30++
		}
		if age >= 14*day && age < 90*day {
			a.Days15to90++
		}
		if age >= 30*day && age < 90*day {
			a.Days31to90++
		}
		if age < 90*day && slices.Contains(members.ContributionTypes, e.Type) {
			a.Contributions90++
		}
		rating, _ := e.Props["rating"].(string)
		low := digits.MatchString(rating) && func() bool { n, _ := strconv.Atoi(rating); return n <= 2 }()
		if age < 90*day && (e.Type == "complaint" || (e.Type == "feedback" && low)) {
			a.NegativeFeedback90++
		}
	}
	return a
}

// The activity summary kept by event ingest gives the moment the same counts as
// counting the events themselves: across batches ingested concurrently and on
// different days, with replayed ids, history older than the windows, events not
// yet happened, and ratings that are no number or too large for one.
func TestActivitySummaryCountsWhatTheEventsSay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	const n = 12
	ms := make([]members.Member, n)
	for i := range ms {
		ms[i] = members.Member{ID: fmt.Sprintf("m-%02d", i), Name: "Member", Timezone: "UTC",
			Consent: members.Consent{Personalization: true}}
	}
	if _, err := members.Upsert(ctx, pool, ms); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	types := []string{"class_completed", "run_logged", "review_posted", "helped_member", "complaint", "feedback"}
	ratings := []string{"1", "2", "3", "5", "x", "99999999999", ""}
	byMember := map[string][]members.Event{}
	var all []members.Event
	for i := range 600 {
		e := members.Event{ID: fmt.Sprint("e-", i), MemberID: ms[r.IntN(n)].ID, Type: types[r.IntN(len(types))],
			// From 400 days ago to two days ahead, more of them recent.
			At: now.Add(-time.Duration(r.Float64()*r.Float64()*400*24)*time.Hour + 48*time.Hour)}
		if e.Type == "feedback" {
			e.Props = map[string]any{"rating": ratings[r.IntN(len(ratings))]}
		}
		byMember[e.MemberID] = append(byMember[e.MemberID], e)
		all = append(all, e)
	}
	// Six batches, two ingested a month ago (a summary must age into the windows),
	// four now and at once; every batch also replays a few ids of another.
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for b := range 6 {
		batch := slices.Clone(all[b*100 : (b+1)*100])
		batch = append(batch, all[((b+1)%6)*100:((b+1)%6)*100+5]...)
		at := now
		if b < 2 {
			at = now.AddDate(0, 0, -30)
			if _, err := members.InsertEvents(ctx, pool, batch, nil, at); err != nil {
				t.Fatal(err)
			}
			continue
		}
		wg.Go(func() {
			_, err := members.InsertEvents(ctx, pool, batch, nil, at)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms {
		for _, at := range []time.Time{now, now.Add(-20 * time.Hour), now.AddDate(0, 0, 10)} {
			s, err := moments.Read(ctx, pool, 0, m.ID, at)
			if err != nil {
				t.Fatal(err)
			}
			got, w := s.Activity, want(byMember[m.ID], at)
			if (got.FirstEventAt == nil) != (w.FirstEventAt == nil) ||
				(w.FirstEventAt != nil && !got.FirstEventAt.Equal(*w.FirstEventAt)) {
				t.Errorf("%s at %s: first event %v, want %v", m.ID, at.Sub(now), got.FirstEventAt, w.FirstEventAt)
			}
			got.FirstEventAt, w.FirstEventAt = nil, nil
			if got != w {
				t.Errorf("%s at %s: activity %+v, want %+v", m.ID, at.Sub(now), got, w)
			}
		}
	}
}

// A member without events reads as no activity, not as an error.
func TestActivityOfAMemberWithoutEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	if _, err := members.Upsert(ctx, pool, []members.Member{{ID: "m-1", Name: "Ana", Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	s, err := moments.Read(ctx, pool, 0, "m-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Activity != (moments.Activity{}) {
		t.Fatalf("activity %+v, want none", s.Activity)
	}
}
