package moments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
)

// Detector records milestones as events arrive and drafts their recognitions.
type Detector struct {
	Rules    Rules
	Drafting generation.Drafting
	// Draft turns new firings into recognition drafts (the latest, most notable one per
	// member per batch); false only records them, as for a bulk import of history.
	Draft bool
	// AutoApprove approves drafts written by the reviewed templates with no guardrail
	// findings; anything else waits for review.
	AutoApprove bool
	Logger      *slog.Logger
}

// Fired is a firing recorded by Detect.
type Fired struct {
	MemberID string
	Firing
	DraftID int64
}

type memberRow struct {
	id, name, tz, locale string
	joined               *time.Time
	consent              bool
}

// Detect evaluates the rules for the given members as of now and records what fired
// for the first time. Re-running over the same events records nothing.
func (d *Detector) Detect(ctx context.Context, db database.DBTX, ids []string, now time.Time) ([]Fired, error) {
	rules := d.Rules
	if rules.Counts == nil && rules.StreakDays == nil && rules.StreakWeeks == nil && !rules.Anniversaries {
		rules = DefaultRules
	}
	return d.detect(ctx, db, ids, now, rules)
}

// DetectAnniversaries checks only the calendar: anniversaries of joining as of now
// (the member's local time). It touches the database only when an anniversary fell
// in the last week, so it is cheap enough for the moment endpoint; counts and streaks
// are detected when events arrive.
func (d *Detector) DetectAnniversaries(ctx context.Context, db database.DBTX, id, timezone string, joined *time.Time, now time.Time) ([]Fired, error) {
	if joined == nil || !d.Rules.Anniversaries && d.Rules.Counts != nil {
		return nil, nil
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		loc = time.UTC
	}
	recent := false
	for _, f := range (Rules{Anniversaries: true}).Evaluate(History{Location: loc, JoinedAt: joined, Latest: now}) {
		recent = recent || now.Sub(f.OccurredAt) <= recentEnough
	}
	if !recent {
		return nil, nil
	}
	return d.detect(ctx, db, []string{id}, now, Rules{Anniversaries: true})
}

// recentEnough is how old a milestone may be and still be celebrated: older ones
// (history loaded in bulk, an anniversary long past) are recorded, not drafted.
const recentEnough = 7 * 24 * time.Hour

func (d *Detector) detect(ctx context.Context, db database.DBTX, ids []string, now time.Time, rules Rules) ([]Fired, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	eventRules := rules.Counts != nil || rules.StreakDays != nil || rules.StreakWeeks != nil
	rows, err := db.Query(ctx, `SELECT id, name, timezone, locale, joined_at, consent_personalization
		FROM members WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("detect moments: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (memberRow, error) {
		var m memberRow
		err := r.Scan(&m.id, &m.name, &m.tz, &m.locale, &m.joined, &m.consent)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("detect moments: %w", err)
	}
	hist := map[string]*History{}
	for _, m := range ms {
		loc, err := time.LoadLocation(m.tz)
		if err != nil || m.tz == "" {
			loc = time.UTC
		}
		hist[m.id] = &History{Location: loc, JoinedAt: m.joined, Counts: map[string]int{}, Latest: now}
	}
	if eventRules {
		if err := readEvents(ctx, db, ids, now, hist); err != nil {
			return nil, err
		}
	}
	var fired []Fired
	for _, m := range ms {
		fs := rules.Evaluate(*hist[m.id])
		var fresh []Firing
		for _, f := range fs {
			tag, err := db.Exec(ctx, `INSERT INTO member_milestones (member_id, key, occasion, detail, occurred_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, m.id, f.Key, f.Occasion, f.Detail, f.OccurredAt)
			if err != nil {
				return nil, fmt.Errorf("record milestone: %w", err)
			}
			if tag.RowsAffected() == 1 {
				fresh = append(fresh, f)
			}
		}
		if len(fresh) == 0 {
			continue
		}
		var recent []Firing
		for _, f := range fresh {
			if now.Sub(f.OccurredAt) <= recentEnough {
				recent = append(recent, f)
			}
		}
		if len(recent) == 0 {
			for _, f := range fresh {
				fired = append(fired, Fired{MemberID: m.id, Firing: f})
			}
			continue
		}
		best := mostNotable(recent)
		out := Fired{MemberID: m.id, Firing: best}
		if d.Draft && m.consent {
			id, err := d.draft(ctx, db, m, best)
			if err != nil {
				return nil, err
			}
			out.DraftID = id
		}
		for _, f := range fresh {
			if f.Key != best.Key {
				fired = append(fired, Fired{MemberID: m.id, Firing: f})
			}
		}
		fired = append(fired, out)
	}
	return fired, nil
}

