package challenges

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/belong-loyalty/belong/members"
)

// Kinds of challenge.
const (
	KindIndividual = "individual" // each participant has a goal of their own
	KindGroup      = "group"      // one shared goal for everyone in it
)

// Targets: who a challenge is for.
const (
	TargetCommunity = "community"
	TargetTribe     = "tribe"
	TargetStage     = "stage" // a lifecycle stage, such as onboarding
)

// Recurrences: a recurring challenge starts a new instance when one ends.
const (
	RecurNone     = "none"
	RecurWeekly   = "weekly"
	RecurMonthly  = "monthly"
	RecurSeasonal = "seasonal" // every three months
)

// Enrolments.
const (
	EnrolOptIn = "opt_in" // members join by API
	EnrolAuto  = "auto"   // every consenting member of the target is enrolled
)

// MemberZone as a challenge's time zone means each member's own.
const MemberZone = "member"

// Statuses, derived from the window and the clock (never stored).
const (
	StatusScheduled = "scheduled"
	StatusActive    = "active"
	StatusCompleted = "completed" // a group challenge that reached its goal
	StatusEnded     = "ended"
)

// Target says who a challenge is for: a community, a tribe, or a lifecycle stage.
type Target struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Definition is what launching a challenge takes.
type Definition struct {
	ContentID  int64     `json:"content_id,string"`
	Target     Target    `json:"target"`
	Kind       string    `json:"kind"`
	Goal       Goal      `json:"goal"`
	Adaptive   *Adaptive `json:"adaptive,omitempty"`
	StartsOn   string    `json:"starts_on"`
	EndsOn     string    `json:"ends_on"`
	Timezone   string    `json:"timezone"`
	Recurrence string    `json:"recurrence"`
	Enrolment  string    `json:"enrolment"`
	Thresholds []int     `json:"thresholds"`
}

// Stages a challenge can target.
var Stages = []string{"onboarding", "activation", "growth", "retention", "advocacy"}

// Validate checks a definition, filling the defaults: a group or individual kind is
// required; timezone defaults to each member's own, recurrence to none, enrolment to
// opt-in, thresholds to 50%. Dates are YYYY-MM-DD; a window lasts at most a year.
func (d *Definition) Validate() error {
	d.Target.Kind, d.Target.ID = strings.TrimSpace(d.Target.Kind), strings.TrimSpace(d.Target.ID)
	switch d.Target.Kind {
	case TargetCommunity, TargetTribe:
		if d.Target.ID == "" {
			return fmt.Errorf("a %s target needs its id", d.Target.Kind)
		}
	case TargetStage:
		if !slices.Contains(Stages, d.Target.ID) {
			return fmt.Errorf("stage %q is not one of %s", d.Target.ID, strings.Join(Stages, ", "))
		}
	default:
		return fmt.Errorf("target kind %q is not community, tribe or stage", d.Target.Kind)
	}
	if d.Kind != KindIndividual && d.Kind != KindGroup {
		return fmt.Errorf("kind %q is not individual or group", d.Kind)
	}
	if err := d.Goal.Validate(); err != nil {
		return err
	}
	if d.Adaptive != nil {
		if d.Kind != KindIndividual || d.Goal.Type == GoalSequence {
			return fmt.Errorf("only an individual count, sum or days goal adapts")
		}
		if err := d.Adaptive.validate(d.Goal); err != nil {
			return err
		}
	}
	start, err := time.Parse(time.DateOnly, d.StartsOn)
	if err != nil {
		return fmt.Errorf("starts_on %q is not a date (YYYY-MM-DD)", d.StartsOn)
	}
	end, err := time.Parse(time.DateOnly, d.EndsOn)
	if err != nil {
		return fmt.Errorf("ends_on %q is not a date (YYYY-MM-DD)", d.EndsOn)
	}
	if end.Before(start) || end.Sub(start) > 365*24*time.Hour {
		return fmt.Errorf("a window ends on or after its start and lasts at most a year")
	}
	d.Timezone = cmp.Or(strings.TrimSpace(d.Timezone), MemberZone)
	if d.Timezone != MemberZone {
		if _, err := time.LoadLocation(d.Timezone); err != nil || d.Timezone == "Local" {
			return fmt.Errorf("timezone %q is not an IANA time zone or %q", d.Timezone, MemberZone)
		}
	}
	d.Recurrence = cmp.Or(d.Recurrence, RecurNone)
	if !slices.Contains([]string{RecurNone, RecurWeekly, RecurMonthly, RecurSeasonal}, d.Recurrence) {
		return fmt.Errorf("recurrence %q is not none, weekly, monthly or seasonal", d.Recurrence)
	}
	if d.Recurrence != RecurNone {
		if next := Next(d.Recurrence, start); !next.After(end) {
			return fmt.Errorf("a %s challenge's window ends before the next one starts (%s)", d.Recurrence, next.Format(time.DateOnly))
		}
	}
	d.Enrolment = cmp.Or(d.Enrolment, EnrolOptIn)
	if d.Enrolment != EnrolOptIn && d.Enrolment != EnrolAuto {
		return fmt.Errorf("enrolment %q is not opt_in or auto", d.Enrolment)
	}
	if d.Thresholds == nil {
		d.Thresholds = []int{50}
	}
	if len(d.Thresholds) > 10 {
		return fmt.Errorf("at most 10 thresholds")
	}
	for _, t := range d.Thresholds {
		if t < 1 || t > 99 {
			return fmt.Errorf("a threshold is a share of the goal from 1 to 99 (percent), not %d", t)
		}
	}
	slices.Sort(d.Thresholds)
	d.Thresholds = slices.Compact(d.Thresholds)
	return nil
}

