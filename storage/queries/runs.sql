-- name: FailDeadRuns :execrows
-- FailDeadRuns records runs left "running" by a process that died (the caller holds
-- the run lock, so no other run is alive).
UPDATE cluster_runs SET status = 'failed', finished_at = coalesce(finished_at, now()),
	metrics = jsonb_build_object('error', @error::text) WHERE status = 'running';

-- name: CreateRun :one
INSERT INTO cluster_runs (status, model, params)
VALUES ('running', @model, @params) RETURNING id;

-- name: FailRun :exec
UPDATE cluster_runs SET status = 'failed', finished_at = now(),
	metrics = jsonb_build_object('error', @error::text) WHERE id = @id;

-- name: SetRunMetrics :exec
UPDATE cluster_runs SET metrics = @metrics WHERE id = @id;

-- name: MarkRunPublished :exec
UPDATE cluster_runs SET status = 'published', finished_at = now(), metrics = @metrics
WHERE id = @id;

-- name: SetCurrentRun :exec
INSERT INTO current_run (run_id) VALUES (@run_id)
ON CONFLICT (singleton) DO UPDATE SET run_id = excluded.run_id, published_at = now();

-- name: RunStale :one
-- Whether the vectors of a model changed since the current run started.
SELECT (r.id IS NULL
	OR r.model <> @model
	OR EXISTS (SELECT 1 FROM member_vectors v WHERE v.embedded_at >= r.started_at)
	OR (r.metrics->>'members')::bigint IS DISTINCT FROM (
		SELECT count(*) FROM member_vectors v JOIN members m ON m.id = v.member_id
		WHERE v.model = @model AND m.consent_personalization))::bool AS stale
FROM (SELECT 1) AS one
LEFT JOIN current_run c ON true
LEFT JOIN cluster_runs r ON r.id = c.run_id;

-- name: CurrentRunForModel :one
-- The current run, when it was clustered from model's vectors.
SELECT r.id FROM current_run c JOIN cluster_runs r ON r.id = c.run_id
WHERE r.model = @model;

-- name: CurrentRunID :one
SELECT run_id FROM current_run;

-- name: CurrentRunModel :one
-- The current run, its model, its peer floor (-1 for runs that measured none) and
-- whether it divided communities by language.
SELECT r.id, r.model, coalesce((r.metrics->>'peer_floor')::float8, -1)::float8 AS peer_floor,
	coalesce(r.params->'facets' ? 'language', false)::bool AS by_language
FROM current_run c JOIN cluster_runs r ON r.id = c.run_id;

-- name: ListRuns :many
-- Newest first, those older than before when it is above zero.
SELECT r.id, r.status, coalesce(r.id = (SELECT run_id FROM current_run), false)::bool AS is_current, r.model, r.params, r.metrics,
	r.started_at, r.finished_at
FROM cluster_runs r
WHERE @before::bigint <= 0 OR r.id < @before::bigint ORDER BY r.id DESC LIMIT @lim;

-- name: GetRun :one
SELECT r.id, r.status, coalesce(r.id = (SELECT run_id FROM current_run), false)::bool AS is_current, r.model, r.params, r.metrics,
	r.started_at, r.finished_at
FROM cluster_runs r WHERE r.id = @id;

-- name: AllocateIDs :many
-- n fresh group ids: prefix followed by the next values of sequence seq.
SELECT (@prefix::text || nextval(sqlc.arg(seq)::text::regclass))::text AS id FROM generate_series(1, @n::int);

-- name: AnalyzeRunTables :exec
-- Refreshes the planner's statistics of the tables a run fills, in the transaction
-- that publishes it (ANALYZE counts the transaction's own rows): without them the
-- planner takes the new run id for a rare value and picks plans that read whole
-- indexes (37 ms instead of 0.5 ms for a peer search on 100,000 members).
ANALYZE memberships, run_vectors, run_peers, communities, tribes;

-- name: DeleteRun :exec
-- DeleteRun removes a dry run's record (nothing else of it was kept).
DELETE FROM cluster_runs WHERE id = @id AND status = 'running';

-- name: RenamedCommunities :many
-- RenamedCommunities lists the communities of run that the previous run had under
-- another name.
SELECT n.id, o.name AS was, n.name AS becomes FROM communities n
JOIN communities o ON o.run_id = @previous AND o.id = n.id
WHERE n.run_id = @run AND o.name <> n.name ORDER BY n.id;

-- name: RunTransitions :many
-- RunTransitions counts, for members primary in both runs, how many went from each
-- community of previous to each community of run, with both communities' names.
SELECT o.community_id AS from_id, fc.name AS from_name, n.community_id AS to_id, tc.name AS to_name,
	count(*)::int AS members
FROM memberships o
JOIN memberships n ON n.run_id = @run AND n.member_id = o.member_id AND n.rank = 1
JOIN communities fc ON fc.run_id = o.run_id AND fc.id = o.community_id
JOIN communities tc ON tc.run_id = n.run_id AND tc.id = n.community_id
WHERE o.run_id = @previous AND o.rank = 1
GROUP BY o.community_id, fc.name, n.community_id, tc.name
ORDER BY o.community_id, n.community_id;

-- name: RunCommunitySizes :many
SELECT size FROM communities WHERE run_id = @run_id ORDER BY id;