// mostNotable picks the one firing of a batch worth celebrating: anniversaries, then
// the longest streak, then the largest count.
func mostNotable(fs []Firing) Firing {
	rank := func(f Firing) (int, int) {
		n := 0
		fmt.Sscanf(f.Detail, "%d", &n)
		switch f.Occasion {
		case "anniversary":
			return 3, n
		case "streak":
			if strings.HasSuffix(f.Detail, "weeks") {
				return 2, n * 7
			}
			return 2, n
		}
		return 1, n
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a1, a2 := rank(fs[i])
		b1, b2 := rank(fs[j])
		if a1 != b1 {
			return a1 > b1
		}
		return a2 > b2
	})
	return fs[0]
}

func (d *Detector) draft(ctx context.Context, db database.DBTX, m memberRow, f Firing) (int64, error) {
	var comm generation.CommunityFacts
	err := db.QueryRow(ctx, `SELECT c.id, c.name, c.labels, c.size FROM memberships ms
		JOIN current_run r ON r.run_id = ms.run_id
		JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
		WHERE ms.member_id = $1 AND ms.rank = 1`, m.id).Scan(&comm.ID, &comm.Name, &comm.Labels, &comm.Size)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil // in no community yet: recorded, nothing to say
	}
	if err != nil {
		return 0, fmt.Errorf("recognition community: %w", err)
	}
	names := strings.Fields(m.name)
	if len(names) == 0 {
		return 0, nil
	}
	locale := strings.ToLower(m.locale)
	if l, _, _ := strings.Cut(locale, "-"); l == "sv" || l == "it" {
		locale = l
	} else {
		locale = "en"
	}
	dr, err := d.Drafting.Draft(ctx, db, generation.Request{Kind: generation.KindRecognition, Locale: locale, Community: comm,
		FirstName: names[0], Occasion: f.Occasion, Detail: f.Detail}, m.id, names[1:], "moments")
	if err != nil {
		return 0, fmt.Errorf("draft recognition: %w", err)
	}
	if _, isTemplate := d.Drafting.Generator.(generation.Template); (isTemplate || d.Drafting.Generator == nil) && d.AutoApprove &&
		len(dr.Findings) == 0 && !dr.Fallback {
		if err := generation.Decide(ctx, db, []int64{dr.ID}, true, "", "moments (approved template)"); err != nil {
			return 0, err
		}
	}
	if _, err := db.Exec(ctx, "UPDATE member_milestones SET draft_id = $3 WHERE member_id = $1 AND key = $2", m.id, f.Key, dr.ID); err != nil {
		return 0, err
	}
	if d.Logger != nil {
		d.Logger.InfoContext(ctx, "milestone drafted", slog.String("key", f.Key), slog.Int64("draft_id", dr.ID))
	}
	return dr.ID, nil
}

// Recognition is one milestone as the API lists it.
type Recognition struct {
	Key         string     `json:"key"`
	Occasion    string     `json:"occasion"`
	Detail      string     `json:"detail"`
	OccurredAt  time.Time  `json:"occurred_at"`
	FiredAt     time.Time  `json:"fired_at"`
	DraftID     *int64     `json:"draft_id,string,omitempty"`
	DraftStatus string     `json:"draft_status,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Channel     string     `json:"channel,omitempty"`
}

// List returns a member's milestones, newest first.
func List(ctx context.Context, db database.DBTX, memberID string) ([]Recognition, error) {
	rows, err := db.Query(ctx, `SELECT ms.key, ms.occasion, ms.detail, ms.occurred_at, ms.fired_at, ms.draft_id,
			coalesce(d.status, ''), ms.delivered_at, ms.channel
		FROM member_milestones ms LEFT JOIN content_drafts d ON d.id = ms.draft_id
		WHERE ms.member_id = $1 ORDER BY ms.fired_at DESC, ms.key`, memberID)
	if err != nil {
		return nil, fmt.Errorf("list recognitions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recognition, error) {
		var x Recognition
		err := r.Scan(&x.Key, &x.Occasion, &x.Detail, &x.OccurredAt, &x.FiredAt, &x.DraftID, &x.DraftStatus, &x.DeliveredAt, &x.Channel)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list recognitions: %w", err)
	}
	return out, nil
}

// Deliver marks a recognition delivered on a channel; delivering twice keeps the first.
func Deliver(ctx context.Context, db database.DBTX, memberID, key, channel string, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE member_milestones SET delivered_at = coalesce(delivered_at, $3),
		channel = CASE WHEN delivered_at IS NULL THEN $4 ELSE channel END WHERE member_id = $1 AND key = $2`,
		memberID, key, at, channel)
	if err != nil {
		return fmt.Errorf("deliver recognition: %w", err)
	}
	return nil
}

