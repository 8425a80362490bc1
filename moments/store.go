package moments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/members"
)

// Fired is a milestone recorded for the first time by Detect.
type Fired struct {
	MemberID string
	Firing
	// Celebrate marks the one firing per member and batch worth a message: the most
	// notable of those that happened within the last week (older ones, such as
	// history loaded in bulk, are recorded, not celebrated).
	Celebrate bool
}

// Detect evaluates the rules (DefaultRules when empty) for the given members as of
// now and records what fired for the first time, in set-based statements whose cost
// grows with the batch, not with round trips. Re-running over the same events
// records nothing. Run it in the transaction that stored the events, so the events
// and the milestones they cause commit together; it never drafts (drafting is a job).
func Detect(ctx context.Context, db database.DBTX, rules Rules, ids []string, now time.Time) ([]Fired, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if rules.Counts == nil && rules.StreakDays == nil && rules.StreakWeeks == nil && !rules.Anniversaries {
		rules = DefaultRules
	}
	rows, err := db.Query(ctx, `SELECT id, timezone, joined_at FROM members WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("detect moments: %w", err)
	}
	type member struct {
		id, tz string
		joined *time.Time
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (member, error) {
		var m member
		err := r.Scan(&m.id, &m.tz, &m.joined)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("detect moments: %w", err)
	}
	hist := make(map[string]*History, len(ms))
	for _, m := range ms {
		loc, err := time.LoadLocation(m.tz)
		if err != nil || m.tz == "" {
			loc = time.UTC
		}
		hist[m.id] = &History{Location: loc, JoinedAt: m.joined, Counts: map[string]int{}, Latest: now}
	}
	if rules.Counts != nil || rules.StreakDays != nil || rules.StreakWeeks != nil {
		if err := readEvents(ctx, db, ids, now, hist); err != nil {
			return nil, err
		}
	}
	var (
		candidates                     []Fired
		mids, keys, occasions, details []string
		ats                            []time.Time
	)
	for _, m := range ms {
		for _, f := range rules.Evaluate(*hist[m.id]) {
			candidates = append(candidates, Fired{MemberID: m.id, Firing: f})
			mids, keys, occasions, details = append(mids, m.id), append(keys, f.Key), append(occasions, f.Occasion), append(details, f.Detail)
			ats = append(ats, f.OccurredAt)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	// Rows go in (member, key) order so concurrent batches lock them in one order.
	rows, err = db.Query(ctx, `INSERT INTO member_milestones (member_id, key, occasion, detail, occurred_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) ORDER BY 1, 2
		ON CONFLICT DO NOTHING RETURNING member_id, key`, mids, keys, occasions, details, ats)
	if err != nil {
		return nil, fmt.Errorf("record milestones: %w", err)
	}
	type mk struct{ member, key string }
	fresh := map[mk]bool{}
	var k mk
	if _, err := pgx.ForEachRow(rows, []any{&k.member, &k.key}, func() error { fresh[k] = true; return nil }); err != nil {
		return nil, fmt.Errorf("record milestones: %w", err)
	}
	var fired []Fired
	best := map[string]int{} // member → index in fired of the firing to celebrate
	for _, c := range candidates {
		if !fresh[mk{c.MemberID, c.Key}] {
			continue
		}
		fired = append(fired, c)
		if now.Sub(c.OccurredAt) > recentEnough {
			continue
		}
		if i, ok := best[c.MemberID]; !ok || moreNotable(c.Firing, fired[i].Firing) {
			best[c.MemberID] = len(fired) - 1
		}
	}
	for _, i := range best {
		fired[i].Celebrate = true
	}
	return fired, nil
}

// AnniversaryCandidates returns members whose anniversary of joining may have fallen
// in the week before now in their own time zone (a day of slack either side for time
// zones); Detect with Rules{Anniversaries: true} decides.
func AnniversaryCandidates(ctx context.Context, db database.DBTX, now time.Time) ([]string, error) {
	days := make([]string, 0, 10)
	for d := -8; d <= 1; d++ {
		days = append(days, now.AddDate(0, 0, d).UTC().Format("01-02"))
	}
	rows, err := db.Query(ctx, `SELECT id FROM members
		WHERE joined_at IS NOT NULL AND joined_at < $2::timestamptz - interval '300 days'
		  AND to_char(joined_at AT TIME ZONE 'UTC', 'MM-DD') = ANY($1) ORDER BY id`, days, now)
	if err != nil {
		return nil, fmt.Errorf("anniversary candidates: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("anniversary candidates: %w", err)
	}
	return ids, nil
}

// recentEnough is how old a milestone may be and still be celebrated: older ones
// (history loaded in bulk, an anniversary long past) are recorded, not drafted.
const recentEnough = 7 * 24 * time.Hour

// moreNotable reports whether a is worth celebrating over b: anniversaries first,
// then the longest streak, then the largest count.
func moreNotable(a, b Firing) bool {
	rank := func(f Firing) (int, int) {
		n := 0
		_, _ = fmt.Sscanf(f.Detail, "%d", &n) // a detail starts with its number; 0 otherwise
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
	a1, a2 := rank(a)
	b1, b2 := rank(b)
	if a1 != b1 {
		return a1 > b1
	}
	return a2 > b2
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
var ErrMemberNotFound = members.ErrNotFound

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

// Subject is what drafting a recognition needs: the member, the milestone and the
// member's primary community in the current run.
type Subject struct {
	Name, Locale string
	Consent      bool
	Occasion     string
	Detail       string
	// Drafted is true once the milestone has a draft (a retried job stops there).
	Drafted bool
	// Community is the primary community; nil when the member is in none.
	Community *generation.CommunityFacts
}

// ErrNoMilestone means the member or the milestone is gone (erased).
var ErrNoMilestone = belong.New(belong.ENOTFOUND, "milestone_not_found", "milestone not found")

// RecognitionSubject reads a milestone with its member and primary community.
func RecognitionSubject(ctx context.Context, db database.DBTX, memberID, key string) (Subject, error) {
	var (
		s          Subject
		draftID    *int64
		cid, cname *string
		clabels    []string
		csize      *int
	)
	err := db.QueryRow(ctx, `SELECT m.name, m.locale, m.consent_personalization, ms.occasion, ms.detail, ms.draft_id,
			pc.id, pc.name, pc.labels, pc.size
		FROM member_milestones ms JOIN members m ON m.id = ms.member_id
		LEFT JOIN LATERAL (SELECT c.id, c.name, c.labels, c.size FROM memberships x
			JOIN communities c ON c.run_id = x.run_id AND c.id = x.community_id
			WHERE x.run_id = (SELECT run_id FROM current_run) AND x.member_id = m.id AND x.rank = 1) pc ON true
		WHERE ms.member_id = $1 AND ms.key = $2`, memberID, key).
		Scan(&s.Name, &s.Locale, &s.Consent, &s.Occasion, &s.Detail, &draftID, &cid, &cname, &clabels, &csize)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNoMilestone
	}
	if err != nil {
		return s, fmt.Errorf("read milestone %s of %s: %w", key, memberID, err)
	}
	s.Drafted = draftID != nil
	if cid != nil {
		s.Community = &generation.CommunityFacts{ID: *cid, Name: *cname, Labels: clabels, Size: *csize}
	}
	return s, nil
}

// AttachDraft stores a composed recognition and links it to its milestone, approving
// it at once when approve is set, all in one transaction. It stores nothing and
// returns false when the milestone is gone or already has a draft (a retried job).
func AttachDraft(ctx context.Context, db database.DBTX, memberID, key string, d *generation.Draft, approve bool, actor string) (bool, error) {
	attached := false
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		var draftID *int64
		err := tx.QueryRow(ctx, `SELECT draft_id FROM member_milestones WHERE member_id = $1 AND key = $2 FOR UPDATE`,
			memberID, key).Scan(&draftID)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && draftID != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock milestone: %w", err)
		}
		if err := generation.Store(ctx, tx, d, actor); err != nil {
			return err
		}
		if approve {
			if err := generation.Decide(ctx, tx, []int64{d.ID}, true, "", actor+" (approved template)"); err != nil {
				return err
			}
			d.Status = generation.StatusApproved
		}
		if _, err := tx.Exec(ctx, "UPDATE member_milestones SET draft_id = $3 WHERE member_id = $1 AND key = $2", memberID, key, d.ID); err != nil {
			return fmt.Errorf("link recognition: %w", err)
		}
		attached = true
		return nil
	})
	return attached, err
}
