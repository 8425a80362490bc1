-- 0019: dry runs requested through the API or the console. A request stores the
-- settings and queues a dry_run job in one transaction; the job computes the run,
-- reports what it would change against the current run, and stores the report here
-- (the run itself is rolled back). Publishing one queues a real cluster run with the
-- same settings (publish_job_id). Retention deletes finished ones after 90 days.
CREATE TABLE dry_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    -- params are the settings it clusters with: target_size, min_size, max_size,
    -- seed, facets (the server's for what the request left out).
    params jsonb NOT NULL,
    requested_by text NOT NULL DEFAULT '',
    -- metrics and report are matching's Metrics and DryRunReport once done; error
    -- says why it failed (or why its last attempt did, while it is retried).
    metrics jsonb,
    report jsonb,
    error text NOT NULL DEFAULT '',
    job_id bigint,
    publish_job_id bigint,
    published_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    published_at timestamptz
);
CREATE INDEX dry_runs_finished ON dry_runs (finished_at) WHERE finished_at IS NOT NULL;
