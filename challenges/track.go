package challenges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/storage"
)

// Outcome is what a write did to challenges: who joined, which thresholds were
// crossed and who completed one. The caller turns it into events and milestones in
// the same transaction.
type Outcome struct {
	Joined     []Joined
	Progressed []Progressed
	Completed  []Completed
}

func (o *Outcome) add(p Outcome) {
	o.Joined = append(o.Joined, p.Joined...)
	o.Progressed = append(o.Progressed, p.Progressed...)
	o.Completed = append(o.Completed, p.Completed...)
}

// Joined is a member who joined a challenge, with their goal.
type Joined struct {
	ChallengeID int64
	MemberID    string
	Goal        float64
	// Consent is the member's personalization consent (nothing leaves Belong without it).
	Consent bool
}

// Progressed is a threshold crossed: by a member in an individual challenge, or by
// the whole group (MemberID empty) in a group one.
type Progressed struct {
	ChallengeID    int64
	MemberID       string
	Threshold      int
	Progress, Goal float64
	Consent        bool
}

// Completed is a participant who completed a challenge (individually, or with the
// group reaching its goal).
type Completed struct {
	ChallengeID int64
	MemberID    string
	Group       bool
	At          time.Time
	Consent     bool
}

// Launch creates a challenge from approved challenge content and, with automatic
// enrolment, enrols the target's consenting members. Run it in a transaction.
func Launch(ctx context.Context, tx pgx.Tx, d Definition, by string, now time.Time) (int64, Outcome, error) {
	if err := d.Validate(); err != nil {
		return 0, Outcome{}, ErrBadRequest.With("%s", err.Error())
	}
	q := storage.New(tx)
	ct, err := q.ChallengeContent(ctx, d.ContentID)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, Outcome{}, ErrContent.With("content %d does not exist", d.ContentID)
		}
		return 0, Outcome{}, fmt.Errorf("launch: %w", storage.Translate(err, nil))
	}
	if ct.Kind != "challenge" || ct.Status != "approved" {
		return 0, Outcome{}, ErrContent.With("content %d is a %s %s, not approved challenge content", d.ContentID, ct.Status, ct.Kind)
	}
	id, err := create(ctx, q, d, nil, 1, by)
	if err != nil {
		return 0, Outcome{}, err
	}
	var out Outcome
	if d.Enrolment == EnrolAuto {
		if out, err = Enrol(ctx, tx, id, nil, now); err != nil {
			return 0, Outcome{}, err
		}
	}
	return id, out, nil
}

func create(ctx context.Context, q *storage.Queries, d Definition, series *int64, instance int32, by string) (int64, error) {
	goal, err := json.Marshal(d.Goal)
	if err != nil {
		return 0, err
	}
	var adaptive json.RawMessage
	if d.Adaptive != nil {
		if adaptive, err = json.Marshal(d.Adaptive); err != nil {
			return 0, err
		}
	}
	start, _ := time.Parse(time.DateOnly, d.StartsOn)
	end, _ := time.Parse(time.DateOnly, d.EndsOn)
	th := make([]int16, len(d.Thresholds))
	for i, t := range d.Thresholds {
		th[i] = int16(t)
	}
	r, err := q.CreateChallenge(ctx, storage.CreateChallengeParams{ContentID: d.ContentID, SeriesID: series, Instance: instance,
		TargetKind: d.Target.Kind, TargetID: d.Target.ID, Kind: d.Kind, Goal: goal, Adaptive: adaptive, StartsOn: start,
		EndsOn: end, Timezone: d.Timezone, Recurrence: d.Recurrence, Enrolment: d.Enrolment, Thresholds: th, CreatedBy: by})
	if err != nil {
		return 0, fmt.Errorf("create challenge: %w", storage.Translate(err, nil))
	}
	return r.ID, nil
}

// Enrol adds members to challenge id (nil ids: every consenting member of its target
// not yet in it), each with their goal (GoalFor, from their pace before the window),
// and counts the events they already have in the window. Run it in a transaction.
func Enrol(ctx context.Context, tx pgx.Tx, id int64, ids []string, now time.Time) (Outcome, error) {
	c, err := Get(ctx, tx, id, now)
	if err != nil {
		return Outcome{}, err
	}
	if over(c) {
		return Outcome{}, ErrOver
	}
	return enrol(ctx, tx, c, ids, now)
}

