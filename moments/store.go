package moments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// Fired is a milestone recorded for the first time by Detect.
type Fired struct {
	MemberID string
	// ID is the recorded milestone's (the recognition's) id.
	ID int64
	// Consent is the member's personalization consent: without it nothing about the
	// milestone leaves Belong (no milestone.reached).
	Consent bool
	Firing
	// Celebrate marks the one firing per member and batch worth a message: the most
	// notable of those that happened within the last week (older ones, such as
	// history loaded in bulk, are recorded, not celebrated), for a member who
	// consented to personalization and has a name to be addressed by.
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
	q := storage.New(db)
	ms, err := q.MomentMembers(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("detect moments: %w", storage.Translate(err, nil))
	}
	hist := make(map[string]*History, len(ms))
	for _, m := range ms {
		loc := Location(m.Timezone)
		hist[m.ID] = &History{Location: loc, JoinedAt: m.JoinedAt, Counts: map[string]int{}, Latest: now}
	}
	if rules.Counts != nil || rules.StreakDays != nil || rules.StreakWeeks != nil {
		if err := readEvents(ctx, db, ids, rules.Counts, now, hist); err != nil {
			return nil, err
		}
	}
	var candidates []Fired
	for _, m := range ms {
		for _, f := range rules.Evaluate(*hist[m.ID]) {
			candidates = append(candidates, Fired{MemberID: m.ID, Firing: f})
		}
	}
	return record(ctx, q, ms, candidates, now)
}

// Record records milestones that fired outside the rules (a challenge completed) for
// the first time, as Detect does: it returns those not recorded before, with consent
// and the one per member worth celebrating marked.
func Record(ctx context.Context, db database.DBTX, fs []Fired, now time.Time) ([]Fired, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(fs))
	seen := make(map[string]bool, len(fs))
	for _, f := range fs {
		if !seen[f.MemberID] {
			seen[f.MemberID] = true
			ids = append(ids, f.MemberID)
		}
	}
	q := storage.New(db)
	ms, err := q.MomentMembers(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("record milestones: %w", storage.Translate(err, nil))
	}
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].MemberID != fs[j].MemberID {
			return fs[i].MemberID < fs[j].MemberID
		}
		return fs[i].Key < fs[j].Key
	})
	return record(ctx, q, ms, fs, now)
}

