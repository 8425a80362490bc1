-- Recognition moments: milestone detection, the milestones a member has, and the
-- member snapshot the moment endpoint reads.

-- name: MomentMembers :many
-- MomentMembers reads the time zone and joining date of the members Detect evaluates,
-- whether a message may be written to them (consent and a name to address) and their
-- primary community in the current run ('' when none).
SELECT m.id, m.timezone, m.joined_at, m.consent_personalization, m.name, coalesce(x.community_id, '')::text AS community_id
	FROM members m LEFT JOIN memberships x ON x.run_id = (SELECT run_id FROM current_run) AND x.member_id = m.id AND x.rank = 1
	WHERE m.id = ANY(@ids::text[]) ORDER BY m.id;

-- name: RecordMilestones :many
-- RecordMilestones inserts the milestones given as parallel arrays (PostgreSQL zips
-- the unnest calls), in (member, key) order so that concurrent batches lock rows in
-- one order, and returns those that were not recorded before.
INSERT INTO member_milestones (member_id, key, occasion, detail, occurred_at, community_id)
	SELECT unnest(@member_ids::text[]), unnest(@keys::text[]), unnest(@occasions::text[]),
		unnest(@details::text[]), unnest(@occurred_ats::timestamptz[]), nullif(unnest(@community_ids::text[]), '') ORDER BY 1, 2
	ON CONFLICT DO NOTHING RETURNING member_id, key, id;

-- name: AnniversaryCandidates :many
SELECT id FROM members
	WHERE joined_at IS NOT NULL AND joined_at < sqlc.arg(now)::timestamptz - interval '300 days'
	  AND to_char(joined_at AT TIME ZONE 'UTC', 'MM-DD') = ANY(@days::text[]) ORDER BY id;

-- name: ListRecognitions :many
SELECT ms.id, ms.key, ms.occasion, ms.detail, ms.occurred_at, ms.fired_at, ms.draft_id,
		coalesce(d.status, '')::text AS draft_status, ms.delivered_at, ms.channel
	FROM member_milestones ms LEFT JOIN content_drafts d ON d.id = ms.draft_id
	WHERE ms.member_id = @member_id ORDER BY ms.fired_at DESC, ms.key;

-- name: LockRecognition :one
-- LockRecognition reads a recognition for an acknowledgement of its delivery and
-- locks it for the rest of the transaction.
SELECT ms.member_id, ms.key, ms.occasion, ms.detail, ms.occurred_at, ms.fired_at, ms.draft_id,
		coalesce(d.status, '')::text AS draft_status, ms.delivered_at, ms.channel
	FROM member_milestones ms LEFT JOIN content_drafts d ON d.id = ms.draft_id
	WHERE ms.id = @id FOR UPDATE OF ms;

-- name: DeliverRecognition :exec
UPDATE member_milestones SET delivered_at = @at::timestamptz, channel = @channel WHERE id = @id;

-- name: EventCountsByType :many
-- EventCountsByType counts each member's events per type and says when each count
-- threshold (ascending) was reached: the time of the n-th event, so a milestone
-- reached long ago in loaded history is dated then, not now.
SELECT member_id, type, count(*)::int AS n,
	coalesce(array_agg(occurred_at ORDER BY rn) FILTER (WHERE rn = ANY(@thresholds::int[])), '{}')::timestamptz[] AS reached
FROM (SELECT member_id, type, occurred_at,
		row_number() OVER (PARTITION BY member_id, type ORDER BY occurred_at, id)::int AS rn
	FROM member_events WHERE member_id = ANY(@ids::text[])) e
GROUP BY 1, 2;

-- name: ActiveDays :many
-- ActiveDays lists the days each member was active, in their own time zone, over the
-- 400 days before now. (A parameter used more than once is written sqlc.arg(now),
-- not @now, in this file: sqlc 1.31 misplaces its edits of a repeated @param next to
-- a string literal, "edited query syntax is invalid".)
SELECT DISTINCT e.member_id,
		(e.occurred_at AT TIME ZONE coalesce(nullif(m.timezone, ''), 'UTC'))::date AS day
	FROM member_events e JOIN members m ON m.id = e.member_id
	WHERE e.member_id = ANY(@ids::text[]) AND e.occurred_at > sqlc.arg(now)::timestamptz - interval '400 days' AND e.occurred_at <= sqlc.arg(now)::timestamptz;

