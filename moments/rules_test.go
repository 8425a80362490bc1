package moments_test

import (
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/moments"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func keys(fs []moments.Firing) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return strings.Join(out, " ")
}

func TestCountsFireAtEachThreshold(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	got := moments.DefaultRules.Evaluate(moments.History{Counts: map[string]int{"class_completed": 57, "run_logged": 9}, Latest: now})
	want := "count:class_completed:1 count:class_completed:10 count:class_completed:50 count:run_logged:1"
	if keys(got) != want {
		t.Fatalf("fired %q, want %q", keys(got), want)
	}
	if got[2].Detail != "50 × class completed" || got[2].Occasion != "milestone" {
		t.Fatalf("firing %+v", got[2])
	}
}

func TestStreaksCountConsecutiveLocalDaysAndWeeks(t *testing.T) {
	var days []time.Time
	for i := 0; i < 8; i++ { // 8 consecutive days ending 20 Nov
		days = append(days, day(2026, 11, 13+i))
	}
	days = append(days, day(2026, 11, 1)) // an older, separate day
	got := moments.Rules{StreakDays: []int{7, 30}}.Evaluate(moments.History{Days: days, Latest: day(2026, 11, 20)})
	if keys(got) != "streak:days:7:2026-11-13" {
		t.Fatalf("fired %q", keys(got))
	}
	// A gap breaks the streak: nothing fires.
	gappy := []time.Time{day(2026, 11, 20), day(2026, 11, 19), day(2026, 11, 17)}
	if got := (moments.Rules{StreakDays: []int{3}}).Evaluate(moments.History{Days: gappy}); len(got) != 0 {
		t.Fatalf("a broken streak fired %q", keys(got))
	}
	// Weeks: one active day in each of four consecutive ISO weeks.
	weeks := []time.Time{day(2026, 10, 28), day(2026, 11, 2), day(2026, 11, 11), day(2026, 11, 20)}
	if got := (moments.Rules{StreakWeeks: []int{4}}).Evaluate(moments.History{Days: weeks}); keys(got) != "streak:weeks:4:2026-10-26" {
		t.Fatalf("weekly streak fired %q", keys(got))
	}
}

func TestAnniversariesInTheMembersTimeZone(t *testing.T) {
	sthlm, _ := time.LoadLocation("Europe/Stockholm")
	joined := time.Date(2025, 11, 21, 10, 0, 0, 0, time.UTC)
	rules := moments.Rules{Anniversaries: true}
	// 20 Nov 23:30 UTC is already 21 Nov in Stockholm: the anniversary has come there.
	at := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC)
	if got := rules.Evaluate(moments.History{Location: sthlm, JoinedAt: &joined, Latest: at}); keys(got) != "anniversary:1" || got[0].Detail != "1 year" {
		t.Fatalf("in Stockholm: %q", keys(got))
	}
	if got := rules.Evaluate(moments.History{Location: time.UTC, JoinedAt: &joined, Latest: at}); len(got) != 0 {
		t.Fatalf("in UTC it is still the 20th: %q", keys(got))
	}
}

func TestAssessStagesAndActions(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ago := func(d int) *time.Time { t := now.AddDate(0, 0, -d); return &t }
	cases := []struct {
		name          string
		joined        *time.Time
		a             moments.Activity
		due           string
		stage, action string
	}{
		{"new member", ago(10), moments.Activity{Total: 3, Last14: 3, Last30: 3}, "", moments.StageOnboarding, moments.ActionEncourage},
		{"few activities", ago(200), moments.Activity{Total: 6, Last30: 2, Days15to90: 4, Days31to90: 4}, "", moments.StageActivation, moments.ActionEncourage},
		{"milestone due", ago(200), moments.Activity{Total: 60, Last14: 6, Last30: 12, Days15to90: 30, Days31to90: 24}, "streak, 30 days", moments.StageGrowth, moments.ActionCelebrate},
		{"gone quiet", ago(300), moments.Activity{Total: 80, Last14: 0, Last30: 0, Days15to90: 40, Days31to90: 30}, "", moments.StageRetention, moments.ActionReconnect},
		{"negative feedback", ago(300), moments.Activity{Total: 80, Last14: 5, Last30: 10, Days15to90: 30, Days31to90: 20, NegativeFeedback90: 1}, "", moments.StageGrowth, moments.ActionReconnect},
		{"helper", ago(300), moments.Activity{Total: 80, Last14: 5, Last30: 10, Days15to90: 27, Days31to90: 20, Contributions90: 4}, "", moments.StageAdvocacy, moments.ActionInviteToLead},
		{"keen and responsive", ago(300), moments.Activity{Total: 90, Last14: 8, Last30: 15, Days15to90: 30, Days31to90: 24, Responsiveness: 1.4}, "", moments.StageGrowth, moments.ActionInviteToLead},
		{"steady", ago(300), moments.Activity{Total: 90, Last14: 5, Last30: 10, Days15to90: 28, Days31to90: 20}, "", moments.StageGrowth, moments.ActionEncourage},
	}
	for _, tc := range cases {
		got := moments.Assess(now, tc.joined, tc.a, tc.due)
		if got.Stage != tc.stage || got.Action != tc.action || got.Reason == "" {
			t.Errorf("%s: %+v, want stage %s, action %s", tc.name, got, tc.stage, tc.action)
		}
	}
}

func TestCountFiringsAreDatedWhenReached(t *testing.T) {
	latest := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	tenth := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	h := moments.History{Counts: map[string]int{"class_completed": 11}, Latest: latest,
		ReachedAt: map[string]map[int]time.Time{"class_completed": {10: tenth}}}
	for _, f := range (moments.Rules{Counts: []int{1, 10}}).Evaluate(h) {
		want := latest
		if f.Key == "count:class_completed:10" {
			want = tenth
		}
		if !f.OccurredAt.Equal(want) {
			t.Errorf("%s dated %v, want %v", f.Key, f.OccurredAt, want)
		}
	}
}
