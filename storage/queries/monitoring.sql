-- Monitoring: what /metrics reads from the database at each scrape (package metrics).

-- name: PipelineSucceeded :exec
INSERT INTO pipeline_status (name, last_success_at, stages) VALUES (@name, @at::timestamptz, @stages)
ON CONFLICT (name) DO UPDATE SET last_success_at = excluded.last_success_at, stages = excluded.stages;

-- name: PipelineFailed :exec
INSERT INTO pipeline_status (name, last_failure_at, last_error) VALUES (@name, @at::timestamptz, @error)
ON CONFLICT (name) DO UPDATE SET last_failure_at = excluded.last_failure_at, last_error = excluded.last_error;

-- name: PipelineStatuses :many
SELECT * FROM pipeline_status ORDER BY name;

-- name: DeliveryCounts :many
SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY 1 ORDER BY 1;

-- name: LastPublishedRun :one
SELECT coalesce(max(finished_at), 'epoch'::timestamptz)::timestamptz FROM cluster_runs WHERE status = 'published';
