package storage

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// fanOut ends a statement whose CTE ev (id, type, member_id) holds the outbox events
// it inserted: it gives each a delivery for every enabled endpoint subscribed to its
// type and returns those endpoints. $1 is now.
const fanOut = `,
	d AS (INSERT INTO webhook_deliveries (endpoint_id, event_id, ordering_key, scheduled_at, next_at)
		SELECT w.id, ev.id, coalesce(ev.member_id, ''), $1, $1
		FROM ev JOIN webhook_endpoints w ON w.enabled AND ev.type = ANY(w.event_types)
		RETURNING endpoint_id)
	SELECT DISTINCT endpoint_id FROM d`

// EmitEvents writes outbox events (types, member ids ("" for none) and JSON data, as
// parallel slices) at now, with their deliveries, and returns the endpoints that got
// some.
func EmitEvents(ctx context.Context, tx pgx.Tx, now time.Time, types, memberIDs []string, data [][]byte) ([]int64, error) {
	rows, err := tx.Query(ctx, `WITH ev AS (
		INSERT INTO outbox_events (type, member_id, created_at, data)
		SELECT t, nullif(m, ''), $1, d FROM unnest($2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS x (t, m, d, n)
		ORDER BY n
		RETURNING id, type, member_id)`+fanOut, now, types, memberIDs, data)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// EmitRunEvents writes the events of publishing run over previous (0 when it is the
// first), at now: cluster_run.published; community.born and community.retired for
// the communities only one of the two has; membership.changed for every member whose
// primary community differs (or who was first placed). It returns the endpoints that
// got deliveries.
func EmitRunEvents(ctx context.Context, tx pgx.Tx, now time.Time, run, previous int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `WITH ev AS (
		INSERT INTO outbox_events (type, member_id, created_at, data)
		SELECT 'cluster_run.published', NULL, $1::timestamptz, jsonb_build_object('run_id', $2::bigint::text,
				'previous_run_id', nullif($3::bigint, 0)::text, 'communities', r.communities, 'tribes', r.tribes,
				'members', r.members, 'published_at', $1::timestamptz)
			FROM (SELECT (SELECT count(*) FROM communities WHERE run_id = $2) AS communities,
				(SELECT count(*) FROM tribes WHERE run_id = $2) AS tribes,
				(SELECT count(*) FROM memberships WHERE run_id = $2 AND rank = 1) AS members) r
		UNION ALL
		SELECT CASE WHEN n.id IS NULL THEN 'community.retired' ELSE 'community.born' END, NULL, $1,
				jsonb_build_object('community_id', coalesce(n.id, o.id), 'run_id', $2::bigint::text,
					'name', coalesce(n.name, o.name), 'labels', coalesce(n.labels, o.labels),
					'tribe_id', coalesce(n.tribe_id, o.tribe_id), 'size', coalesce(n.size, o.size))
			FROM (SELECT id, name, labels, tribe_id, size FROM communities WHERE run_id = $2) n
			FULL JOIN (SELECT id, name, labels, tribe_id, size FROM communities WHERE run_id = $3) o ON o.id = n.id
			WHERE n.id IS NULL OR o.id IS NULL
		UNION ALL
		SELECT 'membership.changed', n.member_id, $1, jsonb_build_object('member_id', n.member_id, 'run_id', $2::bigint::text,
				'community_id', n.community_id, 'previous_community_id', o.community_id, 'tribe_id', c.tribe_id)
			FROM memberships n JOIN communities c ON c.run_id = n.run_id AND c.id = n.community_id
			LEFT JOIN memberships o ON o.run_id = $3 AND o.member_id = n.member_id AND o.rank = 1
			WHERE n.run_id = $2 AND n.rank = 1 AND o.community_id IS DISTINCT FROM n.community_id
		RETURNING id, type, member_id)`+fanOut, now, run, previous)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// Delivery is a claimed delivery with its event.
type Delivery struct {
	ID, EventID int64
	Attempts    int32
	ScheduledAt time.Time
	Type        string
	CreatedAt   time.Time
	Data        []byte
}

// ClaimDeliveries leases up to n of an endpoint's pending deliveries that are due by
// now, until leaseUntil, oldest event first, and counts the attempt. A delivery is
// claimed only when no earlier event of its member is still pending for the
// endpoint, so each member's events go out in order; SKIP LOCKED lets two
// dispatchers of one endpoint claim apart.
func ClaimDeliveries(ctx context.Context, db DBTX, endpoint int64, now, leaseUntil time.Time, n int) ([]Delivery, error) {
	rows, err := db.Query(ctx, `UPDATE webhook_deliveries d SET next_at = $3, attempts = d.attempts + 1
		FROM outbox_events e
		WHERE d.id IN (SELECT p.id FROM webhook_deliveries p
				WHERE p.endpoint_id = $1 AND p.status = 'pending' AND p.next_at <= $2
				  AND (p.ordering_key = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries q
					WHERE q.endpoint_id = p.endpoint_id AND q.ordering_key = p.ordering_key
					  AND q.status = 'pending' AND q.event_id < p.event_id))
				ORDER BY p.event_id LIMIT $4 FOR UPDATE SKIP LOCKED)
		  AND e.id = d.event_id
		RETURNING d.id, d.event_id, d.attempts, d.scheduled_at, e.type, e.created_at, e.data`,
		endpoint, now, leaseUntil, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := r.Scan(&d.ID, &d.EventID, &d.Attempts, &d.ScheduledAt, &d.Type, &d.CreatedAt, &d.Data)
		return d, err
	})
}

// Outcome is the result of one delivery attempt: delivered, retried at Next, or
// given up (Failed).
type Outcome struct {
	ID        int64
	Delivered bool
	Failed    bool
	Next      time.Time
	Status    int32
	Error     string
}

// RecordOutcomes stores the outcomes of attempts made at now, in one statement.
func RecordOutcomes(ctx context.Context, db DBTX, now time.Time, os []Outcome) error {
	if len(os) == 0 {
		return nil
	}
	ids := make([]int64, len(os))
	statuses := make([]string, len(os))
	nexts := make([]time.Time, len(os))
	codes := make([]int32, len(os))
	errs := make([]string, len(os))
	for i, o := range os {
		ids[i], nexts[i], codes[i], errs[i] = o.ID, o.Next, o.Status, o.Error
		switch {
		case o.Delivered:
			statuses[i] = "delivered"
		case o.Failed:
			statuses[i] = "failed"
		default:
			statuses[i] = "pending"
		}
	}
	_, err := db.Exec(ctx, `UPDATE webhook_deliveries d SET status = x.status, next_at = x.next_at,
			delivered_at = CASE WHEN x.status = 'delivered' THEN $1::timestamptz END, last_status = x.code, last_error = x.err
		FROM unnest($2::bigint[], $3::text[], $4::timestamptz[], $5::int[], $6::text[]) AS x (id, status, next_at, code, err)
		WHERE d.id = x.id`, now, ids, statuses, nexts, codes, errs)
	return err
}
