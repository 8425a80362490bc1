-- Members and their events.

-- name: CountMembers :one
SELECT count(*) FROM members;

-- name: GetMember :one
SELECT id, name, locale, timezone, joined_at, interests, causes, skill_level,
	attributes, consent_personalization, consent_community FROM members WHERE id = @id;

-- name: DeleteMember :execrows
-- DeleteMember erases a member; the foreign keys cascade to their events, vector,
-- memberships and milestones.
DELETE FROM members WHERE id = @id;
