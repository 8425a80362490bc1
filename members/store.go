package members

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// ErrNotFound means no member has the given id.
var ErrNotFound = belong.New(belong.ENOTFOUND, "member_not_found", "member not found")

// UpsertResult counts what an upsert did.
type UpsertResult struct {
	Inserted int `json:"inserted"`
	Updated  int `json:"updated"`
}

// Upsert writes normalized members in one transaction: new ids are inserted, known ids
// have their profile replaced. Members must come from DecodeMembers or be Normalized.
func Upsert(ctx context.Context, db database.DBTX, ms []Member) (UpsertResult, error) {
	var res UpsertResult
	in := make([]storage.MemberIn, len(ms))
	for i, m := range ms {
		attrs, err := json.Marshal(m.Attributes)
		if err != nil {
			return res, fmt.Errorf("member %s: attributes: %w", m.ID, err)
		}
		if m.Attributes == nil {
			attrs = []byte("{}")
		}
		in[i] = storage.MemberIn{ID: m.ID, Name: m.Name, Locale: m.Locale, Timezone: m.Timezone, JoinedAt: m.JoinedAt,
			Interests: nonNil(m.Interests), Causes: nonNil(m.Causes), SkillLevel: m.SkillLevel, Attributes: attrs,
			ConsentPersonalization: m.Consent.Personalization, ConsentCommunity: m.Consent.Community}
	}
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		var err error
		res.Inserted, res.Updated, err = storage.UpsertMembers(ctx, tx, in)
		return err
	})
	if err != nil {
		return UpsertResult{}, fmt.Errorf("upsert members: %w", storage.Translate(err, nil))
	}
	return res, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// EventResult counts what an event batch did: replays are counted, not written.
type EventResult struct {
	Inserted   int `json:"inserted"`
	Duplicates int `json:"duplicates"`
}

// ContributionTypes are event types that count as helping the community.
var ContributionTypes = []string{"helped_member", "review_posted", "referral_made", "event_hosted", "answer_posted"}

// InsertEvents writes events in one transaction, with their members' activity
// summaries as of now; an id already stored is skipped. lines are the events' line
// numbers (from DecodeEvents): an event whose member is not stored fails the batch
// with a *BatchError naming its line, and nothing is written.
func InsertEvents(ctx context.Context, db database.DBTX, es []Event, lines []int, now time.Time) (EventResult, error) {
	var res EventResult
	in := make([]storage.EventIn, len(es))
	for i, e := range es {
		props := []byte("{}")
		if e.Props != nil {
			var err error
			if props, err = json.Marshal(e.Props); err != nil {
				return res, fmt.Errorf("event %s: props: %w", e.ID, err)
			}
		}
		in[i] = storage.EventIn{ID: e.ID, MemberID: e.MemberID, Type: e.Type, OccurredAt: e.At, Props: props}
	}
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		if err := storage.StageEvents(ctx, tx, in); err != nil {
			return err
		}
		// The members are locked against erasure until commit (member_events has no
		// foreign key to take the lock row by row), then the batch is checked for
		// members not stored: one erased while this waited is not stored.
		if err := storage.LockStagedMembers(ctx, tx); err != nil {
			return fmt.Errorf("lock event members: %w", err)
		}
		missing, err := storage.StagedOrphans(ctx, tx, maxReported+1)
		if err != nil {
			return fmt.Errorf("check event members: %w", err)
		}
		bad := &BatchError{}
		for _, o := range missing {
			line := o.Ord + 1
			if o.Ord < len(lines) {
				line = lines[o.Ord]
			}
			bad.add(LineError{Line: line, Field: "member_id", Msg: fmt.Sprintf("no member has id %q", o.MemberID)})
		}
		if len(bad.Lines) > 0 {
			return bad
		}
		n, err := storage.InsertStagedEvents(ctx, tx, now, ContributionTypes)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Inserted = int(n)
		res.Duplicates = len(es) - res.Inserted
		return nil
	})
	if err != nil {
		return EventResult{}, storage.Translate(err, nil)
	}
	return res, nil
}