// over reports whether a challenge takes no more participants.
func over(c Challenge) bool { return c.Status == StatusEnded || c.Status == StatusCompleted }

// enrol is Enrol of a challenge read already, whatever its status (a rolled instance
// whose window has passed too carries its participants on).
func enrol(ctx context.Context, tx pgx.Tx, c Challenge, ids []string, now time.Time) (Outcome, error) {
	id := c.ID
	q := storage.New(tx)
	if ids == nil {
		var err error
		if ids, err = inTarget(ctx, tx, c.Target, nil, true, now); err != nil {
			return Outcome{}, err
		}
	}
	if len(ids) == 0 {
		return Outcome{}, nil
	}
	if err := q.LockMembers(ctx, ids); err != nil {
		return Outcome{}, fmt.Errorf("enrol %d: %w", id, storage.Translate(err, nil))
	}
	profiles, err := q.ParticipantProfiles(ctx, ids)
	if err != nil {
		return Outcome{}, fmt.Errorf("enrol %d: %w", id, storage.Translate(err, nil))
	}
	at := make(map[string]int, len(profiles))
	goals := make([]float64, len(profiles))
	mids := make([]string, len(profiles))
	paces, err := paces(ctx, q, c, profiles)
	if err != nil {
		return Outcome{}, err
	}
	for i, p := range profiles {
		mids[i], at[p.ID] = p.ID, i
		goals[i] = c.Goal.Target
		if c.Kind == KindIndividual {
			goals[i] = GoalFor(c.Goal, c.Adaptive, paces[p.ID], p.SkillLevel)
		}
	}
	joined, err := q.AddParticipants(ctx, storage.AddParticipantsParams{ChallengeID: id, MemberIds: mids, Goals: goals, Now: now})
	if err != nil {
		return Outcome{}, fmt.Errorf("enrol %d: %w", id, storage.Translate(err, nil))
	}
	if len(joined) >= analyzeAfter {
		if err := q.AnalyzeParticipants(ctx); err != nil {
			return Outcome{}, fmt.Errorf("enrol %d: %w", id, storage.Translate(err, nil))
		}
	}
	var out Outcome
	for _, m := range joined {
		i := at[m]
		out.Joined = append(out.Joined, Joined{ChallengeID: id, MemberID: m, Goal: goals[i], Consent: profiles[i].ConsentPersonalization})
	}
	if len(joined) == 0 {
		return out, nil
	}
	tr, err := track(ctx, tx, joined, id, now)
	if err != nil {
		return Outcome{}, err
	}
	out.add(tr)
	return out, nil
}

// analyzeAfter is how many members one enrolment adds before it refreshes the
// table's statistics: without it, event batches right after a large automatic
// enrolment were planned against an empty table and ran at a third of the speed.
const analyzeAfter = 1000

// paces measures each member's goal over the stretch of time just before the window
// as long as the window (what an adaptive goal starts from).
func paces(ctx context.Context, q *storage.Queries, c Challenge, ps []storage.ParticipantProfilesRow) (map[string]float64, error) {
	out := map[string]float64{}
	if c.Adaptive == nil || len(ps) == 0 {
		return out, nil
	}
	start, _ := time.Parse(time.DateOnly, c.StartsOn)
	end, _ := time.Parse(time.DateOnly, c.EndsOn)
	length := end.Sub(start) + 24*time.Hour
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	// Wide enough for every time zone; each member's own window is cut below.
	evs, err := events(ctx, q, ids, start.Add(-length-14*time.Hour), start.Add(14*time.Hour), c.Goal.EventTypes())
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		loc := zone(c.Timezone, p.Timezone)
		from, _ := Window(start, end, loc)
		out[p.ID] = c.Goal.Measure(evs[p.ID], from.Add(-length), from, loc)
	}
	return out, nil
}

func zone(challengeTZ, memberTZ string) *time.Location {
	if challengeTZ == MemberZone {
		return moments.Location(memberTZ)
	}
	return moments.Location(challengeTZ)
}

