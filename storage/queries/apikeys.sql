-- API keys (only their hashes) and the answers stored per Idempotency-Key.

-- name: CreateAPIKey :one
INSERT INTO api_keys (prefix, hash, name, scopes, expires_at) VALUES (@prefix, @hash, @name, @scopes, sqlc.narg(expires_at))
	RETURNING id, created_at;

-- name: APIKeyByPrefix :one
SELECT id, prefix, hash, name, scopes, created_at, revoked_at, expires_at, last_used_at
	FROM api_keys WHERE prefix = @prefix;

-- name: ListAPIKeys :many
SELECT id, prefix, name, scopes, created_at, revoked_at, expires_at, last_used_at FROM api_keys ORDER BY id DESC;

-- name: NoteKeysUsed :exec
-- NoteKeysUsed records when keys were last used (a later time never goes back).
UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, u.at)
	FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@ats::timestamptz[]) AS at) u WHERE k.id = u.id;

-- name: RevokeAPIKey :execrows
-- RevokeAPIKey revokes the key with the given prefix or numeric id; revoking twice
-- keeps the first time.
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
	WHERE prefix = @prefix_or_id OR id::text = @prefix_or_id;

-- name: PruneIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE created_at < @cutoff;

-- name: IdempotencyKey :one
SELECT route, request_hash, status, body FROM idempotency_keys
	WHERE api_key_id = @api_key_id AND key = @key;

-- name: ClaimIdempotencyKey :one
-- ClaimIdempotencyKey records that a request with this key is under way (status 0),
-- unless one is recorded already; a claim left by a process that died more than a
-- minute ago (longer than any batch may run) is taken over. claimed is false when the
-- row belongs to another request or holds a finished answer.
INSERT INTO idempotency_keys AS k (api_key_id, key, route, request_hash, status, body)
	VALUES (@api_key_id, @key, @route, @request_hash, 0, '')
ON CONFLICT (api_key_id, key) DO UPDATE SET route = excluded.route, request_hash = excluded.request_hash,
	created_at = now()
	WHERE k.status = 0 AND k.created_at < now() - interval '1 minute'
RETURNING true AS claimed;

-- name: FinishIdempotencyKey :exec
UPDATE idempotency_keys SET status = @status, body = @body WHERE api_key_id = @api_key_id AND key = @key AND status = 0;

-- name: ReleaseIdempotencyKey :exec
DELETE FROM idempotency_keys WHERE api_key_id = @api_key_id AND key = @key AND status = 0;


-- name: ShareKeyUsage :many
-- ShareKeyUsage writes this node's running count of admitted requests per key and
-- returns the other live nodes' counts (a node silent for a minute no longer counts).
WITH mine AS (
	INSERT INTO api_key_usage AS u (node, api_key_id, served, updated_at)
		SELECT @node::uuid, unnest(@ids::bigint[]), unnest(@served::bigint[]), now()
	ON CONFLICT (node, api_key_id) DO UPDATE SET served = excluded.served, updated_at = excluded.updated_at
)
SELECT node, api_key_id, served FROM api_key_usage
	WHERE node <> @node::uuid AND updated_at > now() - interval '1 minute';

-- name: PruneKeyUsage :execrows
-- PruneKeyUsage drops the counts of nodes silent for ten minutes (stopped ones).
DELETE FROM api_key_usage WHERE updated_at < now() - interval '10 minutes';
