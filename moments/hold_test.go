package moments_test

import (
	"testing"
	"time"

	"github.com/belong-loyalty/belong/moments"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Quiet hours are the member's own: the same instant is quiet in one zone and not in
// another, and the hold ends at the local end of the quiet hours, on the right day
// across a change of daylight saving time.
func TestQuietHoursAreLocal(t *testing.T) {
	p := moments.DefaultPolicy // 21:00–08:00
	ny, kolkata, auckland := zone(t, "America/New_York"), zone(t, "Asia/Kolkata"), zone(t, "Pacific/Auckland")
	at := time.Date(2026, 6, 10, 2, 30, 0, 0, time.UTC) // 22:30 on the 9th in New York, 08:00 in Kolkata, 14:30 in Auckland
	for _, c := range []struct {
		loc    *time.Location
		reason string
		until  time.Time
	}{
		{ny, moments.HeldQuietHours, time.Date(2026, 6, 10, 8, 0, 0, 0, ny)},
		{kolkata, "", time.Time{}}, // quiet until 08:00: over at 08:00 sharp
		{auckland, "", time.Time{}},
	} {
		reason, until := p.Hold(at, c.loc, "push", nil)
		if reason != c.reason || !until.Equal(c.until) {
			t.Errorf("%s: %q until %v, want %q until %v", c.loc, reason, until, c.reason, c.until)
		}
	}
	// New York springs forward on 8 March 2026 (02:00 → 03:00): quiet from 21:00 on
	// the 7th until 08:00 EDT on the 8th, 10 hours later, not 11.
	evening := time.Date(2026, 3, 7, 21, 0, 0, 0, ny)
	reason, until := p.Hold(evening, ny, "push", nil)
	if reason != moments.HeldQuietHours || !until.Equal(time.Date(2026, 3, 8, 8, 0, 0, 0, ny)) || until.Sub(evening) != 10*time.Hour {
		t.Fatalf("across the DST change: %q until %v (%v later)", reason, until, until.Sub(evening))
	}
	// ...and falls back on 1 November 2026: 12 hours.
	evening = time.Date(2026, 10, 31, 20, 59, 0, 0, ny)
	if reason, _ := p.Hold(evening, ny, "push", nil); reason != "" {
		t.Fatalf("20:59 is not quiet: %q", reason)
	}
	evening = evening.Add(time.Minute)
	if _, until := p.Hold(evening, ny, "push", nil); until.Sub(evening) != 12*time.Hour {
		t.Fatalf("across the fall-back change: %v later", until.Sub(evening))
	}
	// Quiet hours that do not wrap midnight, and none at all.
	from, to, err := moments.ParseQuietHours("12:00-14:00")
	if err != nil {
		t.Fatal(err)
	}
	lunch := moments.Policy{QuietFrom: from, QuietTo: to}
	if r, u := lunch.Hold(time.Date(2026, 6, 10, 13, 0, 0, 0, time.UTC), time.UTC, "", nil); r != moments.HeldQuietHours || u.Hour() != 14 {
		t.Fatalf("lunch: %q until %v", r, u)
	}
	if r, _ := lunch.Hold(time.Date(2026, 6, 10, 23, 0, 0, 0, time.UTC), time.UTC, "", nil); r != "" {
		t.Fatalf("23:00 outside lunch quiet hours: %q", r)
	}
	if from, to, err := moments.ParseQuietHours("off"); err != nil || from != to {
		t.Fatalf("off: %d-%d %v", from, to, err)
	}
	for _, bad := range []string{"21-08", "25:00-08:00", "21:00"} {
		if _, _, err := moments.ParseQuietHours(bad); err == nil {
			t.Errorf("quiet hours %q accepted", bad)
		}
	}
}

// Caps count what was sent in the member's local day and ISO week, per channel or
// across them, and hold until the next local day or week begins (out of quiet hours).
func TestCapsCountTheLocalDayAndWeek(t *testing.T) {
	caps, err := moments.ParseCaps("*:2/day,push:1/day,*:3/week")
	if err != nil {
		t.Fatal(err)
	}
	p := moments.Policy{QuietFrom: 22 * 60, QuietTo: 7 * 60, Caps: caps}
	syd := zone(t, "Australia/Sydney")
	// Wednesday 10 June 2026, 10:00 in Sydney (00:00 UTC).
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, syd)
	yesterdayLate := time.Date(2026, 6, 9, 23, 30, 0, 0, syd) // the day before, locally (13:30 UTC on the 9th)
	todayEarly := time.Date(2026, 6, 10, 7, 30, 0, 0, syd)    // 21:30 UTC on the 9th: the same UTC day as yesterdayLate
	sent := []moments.Sent{{yesterdayLate, "email"}, {todayEarly, "push"}}
	if r, _ := p.Hold(now, syd, "email", sent); r != "" {
		t.Fatalf("email after one today: %q", r)
	}
	r, until := p.Hold(now, syd, "push", sent)
	if want := time.Date(2026, 6, 11, 7, 0, 0, 0, syd); r != moments.HeldCapped || !until.Equal(want) {
		t.Fatalf("a second push today: %q until %v, want capped until %v (midnight is quiet)", r, until, want)
	}
	// A third today is both the day's second across channels and the week's third:
	// held until the later of the two, next Monday at the end of its quiet hours.
	sent = append(sent, moments.Sent{now.Add(-time.Hour), "email"})
	if r, until := p.Hold(now, syd, "email", sent); r != moments.HeldCapped || !until.Equal(time.Date(2026, 6, 15, 7, 0, 0, 0, syd)) {
		t.Fatalf("a third today: %q until %v", r, until)
	}
	// Three this week (Monday 8 June on): held until Monday 15 June.
	monday := time.Date(2026, 6, 8, 12, 0, 0, 0, syd)
	week := []moments.Sent{{monday, "app"}, {monday.AddDate(0, 0, 1), "app"}, {todayEarly, "app"}}
	tomorrow := now.AddDate(0, 0, 1)
	if r, until := p.Hold(tomorrow, syd, "app", week); r != moments.HeldCapped || !until.Equal(time.Date(2026, 6, 15, 7, 0, 0, 0, syd)) {
		t.Fatalf("fourth of the week: %q until %v", r, until)
	}
	// Sent last week counts for nothing this week.
	lastWeek := []moments.Sent{{monday.AddDate(0, 0, -1), "app"}, {monday.AddDate(0, 0, -2), "app"}, {monday.AddDate(0, 0, -3), "app"}}
	if r, _ := p.Hold(now, syd, "app", lastWeek); r != "" {
		t.Fatalf("last week's: %q", r)
	}
	for _, bad := range []string{"push:1/month", "push:x/day", ":1/day", "push/day"} {
		if _, err := moments.ParseCaps(bad); err == nil {
			t.Errorf("cap %q accepted", bad)
		}
	}
	if c, err := moments.ParseCaps("off"); err != nil || c != nil {
		t.Fatalf("off: %v %v", c, err)
	}
}
