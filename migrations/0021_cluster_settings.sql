-- 0021: the clustering settings an admin published (a dry run's, through the API or
-- the console). From then on the nightly run, `belong cluster` without size flags and
-- new dry runs start from them instead of the server's defaults. One row at most; it
-- is written in the transaction that publishes the run, so the settings and the run
-- they made become current together.
CREATE TABLE cluster_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    settings jsonb NOT NULL,
    dry_run_id bigint,
    published_by text NOT NULL DEFAULT '',
    run_id bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