// events reads the members' events in [from, to) of the given types (nil: any), by member.
func events(ctx context.Context, q *storage.Queries, ids []string, from, to time.Time, types []string) (map[string][]Event, error) {
	rs, err := q.ChallengeEvents(ctx, storage.ChallengeEventsParams{MemberIds: ids, FromAt: from, ToAt: to, Types: nonNil(types)})
	if err != nil {
		return nil, fmt.Errorf("challenge events: %w", storage.Translate(err, nil))
	}
	out := make(map[string][]Event, len(ids))
	for _, r := range rs {
		e := Event{ID: r.ID, Type: r.Type, At: r.OccurredAt}
		if len(r.Props) > 2 {
			var props map[string]any
			if json.Unmarshal(r.Props, &props) == nil {
				e.Category, _ = props["category"].(string)
				for k, v := range props {
					if f, ok := v.(float64); ok {
						if e.Props == nil {
							e.Props = map[string]float64{}
						}
						e.Props[k] = f
					}
				}
			}
		}
		out[r.MemberID] = append(out[r.MemberID], e)
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Track recomputes the progress of the given members in every challenge they take
// part in whose window has not ended more than Grace ago, from their events in each
// window. Because progress is recomputed from the stored events (each stored once by
// id) rather than incremented, a replayed or late event changes nothing twice. Run it
// in the transaction that stored the events: batches of the same member wait for
// each other there (member_activity), so each sees the other's events; a group
// challenge is locked (in id order) before its participants are written, since its
// completion writes all of them.
func Track(ctx context.Context, tx pgx.Tx, ids []string, now time.Time) (Outcome, error) {
	return track(ctx, tx, ids, 0, now)
}

func track(ctx context.Context, tx pgx.Tx, ids []string, challengeID int64, now time.Time) (Outcome, error) {
	q := storage.New(tx)
	since := day(now).Add(-Grace)
	if _, err := q.LockGroupsOf(ctx, storage.LockGroupsOfParams{Since: since, MemberIds: ids}); err != nil {
		return Outcome{}, translate(err)
	}
	rows, err := q.Participations(ctx, storage.ParticipationsParams{MemberIds: ids,
		Since: since, ChallengeID: challengeID})
	if err != nil || len(rows) == 0 {
		return Outcome{}, translate(err)
	}
	type part struct {
		storage.ParticipationsRow
		goal     Goal
		loc      *time.Location
		from, to time.Time
	}
	parts := make([]part, len(rows))
	var (
		from, to time.Time
		anyType  bool
		types    []string
		members  []string
		seen     = map[string]bool{}
		goals    = map[int64]Goal{}
	)
	for i, r := range rows {
		p := part{ParticipationsRow: r}
		g, ok := goals[r.ChallengeID]
		if !ok {
			if err := json.Unmarshal(r.Goal, &g); err != nil {
				return Outcome{}, fmt.Errorf("challenge %d goal: %w", r.ChallengeID, err)
			}
			goals[r.ChallengeID] = g
		}
		p.goal = g
		p.loc = zone(r.Timezone, r.MemberTimezone)
		p.from, p.to = Window(r.StartsOn, r.EndsOn, p.loc)
		if r.EndedAt != nil && r.EndedAt.Before(p.to) {
			p.to = *r.EndedAt
		}
		if from.IsZero() || p.from.Before(from) {
			from = p.from
		}
		if p.to.After(to) {
			to = p.to
		}
		ts := p.goal.EventTypes()
		anyType = anyType || ts == nil
		for _, t := range ts {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
		if !seen[r.MemberID] {
			seen[r.MemberID] = true
			members = append(members, r.MemberID)
		}
		parts[i] = p
	}
	if anyType {
		types = nil
	}
	evs, err := events(ctx, q, members, from, to, types)
	if err != nil {
		return Outcome{}, err
	}
	var (
		out        Outcome
		cids       []int64
		mids       []string
		progress   []float64
		notified   []int16
		completed  []bool
		groupDelta = map[int64]float64{}
		groupIDs   []int64
	)
	for _, p := range parts {
		got := p.goal.Measure(evs[p.MemberID], p.from, p.to, p.loc)
		note, done := p.Notified, false
		if p.Kind == KindIndividual {
			if t := crossed(p.Thresholds, p.Notified, got, p.MemberGoal); t > 0 {
				note = int16(t)
				out.Progressed = append(out.Progressed, Progressed{ChallengeID: p.ChallengeID, MemberID: p.MemberID,
					Threshold: t, Progress: got, Goal: p.MemberGoal, Consent: p.ConsentPersonalization})
			}
			done = p.CompletedAt == nil && got >= p.MemberGoal
		} else if d := got - p.Progress; d != 0 {
			if _, ok := groupDelta[p.ChallengeID]; !ok {
				groupIDs = append(groupIDs, p.ChallengeID)
			}
			groupDelta[p.ChallengeID] += d
		}
		if got == p.Progress && note == p.Notified && !done {
			continue
		}
		cids, mids, progress = append(cids, p.ChallengeID), append(mids, p.MemberID), append(progress, got)
		notified, completed = append(notified, note), append(completed, done)
		if done {
			out.Completed = append(out.Completed, Completed{ChallengeID: p.ChallengeID, MemberID: p.MemberID,
				At: now, Consent: p.ConsentPersonalization})
		}
	}
	if len(cids) > 0 {
		if err := q.UpdateParticipants(ctx, storage.UpdateParticipantsParams{ChallengeIds: cids, MemberIds: mids,
			Progress: progress, Notified: notified, Completed: completed, Now: now}); err != nil {
			return Outcome{}, translate(err)
		}
	}
	if len(groupIDs) > 0 {
		g, err := groups(ctx, q, groupIDs, groupDelta, now)
		if err != nil {
			return Outcome{}, err
		}
		out.add(g)
	}
	return out, nil
}

// groups adds the deltas to their group challenges' progress (locked in id order) and
// fires their thresholds and, once, their completion for every participant.
func groups(ctx context.Context, q *storage.Queries, ids []int64, delta map[int64]float64, now time.Time) (Outcome, error) {
	slices.Sort(ids)
	rows, err := q.LockGroupChallenges(ctx, ids)
	if err != nil {
		return Outcome{}, translate(err)
	}
	var out Outcome
	for _, r := range rows {
		var g Goal
		if err := json.Unmarshal(r.Goal, &g); err != nil {
			return Outcome{}, fmt.Errorf("challenge %d goal: %w", r.ID, err)
		}
		progress := r.Progress + delta[r.ID]
		note := r.Notified
		if t := crossed(r.Thresholds, r.Notified, progress, g.Target); t > 0 {
			note = int16(t)
			out.Progressed = append(out.Progressed, Progressed{ChallengeID: r.ID, Threshold: t, Progress: progress, Goal: g.Target})
		}
		done := r.CompletedAt
		if done == nil && progress >= g.Target {
			done = &now
			ps, err := q.ChallengeMembers(ctx, r.ID)
			if err != nil {
				return Outcome{}, translate(err)
			}
			if err := q.CompleteParticipants(ctx, storage.CompleteParticipantsParams{ChallengeID: r.ID, Now: now}); err != nil {
				return Outcome{}, translate(err)
			}
			for _, p := range ps {
				out.Completed = append(out.Completed, Completed{ChallengeID: r.ID, MemberID: p.MemberID, Group: true,
					At: now, Consent: p.ConsentPersonalization})
			}
		}
		if err := q.UpdateGroupChallenge(ctx, storage.UpdateGroupChallengeParams{ID: r.ID, Progress: progress,
			Notified: note, CompletedAt: done}); err != nil {
			return Outcome{}, translate(err)
		}
	}
	return out, nil
}

// crossed is the highest threshold (percent of goal) that progress reaches above the
// one already announced, or 0. Reaching the goal itself is completion, not a threshold.
func crossed(thresholds []int16, notified int16, progress, goal float64) int {
	if goal <= 0 || progress >= goal {
		return 0
	}
	best := 0
	for _, t := range thresholds {
		if t > notified && progress*100 >= float64(t)*goal {
			best = int(t)
		}
	}
	return best
}

func translate(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("track challenges: %w", storage.Translate(err, nil))
}

// Join enrols one member in an opt-in or automatic challenge that has not ended; the
// member must be in its target (community or tribe in the current run, or stage).
func Join(ctx context.Context, tx pgx.Tx, id int64, memberID string, now time.Time) (Outcome, error) {
	c, err := Get(ctx, tx, id, now)
	if err != nil {
		return Outcome{}, err
	}
	if over(c) {
		return Outcome{}, ErrOver
	}
	ps, err := storage.New(tx).ParticipantProfiles(ctx, []string{memberID})
	if err != nil {
		return Outcome{}, translate(err)
	}
	if len(ps) == 0 {
		return Outcome{}, members.ErrNotFound
	}
	in, err := inTarget(ctx, tx, c.Target, []string{memberID}, false, now)
	if err != nil {
		return Outcome{}, err
	}
	if len(in) == 0 {
		return Outcome{}, ErrNotTarget
	}
	return enrol(ctx, tx, c, in, now)
}

// Leave takes a member out of a challenge: their progress stops counting and they
// leave its leaderboard; what they gave a group stays in its total.
func Leave(ctx context.Context, db database.DBTX, id int64, memberID string, now time.Time) error {
	n, err := storage.New(db).LeaveChallenge(ctx, storage.LeaveChallengeParams{ChallengeID: id, MemberID: memberID, Now: now})
	if err != nil {
		return translate(err)
	}
	if n == 0 {
		return ErrNotJoined
	}
	return nil
}

// End ends a challenge early: events after now no longer count.
func End(ctx context.Context, db database.DBTX, id int64, now time.Time) error {
	n, err := storage.New(db).EndChallenge(ctx, storage.EndChallengeParams{ID: id, Now: now})
	if err != nil {
		return translate(err)
	}
	if n == 0 {
		if _, err := Get(ctx, db, id, now); err != nil {
			return err
		}
		return ErrOver
	}
	return nil
}

// Roll starts the next instance of a recurring challenge whose window has ended:
// same content, target, goal and rules, the next window, and the participants of this
// instance who did not leave (an automatic one enrols its target again). It returns
// the new instance's id (0 when there is none: not recurring, ended early, or
// already rolled).
func Roll(ctx context.Context, tx pgx.Tx, id int64, now time.Time) (int64, Outcome, error) {
	c, err := Get(ctx, tx, id, now)
	if err != nil || c.Recurrence == RecurNone || c.EndedAt != nil {
		return 0, Outcome{}, err
	}
	start, _ := time.Parse(time.DateOnly, c.StartsOn)
	end, _ := time.Parse(time.DateOnly, c.EndsOn)
	next := Next(c.Recurrence, start)
	d := c.Definition
	d.StartsOn = next.Format(time.DateOnly)
	d.EndsOn = next.Add(end.Sub(start)).Format(time.DateOnly)
	series := c.ID
	if c.SeriesID != nil {
		series = *c.SeriesID
	}
	q := storage.New(tx)
	nid, err := create(ctx, q, d, &series, int32(c.Instance+1), c.CreatedBy)
	if errors.Is(err, pgx.ErrNoRows) || (err != nil && errors.Is(err, storage.ErrDuplicate)) {
		return 0, Outcome{}, nil // rolled already
	}
	if err != nil {
		return 0, Outcome{}, err
	}
	var ids []string
	if c.Enrolment != EnrolAuto {
		ps, err := q.ChallengeMembers(ctx, c.ID)
		if err != nil {
			return 0, Outcome{}, translate(err)
		}
		ids = make([]string, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, p.MemberID)
		}
		if len(ids) == 0 {
			return nid, Outcome{}, nil
		}
	}
	nc, err := Get(ctx, tx, nid, now)
	if err != nil {
		return 0, Outcome{}, err
	}
	if ids == nil && over(nc) {
		return nid, Outcome{}, nil // automatic and over already: the next instance enrols
	}
	out, err := enrol(ctx, tx, nc, ids, now)
	return nid, out, err
}

// DueToRoll lists recurring instances to roll as of now: their last day has ended
// everywhere on Earth (UTC-12) by now.
func DueToRoll(ctx context.Context, db database.DBTX, now time.Time) ([]int64, error) {
	ids, err := storage.New(db).DueToRoll(ctx, day(now.Add(-36*time.Hour)))
	return ids, translate(err)
}

// ActiveAuto lists the automatic challenges still open to members.
func ActiveAuto(ctx context.Context, db database.DBTX, now time.Time) ([]int64, error) {
	ids, err := storage.New(db).ActiveAutoChallenges(ctx, day(now))
	return ids, translate(err)
}
