-- name: InsertTribes :copyfrom
INSERT INTO tribes (run_id, id, centroid, size, communities, labels, name)
VALUES (@run_id, @id, @centroid, @size, @communities, @labels, @name);

-- name: InsertCommunities :copyfrom
INSERT INTO communities (run_id, id, centroid, size, labels, name, tribe_id)
VALUES (@run_id, @id, @centroid, @size, @labels, @name, @tribe_id);


-- name: CommunityCentroids :many
SELECT id, centroid FROM communities WHERE run_id = @run_id ORDER BY id;

-- name: TribeCentroids :many
SELECT id, centroid FROM tribes WHERE run_id = @run_id ORDER BY id;

-- name: PrimaryMemberships :many
SELECT member_id, community_id FROM memberships WHERE run_id = @run_id AND rank = 1;

-- name: MemberCommunities :one
-- The hot path, in one round trip: the member, the current run and the member's
-- memberships as a JSON array (empty when the member has none or no consent).
SELECT m.consent_personalization, (m.interests || m.causes)::text[] AS terms, r.run_id,
	coalesce((SELECT json_agg(x ORDER BY x.rank) FROM (
		SELECT c.id, c.name, ms.score, ms.rank, c.labels, t.id AS tribe_id, t.name AS tribe_name, t.labels AS tribe_labels
		FROM memberships ms JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
		LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
		WHERE ms.run_id = r.run_id AND ms.member_id = m.id AND m.consent_personalization
		ORDER BY ms.rank LIMIT @lim) x), '[]')::json AS memberships
FROM members m LEFT JOIN current_run r ON true
WHERE m.id = @member_id;

-- name: RankCommunitiesForMember :many
-- A run's communities ranked by the member's own vector (a member embedded after it).
SELECT c.id, c.name, (1 - (c.centroid <=> v.embedding))::float8 AS score, c.labels,
	t.id AS tribe_id, t.name AS tribe_name, t.labels AS tribe_labels
FROM member_vectors v JOIN communities c ON c.run_id = @run_id
JOIN cluster_runs r ON r.id = c.run_id AND r.model = v.model
LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
WHERE v.member_id = @member_id
ORDER BY c.centroid <=> v.embedding LIMIT @lim;

-- name: RankCommunitiesForVector :many
-- A run's communities ranked by cosine similarity to a vector (a profile not stored).
SELECT c.id, c.name, (1 - (c.centroid <=> @embedding::vector))::float8 AS score, c.labels,
	t.id AS tribe_id, t.name AS tribe_name, t.labels AS tribe_labels
FROM communities c LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
WHERE c.run_id = @run_id ORDER BY c.centroid <=> @embedding::vector LIMIT @lim;

-- name: ListCommunities :many
-- A run's communities ordered by id, after the cursor id.
SELECT c.id, c.run_id, c.name, c.size, c.labels, t.id AS tribe_id, t.name AS tribe_name, t.labels AS tribe_labels
FROM communities c LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
WHERE c.run_id = @run_id AND c.id > @after
ORDER BY c.id LIMIT @lim;

-- name: GetCommunity :one
SELECT c.id, c.run_id, c.name, c.size, c.labels, t.id AS tribe_id, t.name AS tribe_name, t.labels AS tribe_labels
FROM communities c LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
WHERE c.run_id = @run_id AND c.id = @id;

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
SELECT m.consent_personalization, (m.interests || m.causes)::text[] AS terms,
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