// Get returns one stored member.
func Get(ctx context.Context, db database.DBTX, id string) (Member, error) {
	r, err := storage.New(db).GetMember(ctx, id)
	if err != nil {
		return Member{}, fmt.Errorf("get member %s: %w", id, storage.Translate(err, ErrNotFound))
	}
	m := Member{ID: r.ID, Name: r.Name, Locale: r.Locale, Timezone: r.Timezone, JoinedAt: r.JoinedAt,
		Interests: r.Interests, Causes: r.Causes, SkillLevel: r.SkillLevel,
		Consent: Consent{Personalization: r.ConsentPersonalization, Community: r.ConsentCommunity}}
	if err := json.Unmarshal(r.Attributes, &m.Attributes); err != nil {
		return Member{}, fmt.Errorf("get member %s: attributes: %w", id, err)
	}
	return m, nil
}

// Count returns how many members are stored.
func Count(ctx context.Context, db database.DBTX) (int, error) {
	n, err := storage.New(db).CountMembers(ctx)
	if err != nil {
		return 0, fmt.Errorf("count members: %w", storage.Translate(err, nil))
	}
	return int(n), nil
}

// Erase removes a member and every trace of them, in one transaction: the profile,
// their events, and by the foreign keys their vector, memberships, milestones, drafts about
// them (with their audit), feedback and pilot invitations; then what does not
// cascade: their jobs, stored idempotency answers that quote their id or name, their
// full name where a reviewer typed it into other content, and their place in their
// communities' sizes.
func Erase(ctx context.Context, db database.DBTX, id string) error {
	return database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		name, err := q.LockMemberForErasure(ctx, id)
		if err != nil {
			return fmt.Errorf("erase member %s: %w", id, storage.Translate(err, ErrNotFound))
		}
		if err := q.ShrinkCommunitiesOfMember(ctx, id); err != nil {
			return fmt.Errorf("erase member %s: %w", id, storage.Translate(err, nil))
		}
		if _, err := q.ScrubRunPeers(ctx, id); err != nil {
			return fmt.Errorf("erase member %s: peer lists: %w", id, storage.Translate(err, nil))
		}
		if n, err := q.DeleteMember(ctx, id); err != nil || n == 0 {
			return fmt.Errorf("erase member %s: %w", id, storage.Translate(err, nil))
		}
		if err := q.DeleteMemberEvents(ctx, id); err != nil {
			return fmt.Errorf("erase member %s: events: %w", id, storage.Translate(err, nil))
		}
		if _, err := storage.DeleteMemberJobs(ctx, tx, id); err != nil {
			return fmt.Errorf("erase member %s: jobs: %w", id, storage.Translate(err, nil))
		}
		patterns := []string{regexp.QuoteMeta(id)}
		if full := strings.Fields(name); len(full) > 1 || len(strings.Join(full, "")) >= 6 {
			// A full name is specific enough to scrub, whatever its case or spacing; a
			// lone short first name is not (it is someone else's too).
			words := make([]string, len(full))
			for i, w := range full {
				words[i] = regexp.QuoteMeta(w)
			}
			patterns = append(patterns, strings.Join(words, `\s+`))
		}
		for _, n := range patterns {
			if _, err := storage.ScrubJobArgs(ctx, tx, n); err != nil {
				return fmt.Errorf("erase member %s: job arguments: %w", id, storage.Translate(err, nil))
			}
			if _, err := q.ScrubIdempotencyAnswers(ctx, n); err != nil {
				return fmt.Errorf("erase member %s: idempotency answers: %w", id, storage.Translate(err, nil))
			}
			if _, err := q.ScrubDrafts(ctx, n); err != nil {
				return fmt.Errorf("erase member %s: drafts: %w", id, storage.Translate(err, nil))
			}
			if _, err := q.ScrubReviews(ctx, n); err != nil {
				return fmt.Errorf("erase member %s: reviews: %w", id, storage.Translate(err, nil))
			}
		}
		return nil
	})
}
