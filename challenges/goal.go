package challenges

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Goal types.
const (
	GoalCount    = "count"    // events of a type (and category)
	GoalSum      = "sum"      // a numeric prop summed over those events (minutes, km)
	GoalDays     = "days"     // distinct local days with such an event
	GoalSequence = "sequence" // steps done in order
)

// GoalTypes lists every goal type.
var GoalTypes = []string{GoalCount, GoalSum, GoalDays, GoalSequence}

// Goal is what counts towards a challenge and how much of it completes one. Event
// and Category select the events (empty: any); a sequence's steps select their own.
type Goal struct {
	Type     string  `json:"type"`
	Event    string  `json:"event,omitempty"`
	Category string  `json:"category,omitempty"`
	Prop     string  `json:"prop,omitempty"`
	Target   float64 `json:"target"`
	Steps    []Step  `json:"steps,omitempty"`
}

// Step is one step of a sequence: an event of this type (and category).
type Step struct {
	Event    string `json:"event"`
	Category string `json:"category,omitempty"`
}

// Event is what a goal reads of a member's event.
type Event struct {
	ID       string
	Type     string
	Category string
	At       time.Time
	// Props are the event's numeric props (a sum goal reads one).
	Props map[string]float64
}

// Validate checks a goal and fills what follows from it (a sequence's target is its
// number of steps).
func (g *Goal) Validate() error {
	g.Event, g.Category, g.Prop = strings.TrimSpace(g.Event), strings.TrimSpace(g.Category), strings.TrimSpace(g.Prop)
	if !slices.Contains(GoalTypes, g.Type) {
		return fmt.Errorf("goal type %q is not one of %s", g.Type, strings.Join(GoalTypes, ", "))
	}
	switch g.Type {
	case GoalSequence:
		if len(g.Steps) < 2 || len(g.Steps) > 20 {
			return fmt.Errorf("a sequence has 2 to 20 steps, not %d", len(g.Steps))
		}
		for i, s := range g.Steps {
			if strings.TrimSpace(s.Event) == "" {
				return fmt.Errorf("step %d needs an event type", i+1)
			}
		}
		g.Target = float64(len(g.Steps))
		return nil
	case GoalSum:
		if g.Prop == "" {
			return fmt.Errorf("a sum goal needs the prop it sums (such as minutes)")
		}
	}
	if len(g.Steps) > 0 {
		return fmt.Errorf("only a sequence has steps")
	}
	if math.IsNaN(g.Target) || g.Target <= 0 || g.Target > 1e9 {
		return fmt.Errorf("goal target must be above 0 and at most 1e9")
	}
	if g.Type != GoalSum && g.Target != math.Trunc(g.Target) {
		return fmt.Errorf("a %s target is a whole number", g.Type)
	}
	return nil
}

// matches reports whether e is an event the goal counts (not for sequences).
func (g Goal) matches(e Event) bool {
	return (g.Event == "" || e.Type == g.Event) && (g.Category == "" || strings.EqualFold(e.Category, g.Category))
}

// Measure is how far the events that happened in [from, to) take a member towards
// the goal: a count, a sum, distinct days in loc, or the steps done in order. Events
// may come in any order and each counts once by ID, so a replayed or late event
// changes nothing twice.
func (g Goal) Measure(events []Event, from, to time.Time, loc *time.Location) float64 {
	seen := make(map[string]bool, len(events))
	in := make([]Event, 0, len(events))
	for _, e := range events {
		if e.At.Before(from) || !e.At.Before(to) || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		in = append(in, e)
	}
	switch g.Type {
	case GoalSequence:
		sort.SliceStable(in, func(i, j int) bool {
			if !in[i].At.Equal(in[j].At) {
				return in[i].At.Before(in[j].At)
			}
			return in[i].ID < in[j].ID
		})
		done := 0
		for _, e := range in {
			if done == len(g.Steps) {
				break
			}
			s := g.Steps[done]
			if e.Type == s.Event && (s.Category == "" || strings.EqualFold(e.Category, s.Category)) {
				done++
			}
		}
		return float64(done)
	case GoalDays:
		days := map[string]bool{}
		for _, e := range in {
			if g.matches(e) {
				days[e.At.In(loc).Format(time.DateOnly)] = true
			}
		}
		return float64(len(days))
	case GoalSum:
		var sum float64
		for _, e := range in {
			if v, ok := e.Props[g.Prop]; ok && g.matches(e) && v > 0 && !math.IsInf(v, 0) {
				sum += v
			}
		}
		return sum
	}
	n := 0
	for _, e := range in {
		if g.matches(e) {
			n++
		}
	}
	return float64(n)
}

// EventTypes are the event types the goal reads (nil: any type).
func (g Goal) EventTypes() []string {
	if g.Type == GoalSequence {
		var ts []string
		for _, s := range g.Steps {
			if !slices.Contains(ts, s.Event) {
				ts = append(ts, s.Event)
			}
		}
		return ts
	}
	if g.Event == "" {
		return nil
	}
	return []string{g.Event}
}
