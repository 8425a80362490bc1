-- Challenges, their participants and progress (package challenges).

-- name: ChallengeContent :one
SELECT kind, status, subject_id, locale FROM content_drafts WHERE id = @id;

-- name: CreateChallenge :one
INSERT INTO challenges (content_id, series_id, instance, target_kind, target_id, kind, goal, adaptive,
	starts_on, ends_on, timezone, recurrence, enrolment, thresholds, created_by)
VALUES (@content_id, sqlc.narg(series_id), @instance, @target_kind, @target_id, @kind, @goal, sqlc.narg(adaptive),
	@starts_on, @ends_on, @timezone, @recurrence, @enrolment, @thresholds, @created_by)
ON CONFLICT (series_id, instance) DO NOTHING
RETURNING id, created_at;

-- name: GetChallenge :one
SELECT * FROM challenge_summaries WHERE id = @id;

-- ListChallenges lists challenges newest first, those whose window ends on or after
-- since (all when since is NULL), before the given id.
-- name: ListChallenges :many
-- ListChallenges lists challenges newest first; with a community, those for it or
-- launched from its content.
SELECT * FROM challenge_summaries
WHERE (sqlc.narg(since)::date IS NULL OR ends_on >= sqlc.narg(since)::date)
  AND (@before::bigint = 0 OR id < @before::bigint)
  AND (@community::text = '' OR community_id = @community OR (target_kind = 'community' AND target_id = @community))
ORDER BY id DESC LIMIT @max;

-- name: EndChallenge :execrows
UPDATE challenges SET ended_at = @now::timestamptz WHERE id = @id AND ended_at IS NULL;

-- TargetMembers lists the members of a community or tribe (primary community, current
-- run), of the given ids only unless ids is NULL, with whether they consented to
-- personalization.
-- name: TargetMembers :many
SELECT m.id, m.consent_personalization FROM current_run r
JOIN memberships ms ON ms.run_id = r.run_id AND ms.rank = 1
JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
JOIN members m ON m.id = ms.member_id
WHERE ((@kind::text = 'community' AND c.id = @id::text) OR (@kind::text = 'tribe' AND c.tribe_id = @id::text))
  AND (sqlc.narg(ids)::text[] IS NULL OR m.id = ANY(sqlc.narg(ids)::text[]))
ORDER BY m.id;

-- name: ParticipantProfiles :many
SELECT id, skill_level, timezone, consent_personalization FROM members WHERE id = ANY(@ids::text[]) ORDER BY id;

-- AddParticipants enrols members (a member who left joins again) and returns those
-- newly in.
-- name: AddParticipants :many
INSERT INTO challenge_participants (challenge_id, member_id, goal, joined_at)
SELECT @challenge_id, unnest(@member_ids::text[]), unnest(@goals::float8[]), @now
ORDER BY 2
ON CONFLICT (challenge_id, member_id) DO UPDATE SET left_at = NULL, joined_at = excluded.joined_at
	WHERE challenge_participants.left_at IS NOT NULL
RETURNING member_id;

-- name: LeaveChallenge :execrows
UPDATE challenge_participants SET left_at = @now::timestamptz WHERE challenge_id = @challenge_id AND member_id = @member_id
	AND left_at IS NULL;

-- Participations reads the participations of the given members (of one challenge
-- when challenge_id is not 0) in challenges whose window ends on or after since. It
-- takes no lock: event ingest serializes batches of the same member (member_activity)
-- and enrolment locks the members (LockMembers), so whoever updates a participation
-- has seen every committed event of its member.
-- name: Participations :many
SELECT p.challenge_id, p.member_id, p.goal AS member_goal, p.progress, p.notified, p.completed_at,
	c.kind, c.goal, c.starts_on, c.ends_on, c.timezone, c.ended_at, c.thresholds,
	m.timezone AS member_timezone, m.consent_personalization
FROM challenge_participants p JOIN challenges c ON c.id = p.challenge_id JOIN members m ON m.id = p.member_id
WHERE p.member_id = ANY(@member_ids::text[]) AND p.left_at IS NULL AND c.ends_on >= @since::date
  AND (@challenge_id::bigint = 0 OR p.challenge_id = @challenge_id::bigint)
ORDER BY p.challenge_id, p.member_id;

-- LockMembers locks members against event ingest (whose foreign key shares their
-- rows) while they are enrolled: an enrolment sees every event committed before it,
-- and an event batch committed after it sees the enrolment.
-- name: LockMembers :exec
SELECT 1 FROM members WHERE id = ANY(@ids::text[]) ORDER BY id FOR UPDATE;

-- ChallengeEvents reads the members' events between from and to, of the given types
-- (any type when types is empty).
-- name: ChallengeEvents :many
SELECT id, member_id, type, occurred_at, props FROM member_events
WHERE member_id = ANY(@member_ids::text[]) AND occurred_at >= @from_at AND occurred_at < @to_at
  AND (cardinality(@types::text[]) = 0 OR type = ANY(@types::text[]));