-- name: MomentSnapshot :one
-- MomentSnapshot reads a member's profile, activity summary (member_activity), most
-- notable approved and undelivered recognition with its message, the recognitions
-- delivered since sent_since (for the caps: when and on which channel, two arrays
-- in one order), primary community in the run (the caller knows the
-- run and its communities) and an approved challenge for the community (in the
-- member's language if there is one), in one round trip; responsiveness is the
-- member's, refreshed hourly (signals job). sqlc takes the columns of a LEFT JOIN
-- LATERAL for NOT NULL (sqlc-dev/sqlc#4117), so those that may be missing come with
-- a flag (has_due, in_community, has_content) and a coalesce.
SELECT m.name, m.locale, m.timezone, m.joined_at, m.consent_personalization, m.responsiveness::float8 AS resp,
		coalesce(a.total, 0)::bigint AS total, a.first_at, coalesce(a.recent, '{}')::timestamptz[] AS recent,
		coalesce(a.contributions, '{}')::timestamptz[] AS contributions, coalesce(a.negative, '{}')::timestamptz[] AS negative,
		(due.key IS NOT NULL)::bool AS has_due, coalesce(due.id, 0)::bigint AS due_id, coalesce(due.key, '')::text AS due_key,
		coalesce(due.occasion, '')::text AS due_occasion, coalesce(due.detail, '')::text AS due_detail,
		coalesce(due.occurred_at, 'epoch')::timestamptz AS due_occurred_at,
		coalesce(due.fired_at, 'epoch')::timestamptz AS due_fired_at, due.draft_id AS due_draft_id,
		(m.interests || m.causes)::text[] AS terms, (pc.community_id IS NOT NULL)::bool AS in_community,
		coalesce(pc.community_id, '')::text AS community_id, coalesce(pc.score, 0)::float8 AS community_score,
		coalesce(dd.locale, '')::text AS due_locale, coalesce(dd.version, 0)::int AS due_version,
		coalesce(dd.body, '{}')::jsonb AS due_body,
		(SELECT coalesce(array_agg(x.delivered_at ORDER BY x.id), '{}') FROM member_milestones x
			WHERE x.member_id = m.id AND x.delivered_at > sqlc.arg(sent_since)::timestamptz)::timestamptz[] AS sent_at,
		(SELECT coalesce(array_agg(x.channel ORDER BY x.id), '{}') FROM member_milestones x
			WHERE x.member_id = m.id AND x.delivered_at > sqlc.arg(sent_since)::timestamptz)::text[] AS sent_channels,
		(cd.id IS NOT NULL)::bool AS has_content, coalesce(cd.id, 0)::bigint AS content_id,
		coalesce(cd.kind, '')::text AS content_kind, coalesce(cd.subject_id, '')::text AS content_subject,
		coalesce(cd.occasion, '')::text AS content_occasion, coalesce(cd.locale, '')::text AS content_locale,
		coalesce(cd.version, 0)::int AS content_version, coalesce(cd.body, '{}')::jsonb AS content_body
	FROM members m
	LEFT JOIN member_activity a ON a.member_id = m.id
	LEFT JOIN LATERAL (SELECT ms.id, ms.key, ms.occasion, ms.detail, ms.occurred_at, ms.fired_at, ms.draft_id
		FROM member_milestones ms JOIN content_drafts d ON d.id = ms.draft_id
		WHERE ms.member_id = m.id AND ms.delivered_at IS NULL AND d.status = 'approved'
		ORDER BY (ms.occasion = 'anniversary') DESC, (ms.occasion = 'streak') DESC, ms.fired_at DESC LIMIT 1) due ON true
	LEFT JOIN memberships pc ON m.consent_personalization AND pc.run_id = @run_id AND pc.member_id = m.id AND pc.rank = 1
	LEFT JOIN content_drafts dd ON dd.id = due.draft_id
	LEFT JOIN content_drafts cd ON cd.id = (SELECT d.id FROM content_drafts d
		WHERE d.status = 'approved' AND d.kind = 'challenge' AND d.subject_id = pc.community_id AND d.member_id IS NULL
		ORDER BY (d.locale = split_part(lower(m.locale), '-', 1)) DESC, d.id DESC LIMIT 1)
	WHERE m.id = @member_id;

-- name: LifecycleActivity :many
-- LifecycleActivity reads the joining date and activity summary (member_activity) of
-- every consenting member, or of those of the given ids unless ids is NULL.
SELECT m.id, m.joined_at, coalesce(a.total, 0)::bigint AS total, a.first_at,
		coalesce(a.recent, '{}')::timestamptz[] AS recent, coalesce(a.contributions, '{}')::timestamptz[] AS contributions
	FROM members m LEFT JOIN member_activity a ON a.member_id = m.id
	WHERE m.consent_personalization
	  AND (sqlc.narg(ids)::text[] IS NULL OR m.id = ANY(sqlc.narg(ids)::text[]));

-- name: RecognitionSubject :one
-- RecognitionSubject reads a milestone with its member and the member's primary
-- community in the current run (in_community says whether there is one: sqlc takes
-- the columns of a LEFT JOIN LATERAL for NOT NULL, sqlc-dev/sqlc#4117).
SELECT m.name, m.locale, m.consent_personalization, ms.occasion, ms.detail, ms.draft_id,
		(pc.id IS NOT NULL)::bool AS in_community, coalesce(pc.id, '')::text AS community_id,
		coalesce(pc.name, '')::text AS community_name, pc.labels AS community_labels,
		coalesce(pc.size, 0)::int AS community_size
	FROM member_milestones ms JOIN members m ON m.id = ms.member_id
	LEFT JOIN LATERAL (SELECT c.id, c.name, c.labels, c.size FROM memberships x
		JOIN communities c ON c.run_id = x.run_id AND c.id = x.community_id
		WHERE x.run_id = (SELECT run_id FROM current_run) AND x.member_id = m.id AND x.rank = 1) pc ON true
	WHERE ms.member_id = @member_id AND ms.key = @key;

-- name: LockMemberKey :one
-- LockMemberKey takes a member's row in KEY SHARE mode (what a foreign key to it
-- takes anyway), before anything of theirs is locked: an erasure locks the member
-- first too, so the two never wait on each other in a cycle.
SELECT id FROM members WHERE id = @member_id FOR KEY SHARE;

-- name: LockMilestoneDraft :one
-- LockMilestoneDraft locks a milestone for the rest of the transaction and returns
-- its draft, if it has one.
SELECT draft_id FROM member_milestones WHERE member_id = @member_id AND key = @key FOR UPDATE;

-- name: LinkMilestoneDraft :exec
UPDATE member_milestones SET draft_id = @draft_id WHERE member_id = @member_id AND key = @key;

-- name: RefreshResponsiveness :many
-- Recomputes responsiveness (see migration 0011) as of now for every member with a
-- delivered recognition at least a week old, and returns those whose value changed.
UPDATE members m SET responsiveness = r.resp
FROM (SELECT ms.member_id, avg(((SELECT count(*) FROM member_events e WHERE e.member_id = ms.member_id
			AND e.occurred_at > ms.occurred_at AND e.occurred_at <= ms.occurred_at + interval '7 days') + 1.0)
		/ ((SELECT count(*) FROM member_events e WHERE e.member_id = ms.member_id
			AND e.occurred_at > ms.occurred_at - interval '7 days' AND e.occurred_at <= ms.occurred_at) + 1.0))::real AS resp
	FROM member_milestones ms WHERE ms.delivered_at IS NOT NULL AND ms.occurred_at <= sqlc.arg(now)::timestamptz - interval '7 days'
	GROUP BY ms.member_id) r
WHERE m.id = r.member_id AND m.responsiveness IS DISTINCT FROM r.resp
RETURNING m.id;

-- name: MemberBadges :many
-- MemberBadges lists a member's milestones that carry an approved badge, newest
-- first, each with its badge in the locale asked for (else English, else the newest):
-- a completed challenge's is its series' badge; any other milestone's is the badge
-- for its occasion of the community the member was in when they reached it.
SELECT ms.key, ms.occasion, ms.detail, ms.occurred_at, c.id AS challenge_id,
		b.id AS badge_id, b.subject_id AS community_id, b.locale, b.body
	FROM member_milestones ms
	LEFT JOIN challenges c ON c.id = CASE WHEN ms.occasion = 'challenge' THEN substring(ms.key FROM 11)::bigint END
	JOIN LATERAL (SELECT d.id, d.subject_id, d.locale, d.body FROM content_drafts d WHERE d.kind = 'badge' AND d.status = 'approved'
		AND CASE WHEN ms.occasion = 'challenge' THEN d.occasion = 'challenge:' || coalesce(c.series_id, c.id)
			ELSE d.occasion = ms.occasion AND d.subject_id = ms.community_id END
		ORDER BY d.locale = @locale DESC, d.locale = 'en' DESC, d.id DESC LIMIT 1) b ON true
	WHERE ms.member_id = @member_id
	ORDER BY ms.occurred_at DESC, ms.key;
