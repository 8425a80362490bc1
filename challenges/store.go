package challenges

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/storage"
)

// Errors of the challenge vocabulary.
var (
	ErrNotFound   = belong.New(belong.ENOTFOUND, "challenge_not_found", "challenge not found")
	ErrContent    = belong.New(belong.EUNPROCESSABLE, "content_not_launchable", "a challenge is launched from approved challenge content")
	ErrOver       = belong.New(belong.ECONFLICT, "challenge_over", "the challenge has ended")
	ErrNotTarget  = belong.New(belong.EUNPROCESSABLE, "not_in_target", "the member is not in the challenge's community, tribe or stage")
	ErrNotJoined  = belong.New(belong.ENOTFOUND, "participant_not_found", "the member is not in the challenge")
	ErrBadRequest = belong.New(belong.EINVALID, "invalid_challenge", "invalid challenge")
)

// Grace is how long after a window ends late events (dated inside it) still count.
const Grace = 7 * 24 * time.Hour

// Challenge is a launched challenge as served.
type Challenge struct {
	ID       int64  `json:"id,string"`
	SeriesID *int64 `json:"series_id,string,omitempty"`
	Instance int    `json:"instance"`
	Definition
	// Title and Narrative are the approved content's (empty once it is withdrawn).
	Title     string   `json:"title"`
	Narrative string   `json:"narrative"`
	Steps     []string `json:"steps"`
	Locale    string   `json:"locale"`
	// CommunityID is the community its content was written for (its badge wears
	// that community's colours).
	CommunityID string `json:"community_id"`
	Status      string `json:"status"`
	// DaysLeft counts the window's days from today (in UTC) to its last, inclusive.
	DaysLeft     int `json:"days_left"`
	Participants int `json:"participants"`
	Completed    int `json:"completed"`
	// Progress and Share are a group challenge's (the sum of its participants'
	// progress, and that over the goal); 0 for an individual one.
	Progress    float64    `json:"progress"`
	Share       float64    `json:"share"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
}

// challengeOf is a challenge as read (storage's challenge_summaries view) as of now.
func challengeOf(r storage.ChallengeSummary, now time.Time) (Challenge, error) {
	c := Challenge{ID: r.ID, SeriesID: r.SeriesID, Instance: int(r.Instance), Definition: Definition{
		ContentID: r.ContentID, Target: Target{Kind: r.TargetKind, ID: r.TargetID}, Kind: r.Kind,
		StartsOn: r.StartsOn.Format(time.DateOnly), EndsOn: r.EndsOn.Format(time.DateOnly), Timezone: r.Timezone,
		Recurrence: r.Recurrence, Enrolment: r.Enrolment, Thresholds: ints(r.Thresholds)},
		Locale: r.Locale, CommunityID: r.CommunityID, Participants: int(r.Participants), Completed: int(r.Completed), CompletedAt: r.CompletedAt,
		EndedAt: r.EndedAt, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, Steps: []string{}}
	if err := json.Unmarshal(r.Goal, &c.Goal); err != nil {
		return Challenge{}, fmt.Errorf("challenge %d goal: %w", r.ID, err)
	}
	if len(r.Adaptive) > 0 && string(r.Adaptive) != "null" {
		c.Adaptive = &Adaptive{}
		if err := json.Unmarshal(r.Adaptive, c.Adaptive); err != nil {
			return Challenge{}, fmt.Errorf("challenge %d adaptive: %w", r.ID, err)
		}
	}
	if len(r.Body) > 0 {
		var b struct {
			Title     string   `json:"title"`
			Narrative string   `json:"narrative"`
			Steps     []string `json:"steps"`
		}
		if err := json.Unmarshal(r.Body, &b); err == nil {
			c.Title, c.Narrative = b.Title, b.Narrative
			if b.Steps != nil {
				c.Steps = b.Steps
			}
		}
	}
	c.Status = status(r.StartsOn, r.EndsOn, r.CompletedAt, r.EndedAt, now)
	if c.Status == StatusActive || c.Status == StatusScheduled {
		c.DaysLeft = int(r.EndsOn.Sub(day(now)).Hours()/24) + 1
	}
	if r.Kind == KindGroup {
		c.Progress = r.Progress
		c.Share = share(r.Progress, c.Goal.Target)
	}
	return c, nil
}

// status derives a challenge's status: a window is read in UTC here (a member's own
// zone decides what counts for them, not what the team sees).
func status(startsOn, endsOn time.Time, completed, ended *time.Time, now time.Time) string {
	today := day(now)
	switch {
	case completed != nil:
		return StatusCompleted
	case ended != nil || today.After(endsOn):
		return StatusEnded
	case today.Before(startsOn):
		return StatusScheduled
	}
	return StatusActive
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func share(progress, goal float64) float64 {
	if goal <= 0 {
		return 0
	}
	return math.Round(math.Min(progress/goal, 1)*1000) / 1000
}

func ints(t []int16) []int {
	out := make([]int, len(t))
	for i, v := range t {
		out[i] = int(v)
	}
	return out
}

// Get reads one challenge.
func Get(ctx context.Context, db database.DBTX, id int64, now time.Time) (Challenge, error) {
	r, err := storage.New(db).GetChallenge(ctx, id)
	if err != nil {
		return Challenge{}, fmt.Errorf("challenge %d: %w", id, storage.Translate(err, ErrNotFound))
	}
	return challengeOf(r, now)
}

// ListFilter narrows List.
type ListFilter struct {
	// Current keeps those whose window has not ended more than a week ago.
	Current bool
	// Before pages (0: from the newest); Limit caps the page.
	Before int64
	Limit  int
	// Community keeps those for it or launched from its content.
	Community string
}

// List reads challenges newest first.
func List(ctx context.Context, db database.DBTX, f ListFilter, now time.Time) ([]Challenge, error) {
	var since *time.Time
	if f.Current {
		s := day(now).Add(-Grace)
		since = &s
	}
	rs, err := storage.New(db).ListChallenges(ctx, storage.ListChallengesParams{Since: since, Before: f.Before, Max: int32(f.Limit),
		Community: f.Community})
	if err != nil {
		return nil, fmt.Errorf("list challenges: %w", storage.Translate(err, nil))
	}
	out := make([]Challenge, 0, len(rs))
	for _, r := range rs {
		c, err := challengeOf(r, now)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Entry is a member's place on a leaderboard: first name only.
type Entry struct {
	Rank      int        `json:"rank"`
	FirstName string     `json:"first_name"`
	Progress  float64    `json:"progress"`
	Goal      float64    `json:"goal"`
	Share     float64    `json:"share"`
	Completed *time.Time `json:"completed_at,omitempty"`
}

// Leaderboard ranks the participants (by share of their own goal, or by contribution
// in a group challenge) and lists the first limit of those who consented to
// community visibility, by first name; the others keep their ranks but are not shown.
func Leaderboard(ctx context.Context, db database.DBTX, c Challenge, limit int) ([]Entry, error) {
	rs, err := storage.New(db).Leaderboard(ctx, storage.LeaderboardParams{ChallengeID: c.ID,
		GroupKind: c.Kind == KindGroup, Max: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("leaderboard %d: %w", c.ID, storage.Translate(err, nil))
	}
	out := make([]Entry, 0, len(rs))
	for _, r := range rs {
		first, _, _ := strings.Cut(r.Name, " ")
		out = append(out, Entry{Rank: int(r.Rank), FirstName: first, Progress: r.Progress, Goal: r.Goal,
			Share: share(r.Progress, r.Goal), Completed: r.CompletedAt})
	}
	return out, nil
}

// Participation is a member's place in a challenge, as GET
// /v1/members/{id}/challenges serves it.
type Participation struct {
	Challenge Challenge `json:"challenge"`
	// Goal is the member's own (adapted) goal; in a group challenge, the group's.
	Goal        float64    `json:"goal"`
	Progress    float64    `json:"progress"`
	Share       float64    `json:"share"`
	Rank        int        `json:"rank"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	JoinedAt    time.Time  `json:"joined_at"`
}