-- name: UpdateParticipants :exec
UPDATE challenge_participants p SET progress = u.progress, notified = u.notified,
	completed_at = CASE WHEN u.completed THEN coalesce(p.completed_at, @now::timestamptz) ELSE p.completed_at END
FROM (SELECT unnest(@challenge_ids::bigint[]) AS challenge_id, unnest(@member_ids::text[]) AS member_id,
	unnest(@progress::float8[]) AS progress, unnest(@notified::smallint[]) AS notified,
	unnest(@completed::bool[]) AS completed) u
WHERE p.challenge_id = u.challenge_id AND p.member_id = u.member_id;

-- name: LockGroupChallenges :many
SELECT id, goal, progress, notified, completed_at, thresholds FROM challenges
WHERE id = ANY(@ids::bigint[]) ORDER BY id FOR UPDATE;

-- name: UpdateGroupChallenge :exec
UPDATE challenges SET progress = @progress, notified = @notified, completed_at = sqlc.narg(completed_at)
WHERE id = @id;

-- ChallengeMembers are a challenge's participants (not those who left), with their consent.
-- name: ChallengeMembers :many
SELECT p.member_id, m.consent_personalization FROM challenge_participants p JOIN members m ON m.id = p.member_id
WHERE p.challenge_id = @challenge_id AND p.left_at IS NULL ORDER BY p.member_id;

-- MemberChallenges lists a member's participations (not left) in challenges whose
-- window ends on or after since, with the member's rank among the participants: by
-- share of their own goal in an individual challenge, by contribution in a group one.
-- name: MemberChallenges :many
SELECT sqlc.embed(c), p.goal AS member_goal, p.progress AS member_progress,
	p.completed_at AS member_completed_at, p.joined_at,
	(SELECT count(*) + 1 FROM challenge_participants o WHERE o.challenge_id = p.challenge_id AND o.left_at IS NULL
		AND CASE WHEN c.kind = 'group' THEN o.progress > p.progress
			ELSE o.progress / o.goal > p.progress / p.goal END)::int AS rank
FROM challenge_participants p JOIN challenge_summaries c ON c.id = p.challenge_id
WHERE p.member_id = @member_id AND p.left_at IS NULL AND c.ends_on >= @since::date
ORDER BY c.ends_on, c.id;

-- Leaderboard ranks a challenge's participants (as MemberChallenges does) and keeps
-- the first max of those who consented to community visibility.
-- name: Leaderboard :many
SELECT name, progress, goal, completed_at, rank FROM (
	SELECT m.name, m.consent_community, p.progress, p.goal, p.completed_at, p.member_id,
		(rank() OVER (ORDER BY CASE WHEN @group_kind::bool THEN p.progress ELSE p.progress / p.goal END DESC))::int AS rank
	FROM challenge_participants p JOIN members m ON m.id = p.member_id
	WHERE p.challenge_id = @challenge_id AND p.left_at IS NULL) ranked
WHERE consent_community ORDER BY rank, member_id LIMIT @max;

-- ActiveAutoChallenges are auto-enrolling challenges whose window has not ended.
-- name: ActiveAutoChallenges :many
SELECT id FROM challenges WHERE enrolment = 'auto' AND ended_at IS NULL AND completed_at IS NULL
	AND ends_on >= @today::date ORDER BY id;

-- name: CompleteParticipants :exec
UPDATE challenge_participants SET completed_at = coalesce(completed_at, @now::timestamptz)
WHERE challenge_id = @challenge_id AND left_at IS NULL;

-- DueToRoll are recurring instances whose window ended on or before last_day, not
-- ended early, with no next instance yet.
-- name: DueToRoll :many
SELECT c.id FROM challenges c
WHERE c.recurrence <> 'none' AND c.ended_at IS NULL AND c.ends_on <= @last_day::date
  AND NOT EXISTS (SELECT 1 FROM challenges n WHERE n.series_id = coalesce(c.series_id, c.id) AND n.instance = c.instance + 1)
ORDER BY c.id;

-- LockGroupsOf locks, in id order, the group challenges the members take part in
-- (window ending on or after since) before any participation is locked: a group's
-- completion touches every participant, so whoever holds a participation of a
-- group must hold the group first.
-- name: LockGroupsOf :many
SELECT c.id FROM challenges c
WHERE c.id IN (SELECT p.challenge_id FROM challenge_participants p
	WHERE p.member_id = ANY(@member_ids::text[]) AND p.left_at IS NULL)
  AND c.kind = 'group' AND c.ends_on >= @since::date
ORDER BY c.id FOR UPDATE;

-- AnalyzeParticipants refreshes the planner's statistics after a large enrolment, so
-- the next event batches do not plan against an empty table.
-- name: AnalyzeParticipants :exec
ANALYZE challenge_participants;
