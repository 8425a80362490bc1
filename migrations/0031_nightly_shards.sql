-- 0031: the nightly pipeline runs as jobs that any number of workers share. A night
-- is a row here: the nightly job embeds nothing itself but splits the consenting
-- members into shards of ids and queues a job for each; each shard's job counts
-- itself done in the transaction that completes it, and the one that completes the
-- last queues the clustering and publication (service.StartNightly).
CREATE TABLE IF NOT EXISTS nightly_runs (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	started_at timestamptz NOT NULL DEFAULT now(),
	-- aged_at is when every shard ages activity to, so that shards embedded at
	-- different times make the vectors one process would.
	aged_at timestamptz NOT NULL,
	shards integer NOT NULL,
	shards_done integer NOT NULL DEFAULT 0,
	embedded integer NOT NULL DEFAULT 0,
	unchanged integer NOT NULL DEFAULT 0,
	removed integer NOT NULL DEFAULT 0,
	embedded_at timestamptz
);
