-- Dry runs requested through the API or the console (package service).

-- name: CreateDryRun :one
INSERT INTO dry_runs (params, requested_by) VALUES (@params, @requested_by)
RETURNING id, status, params, requested_by, metrics, report, error, job_id, publish_job_id, published_by,
	created_at, started_at, finished_at, published_at;

-- name: SetDryRunJob :exec
UPDATE dry_runs SET job_id = @job_id WHERE id = @id;

-- name: GetDryRun :one
SELECT id, status, params, requested_by, metrics, report, error, job_id, publish_job_id, published_by,
	created_at, started_at, finished_at, published_at
FROM dry_runs WHERE id = @id;

-- name: ListDryRuns :many
-- Newest first, those older than before when it is above zero; without the reports.
SELECT id, status, params, requested_by, metrics, error, job_id, publish_job_id, published_by,
	created_at, started_at, finished_at, published_at
FROM dry_runs WHERE @before::bigint <= 0 OR id < @before::bigint ORDER BY id DESC LIMIT @lim;

-- name: StartDryRun :one
-- StartDryRun marks a queued (or retried) dry run running; no row when it is finished.
UPDATE dry_runs SET status = 'running', started_at = now()
WHERE id = @id AND status IN ('queued', 'running') RETURNING params;

-- name: FinishDryRun :exec
UPDATE dry_runs SET status = 'done', finished_at = now(), metrics = @metrics, report = @report, error = ''
WHERE id = @id;

-- name: FailDryRun :exec
-- FailDryRun records an attempt's error: the dry run is failed when final, else
-- queued again for its retry.
UPDATE dry_runs SET status = CASE WHEN @final::bool THEN 'failed' ELSE 'queued' END,
	finished_at = CASE WHEN @final::bool THEN now() END, error = @error
WHERE id = @id AND status IN ('queued', 'running');

-- name: PublishDryRun :one
-- PublishDryRun records that a done dry run's settings were queued for publication;
-- no row when it is not done or was published already.
UPDATE dry_runs SET publish_job_id = @publish_job_id, published_by = @published_by, published_at = now()
WHERE id = @id AND status = 'done' AND publish_job_id IS NULL RETURNING id;

-- name: PruneDryRuns :execrows
DELETE FROM dry_runs WHERE finished_at < sqlc.arg(before)::timestamptz;

-- name: SaveClusterSettings :exec
-- SaveClusterSettings makes published settings the ones runs start from.
INSERT INTO cluster_settings (settings, dry_run_id, published_by, run_id) VALUES (@settings, @dry_run_id, @published_by, @run_id)
ON CONFLICT (singleton) DO UPDATE SET settings = excluded.settings, dry_run_id = excluded.dry_run_id,
	published_by = excluded.published_by, run_id = excluded.run_id, updated_at = now();

-- name: GetClusterSettings :one
SELECT settings, dry_run_id, published_by, run_id, updated_at FROM cluster_settings;
