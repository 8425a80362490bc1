-- Bulk exports for syncing members into journey platforms and warehouses.

-- name: ExportPage :many
-- ExportPage reads up to lim members after the id after, in id order, with what an
-- export line needs: consent, activity summary, communities in the run (rank order)
-- whether a recognition is due and the recognitions delivered since sent_since (for
-- the caps). With changed_since set, only members whose
-- profile, activity or recognitions changed since then.
SELECT m.id, m.locale, m.timezone, m.joined_at, m.consent_personalization, m.consent_community, m.responsiveness::float8 AS resp,
		coalesce(a.total, 0)::bigint AS total, a.first_at, coalesce(a.recent, '{}')::timestamptz[] AS recent,
		coalesce(a.contributions, '{}')::timestamptz[] AS contributions, coalesce(a.negative, '{}')::timestamptz[] AS negative,
		coalesce((SELECT array_agg(x.community_id ORDER BY x.rank) FROM memberships x
			WHERE x.run_id = sqlc.arg(run_id)::bigint AND x.member_id = m.id), '{}')::text[] AS communities,
		coalesce((SELECT array_agg(x.score ORDER BY x.rank) FROM memberships x
			WHERE x.run_id = sqlc.arg(run_id)::bigint AND x.member_id = m.id), '{}')::float8[] AS scores,
		EXISTS (SELECT 1 FROM member_milestones ms JOIN content_drafts d ON d.id = ms.draft_id AND d.status = 'approved'
			WHERE ms.member_id = m.id AND ms.delivered_at IS NULL) AS due,
		(SELECT coalesce(array_agg(x.delivered_at), '{}') FROM member_milestones x
			WHERE x.member_id = m.id AND x.delivered_at > sqlc.arg(sent_since)::timestamptz)::timestamptz[] AS sent
	FROM members m LEFT JOIN member_activity a ON a.member_id = m.id
	WHERE m.id > sqlc.arg(after)::text AND (sqlc.narg(changed_since)::timestamptz IS NULL
		OR m.updated_at > sqlc.narg(changed_since)::timestamptz OR a.updated_at > sqlc.narg(changed_since)::timestamptz
		OR EXISTS (SELECT 1 FROM member_milestones ms WHERE ms.member_id = m.id
			AND greatest(ms.fired_at, ms.delivered_at) > sqlc.narg(changed_since)::timestamptz))
	ORDER BY m.id LIMIT sqlc.arg(lim);

-- name: ExportCursor :one
-- ExportCursor is the id of the lim-th member after after (of those ExportPage would
-- read), and whether any follows it: the cursor of the next page.
SELECT coalesce((array_agg(id ORDER BY id))[least(count(*), sqlc.arg(lim)::bigint)], '')::text AS last,
		(count(*) > sqlc.arg(lim)::bigint)::bool AS more FROM (
	SELECT m.id FROM members m LEFT JOIN member_activity a ON a.member_id = m.id
	WHERE m.id > sqlc.arg(after)::text AND (sqlc.narg(changed_since)::timestamptz IS NULL
		OR m.updated_at > sqlc.narg(changed_since)::timestamptz OR a.updated_at > sqlc.narg(changed_since)::timestamptz
		OR EXISTS (SELECT 1 FROM member_milestones ms WHERE ms.member_id = m.id
			AND greatest(ms.fired_at, ms.delivered_at) > sqlc.narg(changed_since)::timestamptz))
	ORDER BY m.id LIMIT sqlc.arg(lim)::bigint + 1) page;

-- name: RunPublishedSince :one
-- RunPublishedSince says whether the current run was published after t (then every
-- member's communities may have changed).
SELECT EXISTS (SELECT 1 FROM current_run WHERE published_at > @t)::bool;