// readEvents fills each history's counts per event type and its active local days.
func readEvents(ctx context.Context, db database.DBTX, ids []string, now time.Time, hist map[string]*History) error {
	rows, err := db.Query(ctx, `SELECT member_id, type, count(*) FROM member_events WHERE member_id = ANY($1) GROUP BY 1, 2`, ids)
	if err != nil {
		return fmt.Errorf("detect moments: %w", err)
	}
	for rows.Next() {
		var (
			id, typ string
			n       int
		)
		if err := rows.Scan(&id, &typ, &n); err != nil {
			rows.Close()
			return err
		}
		if h := hist[id]; h != nil {
			h.Counts[typ] = n
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Active days in each member's own time zone, over the last 400 days.
	rows, err = db.Query(ctx, `SELECT DISTINCT e.member_id,
			(e.occurred_at AT TIME ZONE coalesce(nullif(m.timezone, ''), 'UTC'))::date
		FROM member_events e JOIN members m ON m.id = e.member_id
		WHERE e.member_id = ANY($1) AND e.occurred_at > $2::timestamptz - interval '400 days' AND e.occurred_at <= $2`, ids, now)
	if err != nil {
		return fmt.Errorf("detect moments: %w", err)
	}
	for rows.Next() {
		var (
			id  string
			day time.Time
		)
		if err := rows.Scan(&id, &day); err != nil {
			rows.Close()
			return err
		}
		if h := hist[id]; h != nil {
			h.Days = append(h.Days, time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}

	return nil
}

// Snapshot is what the moment endpoint needs of a member, read in one round trip.
type Snapshot struct {
	Name, Locale, Timezone string
	JoinedAt               *time.Time
	Consent                bool
	Activity               Activity
	// Due is the newest approved, undelivered recognition, if any.
	Due *Recognition
	// Terms are the member's interests and causes.
	Terms []string
	// Community is the member's primary community in the current run, if any.
	Community *Community
	// ChallengeID is an approved challenge for that community (in the member's
	// language if there is one), 0 when none.
	ChallengeID int64
}

// Community is the primary community as a snapshot carries it.
type Community struct {
	ID, Name           string
	Score              float64
	Labels             []string
	TribeID, TribeName *string
	TribeLabels        []string
}

// ErrMemberNotFound means no member has the id.
var ErrMemberNotFound = errors.New("member not found")

// Read takes a member's snapshot as of now: profile, activity summary and any due
// recognition, in one query.
func Read(ctx context.Context, db database.DBTX, memberID string, now time.Time) (Snapshot, error) {
	var (
		s                      Snapshot
		key, occasion, detail  *string
		draftID                *int64
		occurredAt, firedAt    *time.Time
		cid, cname, tid, tname *string
		cscore                 *float64
		clabels, tlabels       []string
		challenge              *int64
	)
	err := db.QueryRow(ctx, `SELECT m.name, m.locale, m.timezone, m.joined_at, m.consent_personalization,
			a.total, a.l14, a.l30, a.d15, a.d31, a.contrib, a.neg, a.first, a.resp,
			due.key, due.occasion, due.detail, due.occurred_at, due.fired_at, due.draft_id,
			m.interests || m.causes, pc.id, pc.name, pc.score, pc.labels, pc.tribe_id, pc.tribe_name, pc.tribe_labels,
			(SELECT d.id FROM content_drafts d WHERE d.status = 'approved' AND d.kind = 'challenge'
				AND d.subject_id = pc.id AND d.member_id IS NULL
				ORDER BY (d.locale = split_part(lower(m.locale), '-', 1)) DESC, d.id DESC LIMIT 1)
		FROM members m
		LEFT JOIN LATERAL (SELECT count(*) AS total,
				count(*) FILTER (WHERE occurred_at > $2::timestamptz - interval '14 days') AS l14,
				count(*) FILTER (WHERE occurred_at > $2::timestamptz - interval '30 days') AS l30,
				count(*) FILTER (WHERE occurred_at <= $2::timestamptz - interval '14 days' AND occurred_at > $2::timestamptz - interval '90 days') AS d15,
				count(*) FILTER (WHERE occurred_at <= $2::timestamptz - interval '30 days' AND occurred_at > $2::timestamptz - interval '90 days') AS d31,
				count(*) FILTER (WHERE type = ANY($3) AND occurred_at > $2::timestamptz - interval '90 days') AS contrib,
				count(*) FILTER (WHERE occurred_at > $2::timestamptz - interval '90 days' AND (type = 'complaint' OR (type = 'feedback'
					AND props->>'rating' ~ '^[0-9]+$' AND (props->>'rating')::int <= 2))) AS neg,
				min(occurred_at) AS first,
				(SELECT coalesce(avg((after + 1.0) / (before + 1.0)), 0)::float8 FROM (
					SELECT (SELECT count(*) FROM member_events e WHERE e.member_id = ms.member_id
							AND e.occurred_at > ms.occurred_at AND e.occurred_at <= ms.occurred_at + interval '7 days') AS after,
						(SELECT count(*) FROM member_events e WHERE e.member_id = ms.member_id
							AND e.occurred_at > ms.occurred_at - interval '7 days' AND e.occurred_at <= ms.occurred_at) AS before
					FROM member_milestones ms WHERE ms.member_id = m.id AND ms.delivered_at IS NOT NULL
						AND ms.occurred_at <= $2::timestamptz - interval '7 days') x) AS resp
			FROM member_events WHERE member_id = m.id AND occurred_at <= $2) a ON true
		LEFT JOIN LATERAL (SELECT ms.key, ms.occasion, ms.detail, ms.occurred_at, ms.fired_at, ms.draft_id
			FROM member_milestones ms JOIN content_drafts d ON d.id = ms.draft_id
			WHERE ms.member_id = m.id AND ms.delivered_at IS NULL AND d.status = 'approved'
			ORDER BY ms.fired_at DESC LIMIT 1) due ON true
		-- The run id as a scalar subquery keeps the plan on the primary keys (a join
		-- with current_run made the planner scan communities).
		LEFT JOIN LATERAL (SELECT c.id, c.name, ms.score::float8 AS score, c.labels, t.id AS tribe_id, t.name AS tribe_name,
				t.labels AS tribe_labels
			FROM memberships ms
			JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
			LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
			WHERE ms.run_id = (SELECT run_id FROM current_run) AND ms.member_id = m.id AND ms.rank = 1) pc ON m.consent_personalization
		WHERE m.id = $1`, memberID, now, ContributionTypes).Scan(&s.Name, &s.Locale, &s.Timezone, &s.JoinedAt, &s.Consent,
		&s.Activity.Total, &s.Activity.Last14, &s.Activity.Last30, &s.Activity.Days15to90, &s.Activity.Days31to90,
		&s.Activity.Contributions90, &s.Activity.NegativeFeedback90, &s.Activity.FirstEventAt, &s.Activity.Responsiveness,
		&key, &occasion, &detail, &occurredAt, &firedAt, &draftID,
		&s.Terms, &cid, &cname, &cscore, &clabels, &tid, &tname, &tlabels, &challenge)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrMemberNotFound
	}
	if err != nil {
		return s, fmt.Errorf("read member moment: %w", err)
	}
	if cid != nil {
		s.Community = &Community{ID: *cid, Name: *cname, Score: *cscore, Labels: clabels, TribeID: tid, TribeName: tname, TribeLabels: tlabels}
	}
	if challenge != nil {
		s.ChallengeID = *challenge
	}
	if key != nil {
		s.Due = &Recognition{Key: *key, Occasion: *occasion, Detail: *detail, OccurredAt: *occurredAt, FiredAt: *firedAt, DraftID: draftID,
			DraftStatus: generation.StatusApproved}
	}
	return s, nil
}

// Stages computes every consenting member's lifecycle stage as of now, in one pass
// over the events (responsiveness does not affect the stage, so it is not read).
func Stages(ctx context.Context, db database.DBTX, now time.Time) (map[string]string, error) {
	rows, err := db.Query(ctx, `SELECT m.id, m.joined_at, coalesce(a.total, 0), coalesce(a.l30, 0), coalesce(a.d31, 0),
			coalesce(a.contrib, 0), a.first
		FROM members m LEFT JOIN (SELECT member_id, count(*) AS total,
				count(*) FILTER (WHERE occurred_at > $1::timestamptz - interval '30 days') AS l30,
				count(*) FILTER (WHERE occurred_at <= $1::timestamptz - interval '30 days' AND occurred_at > $1::timestamptz - interval '90 days') AS d31,
				count(*) FILTER (WHERE type = ANY($2) AND occurred_at > $1::timestamptz - interval '90 days') AS contrib,
				min(occurred_at) AS first
			FROM member_events WHERE occurred_at <= $1 GROUP BY member_id) a ON a.member_id = m.id
		WHERE m.consent_personalization`, now, ContributionTypes)
	if err != nil {
		return nil, fmt.Errorf("lifecycle stages: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			id     string
			joined *time.Time
			a      Activity
		)
		if err := rows.Scan(&id, &joined, &a.Total, &a.Last30, &a.Days31to90, &a.Contributions90, &a.FirstEventAt); err != nil {
			return nil, err
		}
		out[id] = Assess(now, joined, a, "").Stage
	}
	return out, rows.Err()
}
