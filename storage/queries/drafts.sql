-- Generated content drafts and their review trail (package generation).

-- name: CreateDraft :one
INSERT INTO content_drafts (kind, subject_id, member_id, occasion, locale, body, generator,
    prompt_version, fallback, findings, group_id, version)
VALUES (@kind, @subject_id, sqlc.narg(member_id), @occasion, @locale, @body, @generator,
    @prompt_version, @fallback, @findings, @group_id, @version)
RETURNING id, created_at;

-- SetDraftGroup makes a new draft the first version of its own group.
-- name: SetDraftGroup :exec
UPDATE content_drafts SET group_id = id WHERE id = @id;

-- name: CreateDraftReview :exec
INSERT INTO content_reviews (draft_id, action, actor, reason, changes) VALUES (@draft_id, @action, @actor, @reason, @changes);

-- CommunitiesToDraft lists each community of the current run and locale with no
-- draft of kind yet.
-- name: CommunitiesToDraft :many
SELECT c.id, c.name, c.labels, c.size, l.locale::text AS locale,
	coalesce(c.composition->'facets', '[]')::jsonb AS facets
FROM current_run r JOIN communities c ON c.run_id = r.run_id
CROSS JOIN unnest(@locales::text[]) AS l(locale)
WHERE NOT EXISTS (SELECT 1 FROM content_drafts d
    WHERE d.kind = @kind AND d.subject_id = c.id AND d.locale = l.locale)
ORDER BY c.id, l.locale;

-- LockDraftSubject takes a transaction-scoped advisory lock on a key.
-- name: LockDraftSubject :exec
SELECT pg_advisory_xact_lock(hashtextextended(@key::text, 0));

-- name: DraftExists :one
SELECT EXISTS (SELECT 1 FROM content_drafts WHERE kind = @kind AND subject_id = @subject_id AND occasion = @occasion AND locale = @locale);

-- name: GetDraft :one
SELECT sqlc.embed(d) FROM content_drafts d WHERE d.id = @id;

-- QueueDrafts lists the latest version of each draft group, newest first; empty
-- filters match everything.
-- name: QueueDrafts :many
-- QueueDrafts lists the latest version of each draft group matching the filters (q
-- searches the copy, case-insensitively), the locales of one piece of content (same
-- kind, subject, occasion and member) together, the newest piece first.
SELECT sqlc.embed(d) FROM content_drafts d
WHERE d.version = (SELECT max(version) FROM content_drafts g WHERE g.group_id = d.group_id)
  AND (@kind::text = '' OR d.kind = @kind) AND (@status::text = '' OR d.status = @status)
  AND (@subject_id::text = '' OR d.subject_id = @subject_id) AND (@occasion::text = '' OR d.occasion = @occasion)
  AND (@locale::text = '' OR d.locale = @locale) AND (@q::text = '' OR strpos(lower(d.body::text), lower(@q)) > 0)
ORDER BY max(d.id) OVER (PARTITION BY d.kind, d.subject_id, d.occasion, d.member_id) DESC, d.locale, d.id DESC
LIMIT @lim::bigint OFFSET @off::bigint;

-- name: QueueCounts :many
-- QueueCounts counts the latest versions by kind, status and locale, for the
-- community and search filters.
SELECT d.kind, d.status, d.locale, count(*)::int AS n FROM content_drafts d
WHERE d.version = (SELECT max(version) FROM content_drafts g WHERE g.group_id = d.group_id)
  AND (@subject_id::text = '' OR d.subject_id = @subject_id) AND (@q::text = '' OR strpos(lower(d.body::text), lower(@q)) > 0)
GROUP BY 1, 2, 3;

-- name: GetDraftForUpdate :one
SELECT sqlc.embed(d) FROM content_drafts d WHERE d.id = @id FOR UPDATE;

-- name: LatestDraftVersion :one
SELECT max(version)::int FROM content_drafts WHERE group_id = @group_id;

-- name: DecideDraft :exec
UPDATE content_drafts SET status = @status, reason = @reason, decided_by = @decided_by, decided_at = now()
WHERE id = @id;

-- name: DraftHistory :many
SELECT r.draft_id, r.action, r.actor, r.reason, r.changes, r.at
FROM content_reviews r JOIN content_drafts d ON d.id = r.draft_id
WHERE d.group_id = @group_id ORDER BY r.id;

-- ApprovedCommunityDraft returns one approved piece of a kind for a community,
-- preferring the locale and then the newest.
-- name: ApprovedCommunityDraft :one
SELECT sqlc.embed(d) FROM content_drafts d
WHERE d.status = 'approved' AND d.kind = @kind AND d.subject_id = @subject_id AND d.member_id IS NULL
ORDER BY (d.locale = @locale) DESC, d.id DESC LIMIT 1;

-- name: ApprovedProfileNames :many
-- ApprovedProfileNames is the name of every community's approved profile in each
-- locale (the newest where there are several).
SELECT DISTINCT ON (subject_id, locale) subject_id, locale, coalesce(body->>'name', '')::text AS name
FROM content_drafts
WHERE kind = 'community_profile' AND status = 'approved' AND member_id IS NULL AND coalesce(body->>'name', '') <> ''
ORDER BY subject_id, locale, id DESC;

-- name: SupersedeGroup :many
-- SupersedeGroup takes the approved versions of a group other than id out of service
-- (a newer version was approved) and returns them.
UPDATE content_drafts SET status = 'superseded', decided_by = @decided_by, decided_at = now(),
	reason = 'superseded by version ' || @version::int
WHERE group_id = @group_id AND id <> @id AND status = 'approved' RETURNING id;

-- name: CurrentBrand :one
SELECT * FROM brand_settings ORDER BY version DESC LIMIT 1;

-- name: SaveBrand :one
INSERT INTO brand_settings (banned_phrases, voice, tone, channel_limits, created_by)
VALUES (@banned_phrases, @voice, @tone, @channel_limits, @created_by) RETURNING *;

-- name: BrandHistory :many
SELECT * FROM brand_settings ORDER BY version DESC LIMIT @lim::int;