// record inserts the candidates' milestones (of members ms, each with the community
// the member is in now, whose badge it earns) and returns those
// recorded for the first time, marking consent and the most notable recent one per
// member who consented and has a name to be addressed by.
func record(ctx context.Context, q *storage.Queries, ms []storage.MomentMembersRow, candidates []Fired, now time.Time) ([]Fired, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	addressable := make(map[string]bool, len(ms))
	consenting := make(map[string]bool, len(ms))
	community := make(map[string]string, len(ms))
	for _, m := range ms {
		consenting[m.ID] = m.ConsentPersonalization
		addressable[m.ID] = m.ConsentPersonalization && strings.TrimSpace(m.Name) != ""
		community[m.ID] = m.CommunityID
	}
	var mids, keys, occasions, details, communities []string
	var ats []time.Time
	for _, c := range candidates {
		mids, keys, occasions, details = append(mids, c.MemberID), append(keys, c.Key), append(occasions, c.Occasion), append(details, c.Detail)
		ats, communities = append(ats, c.OccurredAt), append(communities, community[c.MemberID])
	}
	// Rows go in (member, key) order so concurrent batches lock them in one order.
	recorded, err := q.RecordMilestones(ctx, storage.RecordMilestonesParams{
		MemberIds: mids, Keys: keys, Occasions: occasions, Details: details, OccurredAts: ats, CommunityIds: communities})
	if err != nil {
		return nil, fmt.Errorf("record milestones: %w", storage.Translate(err, nil))
	}
	type mk struct{ member, key string }
	fresh := make(map[mk]int64, len(recorded))
	for _, r := range recorded {
		fresh[mk{r.MemberID, r.Key}] = r.ID
	}
	var fired []Fired
	best := map[string]int{} // member → index in fired of the firing to celebrate
	for _, c := range candidates {
		id, ok := fresh[mk{c.MemberID, c.Key}]
		if !ok {
			continue
		}
		c.ID, c.Consent = id, consenting[c.MemberID]
		fired = append(fired, c)
		// Celebrated: happened in the last week (not history, nor a clock ahead).
		if age := now.Sub(c.OccurredAt); age > recentEnough || age < -time.Hour || !addressable[c.MemberID] {
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
	days := make([]string, 0, 11)
	for d := -8; d <= 1; d++ {
		day := now.AddDate(0, 0, d).UTC().Format("01-02")
		days = append(days, day)
		// Who joined on 29 February celebrates on 1 March in other years (Evaluate),
		// and no date of such a year formats as 02-29.
		if day == "03-01" {
			days = append(days, "02-29")
		}
	}
	ids, err := storage.New(db).AnniversaryCandidates(ctx, storage.AnniversaryCandidatesParams{Now: now, Days: days})
	if err != nil {
		return nil, fmt.Errorf("anniversary candidates: %w", storage.Translate(err, nil))
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// OccasionChallenge is the occasion of a completed challenge, the most notable of all:
// the member set out to do it.
const OccasionChallenge = "challenge"

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
		case OccasionChallenge:
			return 4, n
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
	ID          int64      `json:"id,string"`
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
	rows, err := storage.New(db).ListRecognitions(ctx, memberID)
	if err != nil {
		return nil, fmt.Errorf("list recognitions: %w", storage.Translate(err, nil))
	}
	out := make([]Recognition, 0, len(rows))
	for _, r := range rows {
		out = append(out, Recognition{ID: r.ID, Key: r.Key, Occasion: r.Occasion, Detail: r.Detail, OccurredAt: r.OccurredAt,
			FiredAt: r.FiredAt, DraftID: r.DraftID, DraftStatus: r.DraftStatus, DeliveredAt: r.DeliveredAt, Channel: r.Channel})
	}
	return out, nil
}

// RefreshResponsiveness recomputes every member's responsiveness to recognition as
// of now (the mean, over their delivered recognitions at least a week old, of events
// in the week after + 1 over events in the week before + 1; 0 without any) and
// returns the members whose value changed.
func RefreshResponsiveness(ctx context.Context, db database.DBTX, now time.Time) ([]string, error) {
	ids, err := storage.New(db).RefreshResponsiveness(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("refresh responsiveness: %w", storage.Translate(err, nil))
	}
	return ids, nil
}

// Errors of acknowledging a delivery.
var (
	ErrNoRecognition = belong.New(belong.ENOTFOUND, "recognition_not_found", "recognition not found")
	ErrNotDue        = belong.New(belong.ECONFLICT, "recognition_not_due",
		"the recognition has no approved message yet, so it cannot have been delivered")
)

// Deliver records that recognition id was delivered on channel at at, in tx, and
// returns it with its member; delivered is false when an earlier acknowledgement had
// already recorded it (the first one is kept). Only a recognition with an approved
// message can be delivered.
func Deliver(ctx context.Context, tx pgx.Tx, id int64, channel string, at time.Time) (r Recognition, memberID string, delivered bool, err error) {
	at = at.UTC().Truncate(time.Microsecond) // as stored: every read of it says the same
	q := storage.New(tx)
	row, err := q.LockRecognition(ctx, id)
	if err != nil {
		return Recognition{}, "", false, fmt.Errorf("deliver recognition %d: %w", id, storage.Translate(err, ErrNoRecognition))
	}
	r = Recognition{ID: id, Key: row.Key, Occasion: row.Occasion, Detail: row.Detail, OccurredAt: row.OccurredAt,
		FiredAt: row.FiredAt, DraftID: row.DraftID, DraftStatus: row.DraftStatus, DeliveredAt: row.DeliveredAt, Channel: row.Channel}
	if r.DeliveredAt != nil {
		return r, row.MemberID, false, nil
	}
	if r.DraftStatus != generation.StatusApproved {
		return Recognition{}, "", false, ErrNotDue
	}
	if err := q.DeliverRecognition(ctx, storage.DeliverRecognitionParams{ID: id, At: at, Channel: channel}); err != nil {
		return Recognition{}, "", false, fmt.Errorf("deliver recognition %d: %w", id, storage.Translate(err, nil))
	}
	r.DeliveredAt, r.Channel = &at, channel
	return r, row.MemberID, true, nil
}

// readEvents fills each history's counts per event type and its active local days.
func readEvents(ctx context.Context, db database.DBTX, ids []string, counts []int, now time.Time, hist map[string]*History) error {
	q := storage.New(db)
	thresholds := make([]int32, 0, len(counts))
	for _, n := range counts {
		thresholds = append(thresholds, int32(n))
	}
	slices.Sort(thresholds)
	rows, err := q.EventCountsByType(ctx, storage.EventCountsByTypeParams{Ids: ids, Thresholds: thresholds})
	if err != nil {
		return fmt.Errorf("detect moments: %w", storage.Translate(err, nil))
	}
	for _, c := range rows {
		h := hist[c.MemberID]
		if h == nil {
			continue
		}
		h.Counts[c.Type] = int(c.N)
		// reached holds the times of the thresholds met, ascending.
		at := map[int]time.Time{}
		for i, t := range c.Reached {
			if i < len(thresholds) {
				at[int(thresholds[i])] = t
			}
		}
		if h.ReachedAt == nil {
			h.ReachedAt = map[string]map[int]time.Time{}
		}
		h.ReachedAt[c.Type] = at
	}
	// Active days in each member's own time zone, over the last 400 days.
	days, err := q.ActiveDays(ctx, storage.ActiveDaysParams{Ids: ids, Now: now})
	if err != nil {
		return fmt.Errorf("detect moments: %w", storage.Translate(err, nil))
	}
	for _, d := range days {
		if h := hist[d.MemberID]; h != nil {
			day := d.Day
			h.Days = append(h.Days, time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC))
		}
	}
	return nil
}

// Snapshot is what the moment endpoint needs of a member, read in one round trip.
type Snapshot struct {
	Name, Locale, Timezone string
	JoinedAt               *time.Time
	Consent                bool
	Activity               Activity
	// Due is the most notable approved, undelivered recognition (anniversary, then
	// streak, then count; the newest of a kind), if any.
	Due *Recognition
	// Terms are the member's interests and causes.
	Terms []string
	// DueMessage is the due recognition's approved message.
	DueMessage *generation.Draft
	// Sent are the recognitions delivered to the member in the last 8 days (the caps
	// count the member's local day and week).
	Sent []Sent
	// CommunityID is the member's primary community in the run ("" when none), and
	// CommunityScore their similarity to it.
	CommunityID    string
	CommunityScore float64
	// Challenge is an approved challenge for the community (in the member's language
	// if there is one); nil when there is none.
	Challenge *generation.Draft
}

// sentWindow is how far back a snapshot reads deliveries: a week, and a day of
// slack for time zones.
const sentWindow = 8 * 24 * time.Hour

// Read takes a member's snapshot as of now, in run runID: profile, activity summary,
// any due recognition with its message, what was delivered lately, and a challenge
// for their community, in one query.
func Read(ctx context.Context, db database.DBTX, runID int64, memberID string, now time.Time) (Snapshot, error) {
	r, err := storage.New(db).MomentSnapshot(ctx, storage.MomentSnapshotParams{MemberID: memberID, RunID: runID,
		SentSince: now.Add(-sentWindow)})
	if err != nil {
		return Snapshot{}, fmt.Errorf("read member moment: %w", storage.Translate(err, members.ErrNotFound))
	}
	sum := Summary{Total: r.Total, First: r.FirstAt, Recent: r.Recent, Contributions: r.Contributions, Negative: r.Negative}
	s := Snapshot{Name: r.Name, Locale: r.Locale, Timezone: r.Timezone, JoinedAt: r.JoinedAt, Consent: r.ConsentPersonalization,
		Activity: sum.Activity(now), Terms: r.Terms, CommunityID: r.CommunityID, CommunityScore: r.CommunityScore}
	s.Activity.Responsiveness = r.Resp
	if r.HasContent {
		d := &generation.Draft{ID: r.ContentID, Kind: r.ContentKind, SubjectID: r.ContentSubject, Occasion: r.ContentOccasion,
			Locale: r.ContentLocale, Version: int(r.ContentVersion), Status: generation.StatusApproved}
		if err := json.Unmarshal(r.ContentBody, &d.Body); err != nil {
			return Snapshot{}, fmt.Errorf("read member moment: content %d: %w", r.ContentID, err)
		}
		s.Challenge = d
	}
	for i, at := range r.SentAt {
		if i < len(r.SentChannels) {
			s.Sent = append(s.Sent, Sent{At: at, Channel: r.SentChannels[i]})
		}
	}
	if r.HasDue {
		s.Due = &Recognition{ID: r.DueID, Key: r.DueKey, Occasion: r.DueOccasion, Detail: r.DueDetail, OccurredAt: r.DueOccurredAt,
			FiredAt: r.DueFiredAt, DraftID: r.DueDraftID, DraftStatus: generation.StatusApproved}
		msg := &generation.Draft{ID: *r.DueDraftID, Kind: generation.KindRecognition, MemberID: memberID, Occasion: r.DueOccasion,
			Locale: r.DueLocale, Version: int(r.DueVersion), Status: generation.StatusApproved}
		if err := json.Unmarshal(r.DueBody, &msg.Body); err != nil {
			return Snapshot{}, fmt.Errorf("read member moment: recognition %d: %w", r.DueID, err)
		}
		s.DueMessage = msg
	}
	return s, nil
}

// Stages computes the lifecycle stage as of now of every consenting member (ids nil)
// or of the consenting members among ids, from their activity summaries
// (responsiveness does not affect the stage, so it is not read).
func Stages(ctx context.Context, db database.DBTX, ids []string, now time.Time) (map[string]string, error) {
	rows, err := storage.New(db).LifecycleActivity(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("lifecycle stages: %w", storage.Translate(err, nil))
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		a := Summary{Total: r.Total, First: r.FirstAt, Recent: r.Recent, Contributions: r.Contributions}.Activity(now)
		out[r.ID] = Assess(now, r.JoinedAt, a, "").Stage
	}
	return out, nil
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
	r, err := storage.New(db).RecognitionSubject(ctx, storage.RecognitionSubjectParams{MemberID: memberID, Key: key})
	if err != nil {
		return Subject{}, fmt.Errorf("read milestone %s of %s: %w", key, memberID, storage.Translate(err, ErrNoMilestone))
	}
	s := Subject{Name: r.Name, Locale: r.Locale, Consent: r.ConsentPersonalization, Occasion: r.Occasion, Detail: r.Detail,
		Drafted: r.DraftID != nil}
	if r.InCommunity {
		s.Community = &generation.CommunityFacts{ID: r.CommunityID, Name: r.CommunityName, Labels: r.CommunityLabels,
			Size: int(r.CommunitySize)}
	}
	return s, nil
}

// AttachDraft stores a composed recognition and links it to its milestone, approving
// it at once when approve is set, all in one transaction. It stores nothing and
// returns false when the milestone is gone or already has a draft (a retried job).
func AttachDraft(ctx context.Context, db database.DBTX, memberID, key string, d *generation.Draft, approve bool, actor string) (bool, error) {
	attached := false
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		if _, err := q.LockMemberKey(ctx, memberID); err != nil {
			if err = storage.Translate(err, ErrNoMilestone); errors.Is(err, ErrNoMilestone) {
				return nil // erased
			}
			return fmt.Errorf("lock member: %w", err)
		}
		draftID, err := q.LockMilestoneDraft(ctx, storage.LockMilestoneDraftParams{MemberID: memberID, Key: key})
		switch err = storage.Translate(err, ErrNoMilestone); {
		case errors.Is(err, ErrNoMilestone), err == nil && draftID != nil:
			return nil // erased, or drafted by an earlier run of the job
		case err != nil:
			return fmt.Errorf("lock milestone: %w", err)
		}
		if err := generation.Store(ctx, tx, d, actor); err != nil {
			return err
		}
		if approve {
			if _, err := generation.Decide(ctx, tx, []int64{d.ID}, generation.Decision{Approve: true, Actor: actor + " (approved template)"}); err != nil {
				return err
			}
			d.Status = generation.StatusApproved
		}
		if err := q.LinkMilestoneDraft(ctx, storage.LinkMilestoneDraftParams{MemberID: memberID, Key: key, DraftID: &d.ID}); err != nil {
			return fmt.Errorf("link recognition: %w", err)
		}
		attached = true
		return nil
	})
	return attached, storage.Translate(err, nil)
}

