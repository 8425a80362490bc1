-- The nightly pipeline's shards (service.StartNightly).

-- name: ShardEnds :many
-- ShardEnds are the last ids of every size-th consenting member: the ends of the
-- shards but the last, which runs to the end.
SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM members WHERE consent_personalization) m
	WHERE n % @size::bigint = 0 ORDER BY id;

-- name: CreateNightlyRun :one
INSERT INTO nightly_runs (aged_at, shards, removed) VALUES (@aged_at, @shards, @removed) RETURNING id;

-- name: FinishNightlyShard :one
-- FinishNightlyShard counts a shard done; last is true for the one that finishes the
-- night's embedding.
UPDATE nightly_runs SET shards_done = shards_done + 1, embedded = embedded + @embedded, unchanged = unchanged + @unchanged,
	embedded_at = CASE WHEN shards_done + 1 = shards THEN now() END
	WHERE id = @id RETURNING shards_done = shards AS last;

-- name: GetNightlyRun :one
SELECT id, started_at, aged_at, shards, shards_done, embedded, unchanged, removed, embedded_at FROM nightly_runs WHERE id = @id;

-- name: PruneNightlyRuns :execrows
DELETE FROM nightly_runs WHERE started_at < @before;