// Next is the start of the instance after one that started on start.
func Next(recurrence string, start time.Time) time.Time {
	switch recurrence {
	case RecurWeekly:
		return start.AddDate(0, 0, 7)
	case RecurMonthly:
		return start.AddDate(0, 1, 0)
	case RecurSeasonal:
		return start.AddDate(0, 3, 0)
	}
	return time.Time{}
}

// Window is the instant range [from, to) of the local days startsOn..endsOn in loc.
func Window(startsOn, endsOn time.Time, loc *time.Location) (from, to time.Time) {
	from = time.Date(startsOn.Year(), startsOn.Month(), startsOn.Day(), 0, 0, 0, 0, loc)
	to = time.Date(endsOn.Year(), endsOn.Month(), endsOn.Day()+1, 0, 0, 0, 0, loc)
	return from, to
}

// Adaptive bounds an individual goal that adapts to each member (see GoalFor).
type Adaptive struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

func (a *Adaptive) validate(g Goal) error {
	if a.Min <= 0 || a.Max < a.Min || math.IsInf(a.Max, 0) || a.Max > 1e9 {
		return fmt.Errorf("adaptive bounds need 0 < min <= max <= 1e9")
	}
	if g.Type != GoalSum && (a.Min != math.Trunc(a.Min) || a.Max != math.Trunc(a.Max)) {
		return fmt.Errorf("adaptive bounds of a %s goal are whole numbers", g.Type)
	}
	return nil
}

// Stretch is how far above their own recent pace a member's goal is set, by skill
// level: newer members grow fastest, so they are stretched most.
var Stretch = map[string]float64{"beginner": 0.3, "intermediate": 0.2, "advanced": 0.15, "expert": 0.1}

// Start is the share of the challenge's target a member without recent activity
// starts from, by skill level.
var Start = map[string]float64{"beginner": 0.5, "intermediate": 0.75, "advanced": 1, "expert": 1.25}

// GoalFor is a member's own goal in an individual challenge. Without adaptive bounds
// it is the challenge's target. With them, it follows the member's recent pace (how
// far the goal's measure took them over the same length of time just before the
// window): pace × (1 + Stretch[skill]), rounded up; a member with no recent pace
// starts from target × Start[skill]. Either way it stays within [min, max]. An
// unknown skill level counts as intermediate.
func GoalFor(g Goal, a *Adaptive, pace float64, skill string) float64 {
	if a == nil {
		return g.Target
	}
	level := "intermediate"
	if r := members.SkillRank(skill); r >= 0 {
		level = members.SkillLevels[r]
	}
	var goal float64
	if pace > 0 {
		goal = pace * (1 + Stretch[level])
	} else {
		goal = g.Target * Start[level]
	}
	if g.Type == GoalSum {
		goal = math.Ceil(goal*10) / 10
	} else {
		goal = math.Ceil(goal)
	}
	return math.Min(math.Max(goal, a.Min), a.Max)
}