// Unannounced is a recognition with an approved message whose recognition.due event
// is not written yet.
type Unannounced struct {
	MemberID, Timezone string
	Recognition        Recognition
	Content            generation.Draft
	// Sent are the recognitions announced or delivered to the member in the last 8
	// days.
	Sent []Sent
}

// LockUnannounced locks up to limit recognitions to announce as of now (not held
// past it), oldest first, skipping those another transaction holds, and returns them
// by member, the most notable of each member's first.
func LockUnannounced(ctx context.Context, tx pgx.Tx, limit int, now time.Time) ([]Unannounced, error) {
	rows, err := storage.New(tx).UnannouncedRecognitions(ctx, storage.UnannouncedRecognitionsParams{Lim: int32(limit),
		Now: now, Since: now.Add(-sentWindow)})
	if err != nil {
		return nil, fmt.Errorf("recognitions to announce: %w", storage.Translate(err, nil))
	}
	out := make([]Unannounced, len(rows))
	for i, r := range rows {
		sent := make([]Sent, len(r.Sent))
		for j, at := range r.Sent {
			sent[j] = Sent{At: at}
		}
		out[i] = Unannounced{MemberID: r.MemberID, Timezone: r.Timezone, Sent: sent,
			Recognition: Recognition{ID: r.ID, Key: r.Key, Occasion: r.Occasion, Detail: r.Detail, OccurredAt: r.OccurredAt,
				FiredAt: r.FiredAt, DraftID: &r.ContentID, DraftStatus: generation.StatusApproved},
			Content: generation.Draft{ID: r.ContentID, Kind: r.ContentKind, Locale: r.ContentLocale, Version: int(r.ContentVersion),
				MemberID: r.MemberID, Occasion: r.Occasion, Status: generation.StatusApproved}}
		if err := json.Unmarshal(r.ContentBody, &out[i].Content.Body); err != nil {
			return nil, fmt.Errorf("recognition %d: content %d: %w", r.ID, r.ContentID, err)
		}
	}
	slices.SortStableFunc(out, func(a, b Unannounced) int {
		if c := strings.Compare(a.MemberID, b.MemberID); c != 0 {
			return c
		}
		fa := Firing{Occasion: a.Recognition.Occasion, Detail: a.Recognition.Detail}
		fb := Firing{Occasion: b.Recognition.Occasion, Detail: b.Recognition.Detail}
		switch {
		case moreNotable(fa, fb):
			return -1
		case moreNotable(fb, fa):
			return 1
		}
		return 0
	})
	return out, nil
}

// Hold records that recognitions wait until the given times before they are
// announced.
func Hold(ctx context.Context, tx pgx.Tx, ids []int64, until []time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if err := storage.New(tx).HoldRecognitions(ctx, storage.HoldRecognitionsParams{Ids: ids, Untils: until}); err != nil {
		return fmt.Errorf("hold recognitions: %w", storage.Translate(err, nil))
	}
	return nil
}

// MarkAnnounced records that the recognitions' recognition.due events were written.
func MarkAnnounced(ctx context.Context, tx pgx.Tx, ids []int64, at time.Time) error {
	if err := storage.New(tx).MarkAnnounced(ctx, storage.MarkAnnouncedParams{Ids: ids, At: at}); err != nil {
		return fmt.Errorf("mark recognitions announced: %w", storage.Translate(err, nil))
	}
	return nil
}

// zones caches time zones by name: loading one reads and parses a file.
var zones sync.Map

// Location returns the named time zone (UTC for "" or an unknown name).
func Location(name string) *time.Location {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "" {
		l = time.UTC
	}
	zones.Store(name, l)
	return l
}
