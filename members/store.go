package members

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
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
	rows := make([][]any, len(ms))
	for i, m := range ms {
		attrs, err := json.Marshal(m.Attributes)
		if err != nil {
			return res, fmt.Errorf("member %s: attributes: %w", m.ID, err)
		}
		if m.Attributes == nil {
			attrs = []byte("{}")
		}
		rows[i] = []any{m.ID, m.Name, m.Locale, m.Timezone, m.JoinedAt, nonNil(m.Interests), nonNil(m.Causes),
			m.SkillLevel, attrs, m.Consent.Personalization, m.Consent.Community}
	}
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.members_in;
			CREATE TEMP TABLE members_in (LIKE members INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("stage members: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"members_in"}, memberColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy members: %w", err)
		}
		return tx.QueryRow(ctx, `
			WITH up AS (
				INSERT INTO members AS m (id, name, locale, timezone, joined_at, interests, causes,
					skill_level, attributes, consent_personalization, consent_community)
				SELECT id, name, locale, timezone, joined_at, interests, causes,
					skill_level, attributes, consent_personalization, consent_community
				FROM members_in
				ON CONFLICT (id) DO UPDATE SET
					name = excluded.name, locale = excluded.locale, timezone = excluded.timezone,
					joined_at = excluded.joined_at, interests = excluded.interests,
					causes = excluded.causes, skill_level = excluded.skill_level,
					attributes = excluded.attributes,
					consent_personalization = excluded.consent_personalization,
					consent_community = excluded.consent_community,
					updated_at = now()
				RETURNING (xmax = 0) AS inserted)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`).
			Scan(&res.Inserted, &res.Updated)
	})
	if err != nil {
		return UpsertResult{}, fmt.Errorf("upsert members: %w", err)
	}
	return res, nil
}

var memberColumns = []string{"id", "name", "locale", "timezone", "joined_at", "interests", "causes",
	"skill_level", "attributes", "consent_personalization", "consent_community"}

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

// InsertEvents writes events in one transaction; an id already stored is skipped.
// lines are the events' line numbers (from DecodeEvents): an event whose member is not
// stored fails the batch with a *BatchError naming its line, and nothing is written.
func InsertEvents(ctx context.Context, db database.DBTX, es []Event, lines []int) (EventResult, error) {
	var res EventResult
	rows := make([][]any, len(es))
	for i, e := range es {
		props := []byte("{}")
		if e.Props != nil {
			var err error
			if props, err = json.Marshal(e.Props); err != nil {
				return res, fmt.Errorf("event %s: props: %w", e.ID, err)
			}
		}
		rows[i] = []any{int32(i), e.ID, e.MemberID, e.Type, e.At, props}
	}
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.events_in;
			CREATE TEMP TABLE events_in (
			ord integer, id text, member_id text, type text, occurred_at timestamptz, props jsonb
			) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("stage events: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events_in"},
			[]string{"ord", "id", "member_id", "type", "occurred_at", "props"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		missing, err := tx.Query(ctx, `SELECT i.ord, i.member_id FROM events_in i
			WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = i.member_id)
			ORDER BY i.ord LIMIT $1`, maxReported+1)
		if err != nil {
			return fmt.Errorf("check event members: %w", err)
		}
		bad := &BatchError{}
		for missing.Next() {
			var (
				ord int32
				id  string
			)
			if err := missing.Scan(&ord, &id); err != nil {
				return err
			}
			line := int(ord) + 1
			if int(ord) < len(lines) {
				line = lines[ord]
			}
			bad.add(LineError{Line: line, Field: "member_id", Msg: fmt.Sprintf("no member has id %q", id)})
		}
		if err := missing.Err(); err != nil {
			return fmt.Errorf("check event members: %w", err)
		}
		if len(bad.Lines) > 0 {
			return bad
		}
		tag, err := tx.Exec(ctx, `INSERT INTO member_events (id, member_id, type, occurred_at, props)
			SELECT id, member_id, type, occurred_at, props FROM events_in ORDER BY ord
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Inserted = int(tag.RowsAffected())
		res.Duplicates = len(es) - res.Inserted
		return nil
	})
	if err != nil {
		return EventResult{}, err
	}
	return res, nil
}

// Get returns one stored member.
func Get(ctx context.Context, db database.DBTX, id string) (Member, error) {
	var (
		m        Member
		joinedAt *time.Time
		attrs    []byte
	)
	err := db.QueryRow(ctx, `SELECT id, name, locale, timezone, joined_at, interests, causes, skill_level,
		attributes, consent_personalization, consent_community FROM members WHERE id = $1`, id).
		Scan(&m.ID, &m.Name, &m.Locale, &m.Timezone, &joinedAt, &m.Interests, &m.Causes, &m.SkillLevel,
			&attrs, &m.Consent.Personalization, &m.Consent.Community)
	if errors.Is(err, pgx.ErrNoRows) {
		return Member{}, ErrNotFound
	}
	if err != nil {
		return Member{}, fmt.Errorf("get member %s: %w", id, err)
	}
	m.JoinedAt = joinedAt
	if err := json.Unmarshal(attrs, &m.Attributes); err != nil {
		return Member{}, fmt.Errorf("get member %s: attributes: %w", id, err)
	}
	return m, nil
}

// Count returns how many members are stored.
func Count(ctx context.Context, db database.DBTX) (int, error) {
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM members").Scan(&n); err != nil {
		return 0, fmt.Errorf("count members: %w", err)
	}
	return n, nil
}

// Delete erases a member: their profile, events, vector and memberships go in one
// statement (the foreign keys cascade), so nothing of them is left half-deleted.
func Delete(ctx context.Context, db database.DBTX, id string) error {
	tag, err := db.Exec(ctx, "DELETE FROM members WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("delete member %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
