-- Pilots, their invitations, and feedback (package pilots).

-- LockPilotInvitations serializes pilot creation so two pilots never invite the same
-- member.
-- name: LockPilotInvitations :exec
LOCK TABLE pilot_invitations IN SHARE ROW EXCLUSIVE MODE;

-- PilotCandidates lists consenting members (primary community, current run) of the
-- given communities or tribes (or every community when any_community), in no active
-- pilot.
-- name: PilotCandidates :many
SELECT ms.member_id, ms.community_id
FROM current_run r JOIN memberships ms ON ms.run_id = r.run_id AND ms.rank = 1
JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
JOIN members m ON m.id = ms.member_id AND m.consent_personalization AND m.consent_community
WHERE (c.id = ANY(@communities::text[]) OR c.tribe_id = ANY(@tribes::text[]) OR @any_community::bool)
  AND NOT EXISTS (SELECT 1 FROM pilot_invitations i JOIN pilots p ON p.id = i.pilot_id
    WHERE i.member_id = ms.member_id AND p.status = 'active');

-- name: CreatePilot :one
INSERT INTO pilots (name, size, target, seed) VALUES (@name, @size, @target, @seed)
RETURNING id, created_at;

-- name: CreatePilotInvitations :copyfrom
INSERT INTO pilot_invitations (pilot_id, member_id, stratum) VALUES (@pilot_id, @member_id, @stratum);

-- name: GetPilot :one
SELECT id, name, size, target, seed, status, created_at, closed_at FROM pilots WHERE id = @id;

-- name: PilotInvitations :many
SELECT member_id, stratum FROM pilot_invitations WHERE pilot_id = @pilot_id ORDER BY stratum, member_id;

-- name: ClosePilot :execrows
UPDATE pilots SET status = 'closed', closed_at = coalesce(closed_at, now()) WHERE id = @id;

-- InvitedPilotStatus returns the status of a pilot the member was invited to.
-- name: InvitedPilotStatus :one
SELECT p.status FROM pilots p JOIN pilot_invitations i ON i.pilot_id = p.id
WHERE p.id = @pilot_id AND i.member_id = @member_id;

-- name: CreateFeedback :one
INSERT INTO feedback (member_id, pilot_id, rating, text, sentiment) VALUES (@member_id, sqlc.narg(pilot_id), @rating, @text, @sentiment)
RETURNING id, created_at;

-- FeedbackByPilot lists all feedback with its pilot ('' when none).
-- name: FeedbackByPilot :many
SELECT f.rating, f.sentiment, f.text, coalesce(f.pilot_id::text, '')::text AS grp FROM feedback f;

-- FeedbackByCommunity lists all feedback with the member's primary community in the
-- current run ('' when none).
-- name: FeedbackByCommunity :many
SELECT f.rating, f.sentiment, f.text, coalesce((SELECT ms.community_id FROM memberships ms JOIN current_run r ON r.run_id = ms.run_id
    WHERE ms.member_id = f.member_id AND ms.rank = 1), '')::text AS grp FROM feedback f;

-- ListPilots lists pilots, newest first, with how many members each invited.
-- name: ListPilots :many
SELECT p.id, p.name, p.size, p.target, p.seed, p.status, p.created_at, p.closed_at,
    (SELECT count(*) FROM pilot_invitations i WHERE i.pilot_id = p.id)::int AS invited
FROM pilots p ORDER BY p.id DESC LIMIT @lim::bigint;

-- name: FeedbackText :one
SELECT text FROM feedback WHERE id = @id;

-- name: SetFeedbackSentiment :execrows
UPDATE feedback SET sentiment = @sentiment WHERE id = @id;
