package storage

// Bulk loads of members and events go through temporary staging tables that COPY
// fills, so that a batch costs a few statements rather than one per row. They are
// written by hand: sqlc checks statements against the migrations' schema, and the
// staging tables exist only in the transaction that creates them (ON COMMIT DROP),
// which is also why these functions take a pgx.Tx.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MemberIn is one member row to upsert. Attributes is a JSON object and Interests and
// Causes are never nil (the columns are NOT NULL).
type MemberIn struct {
	ID, Name, Locale, Timezone string
	JoinedAt                   *time.Time
	Interests, Causes          []string
	SkillLevel                 string
	Attributes                 []byte
	ConsentPersonalization     bool
	ConsentCommunity           bool
}

var memberInColumns = []string{"id", "name", "locale", "timezone", "joined_at", "interests", "causes",
	"skill_level", "attributes", "consent_personalization", "consent_community"}

// UpsertMembers stages ms with COPY, then inserts the new ids and replaces the
// profile of the known ones in one statement, and returns how many rows were
// inserted and how many updated.
func UpsertMembers(ctx context.Context, tx pgx.Tx, ms []MemberIn) (inserted, updated int, err error) {
	rows := make([][]any, len(ms))
	for i, m := range ms {
		rows[i] = []any{m.ID, m.Name, m.Locale, m.Timezone, m.JoinedAt, m.Interests, m.Causes,
			m.SkillLevel, m.Attributes, m.ConsentPersonalization, m.ConsentCommunity}
	}
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.members_in;
		CREATE TEMP TABLE members_in (LIKE members INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, 0, fmt.Errorf("stage members: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"members_in"}, memberInColumns, pgx.CopyFromRows(rows)); err != nil {
		return 0, 0, fmt.Errorf("copy members: %w", err)
	}
	err = tx.QueryRow(ctx, `
		WITH up AS (
			INSERT INTO members AS m (id, name, locale, timezone, joined_at, interests, causes,
				skill_level, attributes, consent_personalization, consent_community)
			SELECT id, name, locale, timezone, joined_at, interests, causes,
				skill_level, attributes, consent_personalization, consent_community
			-- In id order: two batches holding the same ids lock them in one order.
			FROM members_in ORDER BY id
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
		Scan(&inserted, &updated)
	if err != nil {
		return 0, 0, err
	}
	return inserted, updated, nil
}

// EventIn is one event row to insert; Props is a JSON object.
type EventIn struct {
	ID, MemberID, Type string
	OccurredAt         time.Time
	Props              []byte
}

// StageEvents creates the staging table events_in for the rest of the transaction
// and copies es into it, numbered by their position (ord, from 0).
func StageEvents(ctx context.Context, tx pgx.Tx, es []EventIn) error {
	rows := make([][]any, len(es))
	for i, e := range es {
		rows[i] = []any{int32(i), e.ID, e.MemberID, e.Type, e.OccurredAt, e.Props}
	}
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
	return nil
}

// LockStagedMembers locks the stored members the staged events (StageEvents) name
// against erasure until the transaction ends (FOR KEY SHARE, in id order so that two
// batches never deadlock): the lock a foreign key would take for every event.
func LockStagedMembers(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT 1 FROM members m WHERE m.id IN (SELECT member_id FROM events_in)
		ORDER BY m.id FOR KEY SHARE`)
	return err
}

// StagedOrphan is a staged event whose member is not stored: its position in the
// batch and the member id it names.
type StagedOrphan struct {
	Ord      int
	MemberID string
}

// StagedOrphans returns up to limit staged events (StageEvents) whose member is not
// stored, in batch order.
func StagedOrphans(ctx context.Context, tx pgx.Tx, limit int) ([]StagedOrphan, error) {
	rows, err := tx.Query(ctx, `SELECT i.ord, i.member_id FROM events_in i
		WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = i.member_id)
		ORDER BY i.ord LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StagedOrphan, error) {
		var (
			o   StagedOrphan
			ord int32
		)
		err := r.Scan(&ord, &o.MemberID)
		o.Ord = int(ord)
		return o, err
	})
}

// InsertStagedEvents inserts the staged events (StageEvents) in id order, skipping
// ids already stored, adds those it inserted to their members' activity summaries
// (member_activity, see migration 0013) as of now, and returns how many it inserted.
// The summaries are updated in member order, each from its latest committed version
// (ON CONFLICT DO UPDATE), so concurrent batches neither lose counts nor deadlock.
func InsertStagedEvents(ctx context.Context, tx pgx.Tx, now time.Time, contributionTypes []string) (int64, error) {
	var n int64
	// The conflict check sorts the batch by id and the activity is grouped by member:
	// with the default 4 MB both spill to disk for large batches (a 640,000-event load
	// wrote 79 MB of temporary files).
	if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '256MB'"); err != nil {
		return 0, err
	}
	err := tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO member_events (id, member_id, type, occurred_at, props)
			SELECT id, member_id, type, occurred_at, props FROM events_in ORDER BY id
			ON CONFLICT (id) DO NOTHING
			RETURNING member_id, occurred_at, occurred_at > $1::timestamptz - interval '92 days' AS recent,
				type = ANY($2::text[]) AS contribution,
				type = 'complaint' OR (type = 'feedback' AND CASE WHEN props->>'rating' ~ '^[0-9]{1,9}$'
					THEN (props->>'rating')::int <= 2 ELSE false END) AS negative),
		act AS (
			INSERT INTO member_activity AS a (member_id, total, first_at, recent, contributions, negative, updated_at)
			SELECT member_id, count(*), min(occurred_at),
				coalesce(array_agg(occurred_at) FILTER (WHERE recent), '{}'),
				coalesce(array_agg(occurred_at) FILTER (WHERE recent AND contribution), '{}'),
				coalesce(array_agg(occurred_at) FILTER (WHERE recent AND negative), '{}'), $1
			FROM ins GROUP BY member_id ORDER BY member_id
			ON CONFLICT (member_id) DO UPDATE SET total = a.total + excluded.total,
				first_at = least(a.first_at, excluded.first_at),
				recent = array(SELECT t FROM unnest(a.recent) t WHERE t > $1::timestamptz - interval '92 days') || excluded.recent,
				contributions = array(SELECT t FROM unnest(a.contributions) t WHERE t > $1::timestamptz - interval '92 days') || excluded.contributions,
				negative = array(SELECT t FROM unnest(a.negative) t WHERE t > $1::timestamptz - interval '92 days') || excluded.negative,
				updated_at = excluded.updated_at)
		SELECT count(*) FROM ins`, now, contributionTypes).Scan(&n)
	return n, err
}
