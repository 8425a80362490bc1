-- name: InsertTribes :copyfrom
INSERT INTO tribes (run_id, id, centroid, size, communities, labels, name)
VALUES (@run_id, @id, @centroid, @size, @communities, @labels, @name);

-- name: InsertCommunities :copyfrom
INSERT INTO communities (run_id, id, centroid, size, labels, name, tribe_id, composition)
VALUES (@run_id, @id, @centroid, @size, @labels, @name, @tribe_id, @composition);

-- name: CommunityComposition :one
SELECT composition FROM communities WHERE run_id = @run_id AND id = @id;


-- name: CommunityCentroids :many
SELECT id, centroid, coalesce(tribe_id, '')::text AS tribe_id FROM communities WHERE run_id = @run_id ORDER BY id;

-- name: TribeCentroids :many
SELECT id, centroid FROM tribes WHERE run_id = @run_id ORDER BY id;

-- name: PrimaryMemberships :many
SELECT member_id, community_id FROM memberships WHERE run_id = @run_id AND rank = 1;

-- name: CommunitySkillMix :many
-- How many primary members of a community are at each skill level.
SELECT m.skill_level, count(*)::int AS members
FROM memberships ms JOIN members m ON m.id = ms.member_id
WHERE ms.run_id = @run_id AND ms.community_id = @community_id AND ms.rank = 1 AND m.skill_level <> ''
GROUP BY 1;

-- name: RunsToPrune :many
-- Lists the runs whose memberships retention deletes: every run but the newest keep
-- published runs, the current one and those still running, that still has some.
SELECT r.id FROM cluster_runs r
WHERE r.id NOT IN (SELECT id FROM cluster_runs WHERE status = 'published' ORDER BY id DESC LIMIT @keep)
	AND r.id NOT IN (SELECT run_id FROM current_run)
	AND r.status <> 'running'
	AND EXISTS (SELECT 1 FROM memberships m WHERE m.run_id = r.id)
ORDER BY r.id;

-- name: DeleteRunMemberships :execrows
DELETE FROM memberships WHERE run_id = @run_id;

-- name: RunCommunities :many
-- A run's communities with their centroids, for the in-memory run view.
SELECT id, name, size, labels, tribe_id, centroid FROM communities WHERE run_id = @run_id ORDER BY id;

-- name: RunTribes :many
-- A run's tribes, for the in-memory run view.
SELECT id, name, size, communities, labels FROM tribes WHERE run_id = @run_id ORDER BY id;

-- name: MemberMemberships :one
-- The communities hot path, in one round trip with the run id known: the member's
-- consent and terms, their memberships in the run in rank order, and, only when they
-- have none (embedded after the run), their vector under the run's model. Names,
-- labels and tribes come from the in-memory run view.
SELECT m.consent_personalization, m.locale, (m.interests || m.causes)::text[] AS terms,
	coalesce(ms.ids, '{}')::text[] AS community_ids, coalesce(ms.scores, '{}')::float8[] AS scores,
	-- A subquery, so that its conditions on the row are a one-time filter: the vector
	-- is not read at all for a member with memberships. Empty: no vector to rank by.
	coalesce((SELECT v.embedding::real[] FROM member_vectors v WHERE ms.ids IS NULL AND m.consent_personalization
		AND v.member_id = m.id AND v.model = @model), '{}')::real[] AS embedding
FROM members m
LEFT JOIN LATERAL (SELECT array_agg(x.community_id ORDER BY x.rank) AS ids, array_agg(x.score::float8 ORDER BY x.rank) AS scores
	FROM (SELECT community_id, score, rank FROM memberships
		WHERE run_id = @run_id AND member_id = m.id ORDER BY rank LIMIT @lim) x) ms ON m.consent_personalization
WHERE m.id = @member_id;

-- name: RunCompositions :many
SELECT id, composition FROM communities WHERE run_id = @run_id;

-- name: CommunityFirstNames :many
-- CommunityFirstNames are the first names of up to lim members whose primary
-- community it is in run and who consented to be seen by their community, closest
-- to its centre first.
SELECT split_part(btrim(m.name), ' ', 1)::text AS first_name
FROM memberships ms JOIN members m ON m.id = ms.member_id
WHERE ms.run_id = @run_id AND ms.community_id = @community_id AND ms.rank = 1
	AND m.consent_personalization AND m.consent_community AND btrim(m.name) <> ''
ORDER BY ms.score DESC, ms.member_id LIMIT @lim;

-- name: CommunitySizeHistory :many
-- CommunitySizeHistory is a community's size in each of the last published runs that had it.
SELECT r.id AS run_id, r.started_at, c.size FROM communities c JOIN cluster_runs r ON r.id = c.run_id
WHERE c.id = @id AND r.status = 'published' ORDER BY r.id DESC LIMIT @lim::int;

-- name: CommunityMemberIDs :many
-- CommunityMemberIDs lists the members whose primary community it is in a run.
SELECT member_id FROM memberships WHERE run_id = @run_id AND community_id = @community_id AND rank = 1 ORDER BY member_id;
