-- API keys (only their hashes) and the answers stored per Idempotency-Key.

-- name: CreateAPIKey :one
INSERT INTO api_keys (prefix, hash, name, scopes) VALUES (@prefix, @hash, @name, @scopes)
	RETURNING id, created_at;

-- name: APIKeyByPrefix :one
SELECT id, prefix, hash, name, scopes, created_at, revoked_at
	FROM api_keys WHERE prefix = @prefix;

-- name: ListAPIKeys :many
SELECT id, prefix, name, scopes, created_at, revoked_at FROM api_keys ORDER BY id DESC;

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

-- name: StoreIdempotencyKey :exec
INSERT INTO idempotency_keys (api_key_id, key, route, request_hash, status, body)
	VALUES (@api_key_id, @key, @route, @request_hash, @status, @body) ON CONFLICT DO NOTHING;
