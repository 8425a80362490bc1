package challenges

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Each goal type on a constructed stream: events outside the window, of other
// types or categories, and a replayed id do not count; order of arrival does not
// matter, except what a sequence asks for.
func TestMeasure(t *testing.T) {
	stockholm, _ := time.LoadLocation("Europe/Stockholm")
	from, to := Window(at("2026-03-01T00:00:00Z"), at("2026-03-31T00:00:00Z"), stockholm)
	evs := []Event{
		{ID: "a", Type: "walk", Category: "Trail", At: at("2026-03-02T10:00:00Z"), Props: map[string]float64{"km": 5}},
		{ID: "b", Type: "walk", Category: "road", At: at("2026-03-02T18:00:00Z"), Props: map[string]float64{"km": 3.5}},
		{ID: "a", Type: "walk", Category: "Trail", At: at("2026-03-02T10:00:00Z"), Props: map[string]float64{"km": 5}}, // replay
		// 23:30 UTC on 2 March is 00:30 on 3 March in Stockholm: a second day.
		{ID: "c", Type: "walk", Category: "trail", At: at("2026-03-02T23:30:00Z"), Props: map[string]float64{"km": 2}},
		{ID: "d", Type: "swim", At: at("2026-03-05T08:00:00Z"), Props: map[string]float64{"km": 1}},
		{ID: "e", Type: "walk", At: at("2026-02-28T22:30:00Z"), Props: map[string]float64{"km": 9}}, // 23:30 local on 28 Feb: before
		{ID: "f", Type: "walk", At: at("2026-03-31T21:30:00Z"), Props: map[string]float64{"km": 4}}, // 23:30 local on 31 March: in
		{ID: "g", Type: "walk", At: at("2026-03-31T22:30:00Z"), Props: map[string]float64{"km": 4}}, // 1 April local: after
	}
	for _, tc := range []struct {
		goal Goal
		want float64
	}{
		{Goal{Type: GoalCount, Event: "walk"}, 4},                    // a, b, c, f
		{Goal{Type: GoalCount, Event: "walk", Category: "trail"}, 2}, // a, c (any case)
		{Goal{Type: GoalCount}, 5},                                   // any type: + d
		{Goal{Type: GoalSum, Event: "walk", Prop: "km"}, 14.5},
		{Goal{Type: GoalDays, Event: "walk"}, 3}, // 2, 3 and 31 March, local
		{Goal{Type: GoalSequence, Steps: []Step{{Event: "walk"}, {Event: "swim"}, {Event: "walk"}}}, 3},
		{Goal{Type: GoalSequence, Steps: []Step{{Event: "swim"}, {Event: "walk", Category: "trail"}}}, 1}, // no trail walk after the swim
	} {
		if got := tc.goal.Measure(evs, from, to, stockholm); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.goal, got, tc.want)
		}
		// Arrival order changes nothing.
		rev := make([]Event, len(evs))
		for i, e := range evs {
			rev[len(evs)-1-i] = e
		}
		if got := tc.goal.Measure(rev, from, to, stockholm); got != tc.want {
			t.Errorf("%+v reversed: %v, want %v", tc.goal, got, tc.want)
		}
	}
}

// The adaptive rule: a beginner and an expert in the same challenge are both
// stretched from their own pace, within the team's bounds; without a pace, skill sets
// the start.
func TestGoalFor(t *testing.T) {
	g := Goal{Type: GoalCount, Event: "class", Target: 12}
	bounds := &Adaptive{Min: 4, Max: 40}
	for _, tc := range []struct {
		pace  float64
		skill string
		want  float64
	}{
		{4, "beginner", 6},   // 4 × 1.3 = 5.2 → 6
		{30, "expert", 33},   // 30 × 1.1
		{50, "expert", 40},   // 55, capped at max
		{1, "beginner", 4},   // 1.3 → 2, raised to min
		{0, "beginner", 6},   // 12 × 0.5
		{0, "expert", 15},    // 12 × 1.25
		{0, "", 9},           // unknown skill: intermediate, 12 × 0.75
		{10, "advanced", 12}, // 11.5 → 12
	} {
		if got := GoalFor(g, bounds, tc.pace, tc.skill); got != tc.want {
			t.Errorf("pace %v %q: %v, want %v", tc.pace, tc.skill, got, tc.want)
		}
	}
	if got := GoalFor(g, nil, 30, "expert"); got != 12 {
		t.Errorf("without bounds: %v, want the target", got)
	}
	sum := Goal{Type: GoalSum, Prop: "km", Target: 50}
	if got := GoalFor(sum, &Adaptive{Min: 1, Max: 100}, 12.34, "intermediate"); got != 14.9 {
		t.Errorf("sum goal: %v, want 14.9 (12.34 × 1.2, up to a tenth)", got)
	}
}

func TestValidate(t *testing.T) {
	ok := func() Definition {
		return Definition{ContentID: 1, Target: Target{Kind: TargetCommunity, ID: "c1"}, Kind: KindIndividual,
			Goal: Goal{Type: GoalCount, Event: "walk", Target: 10}, StartsOn: "2026-03-01", EndsOn: "2026-03-31"}
	}
	d := ok()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Timezone != MemberZone || d.Recurrence != RecurNone || d.Enrolment != EnrolOptIn || len(d.Thresholds) != 1 {
		t.Errorf("defaults not filled: %+v", d)
	}
	for name, change := range map[string]func(*Definition){
		"no target":          func(d *Definition) { d.Target = Target{} },
		"bad stage":          func(d *Definition) { d.Target = Target{Kind: TargetStage, ID: "sleeping"} },
		"bad kind":           func(d *Definition) { d.Kind = "team" },
		"zero target":        func(d *Definition) { d.Goal.Target = 0 },
		"fractional count":   func(d *Definition) { d.Goal.Target = 2.5 },
		"sum without prop":   func(d *Definition) { d.Goal = Goal{Type: GoalSum, Target: 3} },
		"one step":           func(d *Definition) { d.Goal = Goal{Type: GoalSequence, Steps: []Step{{Event: "a"}}} },
		"end before start":   func(d *Definition) { d.EndsOn = "2026-02-01" },
		"bad date":           func(d *Definition) { d.StartsOn = "March" },
		"bad zone":           func(d *Definition) { d.Timezone = "Mars/Olympus" },
		"weekly, 30 days":    func(d *Definition) { d.Recurrence = RecurWeekly },
		"group adapts":       func(d *Definition) { d.Kind = KindGroup; d.Adaptive = &Adaptive{Min: 1, Max: 2} },
		"bounds upside down": func(d *Definition) { d.Adaptive = &Adaptive{Min: 5, Max: 2} },
		"threshold 100":      func(d *Definition) { d.Thresholds = []int{100} },
	} {
		d := ok()
		change(&d)
		if err := d.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCrossed(t *testing.T) {
	th := []int16{25, 50, 75}
	for _, tc := range []struct {
		notified int16
		progress float64
		want     int
	}{{0, 2, 0}, {0, 3, 25}, {0, 8, 50}, {0, 9, 75}, {50, 7, 0}, {50, 9, 75}, {75, 12, 0}} {
		if got := crossed(th, tc.notified, tc.progress, 12); got != tc.want {
			t.Errorf("notified %d progress %v: %d, want %d", tc.notified, tc.progress, got, tc.want)
		}
	}
}