// ForMember lists the member's challenges whose window has not ended more than a week
// ago (all = true), or only the active ones, ending soonest first.
func ForMember(ctx context.Context, db database.DBTX, memberID string, all bool, now time.Time) ([]Participation, error) {
	rs, err := storage.New(db).MemberChallenges(ctx, storage.MemberChallengesParams{MemberID: memberID,
		Since: day(now).Add(-Grace)})
	if err != nil {
		return nil, fmt.Errorf("challenges of %s: %w", memberID, storage.Translate(err, nil))
	}
	out := make([]Participation, 0, len(rs))
	for _, r := range rs {
		c, err := challengeOf(r.ChallengeSummary, now)
		if err != nil {
			return nil, err
		}
		if !all && c.Status != StatusActive {
			continue
		}
		p := Participation{Challenge: c, Goal: r.MemberGoal, Progress: r.MemberProgress, Rank: int(r.Rank),
			CompletedAt: r.MemberCompletedAt, JoinedAt: r.JoinedAt}
		p.Share = share(p.Progress, p.Goal)
		out = append(out, p)
	}
	return out, nil
}

// MostRelevant is the active participation the member is closest to finishing and not
// yet finished (ending soonest among equals), or nil.
func MostRelevant(ps []Participation) *Participation {
	var best *Participation
	for i := range ps {
		p := &ps[i]
		if p.Challenge.Status != StatusActive || p.CompletedAt != nil {
			continue
		}
		if best == nil || p.Share > best.Share || (p.Share == best.Share && p.Challenge.EndsOn < best.Challenge.EndsOn) {
			best = p
		}
	}
	return best
}

// Key is the milestone key of completing challenge id.
func Key(id int64) string { return "challenge:" + strconv.FormatInt(id, 10) }

// BadgeOccasion is the occasion of a challenge's badge: every instance of a series
// earns the badge of its first.
func (c Challenge) BadgeOccasion() string {
	if c.SeriesID != nil {
		return Key(*c.SeriesID)
	}
	return Key(c.ID)
}

// inTarget lists, in id order, the members of target t among ids (everyone when ids
// is nil), and with consenting only those who consented to personalization. A
// stage's members are always consenting ones: stages are only computed for them.
func inTarget(ctx context.Context, db database.DBTX, t Target, ids []string, consenting bool, now time.Time) ([]string, error) {
	if t.Kind == TargetStage {
		stages, err := moments.Stages(ctx, db, ids, now)
		if err != nil {
			return nil, err
		}
		var out []string
		for id, st := range stages {
			if st == t.ID {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	rows, err := storage.New(db).TargetMembers(ctx, storage.TargetMembersParams{Kind: t.Kind, ID: t.ID, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("members of %s %s: %w", t.Kind, t.ID, storage.Translate(err, nil))
	}
	var out []string
	for _, r := range rows {
		if r.ConsentPersonalization || !consenting {
			out = append(out, r.ID)
		}
	}
	return out, nil
}
