-- Members and their events.

-- name: CountMembers :one
SELECT count(*) FROM members;

-- name: GetMember :one
SELECT id, name, locale, timezone, joined_at, interests, causes, skill_level,
	attributes, consent_personalization, consent_community FROM members WHERE id = @id;

-- name: DeleteMember :execrows
-- DeleteMember erases a member; the foreign keys cascade to their vector,
-- memberships and milestones (their events go with DeleteMemberEvents).
DELETE FROM members WHERE id = @id;

-- name: DeleteMemberEvents :exec
-- DeleteMemberEvents deletes an erased member's behaviour events (member_events has
-- no foreign key: see migration 0030). Run after DeleteMember, it sees every batch
-- that held the member before erasure locked it.
DELETE FROM member_events WHERE member_id = @member_id;

-- Erasure (members.Erase): what the foreign keys do not cascade to.

-- name: LockMemberForErasure :one
SELECT name FROM members WHERE id = @id FOR UPDATE;

-- name: ShrinkCommunitiesOfMember :exec
-- ShrinkCommunitiesOfMember takes an erased member out of their communities' sizes.
UPDATE communities c SET size = greatest(c.size - 1, 0)
FROM memberships ms WHERE ms.member_id = @member_id AND ms.rank = 1
	AND c.run_id = ms.run_id AND c.id = ms.community_id;

-- The scrubs below take a pattern (a regular expression, matched regardless of case)
-- built by members.Erase: an id, or a full name with any spacing between its words.

-- name: ScrubIdempotencyAnswers :execrows
-- ScrubIdempotencyAnswers forgets stored answers that name an erased member (an
-- error answer may quote an id or a name).
DELETE FROM idempotency_keys WHERE convert_from(body, 'UTF8') ~* @pattern::text;

-- name: ScrubDrafts :execrows
-- ScrubDrafts replaces an erased member's id or full name wherever a reviewer typed
-- it into other content (bodies and reasons; the member's own drafts cascade away).
UPDATE content_drafts SET body = regexp_replace(body::text, @pattern::text, '[erased]', 'gi')::jsonb,
	reason = regexp_replace(reason, @pattern::text, '[erased]', 'gi')
WHERE body::text ~* @pattern::text OR reason ~* @pattern::text;

-- name: ScrubReviews :execrows
UPDATE content_reviews SET changes = regexp_replace(changes::text, @pattern::text, '[erased]', 'gi')::jsonb,
	reason = regexp_replace(reason, @pattern::text, '[erased]', 'gi')
WHERE changes::text ~* @pattern::text OR reason ~* @pattern::text;
