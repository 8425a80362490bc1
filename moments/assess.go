package moments

import (
	"fmt"
	"time"
)

// Lifecycle stages.
const (
	StageOnboarding = "onboarding" // joined in the last 30 days
	StageActivation = "activation" // joined in the last 90 days, or fewer than 10 activities
	StageRetention  = "retention"  // no activity in 30 days, or under half their usual pace
	StageAdvocacy   = "advocacy"   // 3+ contributions (helping, reviews, referrals, hosting) in 90 days
	StageGrowth     = "growth"     // everyone else: active and settled
)

// Next best actions.
const (
	ActionCelebrate    = "celebrate"
	ActionReconnect    = "reconnect"
	ActionInviteToLead = "invite_to_lead"
	ActionEncourage    = "encourage"
	ActionNone         = "none"
)

// Activity summarises a member's events relative to now.
type Activity struct {
	Total, Last14, Last30, Days15to90, Days31to90 int
	Contributions90, NegativeFeedback90           int
	FirstEventAt                                  *time.Time
	// Responsiveness is the mean of (events in the 7 days after a recognition + 1) /
	// (events in the 7 days before + 1) over past recognitions; 0 when there were none.
	// It is stored on the member and refreshed hourly (RefreshResponsiveness).
	Responsiveness float64
}

// Summary is a member's activity summary as stored (member_activity, kept by event
// ingest): every event's count and the first one's time, and the times of the events
// of the last 92 days as of the latest ingest, of all of them and of those that are
// contributions or negative feedback.
type Summary struct {
	Total                           int64
	First                           *time.Time
	Recent, Contributions, Negative []time.Time
}

// Activity counts the summarised events that happened by now, in the windows the
// rules use (Responsiveness is not part of it).
func (s Summary) Activity(now time.Time) Activity {
	const day = 24 * time.Hour
	t14, t30, t90 := now.Add(-14*day), now.Add(-30*day), now.Add(-90*day)
	a := Activity{Total: int(s.Total)}
	if s.First != nil && !s.First.After(now) {
		a.FirstEventAt = s.First
	}
	for _, t := range s.Recent {
		switch {
		case t.After(now):
			a.Total-- // not yet
		case t.After(t14):
			a.Last14++
			a.Last30++
		case t.After(t30):
			a.Last30++
			a.Days15to90++
		case t.After(t90):
			a.Days15to90++
			a.Days31to90++
		}
	}
	in90 := func(ts []time.Time) (n int) {
		for _, t := range ts {
			if t.After(t90) && !t.After(now) {
				n++
			}
		}
		return n
	}
	a.Contributions90, a.NegativeFeedback90 = in90(s.Contributions), in90(s.Negative)
	return a
}

// Signals are what the next best action is chosen from.
type Signals struct {
	// Trend is the member's pace in the last 14 days over their pace in days 15–90
	// (1 = as usual); -1 when there is no baseline.
	Trend          float64 `json:"trend"`
	Disappointed   bool    `json:"disappointed"`
	Responsiveness float64 `json:"responsiveness"`
}

// Assessment is a member's stage, signals and next best action.
type Assessment struct {
	Stage   string  `json:"stage"`
	Signals Signals `json:"signals"`
	Action  string  `json:"action"`
	Reason  string  `json:"reason"`
}

// Assess applies the documented rules. due, when not empty, is a milestone waiting to
// be celebrated.
func Assess(now time.Time, joined *time.Time, a Activity, due string) Assessment {
	var s Signals
	s.Trend = -1
	if a.Days15to90 > 0 {
		s.Trend = round2((float64(a.Last14) / 14) / (float64(a.Days15to90) / 76))
	}
	s.Responsiveness = round2(a.Responsiveness)
	usual := float64(a.Days31to90) / 2 // a usual 30 days
	s.Disappointed = a.NegativeFeedback90 > 0 || (a.Days15to90 >= 8 && s.Trend >= 0 && s.Trend < 0.4)

	since := joined
	if since == nil {
		since = a.FirstEventAt
	}
	tenure := time.Duration(0)
	if since != nil {
		tenure = now.Sub(*since)
	}
	stage := StageGrowth
	switch {
	case since == nil || tenure < 30*24*time.Hour:
		stage = StageOnboarding
	case tenure < 90*24*time.Hour || a.Total < 10:
		stage = StageActivation
	case a.Last30 == 0 || (usual >= 2 && float64(a.Last30) < usual/2):
		stage = StageRetention
	case a.Contributions90 >= 3:
		stage = StageAdvocacy
	}
	as := Assessment{Stage: stage, Signals: s}
	switch {
	case due != "":
		as.Action, as.Reason = ActionCelebrate, "a milestone to celebrate: "+due
	case s.Disappointed && a.NegativeFeedback90 > 0:
		as.Action, as.Reason = ActionReconnect, "recent negative feedback"
	case s.Disappointed:
		as.Action, as.Reason = ActionReconnect, fmt.Sprintf("activity fell to %.0f%% of their usual pace", 100*s.Trend)
	case stage == StageRetention:
		as.Action, as.Reason = ActionReconnect, "quiet for a while compared with their usual pace"
	case stage == StageAdvocacy:
		as.Action, as.Reason = ActionInviteToLead, fmt.Sprintf("%d contributions to the community in 90 days", a.Contributions90)
	case stage == StageGrowth && s.Trend >= 1 && a.Last30 >= 12 && s.Responsiveness >= 1:
		as.Action, as.Reason = ActionInviteToLead, "consistently active and responds to recognition"
	case stage == StageOnboarding:
		as.Action, as.Reason = ActionEncourage, "new: help them find their first rhythm"
	default:
		as.Action, as.Reason = ActionEncourage, "keep the momentum going with their community"
	}
	return as
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
