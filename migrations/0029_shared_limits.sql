-- 0029: API nodes share their rate limits. Each serve process counts the requests it
-- admitted per key and writes the running count here several times a second; every
-- node reads the others' counts and takes what they served from its own bucket, so a
-- key's quota holds across any number of nodes (apikey.Limiter). Unlogged: the counts
-- are worth nothing after a crash, and it is written often. Rows of nodes that stopped
-- are dropped by the nodes themselves after ten minutes.
CREATE UNLOGGED TABLE IF NOT EXISTS api_key_usage (
	node uuid NOT NULL,
	api_key_id bigint NOT NULL,
	served bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (node, api_key_id)
);
