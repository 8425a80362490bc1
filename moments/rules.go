package moments

import (
	"fmt"
	"sort"
	"time"
)

// Rules say which moments are milestones.
type Rules struct {
	// Counts fire when a member's events of one type reach each threshold.
	Counts []int
	// StreakDays and StreakWeeks fire when consecutive local days (weeks) with
	// activity reach each length.
	StreakDays, StreakWeeks []int
	// Anniversaries fire on each year of membership since joined_at.
	Anniversaries bool
}

// DefaultRules are the rules unless configured otherwise.
var DefaultRules = Rules{
	Counts:        []int{1, 10, 50, 100, 500, 1000},
	StreakDays:    []int{7, 30, 100},
	StreakWeeks:   []int{4, 12, 52},
	Anniversaries: true,
}

// Firing is one milestone a member reached.
type Firing struct {
	Key        string    `json:"key"`
	Occasion   string    `json:"occasion"` // milestone, streak or anniversary
	Detail     string    `json:"detail"`   // "100 class completed", "30 days", "1 year"
	OccurredAt time.Time `json:"occurred_at"`
}

// History is what the rules read of one member.
type History struct {
	Location *time.Location
	JoinedAt *time.Time
	// Counts of events per type, and the time of the event that reached each count
	// is not needed: a count firing is dated by the member's latest event.
	Counts map[string]int
	// Days on which the member was active, as local dates (any order).
	Days []time.Time
	// Latest is the member's latest event (or the time of the check).
	Latest time.Time
	// ReachedAt says, per event type and count threshold, when the count was reached
	// (the time of that event); a count firing without one is dated Latest.
	ReachedAt map[string]map[int]time.Time
}

// Evaluate returns every milestone the history has reached. Keys are stable, so a
// store that records them once never fires twice.
func (r Rules) Evaluate(h History) []Firing {
	var out []Firing
	types := make([]string, 0, len(h.Counts))
	for t := range h.Counts {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		for _, n := range r.Counts {
			if h.Counts[t] >= n {
				at := h.Latest
				if reached, ok := h.ReachedAt[t][n]; ok {
					at = reached
				}
				out = append(out, Firing{Key: fmt.Sprintf("count:%s:%d", t, n), Occasion: "milestone",
					Detail: fmt.Sprintf("%d × %s", n, humanType(t)), OccurredAt: at})
			}
		}
	}
	if len(h.Days) > 0 {
		start, days := streak(h.Days, 24*time.Hour)
		for _, n := range r.StreakDays {
			if days >= n {
				out = append(out, Firing{Key: fmt.Sprintf("streak:days:%d:%s", n, start.Format("2006-01-02")), Occasion: "streak",
					Detail: fmt.Sprintf("%d days", n), OccurredAt: h.Latest})
			}
		}
		wstart, weeks := streak(weekStarts(h.Days), 7*24*time.Hour)
		for _, n := range r.StreakWeeks {
			if weeks >= n {
				out = append(out, Firing{Key: fmt.Sprintf("streak:weeks:%d:%s", n, wstart.Format("2006-01-02")), Occasion: "streak",
					Detail: fmt.Sprintf("%d weeks", n), OccurredAt: h.Latest})
			}
		}
	}
	if r.Anniversaries && h.JoinedAt != nil {
		loc := h.Location
		if loc == nil {
			loc = time.UTC
		}
		joined := h.JoinedAt.In(loc)
		now := h.Latest.In(loc)
		for y := 1; ; y++ {
			at := time.Date(joined.Year()+y, joined.Month(), joined.Day(), 0, 0, 0, 0, loc)
			if at.After(now) {
				break
			}
			unit := "years"
			if y == 1 {
				unit = "year"
			}
			out = append(out, Firing{Key: fmt.Sprintf("anniversary:%d", y), Occasion: "anniversary",
				Detail: fmt.Sprintf("%d %s", y, unit), OccurredAt: at})
		}
	}
	return out
}

// streak returns the first day and length of the run of consecutive periods (days or
// week starts, step apart) that ends at the latest one.
func streak(days []time.Time, step time.Duration) (time.Time, int) {
	set := map[string]bool{}
	var latest time.Time
	for _, d := range days {
		set[d.Format("2006-01-02")] = true
		if d.After(latest) {
			latest = d
		}
	}
	n, start := 0, latest
	for d := latest; set[d.Format("2006-01-02")]; d = d.AddDate(0, 0, -int(step/(24*time.Hour))) {
		n++
		start = d
	}
	return start, n
}

// weekStarts maps days to the Monday of their ISO week.
func weekStarts(days []time.Time) []time.Time {
	out := make([]time.Time, len(days))
	for i, d := range days {
		wd := (int(d.Weekday()) + 6) % 7 // Monday = 0
		out[i] = time.Date(d.Year(), d.Month(), d.Day()-wd, 0, 0, 0, 0, time.UTC)
	}
	return out
}

func humanType(t string) string {
	b := []byte(t)
	for i, c := range b {
		if c == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}
